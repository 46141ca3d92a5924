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
    private let current = NIOLockedValueBox<ActiveModel?>(nil)

    struct ActiveModel: Sendable {
        let recordID: UUID
        let artifact: ModelArtifact
        /// The stored version's revision (raised when its example texts are redacted).
        var revision = 0
    }

    init(encoder: any SentenceEncoder) { self.encoder = encoder }

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

    func analyse(_ text: String) -> Analysis? {
        guard let model = active else { return nil }
        let artifact = model.artifact
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
