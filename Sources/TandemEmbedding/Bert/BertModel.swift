import Foundation

// One type per module of the reference implementation,
// transformers/src/transformers/models/bert/modeling_bert.py, with the checkpoint's tensor
// names. Each `forward` works on packed batches (see `PackedBatch`): rows are tokens of all
// sequences end to end, shapes are given as [tokens, features].

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
        for s in 0..<batch.sequenceCount {
            let range = batch.range(of: s)
            for (position, t) in range.enumerated() {
                let id = Int(batch.ids[t])
                let word = wordEmbeddings.pointer + (id >= 0 && id < vocab ? id : 0) * width
                let pos = positionEmbeddings.pointer + position * width
                let row = hidden + t * width
                for i in 0..<width { row[i] = word[i] + pos[i] + tokenType[i] }
            }
        }
        layerNorm.forward(hidden, residual: nil, rows: batch.tokenCount)
    }
}

/// `BertSelfAttention`: multi-head scaled dot-product attention, each sequence attending
/// only to itself (packing replaces the reference's padding mask). Query, key and value are
/// fused into one `[3·hidden, hidden]` projection; the per-module weights stay as loaded.
public struct BertSelfAttention: Sendable {
    public let query: Linear
    public let key: Linear
    public let value: Linear
    let fused: Linear
    public let heads: Int
    public let headDim: Int

    /// Below this sequence length the per-head products are computed with SIMD loops, which
    /// beat BLAS call overhead on tiny matrices; above it, BLAS.
    static let blasThreshold = 48

    public static func load(_ file: SafetensorsFile, prefix: String, config c: BertConfig) throws -> BertSelfAttention {
        let h = c.hiddenSize
        let q = try Linear.load(file, "\(prefix)query", in: h, out: h)
        let k = try Linear.load(file, "\(prefix)key", in: h, out: h)
        let v = try Linear.load(file, "\(prefix)value", in: h, out: h)
        return BertSelfAttention(query: q, key: k, value: v, fused: .stacked([q, k, v]), heads: c.numAttentionHeads, headDim: c.headDim)
    }

    /// hidden `[tokens, hidden]` → context `[tokens, hidden]` (heads concatenated).
    func forward(_ hidden: UnsafePointer<Float>, batch: PackedBatch, workspace w: BertWorkspace, into context: UnsafeMutablePointer<Float>) {
        let width = heads * headDim
        let stride = 3 * width
        fused.forward(hidden, rows: batch.tokenCount, into: w.qkv)
        let scale = 1 / Float(headDim).squareRoot()
        for s in 0..<batch.sequenceCount {
            let range = batch.range(of: s)
            let n = range.count
            let base = w.qkv + range.lowerBound * stride
            for head in 0..<heads {
                let q = base + head * headDim
                let k = base + width + head * headDim
                let v = base + 2 * width + head * headDim
                let out = context + range.lowerBound * width + head * headDim
                attend(n: n, q: q, k: k, v: v, stride: stride, scale: scale, scores: w.scores, out: out, outStride: width)
            }
        }
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
        for i in 0..<n {
            let row = scores + i * n
            let qi = q + i * stride
            for j in 0..<n { row[j] = Kernels.dot(qi, k + j * stride, count: headDim) * scale }
            Kernels.softmax(row, count: n)
            let o = out + i * outStride
            o.update(repeating: 0, count: headDim)
            for j in 0..<n { Kernels.axpy(row[j], v + j * stride, o, count: headDim) }
        }
    }
}

/// `BertSelfOutput`: dense projection of the attention context, residual, LayerNorm.
public struct BertSelfOutput: Sendable {
    public let dense: Linear
    public let layerNorm: LayerNorm

    public static func load(_ file: SafetensorsFile, prefix: String, config c: BertConfig) throws -> BertSelfOutput {
        BertSelfOutput(
            dense: try Linear.load(file, "\(prefix)dense", in: c.hiddenSize, out: c.hiddenSize),
            layerNorm: try LayerNorm.load(file, "\(prefix)LayerNorm", width: c.hiddenSize, eps: c.layerNormEps))
    }

    /// hidden = LayerNorm(dense(context) + hidden), in place in `hidden`; `scratch` [tokens, hidden].
    func forward(_ context: UnsafePointer<Float>, hidden: UnsafeMutablePointer<Float>, rows: Int, scratch: UnsafeMutablePointer<Float>) {
        dense.forward(context, rows: rows, into: scratch)
        layerNorm.forward(scratch, residual: hidden, rows: rows)
        hidden.update(from: scratch, count: rows * dense.outFeatures)
    }
}

/// `BertAttention`: self-attention followed by its output block.
public struct BertAttention: Sendable {
    public let selfAttention: BertSelfAttention
    public let output: BertSelfOutput

