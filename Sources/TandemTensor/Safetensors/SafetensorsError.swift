import Foundation

/// What can be wrong with a safetensors file. Each case names the file (or, for bytes read
/// from memory, what they are) and says what is wrong.
public enum SafetensorsError: Error, Equatable, LocalizedError, Sendable {
    case fileNotFound(path: String)
    case unreadable(path: String, reason: String)
    case invalid(path: String, reason: String)
    case unsupportedDType(path: String, tensor: String, dtype: String)
    case missingTensor(path: String, tensor: String)
    case shapeMismatch(path: String, tensor: String, expected: [Int], actual: [Int])

    public var errorDescription: String? {
        switch self {
        case .fileNotFound(let path): return "\(path): file not found"
        case .unreadable(let path, let reason): return "\(path): cannot be read: \(reason)"
        case .invalid(let path, let reason): return "\(path): not a valid safetensors file: \(reason)"
        case .unsupportedDType(let path, let tensor, let dtype):
            return "\(path): tensor '\(tensor)' has dtype \(dtype); only F32 weights are supported (convert the checkpoint to float32)"
        case .missingTensor(let path, let tensor): return "\(path): tensor '\(tensor)' is missing"
        case .shapeMismatch(let path, let tensor, let expected, let actual):
            return "\(path): tensor '\(tensor)' has shape \(actual), expected \(expected)"
        }
    }
}
