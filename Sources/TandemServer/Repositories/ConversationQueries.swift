import Fluent
import Foundation

extension ConversationRecord {
    /// The conversation a customer token opens (tokens are stored as their SHA-256).
    static func find(customerToken token: String, on db: Database) async throws -> ConversationRecord? {
        try await query(on: db).filter(\.$tokenHash == Secrets.digest(token)).first()
    }

    /// Unresolved conversations started from one address since `since`.
    static func openCount(originKey: String, since: Date, on db: Database) async throws -> Int {
        try await query(on: db).filter(\.$originKey == originKey).filter(\.$createdAt >= since)
            .filter(\.$status != .resolved).count()
    }

    /// Where a conversation queued now with `priority` stands: 1 + those served before it
    /// (higher priority, or the same priority queued earlier).
    static func queuePosition(priority: Int, queuedAt: Date, excluding id: UUID?, on db: Database) async throws -> Int {
        var query = query(on: db).filter(\.$status == .queued).group(.or) { or in
            or.filter(\.$priority > priority).group(.and) { $0.filter(\.$priority == priority).filter(\.$queuedAt < queuedAt) }
        }
        if let id { query = query.filter(\.$id != id) }
        return try await query.count() + 1
    }

    static func count(_ status: ConversationStatus, on db: Database) async throws -> Int {
        try await query(on: db).filter(\.$status == status).count()
    }

    /// The agents' list: most recently changed first, optionally of one status or one agent.
    static func list(status: ConversationStatus?, assignedTo agentID: UUID?, limit: Int, on db: Database) async throws -> [ConversationRecord] {
        var query = query(on: db)
        if let status { query = query.filter(\.$status == status) }
        if let agentID { query = query.filter(\.$assignedAgentID == agentID) }
        return try await query.sort(\.$updatedAt, .descending).limit(limit).all()
    }
}

extension MessageRecord {
    /// The AI's answer right after `question` in its conversation, if there is one.
    static func aiAnswer(after question: MessageRecord, on db: Database) async throws -> MessageRecord? {
        try await query(on: db).filter(\.$conversation.$id == question.$conversation.id)
            .filter(\.$seq > question.seq).filter(\.$role == .ai).sort(\.$seq).first()
    }
}

extension DecisionRecord {
    /// The AI's automatic answers decided since `date`.
    static func automaticAnswers(since date: Date, on db: Database) async throws -> Int {
        try await query(on: db).filter(\.$action == .answer).filter(\.$createdAt >= date).count()
    }
}
