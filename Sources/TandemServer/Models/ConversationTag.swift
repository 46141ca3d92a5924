import Fluent
import Foundation

/// A label agents put on a conversation ("vip", "refund-pending"): agent-only data, never in
/// the customer's API or stream. One row per conversation and tag (unique in the database).
final class ConversationTagRecord: Model, @unchecked Sendable {
    static let schema = "conversation_tags"

    @ID(key: .id) var id: UUID?
    @Parent(key: "conversation_id") var conversation: ConversationRecord
    @Field(key: "tag") var tag: String
    /// Who added it (nil once that agent's account is gone).
    @OptionalField(key: "agent_id") var agentID: UUID?
    @OptionalField(key: "created_at") var createdAt: Date?

    init() {}

    init(conversationID: UUID, tag: String, agentID: UUID?) {
        $conversation.id = conversationID
        self.tag = tag
        self.agentID = agentID
    }
}

extension ConversationTagRecord: CreationStamped {}

/// The one spelling of a tag: trimmed, lower-cased, inner runs of spaces made one, then 1–40
/// of `a–z 0–9 - _` and space. ASCII on purpose: a tag is typed into filters and URLs
/// (`/tags/{tag}`), and "VIP", " vip " and "vip" must be one tag, not three.
enum ConversationTag {
    static let maxLength = 40

    static func normalise(_ raw: String, field: String = "tag") throws -> String {
        let words = raw.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
            .split(separator: " ", omittingEmptySubsequences: true)
        let tag = words.joined(separator: " ")
        guard !tag.isEmpty else { throw AppError.invalidField(field, "must not be empty") }
        guard tag.count <= maxLength else { throw AppError.invalidField(field, "at most \(maxLength) characters") }
        guard tag.unicodeScalars.allSatisfy(allowed.contains) else {
            throw AppError.invalidField(field, "only letters a–z, digits, '-', '_' and spaces")
        }
        return tag
    }

    private static let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyz0123456789-_ ")
}

extension ConversationTagRecord {
    /// Listed, not reflected (see `ModelProperties`).
    var properties: [any AnyProperty] { [_id, _conversation, _tag, _agentID, _createdAt] }
}
