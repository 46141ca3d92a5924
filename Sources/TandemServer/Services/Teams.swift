import Fluent
import Foundation
import SQLKit
import TandemCore
import Vapor

struct TeamDTO: Content, Equatable {
    var id: UUID
    var name: String
    var memberIDs: [UUID]
    /// Intent keys and tags that route a hand-off to this team.
    var intents: [String]
    var tags: [String]
}

/// A team as written by a supervisor: the whole of it (members and routes are replaced).
struct TeamBody: Decodable, Sendable {
    var name: String
    var memberIDs: [UUID]?
    var intents: [String]?
    var tags: [String]?
}

struct PresenceBody: Decodable, Sendable {
    var status: Presence
}

struct PresenceDTO: Content, Equatable {
    var agentID: UUID
    var name: String
    /// What the agent set, and what it is now (offline once the console's heartbeat stops).
    var status: Presence
    var effective: Presence
    var lastSeenAt: Date?
    /// Conversations the agent has open, and the most they may.
    var open: Int
    var limit: Int
    var teamIDs: [UUID]
}

/// Teams of agents, what routes conversations to them, who may see what, and the agents'
/// presence. Which agent gets a waiting conversation is `AutoAssignment`'s.
struct Teams {
    let db: Database
    let services: TandemServices

    // MARK: Teams

    func list() async throws -> [TeamDTO] {
        let teams = try await TeamRecord.query(on: db).sort(\.$name).all()
        let members = try await TeamMemberRecord.query(on: db).all()
        let routes = try await TeamRouteRecord.query(on: db).all()
        return teams.map { team in
            let id = team.id!
            return TeamDTO(id: id, name: team.name,
                           memberIDs: members.filter { $0.teamID == id }.map(\.agentID).sorted { $0.uuidString < $1.uuidString },
                           intents: routes.filter { $0.teamID == id && $0.kind == .intent }.map(\.key).sorted(),
                           tags: routes.filter { $0.teamID == id && $0.kind == .tag }.map(\.key).sorted())
        }
    }

    func create(_ body: TeamBody, by actor: AgentRecord) async throws -> TeamDTO {
        let team = try await db.writeTransaction { db -> UUID in
            let name = try await validatedName(body.name, excluding: nil, on: db)
            let team = TeamRecord(name: name)
            try await team.create(on: db)
            let id = try team.requireID()
            try await write(id, body, on: db)
            try await AuditLog.record(.teamCreate, by: actor, target: "team:\(id)", after: body.audited(name: name), on: db)
            return id
        }
        services.assignments.signal()
        return try await find(team)
    }

    /// Replaces the team's name, members and routes.
    func update(_ id: UUID, _ body: TeamBody, by actor: AgentRecord) async throws -> TeamDTO {
        let before = try await find(id)
        try await db.writeTransaction { db in
            guard let team = try await TeamRecord.find(id, on: db) else { throw AppError.notFound("Team \(id)") }
            team.name = try await validatedName(body.name, excluding: id, on: db)
            try await team.save(on: db)
            try await TeamMemberRecord.query(on: db).filter(\.$teamID == id).delete()
            try await TeamRouteRecord.query(on: db).filter(\.$teamID == id).delete()
            try await write(id, body, on: db)
            try await AuditLog.record(.teamUpdate, by: actor, target: "team:\(id)", before: before, after: body.audited(name: team.name), on: db)
        }
        services.assignments.signal()
        return try await find(id)
    }

    /// Deletes the team; its conversations become everyone's again.
    func delete(_ id: UUID, by actor: AgentRecord) async throws {
        let before = try await find(id)
        try await db.writeTransaction { db in
            try await ConversationRecord.query(on: db).filter(\.$teamID == id).set(\.$teamID, to: nil).update()
            try await TeamMemberRecord.query(on: db).filter(\.$teamID == id).delete()
            try await TeamRouteRecord.query(on: db).filter(\.$teamID == id).delete()
            try await TeamRecord.query(on: db).filter(\.$id == id).delete()
            try await AuditLog.record(.teamDelete, by: actor, target: "team:\(id)", before: before, on: db)
        }
        services.assignments.signal()
    }

    func find(_ id: UUID) async throws -> TeamDTO {
        guard let team = try await list().first(where: { $0.id == id }) else { throw AppError.notFound("Team \(id)") }
        return team
    }

