import CKernels
import Foundation
import TandemTensor

// One type per module of the reference implementation,
// transformers/src/transformers/models/bert/modeling_bert.py, with the checkpoint's tensor
// names. Each `forward` works on packed batches (see `PackedBatch`): rows are tokens of all
// sequences end to end, shapes are given as [tokens, features].
//
// A `WorkShare` says which part of each step the calling thread computes. Products are split
// by output columns and attention by heads; every member keeps its own copy of the hidden
// state and computes the (cheap) LayerNorms in full, so a layer needs only four barriers:
// after attention, and after each of the three products whose output all members read.
// For a single thread the barriers are free and the copy is the only one.

/// `BertEmbeddings`: word + position + token-type embeddings, then LayerNorm.
/// Token types are all 0 and positions restart at 0 for every sequence, as sentence-transformers
/// feeds single sentences. Dropout is the identity at inference.
public struct BertEmbeddings: Sendable {
    public let wordEmbeddings: Tensor       // [vocab, hidden]
    public let positionEmbeddings: Tensor   // [max_positions, hidden]
    public let tokenTypeEmbeddings: Tensor  // [type_vocab, hidden]
    public let layerNorm: LayerNorm

    public static func load(_ file: SafetensorsFile, prefix: String, config c: BertConfig) throws -> BertEmbeddings {
        BertEmbeddings(
            wordEmbeddings: try file.float32("\(prefix)word_embeddings.weight", shape: [c.vocabSize, c.hiddenSize]),
            positionEmbeddings: try file.float32("\(prefix)position_embeddings.weight", shape: [c.maxPositionEmbeddings, c.hiddenSize]),
            tokenTypeEmbeddings: try file.float32("\(prefix)token_type_embeddings.weight", shape: [c.typeVocabSize, c.hiddenSize]),
            layerNorm: try LayerNorm.load(file, "\(prefix)LayerNorm", width: c.hiddenSize, eps: c.layerNormEps))
    }

    /// ids → hidden `[tokens, hidden]`.
    func forward(_ batch: PackedBatch, into hidden: UnsafeMutablePointer<Float>) {
        let width = wordEmbeddings.shape[1]
        let vocab = wordEmbeddings.shape[0]
        let tokenType = tokenTypeEmbeddings.pointer
        for t in 0..<batch.tokenCount {
            let id = Int(batch.ids[t])
            let word = wordEmbeddings.pointer + (id >= 0 && id < vocab ? id : 0) * width
            let position = positionEmbeddings.pointer + batch.positions[t] * width
            let row = hidden + t * width
            for i in 0..<width { row[i] = word[i] + position[i] + tokenType[i] }
        }
        layerNorm.forward(hidden, residual: nil, rows: batch.tokenCount, into: hidden)
    }
}

/// `BertSelfAttention`: multi-head scaled dot-product attention, each sequence attending
/// only to itself (packing replaces the reference's padding mask). Query, key and value are
/// fused into one `[3·hidden, hidden]` projection; the per-module weights stay as loaded.
public struct BertSelfAttention: Sendable {
    public let query: Linear
    public let key: Linear
    public let value: Linear
    let fused: Projection
    public let heads: Int
    public let headDim: Int

    /// Below this sequence length the per-head products are computed with SIMD loops, which
    /// beat BLAS call overhead on tiny matrices; above it, BLAS.
    static let blasThreshold = 48

    public static func load(_ file: SafetensorsFile, prefix: String, config c: BertConfig, arena: WeightArena?) throws -> BertSelfAttention {
        let h = c.hiddenSize
        let q = try Linear.load(file, "\(prefix)query", in: h, out: h)
        let k = try Linear.load(file, "\(prefix)key", in: h, out: h)
        let v = try Linear.load(file, "\(prefix)value", in: h, out: h)
        return BertSelfAttention(query: q, key: k, value: v, fused: Projection(q, k, v, arena: arena), heads: c.numAttentionHeads, headDim: c.headDim)
    }

