import Foundation
import TandemTensor
import TandemText

/// The files of a sentence-transformers model folder.
public struct ModelFiles: Sendable {
    public let directory: String
    public init(directory: String) { self.directory = directory }

    public var config: String { path("config.json") }
    public var weights: String { path("model.safetensors") }
    public var vocabulary: String { path("vocab.txt") }
    public var sentenceConfig: String { path("sentence_bert_config.json") }
    public var tokenizerConfig: String { path("tokenizer_config.json") }
    public var modules: String { path("modules.json") }

    /// The files without which no model loads.
    public var required: [String] { [config, weights, vocabulary] }

    public func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }

    /// True when every required file exists.
    public var isComplete: Bool { required.allSatisfy { FileManager.default.fileExists(atPath: $0) } }
}

/// Settings spread over sentence-transformers' side files, each optional with the
/// library's own default.
struct SentenceTransformerSettings {
    var name: String
    var maxSequenceLength: Int
    var lowercase: Bool
    var stripAccents: Bool?
    var normalize: Bool

    init(directory: String, config: BertConfig) throws {
        let files = ModelFiles(directory: directory)
        name = (directory as NSString).lastPathComponent
        let sentence = try Self.json(files.sentenceConfig)
        let tokenizer = try Self.json(files.tokenizerConfig)
        let limit = min(512, config.maxPositionEmbeddings)
        maxSequenceLength = min((sentence?["max_seq_length"] as? Int) ?? limit, config.maxPositionEmbeddings)
        lowercase = (tokenizer?["do_lower_case"] as? Bool) ?? true
        stripAccents = tokenizer?["strip_accents"] as? Bool
        if let data = FileManager.default.contents(atPath: files.modules) {
            guard let modules = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]] else {
                throw EmbeddingError.invalidConfig(path: files.modules, reason: "not a JSON array of modules")
            }
            normalize = modules.contains { ($0["type"] as? String)?.hasSuffix("Normalize") == true }
        } else {
            // Without modules.json, normalise: everything downstream compares by cosine.
            normalize = true
        }
    }

    private static func json(_ path: String) throws -> [String: Any]? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw EmbeddingError.invalidConfig(path: path, reason: "not a JSON object")
        }
        return object
    }
}

extension SafetensorsFile {
    /// A cheap identity of the weights (FNV-1a over the header and the size), so an artifact
    /// trained on one checkpoint's embeddings can tell another checkpoint apart without
    /// hashing 90 MB at every start.
    public var fingerprint: String {
        var hash: UInt64 = 0xcbf29ce484222325
        for name in tensors.keys.sorted() {
            let t = tensors[name]!
            for byte in "\(name):\(t.dtype):\(t.shape):\(t.range)".utf8 {
                hash = (hash ^ UInt64(byte)) &* 0x100000001b3
            }
        }
        return String(hash, radix: 16)
    }
}

extension Vocabulary {
    /// Reads `vocab.txt`: one token per line.
    init(contentsOf path: String) throws(EmbeddingError) {
        guard FileManager.default.fileExists(atPath: path) else { throw .fileNotFound(path: path) }
        guard let data = FileManager.default.contents(atPath: path) else { throw .unreadable(path: path, reason: "cannot read file") }
        guard let text = String(data: data, encoding: .utf8) else { throw .invalidVocabulary(path: path, reason: "not UTF-8 text") }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            line.hasSuffix("\r") ? String(line.dropLast()) : String(line)
        }
        if lines.last == "" { lines.removeLast() }
        do { try self.init(tokens: lines) } catch { throw .invalidVocabulary(path: path, reason: error.description) }
    }
}

extension EmbeddingError {
    /// The same problem, said as a problem of the model folder.
    init(_ error: SafetensorsError) {
        switch error {
        case .fileNotFound(let path): self = .fileNotFound(path: path)
        case .unreadable(let path, let reason): self = .unreadable(path: path, reason: reason)
        case .invalid(let path, let reason): self = .invalidSafetensors(path: path, reason: reason)
        case .unsupportedDType(let path, let tensor, let dtype): self = .unsupportedDType(path: path, tensor: tensor, dtype: dtype)
        case .missingTensor(let path, let tensor): self = .missingTensor(path: path, tensor: tensor)
        case .shapeMismatch(let path, let tensor, let expected, let actual):
            self = .shapeMismatch(path: path, tensor: tensor, expected: expected, actual: actual)
        }
    }
}
