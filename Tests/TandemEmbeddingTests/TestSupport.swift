import Foundation
import TandemEmbedding
import TandemTensor
import Testing

/// Where the tests find the model and the shared fixtures. In CI (`CI=true`) a missing model
/// or fixture fails the tests that need it; elsewhere those tests are skipped with the reason.
enum TestSupport {
    static let environment = ProcessInfo.processInfo.environment
    static var isCI: Bool { environment["CI"] == "true" }

    /// The repository root, from this file's location.
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var sharedDirectory: URL {
        if let path = environment["TANDEM_SHARED_DIR"] { return URL(fileURLWithPath: path) }
        return repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared")
    }

    static var fixturesDirectory: URL { sharedDirectory.appendingPathComponent("fixtures/minilm") }

    static var modelDirectory: String {
        environment["TANDEM_MODEL_DIR"] ?? EncoderLoader.defaultDirectory(environment: environment)
    }

    static var modelAvailable: Bool { ModelFiles(directory: modelDirectory).isComplete }
    static var fixturesAvailable: Bool {
        FileManager.default.fileExists(atPath: fixturesDirectory.appendingPathComponent("minilm_golden.json").path)
    }

    /// Run model tests when the model is there, and always in CI (where absence is a failure).
    static var runModelTests: Bool { isCI || (modelAvailable && fixturesAvailable) }
    static let modelSkipReason: Comment = "model or fixtures not installed: run `make model` or set TANDEM_MODEL_DIR / TANDEM_SHARED_DIR"

    /// One encoder for all tests of the process (loading maps the weights once).
    static let encoder: Result<TransformerEncoder, Error> = Result { try TransformerEncoder(directory: modelDirectory) }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// The golden cases of minilm_golden.json.
struct GoldenCase: Decodable {
    let id: String
    let text: String
    let input_ids: [Int32]
    let tokens: [String]
    let n_tokens_untruncated: Int
    let truncated: Bool
    let embedding: [Float]
}

struct GoldenFile: Decodable {
    let cases: [GoldenCase]

    static func load() throws -> GoldenFile {
        let data = try Data(contentsOf: TestSupport.fixturesDirectory.appendingPathComponent("minilm_golden.json"))
        return try JSONDecoder().decode(GoldenFile.self, from: data)
    }
}

struct LayersFile: Decodable {
    let text: String
    let input_ids: [Int32]
    let hidden_states: [String: [[Float]]]
    let mean_pooled_unnormalized: [Float]
    let embedding: [Float]

    static func load() throws -> LayersFile {
        let data = try Data(contentsOf: TestSupport.fixturesDirectory.appendingPathComponent("minilm_layers.json"))
        return try JSONDecoder().decode(LayersFile.self, from: data)
    }
}

func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    return zip(a, b).map { abs($0 - $1) }.max() ?? 0
}

func cosine(_ a: [Float], _ b: [Float]) -> Double {
    var dot = 0.0, na = 0.0, nb = 0.0
    for (x, y) in zip(a, b) { dot += Double(x) * Double(y); na += Double(x) * Double(x); nb += Double(y) * Double(y) }
    return dot / (na.squareRoot() * nb.squareRoot())
}

/// A readable side-by-side of two token sequences, marking the first difference.
func tokenDiff(expected: [String], actual: [String]) -> String {
    var lines: [String] = []
    for i in 0..<max(expected.count, actual.count) {
        let e = i < expected.count ? expected[i] : "∅"
        let a = i < actual.count ? actual[i] : "∅"
        lines.append("\(e == a ? "  " : "≠ ")\(i): expected \(e.debugDescription) got \(a.debugDescription)")
    }
    return lines.joined(separator: "\n")
}
