import Foundation
import TandemTensor

/// The checkpoint's `config.json` (a Hugging Face `BertConfig`), validated for what the
/// encoder supports. Mirrors candle's `bert::Config`.
public struct BertConfig: Codable, Equatable, Sendable {
    public var modelType: String
    public var vocabSize: Int
    public var hiddenSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var intermediateSize: Int
    public var hiddenAct: String
    public var maxPositionEmbeddings: Int
    public var typeVocabSize: Int
    public var layerNormEps: Double
    public var positionEmbeddingType: String?

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type"
        case vocabSize = "vocab_size"
        case hiddenSize = "hidden_size"
        case numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads"
        case intermediateSize = "intermediate_size"
        case hiddenAct = "hidden_act"
        case maxPositionEmbeddings = "max_position_embeddings"
        case typeVocabSize = "type_vocab_size"
        case layerNormEps = "layer_norm_eps"
        case positionEmbeddingType = "position_embedding_type"
    }

    public var headDim: Int { hiddenSize / numAttentionHeads }

    /// Model types whose checkpoints use BERT's module layout and tensor names.
    public static let supportedModelTypes: Set<String> = ["bert"]

    public static func load(path: String) throws -> BertConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw EmbeddingError.fileNotFound(path: path)
        }
        let config: BertConfig
        do {
            config = try JSONDecoder().decode(BertConfig.self, from: data)
        } catch let DecodingError.keyNotFound(key, _) {
            throw EmbeddingError.invalidConfig(path: path, reason: "missing field '\(key.stringValue)'")
        } catch let DecodingError.typeMismatch(_, context) {
            let field = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw EmbeddingError.invalidConfig(path: path, reason: "field '\(field)' has the wrong type")
        } catch {
            throw EmbeddingError.invalidConfig(path: path, reason: "not valid JSON")
        }
        try config.validate(path: path)
        return config
    }

    public func validate(path: String) throws {
        guard Self.supportedModelTypes.contains(modelType) else {
            throw EmbeddingError.unsupportedModel(path: path, reason: "model_type '\(modelType)' is not BERT; supported: \(Self.supportedModelTypes.sorted())")
        }
        if let kind = positionEmbeddingType, kind != "absolute" {
            throw EmbeddingError.unsupportedModel(path: path, reason: "position_embedding_type '\(kind)' (only 'absolute')")
        }
        guard Activation(name: hiddenAct) != nil else {
            throw EmbeddingError.unsupportedModel(path: path, reason: "hidden_act '\(hiddenAct)' (supported: gelu, gelu_new, gelu_pytorch_tanh, relu)")
        }
        for (name, value) in [("vocab_size", vocabSize), ("hidden_size", hiddenSize), ("num_hidden_layers", numHiddenLayers),
                              ("num_attention_heads", numAttentionHeads), ("intermediate_size", intermediateSize),
                              ("max_position_embeddings", maxPositionEmbeddings), ("type_vocab_size", typeVocabSize)]
        where value <= 0 || value > 1_000_000 {
            throw EmbeddingError.invalidConfig(path: path, reason: "\(name) = \(value) is out of range")
        }
        guard hiddenSize % numAttentionHeads == 0 else {
            throw EmbeddingError.invalidConfig(path: path, reason: "hidden_size \(hiddenSize) is not divisible by num_attention_heads \(numAttentionHeads)")
        }
        guard layerNormEps > 0, layerNormEps < 1 else {
            throw EmbeddingError.invalidConfig(path: path, reason: "layer_norm_eps \(layerNormEps) is out of range")
        }
    }
}
