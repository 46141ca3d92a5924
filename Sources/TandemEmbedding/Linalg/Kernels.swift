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

    /// Copies `bias` into each of `rows` rows of `out` (row length `bias.count`), so a following
    /// GEMM with beta = 1 yields `x·Wᵀ + b` in one pass.
    public static func broadcastRows(_ bias: UnsafePointer<Float>, width: Int, rows: Int, into out: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            (out + r * width).update(from: bias, count: width)
        }
    }

    /// In place: x = LayerNorm(x + residual) row by row, as `LayerNorm(hidden + input_tensor)`
    /// in BertSelfOutput / BertOutput. Pass `residual: nil` for a plain LayerNorm.
    public static func addLayerNorm(
        _ x: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?, rows: Int, width: Int,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, eps: Float
    ) {
        let inverseWidth = 1 / Float(width)
        for r in 0..<rows {
            let row = x + r * width
            if let residual {
                let res = residual + r * width
                var i = 0
                while i + 8 <= width { store(load(row + i) + load(res + i), row + i); i += 8 }
                while i < width { row[i] += res[i]; i += 1 }
            }
            // Two passes (mean, then centred variance) as PyTorch does, for accuracy.
            var sumV = Vector()
            var i = 0
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
        var i = 0
        switch activation {
        case .gelu:
            while i + 8 <= count { store(gelu(load(x + i)), x + i); i += 8 }
            if i < count {
                var tail = Vector()
                for j in 0..<(count - i) { tail[j] = x[i + j] }
                tail = gelu(tail)
                for j in 0..<(count - i) { x[i + j] = tail[j] }
            }
        case .geluTanh:
            while i < count {
                let v = x[i]
                x[i] = 0.5 * v * (1 + tanhf(0.7978845608028654 * (v + 0.044715 * v * v * v)))
                i += 1
            }
        case .relu:
            while i < count { x[i] = max(0, x[i]); i += 1 }
        }
    }

    /// Exact GELU, `0.5·x·(1 + erf(x/√2))`, with erf from a rational approximation
    /// (the one Eigen and XLA use for float; max abs error 4e-7 against erf in float64,
    /// checked in the tests) so it vectorises instead of calling libm per element.
    @inline(__always)
    public static func gelu(_ x: Vector) -> Vector {
        let half = Vector(repeating: 0.5)
        return half * x * (Vector(repeating: 1) + erf(x * Vector(repeating: 0.70710678118654752)))
    }

    @inline(__always)
    public static func erf(_ input: Vector) -> Vector {
        // erf(±4) rounds to ±1 in float, so clamping loses nothing.
        let x = input.clamped(lowerBound: Vector(repeating: -4), upperBound: Vector(repeating: 4))
        let x2 = x * x
        var p = Vector(repeating: -2.72614225801306e-10)
        p = p * x2 + Vector(repeating: 2.77068142495902e-08)
        p = p * x2 + Vector(repeating: -2.10102402082508e-06)
        p = p * x2 + Vector(repeating: -5.69250639462346e-05)
        p = p * x2 + Vector(repeating: -7.34990630326855e-04)
        p = p * x2 + Vector(repeating: -2.95459980854025e-03)
        p = p * x2 + Vector(repeating: -1.60960333262415e-02)
        p = p * x
        var q = Vector(repeating: -1.45660718464996e-05)
        q = q * x2 + Vector(repeating: -2.13374055278905e-04)
        q = q * x2 + Vector(repeating: -1.68282697438203e-03)
        q = q * x2 + Vector(repeating: -7.37332916720468e-03)
        q = q * x2 + Vector(repeating: -1.42647390514189e-02)
        return p / q
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