    /// hidden `[tokens, hidden]` → context `[tokens, hidden]` (heads concatenated).
    /// Each member projects query, key and value for its own heads only and attends with
    /// them, so no barrier is needed between the projection and attention.
    func forward(_ hidden: UnsafePointer<Float>, batch: PackedBatch, workspace w: BertWorkspace,
                 into context: UnsafeMutablePointer<Float>, share: WorkShare) {
        let width = heads * headDim
        let stride = 3 * width
        let rows = batch.tokenCount
        var mine = share.part(of: heads)
        if fused.usesSmallKernel(rows: rows) && (headDim % Int(TK_PANEL) != 0) {
            // Heads do not fall on panel boundaries: split the product, then all heads' data is needed.
            fused.forward(hidden, rows: rows, into: w.qkv, share: share)
            share.barrier()
            mine = share.part(of: heads)
        } else {
            let columns = (mine.lowerBound * headDim)..<(mine.upperBound * headDim)
            for part in 0..<3 {
                fused.forward(hidden, rows: rows, into: w.qkv,
                              columns: (columns.lowerBound + part * width)..<(columns.upperBound + part * width))
            }
        }
        let scale = 1 / Float(headDim).squareRoot()
        let scores = w.scores(share.index)
        for s in 0..<batch.sequenceCount {
            let range = batch.range(of: s)
            for head in mine {
                let base = w.qkv + range.lowerBound * stride + head * headDim
                attend(n: range.count, q: base, k: base + width, v: base + 2 * width, stride: stride, scale: scale,
                       scores: scores, out: context + range.lowerBound * width + head * headDim, outStride: width)
            }
        }
        share.barrier()
    }

    /// softmax(q·kᵀ·scale)·v for one head of one sequence of length n.
    @inline(__always)
    func attend(
        n: Int, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, stride: Int,
        scale: Float, scores: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>, outStride: Int
    ) {
        if n >= Self.blasThreshold {
            BLAS.gemm(transposeB: true, m: n, n: n, k: headDim, alpha: scale, a: q, lda: stride, b: k, ldb: stride, c: scores, ldc: n)
            for i in 0..<n { Kernels.softmax(scores + i * n, count: n) }
            BLAS.gemm(m: n, n: headDim, k: n, a: scores, lda: n, b: v, ldb: stride, c: out, ldc: outStride)
            return
        }
        tk_attention(Int32(n), Int32(headDim), q, k, v, Int32(stride), scale, scores, out, Int32(outStride))
    }
}

/// The "dense, residual, LayerNorm" block shared by `BertSelfOutput` and `BertOutput`:
/// hidden = LayerNorm(dense(input) + hidden). Members compute shares of the product into the
/// shared `scratch`, then each normalises all rows into its own hidden state.
func denseResidualNorm(_ dense: Projection, _ layerNorm: LayerNorm, input: UnsafePointer<Float>, hidden: UnsafeMutablePointer<Float>,
                       rows: Int, scratch: UnsafeMutablePointer<Float>, share: WorkShare) {
    dense.forward(input, rows: rows, into: scratch, share: share)
    share.barrier()
    layerNorm.forward(scratch, residual: hidden, rows: rows, into: hidden)
}

/// `BertSelfOutput`: dense projection of the attention context, residual, LayerNorm.
public struct BertSelfOutput: Sendable {
    public let dense: Linear
    public let layerNorm: LayerNorm
    let projection: Projection

    init(dense: Linear, layerNorm: LayerNorm, arena: WeightArena?) {
        self.dense = dense
        self.layerNorm = layerNorm
        projection = Projection(dense, arena: arena)
    }

    public static func load(_ file: SafetensorsFile, prefix: String, config c: BertConfig, arena: WeightArena?) throws -> BertSelfOutput {
        BertSelfOutput(
            dense: try Linear.load(file, "\(prefix)dense", in: c.hiddenSize, out: c.hiddenSize),
            layerNorm: try LayerNorm.load(file, "\(prefix)LayerNorm", width: c.hiddenSize, eps: c.layerNormEps),
            arena: arena)
    }

    func forward(_ context: UnsafePointer<Float>, hidden: UnsafeMutablePointer<Float>, rows: Int,
                 scratch: UnsafeMutablePointer<Float>, share: WorkShare) {
        denseResidualNorm(projection, layerNorm, input: context, hidden: hidden, rows: rows, scratch: scratch, share: share)
    }
}

