import Fluent
import Foundation
import SQLKit
import TandemCore
import Vapor

/// Gives waiting conversations to online agents of the right team with room under their
/// limit, least busy first (`Assignment.plan`). One write transaction reads and assigns, so it
/// is atomic on every node: on PostgreSQL it locks the online agents' rows (in id order, as
/// `claim` locks an agent's row before counting) and takes queued conversations with `FOR
/// UPDATE SKIP LOCKED`, so two nodes assigning at once serialise on the agents and neither
/// waits on a conversation that a message is being decided in; on SQLite the one writer
/// already takes turns. Claiming by hand still works beside it: both count under the same lock.
struct AutoAssignment {
    let db: Database
    let services: TandemServices
    let logger: Logger

    /// The most waiting conversations one pass looks at.
    static let batch = 200

    /// One pass; returns the conversations it assigned (and to whom).
    @discardableResult
    func run() async throws -> [Assignment.Pick] {
        let settings = try await services.settings(on: db)
        guard settings.autoAssign else { return [] }
        let now = services.clock.now
        let conversations = Conversations(db: db, services: services, logger: logger)
        let seen = now.addingTimeInterval(-Presence.timeoutSeconds)
        // Two cheap reads first: most passes find nobody online or nothing waiting, and need
        // no write transaction (SQLite has one writer for everything).
        guard try await AgentRecord.query(on: db).filter(\.$active == true).filter(\.$presence == .online)
                .filter(\.$presenceAt >= seen).count() > 0,
              try await ConversationRecord.query(on: db).filter(\.$status == .queued).filter(\.$assignedAgentID == nil).count() > 0
        else { return [] }
        let picks = try await db.writeTransaction { db -> [Assignment.Pick] in
            guard let sql = db as? any SQLDatabase else { throw AppError.unavailable("assignment needs an SQL database") }
            let postgres = sql.dialect.name == "postgresql"
            let online = try await AgentRecord.query(on: db).filter(\.$active == true).filter(\.$presence == .online)
                .filter(\.$presenceAt >= seen).sort(\.$id).all()
            guard !online.isEmpty else { return [] }
            let ids = try online.map { try $0.requireID() }
            if postgres {
                try await sql.raw("SELECT id FROM agents WHERE id IN (\(binds: ids)) ORDER BY id FOR UPDATE").run()
            }
            let waiting = try await sql.raw("""
                SELECT id, team_id FROM conversations WHERE status = 'queued' AND assigned_agent_id IS NULL
                ORDER BY priority DESC, queued_at ASC LIMIT \(bind: Self.batch)\(unsafeRaw: postgres ? " FOR UPDATE SKIP LOCKED" : "")
                """).all().map { row in
                    Assignment.Waiting(id: try row.decode(column: "id", as: UUID.self), team: try row.decode(column: "team_id", as: UUID?.self))
                }
            guard !waiting.isEmpty else { return [] }
            let open = try await ConversationRecord.query(on: db).filter(\.$status == .assigned).filter(\.$assignedAgentID ~~ ids).all()
            let members = try await TeamMemberRecord.query(on: db).filter(\.$agentID ~~ ids).all()
            let agents = online.map { agent in
                let mine = open.filter { $0.assignedAgentID == agent.id }
                return Assignment.Agent(id: agent.id!, teams: Set(members.filter { $0.agentID == agent.id }.map(\.teamID)),
                                        open: mine.count, limit: agent.maxConcurrent ?? settings.maxConcurrentPerAgent,
                                        lastAssignedAt: mine.compactMap(\.claimedAt).max())
            }
            let picks = Assignment.plan(queue: waiting, agents: agents)
            for pick in picks {
                guard let conversation = try await ConversationRecord.find(pick.conversation, on: db) else { continue }
                conversation.status = .assigned
                conversation.assignedAgentID = pick.agent
                conversation.claimedAt = now
                conversation.humanInvolved = true
                try await conversation.save(on: db)
                try await EventBus.record(.conversationAssigned, conversationID: pick.conversation,
                                          payload: conversations.dto(conversation), on: db)
            }
            return picks
        }
        if !picks.isEmpty {
            services.events.poke()
            logger.info("assigned \(picks.count) waiting conversations automatically")
        }
        return picks
    }
}
