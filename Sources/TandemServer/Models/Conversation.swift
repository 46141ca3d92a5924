import Fluent
import Foundation
import TandemCore

/// Where a conversation is: with the AI, waiting for a person, with a person, or done.
enum ConversationStatus: String, Codable, Sendable, CaseIterable {
    case ai, queued, assigned, resolved
}

final class ConversationRecord: Model, @unchecked Sendable {
    static let schema = "conversations"

    @ID(key: .id) var id: UUID?
    /// SHA-256 of the customer's conversation token (the token itself is never stored).
    @Field(key: "token_hash") var tokenHash: String
    @Field(key: "status") var status: ConversationStatus
    @Field(key: "priority") var priority: Int
    @OptionalField(key: "customer_name") var customerName: String?
    @OptionalField(key: "customer_email") var customerEmail: String?
    /// Stable key of the customer for re-contact counting, erasure and export: `user:` and the
    /// verified user id's HMAC, `hmac:` and the e-mail's HMAC with the server secret, or `anon:`
    /// and a random id (`CustomerKeys`).
    @Field(key: "customer_key") var customerKey: String
    /// The host site signed the customer's user id (`IdentityVerification`); the key is theirs.
    @Field(key: "customer_verified") var customerVerified: Bool
    /// The e-mail was proven (inbound mail), not typed into the chat: only then does it join
    /// the customer's other conversations on the contact page.
    @Field(key: "customer_email_confirmed") var customerEmailConfirmed: Bool
    @Field(key: "channel") var channel: String
    /// Keyed digest of the client address that started it (never the address itself), for the
    /// cap on open conversations per address.
    @OptionalField(key: "origin_key") var originKey: String?
    @OptionalField(key: "assigned_agent_id") var assignedAgentID: UUID?
    /// The team it is routed to (by its intent or a tag, at hand-off); nil: every agent's.
    @OptionalField(key: "team_id") var teamID: UUID?
    @OptionalField(key: "queued_at") var queuedAt: Date?
    @OptionalField(key: "claimed_at") var claimedAt: Date?
    @OptionalField(key: "resolved_at") var resolvedAt: Date?
    @OptionalField(key: "handoff_reason") var handoffReason: String?
    @OptionalField(key: "handoff_rule") var handoffRule: RoutingDecision.Rule?
    /// AI turns in a row the customer came back on without resolution.
    @Field(key: "unresolved_turns") var unresolvedTurns: Int
    @Field(key: "last_turn_ai_answer") var lastTurnAIAnswer: Bool
    /// Whether a person ever took part (for ratings by path).
    @Field(key: "human_involved") var humanInvolved: Bool
    @Field(key: "ai_answers") var aiAnswers: Int
    @OptionalField(key: "first_response_at") var firstResponseAt: Date?
    @OptionalField(key: "last_intent") var lastIntent: String?
    @OptionalField(key: "rating") var rating: Int?
    @OptionalField(key: "rating_comment") var ratingComment: String?
    @Field(key: "next_seq") var nextSeq: Int
    /// When the retention policy removed its texts and the customer's details (`Privacy`).
    @OptionalField(key: "anonymised_at") var anonymisedAt: Date?
    /// When the customer began waiting for a person's (first or next) reply; nil: not waiting.
    @OptionalField(key: "sla_waiting_since") var slaWaitingSince: Date?
    /// A person's first reply (the first-response target's end).
    @OptionalField(key: "first_agent_reply_at") var firstAgentReplyAt: Date?
    /// Set once, by whichever node's check saw the breach first (`ServiceLevels`).
    @OptionalField(key: "sla_breached_at") var slaBreachedAt: Date?
    @OptionalField(key: "sla_breach_kind") var slaBreachKind: SLAKind?
    /// A person's replies after the first that answered a waiting customer, and how many within target.
    @Field(key: "next_replies") var nextReplies: Int
    @Field(key: "next_replies_met") var nextRepliesMet: Int
    @OptionalField(key: "created_at") var createdAt: Date?
    @OptionalField(key: "updated_at") var updatedAt: Date?

    init() {}

    init(tokenHash: String, customerName: String?, customerEmail: String?, customerKey: String, channel: String) {
        self.tokenHash = tokenHash
        status = .ai
        priority = 0
        self.customerName = customerName
        self.customerEmail = customerEmail
        self.customerKey = customerKey
        customerVerified = false
        customerEmailConfirmed = false
        self.channel = channel
        unresolvedTurns = 0
        lastTurnAIAnswer = false
        humanInvolved = false
        aiAnswers = 0
        nextSeq = 1
        nextReplies = 0
        nextRepliesMet = 0
    }
}

extension ConversationRecord {
    /// Listed, not reflected (see `ModelProperties`).
    var properties: [any AnyProperty] { [_id, _tokenHash, _status, _priority, _customerName, _customerEmail, _customerKey, _customerVerified, _customerEmailConfirmed, _channel, _originKey, _assignedAgentID, _teamID, _queuedAt, _claimedAt, _resolvedAt, _handoffReason, _handoffRule, _unresolvedTurns, _lastTurnAIAnswer, _humanInvolved, _aiAnswers, _firstResponseAt, _lastIntent, _rating, _ratingComment, _nextSeq, _anonymisedAt, _slaWaitingSince, _firstAgentReplyAt, _slaBreachedAt, _slaBreachKind, _nextReplies, _nextRepliesMet, _createdAt, _updatedAt] }
}
