import Crypto
import Foundation
import TandemTensor
import TandemEmbedding

/// Encodes texts, remembering the result on disk keyed by the encoder and the exact texts, so
/// that evaluating again on the same files does not encode 13,000 sentences again.
public struct EmbeddingCache: Sendable {
    public let directory: URL

    public init(directory: URL) { self.directory = directory }

    /// `<cache>/tandem/embeddings` under XDG_CACHE_HOME or ~/.cache.
    public static func standard(environment: [String: String]) -> EmbeddingCache {
        let base = environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: environment["HOME"] ?? NSHomeDirectory()).appendingPathComponent(".cache")
        return EmbeddingCache(directory: base.appendingPathComponent("tandem/embeddings"))
    }

    public func embeddings(for texts: [String], encoder: any SentenceEncoder, progress: (String) -> Void = { _ in }) -> Matrix {
        var hasher = SHA256()
        hasher.update(data: Data(encoder.identifier.utf8))
        for text in texts { hasher.update(data: Data([0])); hasher.update(data: Data(text.utf8)) }
        let key = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        let file = directory.appendingPathComponent("\(key).f32")
        let expected = texts.count * encoder.dimension * 4
        if let data = try? Data(contentsOf: file), data.count == expected {
            progress("embeddings of \(texts.count) texts read from the cache")
            var values = [Float](repeating: 0, count: texts.count * encoder.dimension)
            values.withUnsafeMutableBytes { _ = data.copyBytes(to: $0) }
            return Matrix(rows: texts.count, columns: encoder.dimension, values: values)
        }
        var values: [Float] = []
        values.reserveCapacity(texts.count * encoder.dimension)
        let started = Date()
        for start in stride(from: 0, to: texts.count, by: 1024) {
            let chunk = Array(texts[start..<min(start + 1024, texts.count)])
            for vector in encoder.encode(chunk) { values.append(contentsOf: vector) }
            let done = start + chunk.count
            progress(String(format: "encoded %d/%d texts (%.0f/s)", done, texts.count, Double(done) / max(Date().timeIntervalSince(started), 1e-9)))
        }
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try? values.withUnsafeBytes { Data($0) }.write(to: file, options: .atomic)
        return Matrix(rows: texts.count, columns: encoder.dimension, values: values)
    }
}
