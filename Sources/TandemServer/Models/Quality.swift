import Fluent
import Foundation

/// One AI answer sampled for review, and the reviewer's verdict.
final class AuditRecord: Model, @unchecked Sendable {
    static let schema = "audits"

    @ID(key: .id) var id: UUID?
    @Field(key: "conversation_id") var conversationID: UUID
    /// The customer message the AI answered.
    @Field(key: "message_id") var messageID: UUID
    @Field(key: "decision_id") var decisionID: UUID
    /// The intent the AI answered with.
    @Field(key: "intent") var intent: String
    @Field(key: "status") var status: AuditStatus
    @OptionalField(key: "correct") var correct: Bool?
    @OptionalField(key: "corrected_intent") var correctedIntent: String?
    @OptionalField(key: "reviewer_id") var reviewerID: UUID?
    /// Why it was sampled and at what rate, so the sampling is explainable.
    @Field(key: "sample_rate") var sampleRate: Double
    @Field(key: "sample_reason") var sampleReason: String
    @OptionalField(key: "created_at") var createdAt: Date?
    @OptionalField(key: "reviewed_at") var reviewedAt: Date?

    init() {}
}

/// The guardrail's log: every switch to draft-only and back, overrides and the kill switch,
/// with the evidence that decided it.
final class GuardrailEventRecord: Model, @unchecked Sendable {
    static let schema = "guardrail_events"

    @ID(key: .id) var id: UUID?
    /// Nil for workspace-wide events (the kill switch).
    @OptionalField(key: "intent") var intent: String?
    @Field(key: "kind") var kind: GuardrailEventKind
    /// The evidence sentences, one per line.
    @Field(key: "evidence") var evidence: String
    @OptionalField(key: "actor") var actor: String?
    @OptionalField(key: "created_at") var createdAt: Date?

    init() {}

    init(intent: String?, kind: GuardrailEventKind, evidence: [String], actor: String?) {
        self.intent = intent
        self.kind = kind
        self.evidence = evidence.joined(separator: "\n")
        self.actor = actor
    }
}

extension AuditRecord {
    /// Listed, not reflected (see `ModelProperties`).
    var properties: [any AnyProperty] { [_id, _conversationID, _messageID, _decisionID, _intent, _status, _correct, _correctedIntent, _reviewerID, _sampleRate, _sampleReason, _createdAt, _reviewedAt] }
}

extension GuardrailEventRecord {
    /// Listed, not reflected (see `ModelProperties`).
    var properties: [any AnyProperty] { [_id, _intent, _kind, _evidence, _actor, _createdAt] }
}
