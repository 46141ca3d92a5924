import Fluent
import Foundation
import SQLKit

extension ConversationTagRecord {
    /// One conversation's tags, alphabetically.
    static func tags(of conversationID: UUID, on db: Database) async throws -> [String] {
        try await query(on: db).filter(\.$conversation.$id == conversationID).sort(\.$tag).all().map(\.tag)
    }

    /// The tags of several conversations at once (for lists), alphabetically; absent: none.
    static func tags(of conversationIDs: [UUID], on db: Database) async throws -> [UUID: [String]] {
        guard !conversationIDs.isEmpty else { return [:] }
        let rows = try await query(on: db).filter(\.$conversation.$id ~~ conversationIDs).sort(\.$tag).all()
        return Dictionary(grouping: rows, by: { $0.$conversation.id }).mapValues { $0.map(\.tag) }
    }

    /// Adds `tag` unless the conversation has it. The insert skips a conflicting row in SQL,
    /// so two agents (or nodes) adding the same tag at once leave one row and neither fails.
    /// Returns whether a row was added.
    static func add(_ tag: String, to conversationID: UUID, by agentID: UUID?, at now: Date, on db: Database) async throws -> Bool {
        guard let sql = db as? SQLDatabase else { throw AppError.unavailable("tags need an SQL database") }
        let rows = try await sql.raw("""
            INSERT INTO conversation_tags (id, conversation_id, tag, agent_id, created_at)
            VALUES (\(bind: UUID()), \(bind: conversationID), \(bind: tag), \(bind: agentID), \(bind: now))
            ON CONFLICT (conversation_id, tag) DO NOTHING RETURNING id
            """).all()
        return !rows.isEmpty
    }

    /// Removes `tag`; returns whether the conversation had it.
    static func remove(_ tag: String, from conversationID: UUID, on db: Database) async throws -> Bool {
        let existing = try await query(on: db).filter(\.$conversation.$id == conversationID).filter(\.$tag == tag).count()
        guard existing > 0 else { return false }
        try await query(on: db).filter(\.$conversation.$id == conversationID).filter(\.$tag == tag).delete()
        return true
    }

    /// Every tag in use with the number of conversations carrying it, most used first.
    static func counts(on db: Database) async throws -> [(tag: String, conversations: Int)] {
        guard let sql = db as? SQLDatabase else { return [] }
        let rows = try await sql.raw("""
            SELECT tag, COUNT(*) AS conversations FROM conversation_tags GROUP BY tag ORDER BY COUNT(*) DESC, tag
            """).all()
        return try rows.map { (try $0.decode(column: "tag", as: String.self), try $0.decode(column: "conversations", as: Int.self)) }
    }

    static func delete(in conversations: [UUID], on db: Database) async throws {
        guard !conversations.isEmpty else { return }
        try await query(on: db).filter(\.$conversation.$id ~~ conversations).delete()
    }
}
