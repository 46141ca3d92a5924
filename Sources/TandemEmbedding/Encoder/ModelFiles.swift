import Foundation

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
