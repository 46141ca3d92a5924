import Foundation
import TandemTensor
import Testing
@testable import TandemEmbedding

@Suite("BERT encoder against the reference model")
struct EncoderTests {
    /// Per-component tolerance for final embeddings (the fixture README allows 1e-5 for
    /// a different summation order; the bar is 1e-4).
    static let embeddingTolerance: Float = 1e-5

    @Test("embeddings match the reference for every golden sentence", .enabled(if: TestSupport.runModelTests, TestSupport.modelSkipReason))
    func goldenEmbeddings() throws {
        let encoder = try TestSupport.encoder.get()
        let golden = try GoldenFile.load().cases
        // One batch call (packed, multi-threaded) and one call per sentence must both match.
        let batched = encoder.encode(golden.map(\.text))
        var worst: (Float, String) = (0, "")
        for (index, golden) in golden.enumerated() {
            let single = encoder.encode(golden.text)
            let diff = maxAbsDifference(batched[index], golden.embedding)
            if diff > worst.0 { worst = (diff, golden.id) }
            #expect(diff <= Self.embeddingTolerance, "\(golden.id): max abs diff \(diff)")
            #expect(cosine(batched[index], golden.embedding) >= 0.99999, "\(golden.id): cosine")
            #expect(maxAbsDifference(single, batched[index]) <= 1e-6, "\(golden.id): single vs batch")
        }
        print("golden embeddings: worst max abs diff \(worst.0) (\(worst.1))")
    }

    @Test("hidden states match the reference layer by layer", .enabled(if: TestSupport.runModelTests, TestSupport.modelSkipReason))
    func layerByLayer() throws {
        let encoder = try TestSupport.encoder.get()
        let reference = try LayersFile.load()
        #expect(encoder.tokenizer.encode(reference.text).ids == reference.input_ids)
        let width = encoder.config.hiddenSize
        let n = reference.input_ids.count
        var observed: [[Float]] = []
        let workspace = BertWorkspace(config: encoder.config)
        encoder.model.forward(PackedBatch([reference.input_ids]), workspace: workspace) { _, states in
            observed.append(Array(UnsafeBufferPointer(start: states, count: n * width)))
        }
        let names = ["embeddings"] + (1...encoder.config.numHiddenLayers).map { "layer_\($0)" }
        #expect(observed.count == names.count)
        // Values are O(1-10); float64 vs torch differ by 1.6e-6 at layer 6. Allow 2e-5 per
        // layer so a regression points at the first layer that breaks.
        for (layer, name) in names.enumerated() {
            let expected = try #require(reference.hidden_states[name]).flatMap { $0 }
            let diff = maxAbsDifference(observed[layer], expected)
            #expect(diff <= 2e-5, "\(name): max abs diff \(diff)")
        }
        let embedding = encoder.encode(reference.text)
        #expect(maxAbsDifference(embedding, reference.embedding) <= Self.embeddingTolerance)
    }

    @Test("odd inputs encode to finite unit vectors", .enabled(if: TestSupport.runModelTests, TestSupport.modelSkipReason))
    func oddInputs() throws {
        let encoder = try TestSupport.encoder.get()
        let texts = ["", "   ", "\u{0}", String(repeating: "card ", count: 20_000), String(repeating: "z", count: 100_000),
                     "<script>alert(1)</script>", "'; DROP TABLE messages; --", "\u{202E}reversed", "🫨🫨🫨"]
        for (text, vector) in zip(texts, encoder.encode(texts)) {
            #expect(vector.count == 384)
            #expect(vector.allSatisfy { $0.isFinite }, "non-finite value for \(text.prefix(20).debugDescription)")
            let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
            #expect(abs(norm - 1) < 1e-4)
        }
    }

    @Test("concurrent callers get the same embeddings as one caller", .enabled(if: TestSupport.runModelTests, TestSupport.modelSkipReason))
    func concurrentCallers() async throws {
        let encoder = try TestSupport.encoder.get()
        let texts = ["my card has not arrived", "I want a refund", "how do I change my PIN?", "", "top up failed twice"]
        let expected = texts.map { encoder.encode($0) }
        // Several tasks at once: one gets the team of threads, the others encode alone.
        try await withThrowingTaskGroup(of: (Int, [Float]).self) { group in
            for round in 0..<40 {
                group.addTask { (round % texts.count, encoder.encode(texts[round % texts.count])) }
            }
            for try await (index, vector) in group {
                #expect(maxAbsDifference(vector, expected[index]) <= 1e-6, "text \(index)")
            }
        }
    }

    @Test("chunking packs every sentence once, longest first, within the token budget")
    func chunking() {
        let lengths = [5, 300, 12, 12, 7, 2048, 1]
        let chunks = TransformerEncoder.chunks(lengths: lengths, maxTokens: 320)
        #expect(chunks.flatMap { $0 }.sorted() == Array(lengths.indices))
        #expect(chunks.first == [5])
        for chunk in chunks where chunk.count > 1 {
            #expect(chunk.map { lengths[$0] }.reduce(0, +) <= 320)
        }
    }

    @Test("a few sentences that fit one chunk are spread over the threads, a lone one is not")
    func spreading() {
        let lengths = [12, 30, 9, 14, 11]
        let spread = TransformerEncoder.chunks(lengths: lengths, maxTokens: 2048, atLeast: 2)
        #expect(spread.count == 2)
        #expect(spread.flatMap { $0 }.sorted() == Array(lengths.indices))
        let tokens = spread.map { $0.map { lengths[$0] }.reduce(0, +) }
        #expect(tokens.sorted() == [37, 39], "balanced by tokens: \(tokens)")
        #expect(TransformerEncoder.chunks(lengths: [12], maxTokens: 2048, atLeast: 2) == [[0]])
        #expect(TransformerEncoder.chunks(lengths: lengths, maxTokens: 2048) == [[1, 3, 0, 4, 2]])
    }
}

@Suite("Lexical fallback encoder")
struct LexicalEncoderTests {
    @Test("similar wording is closer than unrelated wording; vectors are unit length")
    func similarity() {
        let encoder = LexicalEncoder()
        let v = encoder.encode(["my card has not arrived", "my card still has not arrived yet", "how do I change my PIN", ""])
        #expect(cosine(v[0], v[1]) > cosine(v[0], v[2]) + 0.2)
        for vector in v.prefix(3) { #expect(abs(vector.reduce(0) { $0 + $1 * $1 } - 1) < 1e-4) }
        #expect(v[3].allSatisfy { $0 == 0 })
        #expect(encoder.isFallback)
    }
}
