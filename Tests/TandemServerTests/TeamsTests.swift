import Fluent
import Foundation
import SQLKit
import TandemCore
@testable import TandemServer
import Testing
import VaporTesting

/// Teams, routing to them, who sees what, presence, and the automatic assignment of the
/// queue, on each database (the same with two real nodes: `TwoNodeTests`).
@Suite("Teams and automatic assignment", .serialized)
struct TeamsTests {
    private func createAgent(_ t: TestApp, admin: String, email: String, maxConcurrent: Int? = nil) async throws -> (id: String, token: String) {
        struct Body: Encodable, Sendable { var email, name, role, password: String; var maxConcurrent: Int? }
        let body = Body(email: email, name: email.components(separatedBy: "@")[0], role: "agent", password: "team-member-password", maxConcurrent: maxConcurrent)
        let created = try await t.send(.POST, "/api/v1/agents", json: body, token: admin)
        try #require(created.status == .created, "\(created.body.string)")
        return (try #require(created.json["id"] as? String), try await t.login(email, password: "team-member-password"))
    }

    /// A queued conversation (the customer asked for a person).
    private func queued(_ t: TestApp, name: String = "Ana") async throws -> (id: String, token: String) {
        let c = try await t.startConversation(name: name)
        let handed = try await t.send(.POST, "/api/v1/conversations/\(c.id)/handoff", token: c.token)
        try #require(handed.status == .ok, "\(handed.body.string)")
        return c
    }

    private func ids(_ response: TestingHTTPResponse) -> Set<String> { Set(response.jsonArray.compactMap { $0["id"] as? String }) }

    @Test("teams: create, replace, delete; bad input names the field; an intent or tag routes to one team", arguments: TestDatabase.available)
    func crud(database: TestDatabase) async throws {
        try await TestApp.with(database, model: false) { t in
            let supervisor = try await t.login("supervisor@demo.tandem")
            let agent = try await t.login()
            let me = try await t.send(.GET, "/api/v1/agent/me", token: agent).json["id"] as! String
            let intent = try #require(try await IntentRecord.query(on: t.app.db).first()).key

            let created = try await t.send(.POST, "/api/v1/teams", json: TeamJSON(name: " Cards ", memberIDs: [me], intents: [intent], tags: ["VIP"]), token: supervisor)
            #expect(created.status == .created, "\(created.body.string)")
            let id = try #require(created.json["id"] as? String)
            #expect(created.json["name"] as? String == "Cards")
            #expect(created.json["memberIDs"] as? [String] == [me])
            #expect(created.json["intents"] as? [String] == [intent])
            #expect(created.json["tags"] as? [String] == ["vip"])

            // Agents read teams; only supervisors change them.
            #expect(try await t.send(.GET, "/api/v1/teams", token: agent).jsonArray.count == 1)
            #expect(try await t.send(.POST, "/api/v1/teams", json: TeamJSON(name: "Mine"), token: agent).status == .forbidden)

            // Bad input: the field is named; taken names and routes are conflicts.
            for (body, field) in [(TeamJSON(name: ""), "name"), (TeamJSON(name: "X", memberIDs: [UUID().uuidString]), "memberIDs"),
                                  (TeamJSON(name: "X", intents: ["no_such_intent"]), "intents"), (TeamJSON(name: "X", tags: ["<b>"]), "tags")] {
                let refused = try await t.send(.POST, "/api/v1/teams", json: body, token: supervisor)
                #expect(refused.status == .badRequest, "\(body): \(refused.status)")
                #expect((refused.json["error"] as? [String: Any])?["field"] as? String == field, "\(refused.body.string)")
            }
            #expect(try await t.send(.POST, "/api/v1/teams", json: TeamJSON(name: "cards"), token: supervisor).status == .conflict)
            let stolen = try await t.send(.POST, "/api/v1/teams", json: TeamJSON(name: "Disputes", intents: [intent]), token: supervisor)
            #expect(stolen.status == .conflict)
            #expect(stolen.body.string.contains("Cards"), "names the team it routes to: \(stolen.body.string)")
            #expect(try await TeamRecord.query(on: t.app.db).count() == 1, "nothing of a refused team is kept")

            // Replace: members and routes are the body's.
            let replaced = try await t.send(.PUT, "/api/v1/teams/\(id)", json: TeamJSON(name: "Cards and PINs", tags: ["pin"]), token: supervisor)
            #expect(replaced.status == .ok, "\(replaced.body.string)")
            #expect(replaced.json["memberIDs"] as? [String] == [])
            #expect(replaced.json["intents"] as? [String] == [])
            #expect(replaced.json["tags"] as? [String] == ["pin"])
            #expect(try await t.send(.POST, "/api/v1/teams", json: TeamJSON(name: "Disputes", intents: [intent]), token: supervisor).status == .created,
                    "the intent is free again")
            #expect(try await AuditLogRecord.query(on: t.app.db).filter(\.$action ~~ [.teamCreate, .teamUpdate]).count() == 3)

            #expect(try await t.send(.DELETE, "/api/v1/teams/\(id)", token: supervisor).status == .noContent)
            #expect(try await t.send(.DELETE, "/api/v1/teams/\(id)", token: supervisor).status == .notFound)
            #expect(try await t.send(.PUT, "/api/v1/teams/\(UUID())", json: TeamJSON(name: "Y"), token: supervisor).status == .notFound)
        }
    }