    private func validatedName(_ raw: String, excluding id: UUID?, on db: Database) async throws -> String {
        let name = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...60).contains(name.count), !name.contains(where: \.isNewline) else {
            throw AppError.invalidField("name", "1–60 characters on one line")
        }
        let same = try await TeamRecord.query(on: db).all().first { $0.name.lowercased() == name.lowercased() && $0.id != id }
        if same != nil { throw AppError.conflict("A team named “\(name)” exists already.") }
        return name
    }

    /// Members and routes; each intent must exist and each intent or tag may route to one team.
    private func write(_ id: UUID, _ body: TeamBody, on db: Database) async throws {
        let memberIDs = Set(body.memberIDs ?? [])
        let agents = try await AgentRecord.query(on: db).filter(\.$id ~~ memberIDs).all()
        if let missing = memberIDs.subtracting(agents.compactMap(\.id)).first {
            throw AppError.invalidField("memberIDs", "no agent \(missing)")
        }
        for agentID in memberIDs { try await TeamMemberRecord(teamID: id, agentID: agentID).create(on: db) }
        let intents = Set(body.intents ?? [])
        let known = Set(try await IntentRecord.query(on: db).filter(\.$key ~~ intents).all().map(\.key))
        if let unknown = intents.subtracting(known).sorted().first {
            throw AppError.invalidField("intents", "no intent '\(unknown)' in the knowledge base")
        }
        let tags = Set(try (body.tags ?? []).map { try ConversationTag.normalise($0, field: "tags") })
        for (kind, keys) in [(TeamRouteRecord.Kind.intent, intents), (.tag, tags)] {
            for key in keys.sorted() {
                if let other = try await TeamRouteRecord.query(on: db).filter(\.$kind == kind).filter(\.$key == key).first(),
                   let team = try await TeamRecord.find(other.teamID, on: db) {
                    throw AppError.conflict("The \(kind.rawValue) '\(key)' routes to the team “\(team.name)” already; take it off there first.")
                }
                try await TeamRouteRecord(teamID: id, kind: kind, key: key).create(on: db)
            }
        }
    }

    // MARK: Routing and visibility

    /// The team a conversation handed off now goes to: a tag's team (people chose the tag)
    /// before its intent's; nil when neither routes anywhere.
    static func route(intent: String?, tags: [String], on db: Database) async throws -> UUID? {
        if !tags.isEmpty, let route = try await TeamRouteRecord.query(on: db).filter(\.$kind == .tag).filter(\.$key ~~ tags)
            .sort(\.$key).first() {
            return route.teamID
        }
        guard let intent else { return nil }
        return try await TeamRouteRecord.query(on: db).filter(\.$kind == .intent).filter(\.$key == intent).first()?.teamID
    }

    /// The teams an agent may see conversations of; nil: all of them (supervisors and admins).
    static func visibleTeams(of agent: AgentRecord, on db: Database) async throws -> Set<UUID>? {
        guard agent.role == .agent else { return nil }
        return Set(try await TeamMemberRecord.query(on: db).filter(\.$agentID == agent.requireID()).all().map(\.teamID))
    }

    /// Whether `agent` may see the conversation: a supervisor or admin always; an agent when it
    /// is routed to no team or to one of theirs, or is theirs.
    static func canSee(_ conversation: ConversationRecord, agent: AgentRecord, on db: Database) async throws -> Bool {
        guard let teams = try await visibleTeams(of: agent, on: db), let team = conversation.teamID else { return true }
        return teams.contains(team) || conversation.assignedAgentID == agent.id
    }

    // MARK: Presence

    /// The agent's own presence, from the console (its heartbeat repeats it).
    func setPresence(_ status: Presence, of agent: AgentRecord) async throws -> PresenceDTO {
        let now = services.clock.now
        let id = try agent.requireID()
        let changed = agent.presence != status
        try await AgentRecord.query(on: db).filter(\.$id == id).set(\.$presence, to: status).set(\.$presenceAt, to: now).update()
        agent.presence = status
        agent.presenceAt = now
        let dto = try await presence(of: [agent])[0]
        if changed {
            try await EventBus.record(.agentPresence, conversationID: nil, payload: dto, on: db)
            services.events.poke()
        }
        if status == .online { services.assignments.signal() }
        return dto
    }

    /// Every active agent's presence, open conversations and teams.
    func presence(of agents: [AgentRecord]? = nil) async throws -> [PresenceDTO] {
        let agents: [AgentRecord] = if let agents { agents } else {
            try await AgentRecord.query(on: db).filter(\.$active == true).sort(\.$name).all()
        }
        let ids = agents.compactMap(\.id)
        let open = try await ConversationRecord.query(on: db).filter(\.$status == .assigned).filter(\.$assignedAgentID ~~ ids).all()
        let members = try await TeamMemberRecord.query(on: db).filter(\.$agentID ~~ ids).all()
        let fallback = try await services.settings(on: db).maxConcurrentPerAgent
        let now = services.clock.now
        return agents.map { a in
            PresenceDTO(agentID: a.id!, name: a.name, status: a.presence,
                        effective: Presence.effective(a.presence, lastSeen: a.presenceAt, now: now), lastSeenAt: a.presenceAt,
                        open: open.filter { $0.assignedAgentID == a.id }.count, limit: a.maxConcurrent ?? fallback,
                        teamIDs: members.filter { $0.agentID == a.id }.map(\.teamID).sorted { $0.uuidString < $1.uuidString })
        }
    }
}

private extension TeamBody {
    struct Audited: Encodable {
        var name: String
        var memberIDs: [UUID]
        var intents: [String]
        var tags: [String]
    }

    func audited(name: String) -> Audited {
        Audited(name: name, memberIDs: (memberIDs ?? []).sorted { $0.uuidString < $1.uuidString },
                intents: (intents ?? []).sorted(), tags: (tags ?? []).sorted())
    }
}
