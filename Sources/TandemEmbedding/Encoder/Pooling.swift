import Foundation
import TandemTensor

/// sentence-transformers' `Pooling` module (`1_Pooling/config.json`) applied to one sequence's
/// token states, and its `Normalize` module.
public enum Pooling: String, Sendable, Codable {
    case mean, cls, max

    /// Reads `1_Pooling/config.json` if present; sentence-transformers' default is mean.
    public static func load(directory: String) throws -> Pooling {
        let path = (directory as NSString).appendingPathComponent("1_Pooling/config.json")
        guard let data = FileManager.default.contents(atPath: path) else { return .mean }
        guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw EmbeddingError.invalidConfig(path: path, reason: "not a JSON object")
        }
        if json["pooling_mode_mean_tokens"] as? Bool == true { return .mean }
        if json["pooling_mode_cls_token"] as? Bool == true { return .cls }
        if json["pooling_mode_max_tokens"] as? Bool == true { return .max }
        throw EmbeddingError.unsupportedModel(path: path, reason: "no supported pooling mode (mean, cls or max) is enabled")
    }

    /// Pools `count` rows of `width` (every token is real: packed batches have no padding,
    /// which is exactly the reference's attention-masked mean).
    public func pool(_ states: UnsafePointer<Float>, count: Int, width: Int, into out: UnsafeMutablePointer<Float>) {
        switch self {
        case .cls:
            out.update(from: states, count: width)
        case .mean:
            out.update(repeating: 0, count: width)
            for t in 0..<count { Kernels.axpy(1, states + t * width, out, count: width) }
            let inverse = 1 / Float(Swift.max(count, 1))
            for i in 0..<width { out[i] *= inverse }
        case .max:
            out.update(from: states, count: width)
            for t in 1..<Swift.max(count, 1) {
                let row = states + t * width
                for i in 0..<width where row[i] > out[i] { out[i] = row[i] }
            }
        }
    }
}

/// L2 normalisation as `torch.nn.functional.normalize(p=2, eps=1e-12)`.
public func l2Normalize(_ v: UnsafeMutablePointer<Float>, count: Int) {
    let norm = Kernels.dot(v, v, count: count).squareRoot()
    let inverse = 1 / Swift.max(norm, 1e-12)
    for i in 0..<count { v[i] *= inverse }
}

public func l2Normalize(_ v: inout [Float]) {
    let n = v.count
    guard n > 0 else { return }
    v.withUnsafeMutableBufferPointer { l2Normalize($0.baseAddress!, count: n) }
}