    @Test("a hand-off goes to its intent's team, a tag moves it; other agents do not see it anywhere", arguments: TestDatabase.available)
    func routingAndVisibility(database: TestDatabase) async throws {
        try await TestApp.with(database, model: false) { t in
            let admin = try await t.login("admin@demo.tandem")
            let supervisor = try await t.login("supervisor@demo.tandem")
            let member = try await createAgent(t, admin: admin, email: "carla@cards.test")
            let outsider = try await t.login()
            let intent = try #require(try await IntentRecord.query(on: t.app.db).first()).key
            let cards = try await t.send(.POST, "/api/v1/teams", json: TeamJSON(name: "Cards", memberIDs: [member.id], intents: [intent]), token: supervisor)
            let disputes = try await t.send(.POST, "/api/v1/teams", json: TeamJSON(name: "Disputes", tags: ["chargeback"]), token: supervisor)
            let cardsID = try #require(cards.json["id"] as? String), disputesID = try #require(disputes.json["id"] as? String)

            // The conversation's last intent routes its hand-off.
            let c = try await t.startConversation()
            let record = try #require(try await ConversationRecord.find(UUID(uuidString: c.id), on: t.app.db))
            record.lastIntent = intent
            try await record.save(on: t.app.db)
            _ = try await t.send(.POST, "/api/v1/conversations/\(c.id)/handoff", token: c.token)
            let general = try await queued(t, name: "Bo")
            #expect(try await ConversationRecord.find(UUID(uuidString: c.id), on: t.app.db)?.teamID?.uuidString == cardsID)

            // The member sees both; the outsider only the teamless one, and not by id either.
            #expect(ids(try await t.send(.GET, "/api/v1/agent/queue", token: member.token)) == [c.id, general.id])
            #expect(ids(try await t.send(.GET, "/api/v1/agent/queue", token: outsider)) == [general.id])
            #expect(ids(try await t.send(.GET, "/api/v1/agent/conversations?status=queued", token: outsider)) == [general.id])
            #expect(ids(try await t.send(.GET, "/api/v1/agent/conversations?team=\(cardsID)", token: supervisor)) == [c.id])
            for (method, path) in [(HTTPMethod.GET, ""), (.POST, "/claim"), (.GET, "/notes")] {
                let hidden = try await t.send(method, "/api/v1/agent/conversations/\(c.id)\(path)", token: outsider)
                #expect(hidden.status == .notFound, "\(method) \(path): \(hidden.status)")
            }
            let item = try await t.send(.GET, "/api/v1/agent/queue", token: supervisor).jsonArray.first { $0["id"] as? String == c.id }
            #expect(item?["teamID"] as? String == cardsID, "supervisors see every team's, with its team")

            // A tag that routes elsewhere moves a waiting conversation there.
            _ = try await t.send(.POST, "/api/v1/agent/conversations/\(c.id)/tags", json: ["tag": "Chargeback"], token: member.token)
            #expect(try await ConversationRecord.find(UUID(uuidString: c.id), on: t.app.db)?.teamID?.uuidString == disputesID)
            #expect(ids(try await t.send(.GET, "/api/v1/agent/queue", token: member.token)) == [general.id])

            // Deleting the team makes it everyone's again.
            _ = try await t.send(.DELETE, "/api/v1/teams/\(disputesID)", token: supervisor)
            #expect(ids(try await t.send(.GET, "/api/v1/agent/queue", token: outsider)) == [c.id, general.id])
            let claimed = try await t.send(.POST, "/api/v1/agent/conversations/\(c.id)/claim", token: outsider)
            #expect(claimed.status == .ok, "manual claim still works: \(claimed.body.string)")
        }
    }

