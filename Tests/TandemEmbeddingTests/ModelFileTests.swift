import Foundation
import TandemTensor
import Testing
@testable import TandemEmbedding

/// Writes small synthetic BERT folders, then breaks them in the ways a real download breaks.
struct TinyBert {
    static let vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "card", "lost", "pin", "##s", "!", "my"]
    var hidden = 8, heads = 2, layers = 2, intermediate = 16, positions = 32

    var config: [String: Any] {
        ["model_type": "bert", "vocab_size": Self.vocabulary.count, "hidden_size": hidden, "num_hidden_layers": layers,
         "num_attention_heads": heads, "intermediate_size": intermediate, "hidden_act": "gelu",
         "max_position_embeddings": positions, "type_vocab_size": 2, "layer_norm_eps": 1e-12]
    }

    var tensorShapes: [(String, [Int])] {
        var shapes: [(String, [Int])] = [
            ("embeddings.word_embeddings.weight", [Self.vocabulary.count, hidden]),
            ("embeddings.position_embeddings.weight", [positions, hidden]),
            ("embeddings.token_type_embeddings.weight", [2, hidden]),
            ("embeddings.LayerNorm.weight", [hidden]), ("embeddings.LayerNorm.bias", [hidden]),
        ]
        for l in 0..<layers {
            let p = "encoder.layer.\(l)."
            for name in ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"] {
                shapes += [("\(p)\(name).weight", [hidden, hidden]), ("\(p)\(name).bias", [hidden])]
            }
            shapes += [("\(p)attention.output.LayerNorm.weight", [hidden]), ("\(p)attention.output.LayerNorm.bias", [hidden]),
                       ("\(p)intermediate.dense.weight", [intermediate, hidden]), ("\(p)intermediate.dense.bias", [intermediate]),
                       ("\(p)output.dense.weight", [hidden, intermediate]), ("\(p)output.dense.bias", [hidden]),
                       ("\(p)output.LayerNorm.weight", [hidden]), ("\(p)output.LayerNorm.bias", [hidden])]
        }
        return shapes
    }

    /// safetensors bytes for the given tensors (F32 unless `dtypes` says otherwise).
    static func safetensors(_ tensors: [(String, [Int])], dtypes: [String: String] = [:], seed: UInt64 = 1) -> Data {
        var rng = SeededGenerator(seed: seed)
        var header: [String: Any] = ["__metadata__": ["format": "pt"]]
        var body = Data()
        for (name, shape) in tensors {
            let dtype = dtypes[name] ?? "F32"
            let size = dtype == "F32" ? 4 : 2
            let count = shape.reduce(1, *)
            let begin = body.count
            for _ in 0..<count {
                if size == 4 {
                    var v = (name.hasSuffix("LayerNorm.weight") ? 1 : rng.nextFloat() * 0.5).bitPattern.littleEndian
                    body.append(Data(bytes: &v, count: 4))
                } else {
                    body.append(contentsOf: [0, 0x3c])
                }
            }
            header[name] = ["dtype": dtype, "shape": shape, "data_offsets": [begin, body.count]]
        }
        var json = try! JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var length = UInt64(json.count).littleEndian
        return Data(bytes: &length, count: 8) + json + body
    }

    /// Writes a complete folder and returns its path.
    func write(to directory: URL, dtypes: [String: String] = [:]) throws -> String {
        try JSONSerialization.data(withJSONObject: config).write(to: directory.appendingPathComponent("config.json"))
        try Self.safetensors(tensorShapes, dtypes: dtypes).write(to: directory.appendingPathComponent("model.safetensors"))
        try Self.vocabulary.joined(separator: "\n").write(to: directory.appendingPathComponent("vocab.txt"), atomically: true, encoding: .utf8)
        return directory.path
    }
}

@Suite("Loading model folders")
struct ModelFileTests {
    func folder(_ configure: (inout TinyBert) -> Void = { _ in }, dtypes: [String: String] = [:]) throws -> (String, ModelFiles) {
        var tiny = TinyBert()
        configure(&tiny)
        let path = try tiny.write(to: try TestSupport.temporaryDirectory(), dtypes: dtypes)
        return (path, ModelFiles(directory: path))
    }

    func loadError(_ directory: String) -> EmbeddingError? {
        do {
            _ = try TransformerEncoder(directory: directory)
            return nil
        } catch let error as EmbeddingError {
            return error
        } catch {
            Issue.record("untyped error \(error)")
            return nil
        }
    }

    @Test("any BERT-shaped folder loads and encodes, not only MiniLM")
    func tinyModelLoads() throws {
        let (path, _) = try folder()
        let encoder = try TransformerEncoder(directory: path, threads: 2)
        let vectors = encoder.encode(["my card", "lost pin!", "", "cards cards cards"])
        #expect(vectors.count == 4 && vectors.allSatisfy { $0.count == 8 })
        #expect(abs(vectors[0].reduce(0) { $0 + $1 * $1 } - 1) < 1e-5)
        #expect(vectors[0] != vectors[1])
        #expect(encoder.identifier.contains("@"))
    }

