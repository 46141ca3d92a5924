import Fluent
import Foundation
import TandemCore

/// One record per AI turn: what the AI saw, what it concluded and which rule fired, so any
/// decision can be explained afterwards.
final class DecisionRecord: Model, @unchecked Sendable {
    static let schema = "decisions"

    @ID(key: .id) var id: UUID?
    @Parent(key: "conversation_id") var conversation: ConversationRecord
    @Parent(key: "message_id") var message: MessageRecord
    @OptionalField(key: "model_version") var modelVersion: String?
    @Field(key: "encoder") var encoder: String
    @OptionalField(key: "intent") var intent: String?
    @OptionalField(key: "confidence") var confidence: Double?
    @OptionalField(key: "threshold") var threshold: Double?
    @OptionalField(key: "known_score") var knownScore: Double?
    @OptionalField(key: "unknown_threshold") var unknownThreshold: Double?
    @OptionalField(key: "familiarity") var familiarity: Double?
    @Field(key: "rule") var rule: RoutingDecision.Rule
    @Field(key: "action") var action: RoutingDecision.Action
    /// JSON: reasons, alternatives, nearest examples, signals.
    @Field(key: "details") var details: String
    @OptionalField(key: "draft") var draft: String?
    @Field(key: "latency_ms") var latencyMilliseconds: Double
    @OptionalField(key: "created_at") var createdAt: Date?

    init() {}
}

extension DecisionRecord {
    /// Listed, not reflected (see `ModelProperties`).
    var properties: [any AnyProperty] { [_id, _conversation, _message, _modelVersion, _encoder, _intent, _confidence, _threshold, _knownScore, _unknownThreshold, _familiarity, _rule, _action, _details, _draft, _latencyMilliseconds, _createdAt] }
}
