/// Building blocks shared by the BERT modules.

/// Mirrors `torch.nn.Linear`: `y = x·Wᵀ + b`, weight stored `[out, in]` as in the checkpoint.
public struct Linear: Sendable {
    public let weight: Tensor
    public let bias: Tensor
    public let inFeatures: Int
    public let outFeatures: Int

    public init(weight: Tensor, bias: Tensor) {
        self.weight = weight
        self.bias = bias
        outFeatures = weight.shape[0]
        inFeatures = weight.shape[1]
    }

    /// Loads `<prefix>.weight` `[out, in]` and `<prefix>.bias` `[out]`.
    public static func load(_ file: SafetensorsFile, _ prefix: String, in inFeatures: Int, out outFeatures: Int) throws -> Linear {
        Linear(
            weight: try file.float32("\(prefix).weight", shape: [outFeatures, inFeatures]),
            bias: try file.float32("\(prefix).bias", shape: [outFeatures]))
    }

    /// Several projections of the same input fused into one, by stacking their output rows,
    /// so one GEMM computes them all (query, key and value).
    public static func stacked(_ parts: [Linear]) -> Linear {
        var weight: [Float] = []
        var bias: [Float] = []
        for part in parts {
            weight.append(contentsOf: part.weight.buffer)
            bias.append(contentsOf: part.bias.buffer)
        }
        let out = parts.reduce(0) { $0 + $1.outFeatures }
        return Linear(
            weight: Tensor(shape: [out, parts[0].inFeatures], values: weight),
            bias: Tensor(shape: [out], values: bias))
    }

    /// x `[rows, in]` → y `[rows, out]`.
    public func forward(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        Kernels.broadcastRows(bias.pointer, width: outFeatures, rows: rows, into: y)
        BLAS.gemm(
            transposeB: true, m: rows, n: outFeatures, k: inFeatures,
            a: x, lda: inFeatures, b: weight.pointer, ldb: inFeatures,
            beta: 1, c: y, ldc: outFeatures)
    }
}

/// Mirrors `torch.nn.LayerNorm` over the last dimension.
public struct LayerNorm: Sendable {
    public let weight: Tensor
    public let bias: Tensor
    public let eps: Float

    public static func load(_ file: SafetensorsFile, _ prefix: String, width: Int, eps: Double) throws -> LayerNorm {
        LayerNorm(
            weight: try file.float32("\(prefix).weight", shape: [width]),
            bias: try file.float32("\(prefix).bias", shape: [width]),
            eps: Float(eps))
    }

    /// In place: `x = LayerNorm(x + residual)`.
    public func forward(_ x: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?, rows: Int) {
        Kernels.addLayerNorm(
            x, residual: residual, rows: rows, width: weight.count,
            weight: weight.pointer, bias: bias.pointer, eps: eps)
    }
}