    @Test("20 queued conversations, two online agents of the team: none past its limit, none twice, the others stay queued", arguments: TestDatabase.available)
    func assignsWithinLimits(database: TestDatabase) async throws {
        let clock = ManualClock()
        try await TestApp.with(database, model: false, clock: clock) { t in
            let admin = try await t.login("admin@demo.tandem")
            let supervisor = try await t.login("supervisor@demo.tandem")
            let first = try await createAgent(t, admin: admin, email: "first@cards.test", maxConcurrent: 6)
            let second = try await createAgent(t, admin: admin, email: "second@cards.test", maxConcurrent: 8)
            let away = try await createAgent(t, admin: admin, email: "away@cards.test")
            let stale = try await createAgent(t, admin: admin, email: "stale@cards.test")
            let outsider = try await createAgent(t, admin: admin, email: "outsider@elsewhere.test")
            let team = try await t.send(.POST, "/api/v1/teams", json: TeamJSON(name: "Cards", memberIDs: [first.id, second.id, away.id, stale.id], tags: ["cards"]), token: supervisor)
            let teamID = try #require(UUID(uuidString: team.json["id"] as? String ?? ""))

            // Presence: one online a while ago (its console went quiet), one away, two online now,
            // one online outside the team.
            #expect(try await t.send(.PUT, "/api/v1/agent/presence", json: ["status": "online"], token: stale.token).status == .ok)
            clock.advance(by: Presence.timeoutSeconds + 1)
            _ = try await t.send(.PUT, "/api/v1/agent/presence", json: ["status": "away"], token: away.token)
            let bad = try await t.send(.PUT, "/api/v1/agent/presence", json: ["status": "busy"], token: away.token)
            #expect(bad.status == .badRequest && bad.body.string.contains("status"), "\(bad.body.string)")

            var conversations: [UUID] = []
            for i in 0..<20 { conversations.append(try #require(UUID(uuidString: try await queued(t, name: "Customer \(i)").id))) }
            try await ConversationRecord.query(on: t.app.db).filter(\.$id ~~ conversations).set(\.$teamID, to: teamID).update()
            for agent in [first, second, outsider] {
                let set = try await t.send(.PUT, "/api/v1/agent/presence", json: ["status": "online"], token: agent.token)
                #expect(set.json["effective"] as? String == "online")
            }

            // Several passes at once (the background one too): one transaction each, atomic.
            let services = t.app.tandem, db = t.app.db, logger = t.app.logger
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 { group.addTask { try await AutoAssignment(db: db, services: services, logger: logger).run() } }
                try await group.waitForAll()
            }

            let rows = try await ConversationRecord.query(on: t.app.db).filter(\.$id ~~ conversations).all()
            let owners = Dictionary(grouping: rows.compactMap(\.assignedAgentID), by: { $0.uuidString })
            #expect(owners[first.id]?.count == 6, "first is full at 6: \(owners.mapValues(\.count))")
            #expect(owners[second.id]?.count == 8, "second is full at 8")
            #expect(owners[away.id] == nil && owners[stale.id] == nil && owners[outsider.id] == nil, "away, gone quiet, or not of the team: none")
            #expect(rows.filter { $0.status == .queued }.count == 6, "the rest stay in the queue")
            #expect(rows.filter { $0.status == .assigned }.allSatisfy { $0.claimedAt == clock.now })
            let events = try await EventRecord.query(on: t.app.db).filter(\.$kind == .conversationAssigned).all()
            #expect(events.count == 14 && Set(events.compactMap(\.conversationID)).count == 14, "one event per assignment, none twice")

            // The board shows it; a place freed is filled; a second pass changes nothing more.
            let board = try await t.send(.GET, "/api/v1/agent/presence", token: first.token).jsonArray
            let mine = try #require(board.first { $0["agentID"] as? String == first.id })
            #expect(mine["open"] as? Int == 6 && mine["limit"] as? Int == 6)
            #expect(board.first { $0["agentID"] as? String == stale.id }?["effective"] as? String == "offline")
            let firstsConversation = try #require(rows.first { $0.assignedAgentID?.uuidString == first.id })
            #expect(try await t.send(.POST, "/api/v1/agent/conversations/\(firstsConversation.id!)/resolve", token: first.token).status == .ok)
            try await AutoAssignment(db: db, services: services, logger: logger).run()
            #expect(try await ConversationRecord.query(on: t.app.db).filter(\.$assignedAgentID == UUID(uuidString: first.id)!)
                .filter(\.$status == .assigned).count() == 6)
            #expect(try await ConversationRecord.query(on: t.app.db).filter(\.$id ~~ conversations).filter(\.$status == .queued).count() == 5)
            #expect(try await AutoAssignment(db: db, services: services, logger: logger).run().isEmpty)

            // Off: nothing is assigned automatically.
            let workspace = try await t.app.tandem.workspace(on: t.app.db)
            var settings = try workspace.settings
            settings.autoAssign = false
            workspace.store(settings)
            try await workspace.save(on: t.app.db)
            let secondsConversation = try #require(rows.first { $0.assignedAgentID?.uuidString == second.id })
            _ = try await t.send(.POST, "/api/v1/agent/conversations/\(secondsConversation.id!)/release", token: second.token)
            #expect(try await AutoAssignment(db: db, services: services, logger: logger).run().isEmpty)
        }
    }
}

/// A team as the API takes it.
private struct TeamJSON: Encodable, Sendable, CustomStringConvertible {
    var name: String
    var memberIDs: [String] = []
    var intents: [String] = []
    var tags: [String] = []
    var description: String { "team \(name) \(memberIDs) \(intents) \(tags)" }
}
