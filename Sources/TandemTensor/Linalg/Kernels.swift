import CKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Elementwise and row-wise kernels of the encoder, written with explicit SIMD so they are
/// fast without fast-math: Swift never reassociates float sums, so reductions are vectorised
/// by hand with eight independent lanes.
public enum Kernels {
    public typealias Vector = SIMD8<Float>

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> Vector {
        UnsafeRawPointer(p).loadUnaligned(as: Vector.self)
    }

    @inline(__always)
    static func store(_ v: Vector, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vector.self)
    }

    /// Σ a[i]·b[i].
    @inline(__always)
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var acc = Vector()
        var i = 0
        while i + 8 <= count {
            acc += load(a + i) * load(b + i)
            i += 8
        }
        var sum = acc.sum()
        while i < count { sum += a[i] * b[i]; i += 1 }
        return sum
    }

    /// y[i] += alpha · x[i].
    @inline(__always)
    public static func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        let a = Vector(repeating: alpha)
        var i = 0
        while i + 8 <= count {
            store(load(y + i) + a * load(x + i), y + i)
            i += 8
        }
        while i < count { y[i] += alpha * x[i]; i += 1 }
    }

    /// Copies `bias[columns]` into those columns of each of `rows` rows of `out` (row length
    /// `stride`), so a following product with beta = 1 yields `x·Wᵀ + b` in one pass.
    public static func broadcastRows(_ bias: UnsafePointer<Float>, columns: Range<Int>, rows: Int, into out: UnsafeMutablePointer<Float>, stride: Int) {
        for r in 0..<rows {
            (out + r * stride + columns.lowerBound).update(from: bias + columns.lowerBound, count: columns.count)
        }
    }

    /// out = LayerNorm(input + residual) row by row, as `LayerNorm(hidden + input_tensor)` in
    /// BertSelfOutput / BertOutput; `residual: nil` for a plain LayerNorm. `out` may be the
    /// same memory as `input` or `residual`.
    public static func addLayerNorm(
        _ input: UnsafePointer<Float>, residual: UnsafePointer<Float>?, into out: UnsafeMutablePointer<Float>,
        rows: Int, width: Int, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, eps: Float
    ) {
        let inverseWidth = 1 / Float(width)
        for r in 0..<rows {
            let row = out + r * width
            let source = input + r * width
            var i = 0
            if let residual {
                let res = residual + r * width
                while i + 8 <= width { store(load(source + i) + load(res + i), row + i); i += 8 }
                while i < width { row[i] = source[i] + res[i]; i += 1 }
            } else if UnsafePointer(row) != source {
                row.update(from: source, count: width)
            }
            // Two passes (mean, then centred variance) as PyTorch does, for accuracy.
            var sumV = Vector()
            i = 0
            while i + 8 <= width { sumV += load(row + i); i += 8 }
            var sum = sumV.sum()
            while i < width { sum += row[i]; i += 1 }
            let mean = sum * inverseWidth
            let meanV = Vector(repeating: mean)
            var varV = Vector()
            i = 0
            while i + 8 <= width { let d = load(row + i) - meanV; varV += d * d; i += 8 }
            var variance = varV.sum()
            while i < width { let d = row[i] - mean; variance += d * d; i += 1 }
            let scale = 1 / (variance * inverseWidth + eps).squareRoot()
            let scaleV = Vector(repeating: scale)
            i = 0
            while i + 8 <= width {
                store((load(row + i) - meanV) * scaleV * load(weight + i) + load(bias + i), row + i)
                i += 8
            }
            while i < width { row[i] = (row[i] - mean) * scale * weight[i] + bias[i]; i += 1 }
        }
    }

    /// In place activation over `count` values.
    public static func activate(_ x: UnsafeMutablePointer<Float>, count: Int, _ activation: Activation) {
        switch activation {
        case .gelu:
            tk_gelu(x, count)
        case .geluTanh:
            for i in 0..<count {
                let v = x[i]
                x[i] = 0.5 * v * (1 + tanhf(0.7978845608028654 * (v + 0.044715 * v * v * v)))
            }
        case .relu:
            for i in 0..<count { x[i] = max(0, x[i]) }
        }
    }

    /// In place softmax of one row.
    public static func softmax(_ x: UnsafeMutablePointer<Float>, count: Int) {
        var maximum = -Float.infinity
        for i in 0..<count where x[i] > maximum { maximum = x[i] }
        var sum: Float = 0
        for i in 0..<count {
            let e = expf(x[i] - maximum)
            x[i] = e
            sum += e
        }
        let inverse = 1 / sum
        for i in 0..<count { x[i] *= inverse }
    }
}

/// Feed-forward activations found in BERT-family checkpoints.
public enum Activation: Sendable {
    /// Exact GELU, `x · Φ(x)` with the error function (PyTorch's default `gelu`).
    case gelu
    /// The tanh approximation (`gelu_new`, `gelu_pytorch_tanh`).
    case geluTanh
    case relu

    public init?(name: String) {
        switch name {
        case "gelu": self = .gelu
        case "gelu_new", "gelu_pytorch_tanh", "gelu_fast": self = .geluTanh
        case "relu": self = .relu
        default: return nil
        }
    }
}