/// `BertAttention`: self-attention followed by its output block.
public struct BertAttention: Sendable {
    public let selfAttention: BertSelfAttention
    public let output: BertSelfOutput

    public static func load(_ file: SafetensorsFile, prefix: String, config c: BertConfig, arena: WeightArena?) throws -> BertAttention {
        BertAttention(
            selfAttention: try .load(file, prefix: "\(prefix)self.", config: c, arena: arena),
            output: try .load(file, prefix: "\(prefix)output.", config: c, arena: arena))
    }

    func forward(_ hidden: UnsafeMutablePointer<Float>, batch: PackedBatch, workspace w: BertWorkspace, share: WorkShare) {
        selfAttention.forward(hidden, batch: batch, workspace: w, into: w.context, share: share)
        output.forward(w.context, hidden: hidden, rows: batch.tokenCount, scratch: w.scratch, share: share)
    }
}

/// `BertIntermediate`: dense `hidden → intermediate` and the activation.
public struct BertIntermediate: Sendable {
    public let dense: Linear
    public let activation: Activation
    let projection: Projection

    init(dense: Linear, activation: Activation, arena: WeightArena?) {
        self.dense = dense
        self.activation = activation
        projection = Projection(dense, arena: arena)
    }

    public static func load(_ file: SafetensorsFile, prefix: String, config c: BertConfig, arena: WeightArena?) throws -> BertIntermediate {
        BertIntermediate(
            dense: try Linear.load(file, "\(prefix)dense", in: c.hiddenSize, out: c.intermediateSize),
            activation: Activation(name: c.hiddenAct) ?? .gelu, arena: arena)
    }

    func forward(_ hidden: UnsafePointer<Float>, rows: Int, into out: UnsafeMutablePointer<Float>, share: WorkShare) {
        let width = projection.outFeatures
        let columns = projection.forward(hidden, rows: rows, into: out, share: share)
        if columns.count == width {
            Kernels.activate(out, count: rows * width, activation)
        } else {
            for r in 0..<rows { Kernels.activate(out + r * width + columns.lowerBound, count: columns.count, activation) }
        }
        share.barrier()
    }
}

/// `BertOutput`: dense `intermediate → hidden`, residual, LayerNorm.
public struct BertOutput: Sendable {
    public let dense: Linear
    public let layerNorm: LayerNorm
    let projection: Projection

    init(dense: Linear, layerNorm: LayerNorm, arena: WeightArena?) {
        self.dense = dense
        self.layerNorm = layerNorm
        projection = Projection(dense, arena: arena)
    }

    public static func load(_ file: SafetensorsFile, prefix: String, config c: BertConfig, arena: WeightArena?) throws -> BertOutput {
        BertOutput(
            dense: try Linear.load(file, "\(prefix)dense", in: c.intermediateSize, out: c.hiddenSize),
            layerNorm: try LayerNorm.load(file, "\(prefix)LayerNorm", width: c.hiddenSize, eps: c.layerNormEps),
            arena: arena)
    }

    func forward(_ intermediate: UnsafePointer<Float>, hidden: UnsafeMutablePointer<Float>, rows: Int,
                 scratch: UnsafeMutablePointer<Float>, share: WorkShare) {
        denseResidualNorm(projection, layerNorm, input: intermediate, hidden: hidden, rows: rows, scratch: scratch, share: share)
    }
}

/// `BertLayer`: attention, then the feed-forward block.
public struct BertLayer: Sendable {
    public let attention: BertAttention
    public let intermediate: BertIntermediate
    public let output: BertOutput

    public static func load(_ file: SafetensorsFile, prefix: String, config c: BertConfig, arena: WeightArena?) throws -> BertLayer {
        BertLayer(
            attention: try .load(file, prefix: "\(prefix)attention.", config: c, arena: arena),
            intermediate: try .load(file, prefix: "\(prefix)intermediate.", config: c, arena: arena),
            output: try .load(file, prefix: "\(prefix)output.", config: c, arena: arena))
    }

    func forward(_ hidden: UnsafeMutablePointer<Float>, batch: PackedBatch, workspace w: BertWorkspace, share: WorkShare) {
        attention.forward(hidden, batch: batch, workspace: w, share: share)
        intermediate.forward(hidden, rows: batch.tokenCount, into: w.intermediate, share: share)
        output.forward(w.intermediate, hidden: hidden, rows: batch.tokenCount, scratch: w.scratch, share: share)
    }
}

