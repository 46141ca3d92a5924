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
    }

    /// What the active model makes of `text`, computed on the inference executor; nil when no
    /// model is active. Throws `InferenceExecutor.Overloaded` when too many messages wait.
    func analyse(_ text: String) async throws -> Analysis? {
        guard let model = active else { return nil }
        return try await executor.run { [encoder] in Self.analyse(text, with: model.artifact, encoder: encoder) }
    }

    private static func analyse(_ text: String, with artifact: ModelArtifact, encoder: any SentenceEncoder) -> Analysis {
        let embedding = encoder.encodeMatrix([text])
        let scores = artifact.model.score(embeddings: embedding, texts: [text])[0]
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