    public static func load(_ file: SafetensorsFile, prefix: String, config c: BertConfig) throws -> BertAttention {
        BertAttention(
            selfAttention: try .load(file, prefix: "\(prefix)self.", config: c),
            output: try .load(file, prefix: "\(prefix)output.", config: c))
    }

    func forward(_ hidden: UnsafeMutablePointer<Float>, batch: PackedBatch, workspace w: BertWorkspace) {
        selfAttention.forward(hidden, batch: batch, workspace: w, into: w.context)
        // The QKV buffer is free again once the context exists; use it as scratch.
        output.forward(w.context, hidden: hidden, rows: batch.tokenCount, scratch: w.qkv)
    }
}

/// `BertIntermediate`: dense `hidden → intermediate` and the activation.
public struct BertIntermediate: Sendable {
    public let dense: Linear
    public let activation: Activation

    public static func load(_ file: SafetensorsFile, prefix: String, config c: BertConfig) throws -> BertIntermediate {
        BertIntermediate(
            dense: try Linear.load(file, "\(prefix)dense", in: c.hiddenSize, out: c.intermediateSize),
            activation: Activation(name: c.hiddenAct) ?? .gelu)
    }

    func forward(_ hidden: UnsafePointer<Float>, rows: Int, into out: UnsafeMutablePointer<Float>) {
        dense.forward(hidden, rows: rows, into: out)
        Kernels.activate(out, count: rows * dense.outFeatures, activation)
    }
}

/// `BertOutput`: dense `intermediate → hidden`, residual, LayerNorm.
public struct BertOutput: Sendable {
    public let dense: Linear
    public let layerNorm: LayerNorm

    public static func load(_ file: SafetensorsFile, prefix: String, config c: BertConfig) throws -> BertOutput {
        BertOutput(
            dense: try Linear.load(file, "\(prefix)dense", in: c.intermediateSize, out: c.hiddenSize),
            layerNorm: try LayerNorm.load(file, "\(prefix)LayerNorm", width: c.hiddenSize, eps: c.layerNormEps))
    }

    func forward(_ intermediate: UnsafePointer<Float>, hidden: UnsafeMutablePointer<Float>, rows: Int, scratch: UnsafeMutablePointer<Float>) {
        dense.forward(intermediate, rows: rows, into: scratch)
        layerNorm.forward(scratch, residual: hidden, rows: rows)
        hidden.update(from: scratch, count: rows * dense.outFeatures)
    }
}

/// `BertLayer`: attention, then the feed-forward block.
public struct BertLayer: Sendable {
    public let attention: BertAttention
    public let intermediate: BertIntermediate
    public let output: BertOutput

    public static func load(_ file: SafetensorsFile, prefix: String, config c: BertConfig) throws -> BertLayer {
        BertLayer(
            attention: try .load(file, prefix: "\(prefix)attention.", config: c),
            intermediate: try .load(file, prefix: "\(prefix)intermediate.", config: c),
            output: try .load(file, prefix: "\(prefix)output.", config: c))
    }

    func forward(_ hidden: UnsafeMutablePointer<Float>, batch: PackedBatch, workspace w: BertWorkspace) {
        attention.forward(hidden, batch: batch, workspace: w)
        intermediate.forward(hidden, rows: batch.tokenCount, into: w.intermediate)
        output.forward(w.intermediate, hidden: hidden, rows: batch.tokenCount, scratch: w.context)
    }
}

/// `BertEncoder`: the stack of layers.
public struct BertEncoder: Sendable {
    public let layers: [BertLayer]

    public static func load(_ file: SafetensorsFile, prefix: String, config c: BertConfig) throws -> BertEncoder {
        BertEncoder(layers: try (0..<c.numHiddenLayers).map {
            try BertLayer.load(file, prefix: "\(prefix)layer.\($0).", config: c)
        })
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
        encoder = try .load(file, prefix: "\(prefix)encoder.", config: config)
    }

    /// Runs the encoder over a packed batch; returns a pointer to the last hidden state
    /// `[tokens, hidden]` inside the workspace, valid until the workspace is reused.
    /// `observe` is called with the embeddings output (index 0) and each layer's output.
    @discardableResult
    public func forward(
        _ batch: PackedBatch, workspace w: BertWorkspace,
        observe: ((Int, UnsafePointer<Float>) -> Void)? = nil
    ) -> UnsafePointer<Float> {
        w.reserve(tokens: batch.tokenCount, longest: batch.longest)
        embeddings.forward(batch, into: w.hidden)
        observe?(0, w.hidden)
        for (index, layer) in encoder.layers.enumerated() {
            layer.forward(w.hidden, batch: batch, workspace: w)
            observe?(index + 1, w.hidden)
        }
        return UnsafePointer(w.hidden)
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
