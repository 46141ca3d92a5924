import Fluent
import Foundation

/// A customer's contact page: their past conversations. Conversations join only on what was
/// proven: the same verified user id (`user:` key, signed by the host site) or the same
/// confirmed e-mail (`hmac:` key of an e-mail the mail channel received). A chat-typed e-mail
/// proves nothing (anyone can type anyone's address), so such a conversation, like an
/// anonymous one, is its own contact (`conversation:` and its id).
enum Contacts {
    static let conversationPrefix = "conversation:"

    static func key(of c: ConversationRecord) -> String {
        if c.customerVerified, c.customerKey.hasPrefix(CustomerKeys.verifiedPrefix) { return c.customerKey }
        if c.customerEmailConfirmed, c.customerKey.hasPrefix(CustomerKeys.emailPrefix) { return c.customerKey }
        return conversationPrefix + (c.id?.uuidString.lowercased() ?? "")
    }

    /// The contact under `key` as `agent` may see it; not found when they may see none of it.
    static func contact(_ key: String, for agent: AgentRecord, on db: Database) async throws -> ContactDTO {
        let query = ConversationRecord.query(on: db)
        let joinedBy: String
        if key.hasPrefix(conversationPrefix) {
            guard let id = UUID(uuidString: String(key.dropFirst(conversationPrefix.count))) else {
                throw AppError.invalidField("key", "conversation: and a conversation id (a UUID)")
            }
            query.filter(\.$id == id)
            joinedBy = "conversation"
        } else if key.hasPrefix(CustomerKeys.verifiedPrefix), CustomerKeys.isWellFormed(key) {
            query.filter(\.$customerKey == key).filter(\.$customerVerified == true)
            joinedBy = "verified"
        } else if key.hasPrefix(CustomerKeys.emailPrefix), CustomerKeys.isWellFormed(key) {
            query.filter(\.$customerKey == key).filter(\.$customerEmailConfirmed == true)
            joinedBy = "email"
        } else {
            throw AppError.invalidField("key", "a contact key: user:…, hmac:… or conversation:<id> (as conversations' contactKey gives it)")
        }
        try await ConversationRecord.visible(to: agent, query, on: db)
        let conversations = try await query.sort(\.$createdAt, .descending).limit(500).all()
        guard !conversations.isEmpty else { throw AppError.notFound("Contact \(key)") }
        let tags = try await ConversationTagRecord.tags(of: conversations.compactMap(\.id), on: db)
        return ContactDTO(
            key: key, joinedBy: joinedBy, verified: joinedBy == "verified",
            name: conversations.lazy.compactMap(\.customerName).first { !$0.isEmpty }, email: conversations.lazy.compactMap(\.customerEmail).first,
            conversations: try conversations.map { c in
                ContactDTO.Conversation(id: try c.requireID(), status: c.status, channel: c.channel, customerName: c.customerName,
                                        customerVerified: c.customerVerified, createdAt: c.createdAt, updatedAt: c.updatedAt,
                                        resolvedAt: c.resolvedAt, rating: c.rating, tags: tags[try c.requireID()] ?? [])
            })
    }
}