    @Test("truncated weights name the file and the problem")
    func truncated() throws {
        let (path, files) = try folder()
        let data = try Data(contentsOf: URL(fileURLWithPath: files.weights))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: files.weights))
        guard case .invalidSafetensors(let file, let reason)? = loadError(path) else { Issue.record("expected invalidSafetensors"); return }
        #expect(file == files.weights)
        #expect(reason.contains("truncated"))
        // Shorter than the header length field, and a header length pointing past the end.
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: files.weights))
        #expect({ if case .invalidSafetensors? = loadError(path) { return true }; return false }())
        try (Data([0xff, 0xff, 0, 0, 0, 0, 0, 0]) + Data("{}".utf8)).write(to: URL(fileURLWithPath: files.weights))
        #expect({ if case .invalidSafetensors? = loadError(path) { return true }; return false }())
        try (Data([2, 0, 0, 0, 0, 0, 0, 0]) + Data("[]".utf8)).write(to: URL(fileURLWithPath: files.weights))
        #expect({ if case .invalidSafetensors? = loadError(path) { return true }; return false }())
    }

    @Test("a tensor whose shape disagrees with config.json is reported with both shapes")
    func wrongShape() throws {
        let (path, files) = try folder()
        var config = TinyBert().config
        config["intermediate_size"] = 24
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: files.config))
        guard case .shapeMismatch(_, let tensor, let expected, let actual)? = loadError(path) else { Issue.record("expected shapeMismatch"); return }
        #expect(tensor == "encoder.layer.0.intermediate.dense.weight")
        #expect(expected == [24, 8] && actual == [16, 8])
    }

    @Test("a missing tensor is named")
    func missingTensor() throws {
        let (path, files) = try folder()
        let shapes = TinyBert().tensorShapes.filter { $0.0 != "encoder.layer.1.output.dense.bias" }
        try TinyBert.safetensors(shapes).write(to: URL(fileURLWithPath: files.weights))
        #expect(loadError(path) == .missingTensor(path: files.weights, tensor: "encoder.layer.1.output.dense.bias"))
    }

    @Test("non-F32 weights are rejected with the dtype")
    func wrongDType() throws {
        let (path, files) = try folder(dtypes: ["embeddings.LayerNorm.bias": "F16"])
        #expect(loadError(path) == .unsupportedDType(path: files.weights, tensor: "embeddings.LayerNorm.bias", dtype: "F16"))
    }

    @Test("missing or broken vocabulary")
    func vocabulary() throws {
        let (path, files) = try folder()
        try FileManager.default.removeItem(atPath: files.vocabulary)
        #expect(loadError(path) == .fileNotFound(path: files.vocabulary))
        try "hello\nworld\n".write(toFile: files.vocabulary, atomically: true, encoding: .utf8)
        guard case .invalidVocabulary(let file, let reason)? = loadError(path) else { Issue.record("expected invalidVocabulary"); return }
        #expect(file == files.vocabulary && reason.contains("[UNK]"))
    }

    @Test("non-BERT or malformed config.json")
    func config() throws {
        let (path, files) = try folder()
        var config = TinyBert().config
        config["model_type"] = "gpt2"
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: files.config))
        guard case .unsupportedModel(let file, let reason)? = loadError(path) else { Issue.record("expected unsupportedModel"); return }
        #expect(file == files.config && reason.contains("gpt2"))

        config["model_type"] = "bert"
        config["num_attention_heads"] = 3
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: files.config))
        guard case .invalidConfig(_, let why)? = loadError(path) else { Issue.record("expected invalidConfig"); return }
        #expect(why.contains("divisible"))

        config.removeValue(forKey: "hidden_size")
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: files.config))
        guard case .invalidConfig(_, let missing)? = loadError(path) else { Issue.record("expected invalidConfig"); return }
        #expect(missing.contains("hidden_size"))

        try "not json".write(toFile: files.config, atomically: true, encoding: .utf8)
        #expect({ if case .invalidConfig? = loadError(path) { return true }; return false }())
    }

    @Test("an empty folder says which file is missing; the fallback loader uses the lexical encoder and says why")
    func fallback() throws {
        let empty = try TestSupport.temporaryDirectory().path
        #expect(loadError(empty) == .fileNotFound(path: ModelFiles(directory: empty).config))
        var warnings: [String] = []
        let encoder = EncoderLoader.loadOrFallback(directory: empty) { warnings.append($0) }
        #expect(encoder.isFallback)
        #expect(warnings.count == 1 && warnings[0].contains("config.json") && warnings[0].contains("fallback"))
    }
}
