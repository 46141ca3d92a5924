import Fluent
import Foundation
import SQLKit

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

    /// Takes the conversation's next message number for a customer message, in one statement
    /// (no read of the row first): the number goes up by one, and a conversation with people
    /// (queued or assigned) starts waiting for a person's reply now unless it already does.
    /// Call inside the message's write transaction; the UPDATE holds the row until it ends.
    static func takeCustomerSeq(_ id: UUID, at now: Date, on db: Database) async throws -> Int {
        guard let sql = db as? any SQLDatabase else { throw AppError.unavailable("the database does not speak SQL") }
        let waiting = [ConversationStatus.queued, .assigned].map(\.rawValue)
        let row = try await sql.raw("""
            UPDATE conversations SET next_seq = next_seq + 1, updated_at = \(bind: now),
                sla_waiting_since = CASE WHEN status IN (\(binds: waiting)) AND sla_waiting_since IS NULL THEN \(bind: now) ELSE sla_waiting_since END
            WHERE id = \(bind: id) RETURNING next_seq
            """).first()
        guard let row else { throw AppError.notFound("Conversation \(id)") }
        return try row.decode(column: "next_seq", as: Int.self) - 1
    }

    static func count(_ status: ConversationStatus, on db: Database) async throws -> Int {
        try await query(on: db).filter(\.$status == status).count()
    }

    /// What the agents' list may be narrowed to; every part is optional and they combine.
    struct ListFilter: Sendable {
        var status: ConversationStatus?
        var assignedAgentID: UUID?
        var teamID: UUID?
        /// Who is looking: an agent sees only their teams' and no team's (`Teams.canSee`).
        var viewer: AgentRecord?
        /// A normalised tag (`ConversationTag.normalise`).
        var tag: String?
        /// The conversation's last intent (key).
        var intent: String?
        /// Started at or after `from`, before `to`.
        var from: Date?
        var to: Date?
        var limit = 100
    }

    /// Narrows `query` to the conversations `agent` may see (`Teams.canSee`, as a filter).
    static func visible(to agent: AgentRecord, _ query: QueryBuilder<ConversationRecord>, on db: Database) async throws {
        guard let teams = try await Teams.visibleTeams(of: agent, on: db) else { return }
        let me = try agent.requireID()
        query.group(.or) { or in
            or.filter(\.$teamID == nil).filter(\.$assignedAgentID == me)
            if !teams.isEmpty { or.filter(\.$teamID ~~ teams) }
        }
    }

    /// The agents' list: most recently changed first.
    static func list(_ filter: ListFilter, on db: Database) async throws -> [ConversationRecord] {
        let query = query(on: db)
        if let status = filter.status { query.filter(\.$status == status) }
        if let agentID = filter.assignedAgentID { query.filter(\.$assignedAgentID == agentID) }
        if let teamID = filter.teamID { query.filter(\.$teamID == teamID) }
        if let viewer = filter.viewer { try await visible(to: viewer, query, on: db) }
        if let intent = filter.intent { query.filter(\.$lastIntent == intent) }
        if let from = filter.from { query.filter(\.$createdAt >= from) }
        if let to = filter.to { query.filter(\.$createdAt < to) }
        if let tag = filter.tag {
            // (conversation_id, tag) is unique, so the join adds no duplicate rows.
            query.join(ConversationTagRecord.self, on: \ConversationRecord.$id == \ConversationTagRecord.$conversation.$id)
                .filter(ConversationTagRecord.self, \.$tag == tag)
        }
        return try await query.sort(\.$updatedAt, .descending).limit(filter.limit).all()
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
