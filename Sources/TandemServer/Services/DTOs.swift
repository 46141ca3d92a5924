import Foundation
import Vapor
import TandemCore

// JSON shapes of the API (documented in Resources/openapi.json).

struct MessageDTO: Content, Equatable {
    var id: UUID
    var seq: Int
    var role: MessageRole
    var text: String
    var createdAt: Date?
    var agentName: String?
}

struct ConversationDTO: Content {
    var id: UUID
    var status: ConversationStatus
    var priority: Int
    var customerName: String?
    var channel: String
    var assignedAgentID: UUID?
    var queuedAt: Date?
    var claimedAt: Date?
    var resolvedAt: Date?
    var handoffReason: String?
    var handoffRule: RoutingDecision.Rule?
    var rating: Int?
    var createdAt: Date?
    var updatedAt: Date?
    /// Whether the queue's service-level target has passed while waiting.
    var late: Bool?
    var waitingSeconds: Double?
    /// Agents only (nil in customers' views): the most pressing service-level target, the business
    /// seconds left on it (negative: over), and the breach once flagged.
    var slaKind: SLAKind?
    var slaSecondsLeft: Double?
    var slaBreachedAt: Date?
    var slaBreachKind: SLAKind?
}

struct DecisionDTO: Content {
    var id: UUID
    var messageID: UUID
    var action: RoutingDecision.Action
    var rule: RoutingDecision.Rule
    /// The rule in plain words; `reasons` holds the numbers.
    var explanation: String
    var reasons: [String]
    var modelVersion: String?
    var intent: String?
    var intentTitle: String?
    var confidence: Double?
    var threshold: Double?
    var knownScore: Double?
    var unknownThreshold: Double?
    var alternatives: [AlternativeDTO]
    var neighbours: [NeighbourDTO]
    var draft: String?
    var latencyMilliseconds: Double
    var createdAt: Date?
}

struct AlternativeDTO: Content, Equatable {
    var intent: String
    var title: String?
    var probability: Double
}

struct NeighbourDTO: Content, Equatable {
    var text: String
    var intent: String
    var similarity: Double
}

/// What the customer's POST of a message returns.
struct PostMessageResponse: Content {
    var message: MessageDTO
    /// The AI's answer, when it answered.
    var reply: MessageDTO?
    var action: MessageOutcome
    var conversation: ConversationDTO
    /// True when this is a repeat of an already accepted message (same idempotency key).
    var duplicate: Bool
}

struct CreatedConversationResponse: Content {
    var conversation: ConversationDTO
    /// Send as `Authorization: Bearer <token>` on every call for this conversation.
    var token: String
    var messages: [MessageDTO]
}

struct CustomerConversationResponse: Content {
    var conversation: ConversationDTO
    var messages: [MessageDTO]
    /// While queued: the conversation's place in the queue (1: next).
    var queuePosition: Int?
    /// While queued: the expected wait in seconds (`ServiceLevels.expectedWait`), counting the
    /// time until the next opening when out of hours; nil when nobody can be expected.
    var expectedWaitSeconds: Double?
    /// When the customer left an e-mail address (the reply may continue by e-mail).
    var hasEmail: Bool?
}

/// Everything the console shows for one conversation.
struct AgentConversationResponse: Content {
    var conversation: ConversationDTO
    var customerEmail: String?
    var messages: [MessageDTO]
    var decisions: [DecisionDTO]
    /// The latest decision's suggestions: top intents, draft and summary.
    var suggestions: Suggestions?
    var assignedAgentName: String?
    /// Agents' tags, alphabetically (agent-only: the customer's view has none).
    var tags: [String]
    /// The host site signed the customer's identity (`IdentityVerification`).
    var customerVerified: Bool
    /// The e-mail was proven (inbound mail), not typed into the chat.
    var customerEmailConfirmed: Bool
    /// The customer's contact page (`Contacts`).
    var contactKey: String

    struct Suggestions: Content {
        var intents: [AlternativeDTO]
        var draft: String?
        var summary: String
        var handoffReason: String?
    }
}

/// A conversation as agents list it: the customer's `ConversationDTO` fields plus agent-only
/// data, flattened into one object. A type of its own, so nothing the customer's API returns
/// (a `ConversationDTO`) can carry tags.
struct AgentConversationItem: Content {
    var conversation: ConversationDTO
    var tags: [String]
    /// The team it is routed to; absent: every agent's.
    var teamID: UUID?
    /// The host site signed the customer's identity (`IdentityVerification`).
    var customerVerified: Bool
    /// The customer's contact page (`Contacts`).
    var contactKey: String

    private enum CodingKeys: String, CodingKey { case tags, teamID, customerVerified, contactKey }

    init(conversation: ConversationDTO, tags: [String], teamID: UUID?, customerVerified: Bool, contactKey: String) {
        self.conversation = conversation
        self.tags = tags
        self.teamID = teamID
        self.customerVerified = customerVerified
        self.contactKey = contactKey
    }

    init(from decoder: any Decoder) throws {
        conversation = try ConversationDTO(from: decoder)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        tags = try container.decode([String].self, forKey: .tags)
        teamID = try container.decodeIfPresent(UUID.self, forKey: .teamID)
        customerVerified = try container.decode(Bool.self, forKey: .customerVerified)
        contactKey = try container.decode(String.self, forKey: .contactKey)
    }

    func encode(to encoder: any Encoder) throws {
        try conversation.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(tags, forKey: .tags)
        try container.encodeIfPresent(teamID, forKey: .teamID)
        try container.encode(customerVerified, forKey: .customerVerified)
        try container.encode(contactKey, forKey: .contactKey)
    }
}

/// A customer's contact page: every conversation joined to them by a verified identity or a
/// confirmed e-mail (an unverified, unconfirmed conversation is its own contact).
struct ContactDTO: Content {
    struct Conversation: Content {
        var id: UUID
        var status: ConversationStatus
        var channel: String
        var customerName: String?
        var customerVerified: Bool
        var createdAt: Date?
        var updatedAt: Date?
        var resolvedAt: Date?
        var rating: Int?
        var tags: [String]
    }
    var key: String
    /// Joined by: `verified` (the host site's user id), `email` (a confirmed e-mail) or
    /// `conversation` (nothing proven: this conversation alone).
    var joinedBy: String
    var verified: Bool
    /// The most recent conversation's name and e-mail.
    var name: String?
    var email: String?
    /// Newest first; only those the agent may see.
    var conversations: [Conversation]
}

/// A conversation's tags after a change; also the payload of `conversation.tagged` events.
struct ConversationTagsDTO: Content, Equatable {
    var conversationID: UUID
    var tags: [String]
}

/// A tag in use and how many conversations carry it.
struct TagCountDTO: Content, Equatable {
    var tag: String
    var conversations: Int
}

struct AgentDTO: Content {
    var id: UUID
    var email: String
    var name: String
    var role: AgentRole
    var maxConcurrent: Int?
    var active: Bool
}

struct IntentDTO: Content {
    var key: String
    var title: String
    var answer: String
    var sensitive: Bool
    var automation: AutomationMode
    /// New and in shadow mode: people answer with the AI's draft until their labels prove the target.
    var shadow: Bool
    var examples: [ExampleDTO]
}

struct ExampleDTO: Content, Equatable {
    var id: UUID?
    var text: String
}

struct ModelVersionDTO: Content {
    var id: UUID
    var version: String
    var status: ModelStatus
    var examples: Int
    var summary: String?
    var error: String?
    var createdAt: Date?
    var activatedAt: Date?
}
