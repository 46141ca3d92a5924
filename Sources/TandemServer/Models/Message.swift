import Fluent
import Foundation

enum MessageRole: String, Codable, Sendable, CaseIterable {
    case customer, ai, agent, system
}

final class MessageRecord: Model, @unchecked Sendable {
    static let schema = "messages"

    @ID(key: .id) var id: UUID?
    @Parent(key: "conversation_id") var conversation: ConversationRecord
    /// Position in the conversation, 1, 2, 3 …
    @Field(key: "seq") var seq: Int
    @Field(key: "role") var role: MessageRole
    @Field(key: "text") var text: String
    @OptionalField(key: "agent_id") var agentID: UUID?
    @OptionalField(key: "idempotency_key") var idempotencyKey: String?
    @OptionalField(key: "created_at") var createdAt: Date?
    /// Set while a customer message waits for the rest of its burst (`Turns`): when it is due to
    /// be decided, alone or with what followed. Nil once decided, and for every other message.
    @OptionalField(key: "held_until") var heldUntil: Date?

    init() {}

    init(conversationID: UUID, seq: Int, role: MessageRole, text: String, agentID: UUID? = nil, idempotencyKey: String? = nil) {
        $conversation.id = conversationID
        self.seq = seq
        self.role = role
        self.text = text
        self.agentID = agentID
        self.idempotencyKey = idempotencyKey
    }
}

extension MessageRecord {
    /// Listed, not reflected (see `ModelProperties`).
    var properties: [any AnyProperty] { [_id, _conversation, _seq, _role, _text, _agentID, _idempotencyKey, _createdAt, _heldUntil] }
}
