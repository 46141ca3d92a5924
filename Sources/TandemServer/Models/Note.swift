import Fluent
import Foundation

/// An agent's private note on a conversation: for the team, never shown to the customer (not
/// a message, so no customer API, stream or e-mail reads it).
final class NoteRecord: Model, @unchecked Sendable {
    static let schema = "notes"

    @ID(key: .id) var id: UUID?
    @Field(key: "conversation_id") var conversationID: UUID
    @Field(key: "agent_id") var agentID: UUID
    @Field(key: "text") var text: String
    @OptionalField(key: "created_at") var createdAt: Date?

    init() {}

    init(conversationID: UUID, agentID: UUID, text: String) {
        self.conversationID = conversationID
        self.agentID = agentID
        self.text = text
    }
}

/// An agent named in a note (`@handle`): their notification until they mark it read.
final class MentionRecord: Model, @unchecked Sendable {
    static let schema = "mentions"

    @ID(key: .id) var id: UUID?
    @Field(key: "note_id") var noteID: UUID
    @Field(key: "conversation_id") var conversationID: UUID
    /// Who is mentioned.
    @Field(key: "agent_id") var agentID: UUID
    @OptionalField(key: "read_at") var readAt: Date?
    @OptionalField(key: "created_at") var createdAt: Date?

    init() {}

    init(noteID: UUID, conversationID: UUID, agentID: UUID) {
        self.noteID = noteID
        self.conversationID = conversationID
        self.agentID = agentID
    }
}

extension NoteRecord {
    /// Listed, not reflected (see `ModelProperties`).
    var properties: [any AnyProperty] { [_id, _conversationID, _agentID, _text, _createdAt] }
}

extension MentionRecord {
    /// Listed, not reflected (see `ModelProperties`).
    var properties: [any AnyProperty] { [_id, _noteID, _conversationID, _agentID, _readAt, _createdAt] }
}
