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
        /// How long the batch this message was encoded in took to encode and score.
        var batchMilliseconds = 0.0
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
        return try await executor.batched(text, key: ModelKey(recordID: model.recordID, revision: model.revision)) { [encoder] texts in
            Self.analyse(texts, with: model.artifact, encoder: encoder)
        }
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
