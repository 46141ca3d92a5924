import TandemTensor
/// Building blocks shared by the BERT modules.
import CKernels

/// Mirrors `torch.nn.Linear`: `y = x·Wᵀ + b`, weight stored `[out, in]` as in the checkpoint
/// (a view of the mapped file). It is run through a `Projection`.
public struct Linear: Sendable {
    public let weight: Tensor
    public let bias: Tensor
    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }

    /// Loads `<prefix>.weight` `[out, in]` and `<prefix>.bias` `[out]`.
    public static func load(_ file: SafetensorsFile, _ prefix: String, in inFeatures: Int, out outFeatures: Int) throws -> Linear {
        Linear(
            weight: try file.float32("\(prefix).weight", shape: [outFeatures, inFeatures]),
            bias: try file.float32("\(prefix).bias", shape: [outFeatures]))
    }
}

/// One or more `Linear`s of the same input, laid out for fast products. Several are fused by
/// stacking their outputs (query, key and value become one product).
///
/// Two copies of the weights are kept, each in the layout its kernel streams fastest:
/// transposed `[in, out]` for BLAS (OpenBLAS runs the no-transpose case faster on these
/// shapes), and 16-column panels for the small-batch kernel, which a short sentence uses
/// because BLAS would repack the whole matrix for every call.
public struct Projection: Sendable {
    public let inFeatures: Int
    public let outFeatures: Int
    public let bias: Tensor
    /// `[in, out]`.
    public let transposedWeight: Tensor
    /// `[out/16, in, 16]`, or nil when the small-batch kernel cannot run here.
    let panels: Tensor?

    /// Up to this many rows the small-batch kernel beats BLAS; from there on BLAS wins.
    public static let smallBatchRows = 48
    static let smallKernelAvailable = tk_small_gemm_available() != 0

    public init(_ linears: Linear..., arena: WeightArena? = nil) { self.init(stacking: linears, arena: arena) }

    /// Floats the two copies of the weights take in an arena.
    public static func arenaFloats(in inFeatures: Int, out outFeatures: Int) -> Int { 2 * (inFeatures * outFeatures + 16) }

    public init(stacking linears: [Linear], arena: WeightArena? = nil) {
        let inFeatures = linears[0].inFeatures
        let outFeatures = linears.reduce(0) { $0 + $1.outFeatures }
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        var transposed = [Float](repeating: 0, count: inFeatures * outFeatures)
        var biases: [Float] = []
        var offset = 0
        for linear in linears {
            precondition(linear.inFeatures == inFeatures, "fused projections must share their input")
            let w = linear.weight.pointer
            for r in 0..<linear.outFeatures {
                for c in 0..<inFeatures { transposed[c * outFeatures + offset + r] = w[r * inFeatures + c] }
            }
            biases.append(contentsOf: linear.bias.buffer)
            offset += linear.outFeatures
        }
        bias = Tensor(shape: [outFeatures], values: biases)
        let count = inFeatures * outFeatures
        func place(_ shape: [Int], _ fill: (UnsafeMutablePointer<Float>) -> Void) -> Tensor {
            guard let arena else {
                var values = [Float](repeating: 0, count: count)
                values.withUnsafeMutableBufferPointer { fill($0.baseAddress!) }
                return Tensor(shape: shape, values: values)
            }
            let (pointer, owner) = arena.allocate(count)
            fill(pointer)
            return Tensor(shape: shape, pointer: pointer, owner: owner)
        }
        transposedWeight = place([inFeatures, outFeatures]) { $0.update(from: transposed, count: count) }
        if Self.smallKernelAvailable && outFeatures % Int(TK_PANEL) == 0 {
            panels = place([outFeatures / Int(TK_PANEL), inFeatures, Int(TK_PANEL)]) {
                tk_pack_panels(Int32(inFeatures), Int32(outFeatures), transposed, $0)
            }
        } else {
            panels = nil
        }
    }

    /// True when `rows` rows go through the small-batch kernel (then column ranges passed
    /// to `forward(_:rows:into:columns:)` must be multiples of 16).
    func usesSmallKernel(rows: Int) -> Bool { rows <= Self.smallBatchRows && panels != nil }

    /// The output columns member `share` computes: a contiguous part, in whole panels when
    /// the small-batch kernel runs.
    func columns(rows: Int, share: WorkShare) -> Range<Int> {
        guard usesSmallKernel(rows: rows) else { return share.part(of: outFeatures) }
        let panel = Int(TK_PANEL)
        let mine = share.part(of: outFeatures / panel)
        return (mine.lowerBound * panel)..<(mine.upperBound * panel)
    }

    /// x `[rows, in]` → y `[rows, out]` for this member's share of the columns, which it returns.
    @discardableResult
    public func forward(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>, share: WorkShare = .all) -> Range<Int> {
        let columns = columns(rows: rows, share: share)
        forward(x, rows: rows, into: y, columns: columns)
        return columns
    }

    /// x `[rows, in]` → `y[:, columns]` of the `[rows, out]` result.
    public func forward(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>, columns: Range<Int>) {
        guard !columns.isEmpty else { return }
        if usesSmallKernel(rows: rows), let panels {
            let panel = Int(TK_PANEL)
            precondition(columns.lowerBound % panel == 0 && columns.upperBound % panel == 0, "columns must be whole panels")
            tk_small_gemm(Int32(rows), Int32(columns.lowerBound / panel), Int32(columns.upperBound / panel), Int32(inFeatures),
                          x, Int32(inFeatures), panels.pointer, bias.pointer, y, Int32(outFeatures))
            return
        }
        Kernels.broadcastRows(bias.pointer, columns: columns, rows: rows, into: y, stride: outFeatures)
        BLAS.gemm(m: rows, n: columns.count, k: inFeatures,
                  a: x, lda: inFeatures, b: transposedWeight.pointer + columns.lowerBound, ldb: outFeatures,
                  beta: 1, c: y + columns.lowerBound, ldc: outFeatures)
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

    /// out = LayerNorm(input + residual) over `rows` rows; `out` may alias either input.
    public func forward(_ input: UnsafePointer<Float>, residual: UnsafePointer<Float>?, rows: Int, into out: UnsafeMutablePointer<Float>) {
        Kernels.addLayerNorm(
            input, residual: residual, into: out, rows: rows, width: weight.count,
            weight: weight.pointer, bias: bias.pointer, eps: eps)
    }
}
