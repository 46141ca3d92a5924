import Fluent
import Foundation

/// An e-mail of a conversation, by its Message-ID: received ones (so a duplicate delivery is
/// stored once and a reply threads back by In-Reply-To/References) and the replies sent.
final class EmailMessageRecord: Model, @unchecked Sendable {
    static let schema = "email_messages"

    enum Direction: String, Codable, Sendable { case inbound, outbound }

    @ID(key: .id) var id: UUID?
    @Field(key: "conversation_id") var conversationID: UUID
    /// Without angle brackets; unique.
    @Field(key: "message_id") var messageID: String
    @Field(key: "direction") var direction: Direction
    @Field(key: "subject") var subject: String
    @OptionalField(key: "created_at") var createdAt: Date?

    init() {}

    init(conversationID: UUID, messageID: String, direction: Direction, subject: String) {
        self.conversationID = conversationID
        self.messageID = messageID
        self.direction = direction
        self.subject = subject
    }
}

extension EmailMessageRecord {
    /// Listed, not reflected (see `ModelProperties`).
    var properties: [any AnyProperty] { [_id, _conversationID, _messageID, _direction, _subject, _createdAt] }
}
