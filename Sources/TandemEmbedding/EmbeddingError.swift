import Foundation

/// Everything that can go wrong while loading a model folder. Each case names the file and
/// says what is wrong with it, so the message alone tells an operator what to fix.
public enum EmbeddingError: Error, Equatable, LocalizedError, Sendable {
    case fileNotFound(path: String)
    case unreadable(path: String, reason: String)
    case invalidSafetensors(path: String, reason: String)
    case unsupportedDType(path: String, tensor: String, dtype: String)
    case missingTensor(path: String, tensor: String)
    case shapeMismatch(path: String, tensor: String, expected: [Int], actual: [Int])
    case invalidConfig(path: String, reason: String)
    case unsupportedModel(path: String, reason: String)
    case invalidVocabulary(path: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case .fileNotFound(let path):
            return "\(path): file not found (run `tandem model fetch`, or point TANDEM_MODEL_DIR at a sentence-transformers folder with config.json, model.safetensors and vocab.txt)"
        case .unreadable(let path, let reason):
            return "\(path): cannot be read: \(reason)"
        case .invalidSafetensors(let path, let reason):
            return "\(path): not a valid safetensors file: \(reason)"
        case .unsupportedDType(let path, let tensor, let dtype):
            return "\(path): tensor '\(tensor)' has dtype \(dtype); only F32 weights are supported (convert the checkpoint to float32)"
        case .missingTensor(let path, let tensor):
            return "\(path): tensor '\(tensor)' is missing; is this a BERT checkpoint?"
        case .shapeMismatch(let path, let tensor, let expected, let actual):
            return "\(path): tensor '\(tensor)' has shape \(actual), config.json implies \(expected)"
        case .invalidConfig(let path, let reason):
            return "\(path): invalid model config: \(reason)"
        case .unsupportedModel(let path, let reason):
            return "\(path): unsupported model: \(reason)"
        case .invalidVocabulary(let path, let reason):
            return "\(path): invalid vocabulary: \(reason)"
        }
    }
}
