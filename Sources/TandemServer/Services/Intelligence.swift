import Foundation
import TandemTensor
import NIOConcurrencyHelpers
import TandemCore
import TandemEmbedding

/// The encoder and the active intent model, shared by every request of this node. The model
/// can be replaced at any time (a new version trained or activated on any node); requests in
/// flight keep the one they started with.
final class Intelligence: Sendable {
    let encoder: any SentenceEncoder
    /// Where every message is encoded and scored: off the cooperative pool, bounded.
    let executor: InferenceExecutor
    private let current = NIOLockedValueBox<ActiveModel?>(nil)
    /// The latest readings, so that a text read again is not encoded again: a held burst is
    /// decided when its window ends with the very text it was held with, and a turn whose burst
    /// changed under it is read again. Keyed by the model version and revision too, so a new
    /// model (or a redacted one) never reuses an old reading. Only memory, a few minutes of
    /// traffic at most; what it returns is what encoding the text again would.
    private let recent = NIOLockedValueBox(RecentReadings<ReadingKey, Analysis>(capacity: 1024))

    struct ActiveModel: Sendable {
        let recordID: UUID
        let artifact: ModelArtifact
        /// The stored version's revision (raised when its example texts are redacted).
        var revision = 0
    }

    init(encoder: any SentenceEncoder, queueCapacity: Int) {
        self.encoder = encoder
        executor = InferenceExecutor(capacity: queueCapacity)
    }

    var active: ActiveModel? { current.withLockedValue { $0 } }

    func activate(_ model: ActiveModel?) { current.withLockedValue { $0 = model } }

    /// What the model makes of one message.
    struct Analysis: Sendable {
        let modelVersion: String
        let scores: IntentScores
        let intent: String
        let alternatives: [Prediction.Alternative]
        /// Certified threshold for the predicted intent (nil: nothing certified).
        let threshold: Double?
        let unknownThreshold: Double
        /// Closest labelled examples: text, intent, similarity.
        let neighbours: [(text: String, intent: String, similarity: Double)]
        /// How long the batch this message was encoded in took to encode and score (0 when reused).
        var batchMilliseconds = 0.0
        /// The same text's reading with the same model, kept from a moment ago, not encoded again.
        var reused = false
    }

    /// Which model a batch is for: messages are batched together only for the same version.
    private struct ModelKey: Hashable, Sendable {
        let recordID: UUID
        let revision: Int
    }

    /// What the active model makes of `text`, computed on the inference executor in one batch
    /// with the other messages waiting for the same model; nil when no model is active. Throws
    /// `InferenceExecutor.Overloaded` when too many messages wait.
    func analyse(_ text: String) async throws -> Analysis? {
        guard let model = active else { return nil }
        let modelKey = ModelKey(recordID: model.recordID, revision: model.revision)
        let key = ReadingKey(model: modelKey, text: text)
        if var known = recent.withLockedValue({ $0[key] }) {
            known.batchMilliseconds = 0
            known.reused = true
            return known
        }
        let analysis = try await executor.batched(text, key: modelKey) { [encoder] texts in
            Self.analyse(texts, with: model.artifact, encoder: encoder)
        }
        recent.withLockedValue { $0.insert(analysis, for: key) }
        return analysis
    }

    /// Forgets the kept readings (tests that must see the encoder run again for the same texts).
    func forgetReadings() { recent.withLockedValue { $0.removeAll() } }

    private struct ReadingKey: Hashable, Sendable {
        let model: ModelKey
        let text: String
    }

    /// The analyses of `texts`, encoded as one batch and scored together.
    static func analyse(_ texts: [String], with artifact: ModelArtifact, encoder: any SentenceEncoder) -> [Analysis] {
        let start = ContinuousClock.now
        let embeddings = encoder.encodeMatrix(texts)
        let scores = artifact.model.score(embeddings: embeddings, texts: texts)
        let milliseconds = (ContinuousClock.now - start).milliseconds
        return scores.map {
            var result = Self.analysis(of: $0, with: artifact)
            result.batchMilliseconds = milliseconds
            return result
        }
    }

    private static func analysis(of scores: IntentScores, with artifact: ModelArtifact) -> Analysis {
        let intents = artifact.model.intents
        let intent = intents[scores.intent]
        return Analysis(
            modelVersion: artifact.version, scores: scores, intent: intent,
            alternatives: scores.ranked.prefix(3).map { Prediction.Alternative(intent: intents[$0.intent], probability: $0.probability) },
            threshold: artifact.thresholds.threshold(for: intent), unknownThreshold: artifact.thresholds.unknown,
            neighbours: scores.neighbours.prefix(3).map { n in
                (n.index < artifact.exampleTexts.count ? artifact.exampleTexts[n.index] : "", intents[n.label], Double(n.similarity))
            })
    }
}

/// At most `capacity` values by key; when full, a new key pushes out the oldest one.
struct RecentReadings<Key: Hashable, Value> {
    let capacity: Int
    private var values: [Key: Value] = [:]
    /// Keys in the order they came, as a ring: `next` is the oldest once the ring is full.
    private var order: [Key] = []
    private var next = 0

    init(capacity: Int) {
        precondition(capacity >= 1, "a cache keeps at least one value")
        self.capacity = capacity
        values.reserveCapacity(capacity)
    }

    var count: Int { values.count }

    subscript(key: Key) -> Value? { values[key] }

    /// Keeps `value` for `key` (replacing the one kept for it, which keeps its place).
    mutating func insert(_ value: Value, for key: Key) {
        if values.updateValue(value, forKey: key) != nil { return }
        if order.count < capacity {
            order.append(key)
        } else {
            values[order[next]] = nil
            order[next] = key
            next = (next + 1) % capacity
        }
    }

    mutating func removeAll() {
        values.removeAll(keepingCapacity: true)
        order.removeAll(keepingCapacity: true)
        next = 0
    }
}

extension RecentReadings: Sendable where Key: Sendable, Value: Sendable {}