/// `BertEncoder`: the stack of layers.
public struct BertEncoder: Sendable {
    public let layers: [BertLayer]

    public static func load(_ file: SafetensorsFile, prefix: String, config c: BertConfig, arena: WeightArena? = nil) throws -> BertEncoder {
        BertEncoder(layers: try (0..<c.numHiddenLayers).map {
            try BertLayer.load(file, prefix: "\(prefix)layer.\($0).", config: c, arena: arena)
        })
    }

    /// Arena size for every projection of the encoder.
    static func arenaFloats(config c: BertConfig) -> Int {
        let h = c.hiddenSize, i = c.intermediateSize
        let perLayer = Projection.arenaFloats(in: h, out: 3 * h) + Projection.arenaFloats(in: h, out: h)
            + Projection.arenaFloats(in: h, out: i) + Projection.arenaFloats(in: i, out: h)
        return c.numHiddenLayers * perLayer
    }
}

/// `BertModel` without the pooler (sentence-transformers pools the last hidden state itself).
/// Does no I/O beyond its checkpoint; tokenising and pooling live outside it.
public final class BertModel: Sendable {
    public let config: BertConfig
    public let embeddings: BertEmbeddings
    public let encoder: BertEncoder

    /// Loads from a safetensors checkpoint. Tensor names may carry a `bert.` prefix
    /// (checkpoints saved from `BertFor…` heads); it is detected.
    public init(config: BertConfig, weights file: SafetensorsFile) throws {
        let prefix = file.tensors["bert.embeddings.word_embeddings.weight"] != nil ? "bert." : ""
        self.config = config
        embeddings = try .load(file, prefix: "\(prefix)embeddings.", config: config)
        encoder = try .load(file, prefix: "\(prefix)encoder.", config: config,
                            arena: WeightArena(floats: BertEncoder.arenaFloats(config: config)))
        // Every projection now runs from its own copies; let the kernel take back the pages
        // read to make them. Embedding rows are paged in again as sentences use them, each
        // alone (54 → 35 MB resident after training, `bench serve`).
        file.releaseResidentPages()
        file.adviseScatteredReads()
    }

    /// Runs the encoder over a packed batch; returns a pointer to the last hidden state
    /// `[tokens, hidden]` inside the workspace, valid until the workspace is reused.
    /// `observe` is called with the embeddings output (index 0) and each layer's output.
    ///
    /// With a team, every member calls this with its own share and the same workspace
    /// (reserved beforehand with `prepare`); without one, the caller's thread does it all.
    @discardableResult
    public func forward(
        _ batch: PackedBatch, workspace w: BertWorkspace, share: WorkShare = .all,
        observe: ((Int, UnsafePointer<Float>) -> Void)? = nil
    ) -> UnsafePointer<Float> {
        if share.team.size == 1 { prepare(w, for: batch, members: 1) }
        let hidden = w.hidden(share.index)
        embeddings.forward(batch, into: hidden)
        observe?(0, hidden)
        for (index, layer) in encoder.layers.enumerated() {
            layer.forward(hidden, batch: batch, workspace: w, share: share)
            observe?(index + 1, hidden)
        }
        return UnsafePointer(hidden)
    }

    /// Sizes the workspace for a batch run by `members` threads.
    public func prepare(_ w: BertWorkspace, for batch: PackedBatch, members: Int) {
        w.reserve(tokens: batch.tokenCount, longest: batch.longest, members: members)
    }

    /// Multiply-accumulate operations ×2 of the projections for `tokens` tokens, plus
    /// attention for sequences of the given lengths: the figure a GFLOP/s rate is based on.
    public func flops(sequenceLengths: [Int]) -> Double {
        let h = Double(config.hiddenSize), i = Double(config.intermediateSize), layers = Double(config.numHiddenLayers)
        let tokens = Double(sequenceLengths.reduce(0, +))
        let projections = 2 * tokens * (4 * h * h + 2 * h * i)
        let attention = sequenceLengths.reduce(0.0) { $0 + 2 * 2 * Double($1 * $1) * h }
        return layers * (projections + attention)
    }
}
