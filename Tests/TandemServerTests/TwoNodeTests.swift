import Fluent
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import SQLKit
import TandemOffline
@testable import TandemServer
import Testing
import Vapor

/// Several real `tandem serve` processes on one database (README, "Several nodes"), checked
/// over HTTP only, with the shared database read directly to confirm what the API says: a
/// customer on node A and an agent on node B see each other's messages live; 50 claims of one
/// conversation through both nodes leave one owner, and one agent's concurrent claims stay
/// within their limit; every training job runs once; a model activated on one node serves on
/// the other. PostgreSQL runs two nodes; SQLite (one writer, so one node) runs the same
/// scenario on a single node.
@Suite("Several nodes", .serialized)
struct TwoNodeTests {
    @Test("two nodes on one PostgreSQL",
          .enabled(if: TestDatabase.postgresURL != nil || TestDatabase.isCI, "needs PostgreSQL: set TANDEM_TEST_POSTGRES_URL (make test does)"),
          .enabled(if: ServerProcess.binary != nil || TestDatabase.isCI, "build `tandem` first (make test does)"))
    func twoNodesOnPostgres() async throws {
        try await Cluster.scenario(.postgres, nodes: 2)
    }

    @Test("the same scenario on one node on SQLite",
          .enabled(if: ServerProcess.binary != nil || TestDatabase.isCI, "build `tandem` first (make test does)"))
    func oneNodeOnSQLite() async throws {
        try await Cluster.scenario(.sqlite, nodes: 1)
    }
}

/// Nodes started together on a fresh database, and the database itself for checking.
struct Cluster {
    let nodes: [ServerProcess]
    let database: DatabaseProbe
    /// The customer's node and the agent's (the same one when there is one node).
    var a: APIClient { nodes[0].api }
    var b: APIClient { nodes[nodes.count - 1].api }

    /// Starts `count` nodes at once (as a deployment rolls out its replicas) and always kills
    /// them, and drops their schema, afterwards.
    static func with(_ database: TestDatabase, nodes count: Int, _ body: (Cluster) async throws -> Void) async throws {
        let binary = try #require(ServerProcess.binary, "the tandem executable was not found next to the tests")
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-nodes-\(UUID().uuidString)")
        var environment = ProcessInfo.processInfo.environment
        for key in environment.keys where key.hasPrefix("TANDEM_") || key == "DATABASE_URL" { environment.removeValue(forKey: key) }
        environment["TANDEM_DATA_DIR"] = data.path
        environment["TANDEM_MODEL_DIR"] = Shared.modelDirectory
        environment["TANDEM_DEMO"] = "true"  // on loopback: the demo agents with the documented password
        environment["TANDEM_TRAIN_ON_START"] = "true"  // every node finds no model and asks for one
        environment["TANDEM_BCRYPT_COST"] = "4"
        environment["TANDEM_RATE_LIMITS"] = "off"  // 50 agents sign in, hundreds of messages, all from 127.0.0.1
        // Longer than any wait below: only PostgreSQL's NOTIFY can carry events between nodes in time.
        environment["TANDEM_EVENT_POLL_INTERVAL"] = "30"
        let schema = "nodes_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        if database == .postgres {
            let url = try #require(TestDatabase.postgresURL, "CI=true requires PostgreSQL: set TANDEM_TEST_POSTGRES_URL")
            environment["DATABASE_URL"] = url
            environment["TANDEM_DATABASE_SCHEMA"] = schema
        }

        var nodes: [ServerProcess] = []
        var probe: DatabaseProbe?
        do {
            for name in ["a", "b"].prefix(count) {
                var own = environment
                own["TANDEM_NODE_ID"] = "node-\(name)"
                nodes.append(try ServerProcess(binary: binary, environment: own))
            }
            for node in nodes { try await node.waitUntilHealthy(within: 90) }
            probe = try await DatabaseProbe(environment: environment)
            try await body(Cluster(nodes: nodes, database: probe!))
        } catch {
            for (node, name) in zip(nodes, ["A", "B"]) { print("node \(name) log (\(node.base)):\n\(node.logTail(40))\n") }
            await stop(nodes, probe: probe, schema: database == .postgres ? schema : nil, data: data)
            throw error
        }
        await stop(nodes, probe: probe, schema: database == .postgres ? schema : nil, data: data)
    }

    private static func stop(_ nodes: [ServerProcess], probe: DatabaseProbe?, schema: String?, data: URL) async {
        for node in nodes { node.terminate() }
        // A node that failed at start leaves no probe; the schema it may have made is dropped all the same.
        var probe = probe
        if probe == nil, let schema, let url = TestDatabase.postgresURL {
            probe = try? await DatabaseProbe(environment: ["DATABASE_URL": url, "TANDEM_DATABASE_SCHEMA": schema])
        }
        if let probe {
            if let schema { try? await probe.sql.raw("DROP SCHEMA IF EXISTS \(ident: schema) CASCADE").run() }
            await probe.shutdown()
        }
        try? FileManager.default.removeItem(at: data)
    }

    // MARK: The scenario

    static func scenario(_ database: TestDatabase, nodes count: Int) async throws {
        let started = ContinuousClock.now
        try await with(database, nodes: count) { c in
            let label = count == 2 ? "two nodes on PostgreSQL" : "one node on SQLite"
            let (nodeA, nodeB) = count == 2 ? ("A", "B") : ("the node", "the node")
            var figures: [String] = []
            let admin = try await c.a.login("admin@demo.tandem")
            let agent = try await c.b.login("agent@demo.tandem")

            // 1. Started together on an empty database, every node asked for a model: one training ran.
            let first = try await c.waitForTraining(started: started)
            figures.append("started and trained the first model (\(first)) in \(seconds(ContinuousClock.now - started))")
            #expect(try await c.database.count("SELECT COUNT(*) AS n FROM jobs WHERE kind = 'train'") == 1,
                    "every node found no model at start; one training job should have been queued")
            #expect(try await c.database.count("SELECT COUNT(*) AS n FROM model_versions") == 1)
            for node in c.nodes { _ = try await c.waitUntilServing(first, on: node.api, agent: agent) }

            // 2. Live events both ways: the customer's stream on A, the agent's on B.
            let conversation = try await c.a.startConversation()
            let customerStream = EventStreamReader(url: c.a.base + "/api/v1/conversations/\(conversation.id)/events", token: conversation.token)
            let agentStream = EventStreamReader(url: c.b.base + "/api/v1/agent/events", token: agent)
            defer { customerStream.close(); agentStream.close() }
            try await customerStream.waitFor(": connected")
            try await agentStream.waitFor(": connected")
            _ = try await c.a.expect(200, "POST", "/api/v1/conversations/\(conversation.id)/handoff", token: conversation.token)
            try await agentStream.waitFor("event: conversation.handed_off")
            _ = try await c.b.expect(200, "POST", "/api/v1/agent/conversations/\(conversation.id)/claim", token: agent)
            try await customerStream.waitFor("event: conversation.claimed")
            var toAgent: [Duration] = [], toCustomer: [Duration] = []
            for round in 1...5 {
                let question = "question \(round) \(UUID().uuidString.prefix(8))"
                let asked = ContinuousClock.now
                _ = try await c.a.expect(201, "POST", "/api/v1/conversations/\(conversation.id)/messages", json: ["text": question], token: conversation.token)
                toAgent.append(try await agentStream.waitFor(question) - asked)
                let answer = "answer \(round) \(UUID().uuidString.prefix(8))"
                let answered = ContinuousClock.now
                _ = try await c.b.expect(201, "POST", "/api/v1/agent/conversations/\(conversation.id)/messages", json: ["text": answer], token: agent)
                toCustomer.append(try await customerStream.waitFor(answer) - answered)
            }
            figures.append("customer message on \(nodeA) → agent stream on \(nodeB): \(spread(toAgent)); "
                           + "agent reply on \(nodeB) → customer stream on \(nodeA): \(spread(toCustomer))")

            // 3. 50 agents claim one queued conversation at once, 25 through each node: the race
            // is between different agents for the same row (one agent's second claim is refused anyway).
            let agents = try await c.makeAgents(50, admin: admin)
            let queued = try await c.a.startConversation()
            _ = try await c.a.expect(200, "POST", "/api/v1/conversations/\(queued.id)/handoff", token: queued.token)
            let claimStart = ContinuousClock.now
            let claims = try await withThrowingTaskGroup(of: (status: Int, agent: UUID).self) { group in
                for (i, claimant) in agents.enumerated() {
                    let api = i % 2 == 0 ? c.a : c.b
                    group.addTask { (try await api.send("POST", "/api/v1/agent/conversations/\(queued.id)/claim", token: claimant.token).0, claimant.id) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let claimTime = ContinuousClock.now - claimStart
            let winners = claims.filter { $0.status == 200 }
            #expect(winners.count == 1 && claims.filter { $0.status == 409 }.count == 49, "claim statuses: \(histogram(claims.map { $0.status }))")
            let owners = try await c.database.uuids("SELECT assigned_agent_id AS id FROM conversations WHERE id = \(bind: UUID(uuidString: queued.id)!) AND status = 'assigned'")
            #expect(owners == winners.map { $0.agent }, "the database's owner is the one claim that got 200")
            #expect(try await c.database.count("SELECT COUNT(*) AS n FROM events WHERE conversation_id = \(bind: UUID(uuidString: queued.id)!) AND kind = 'conversation.claimed'") == 1)
            figures.append("50 concurrent claims (\(50 / count) per node): \(histogram(claims.map { $0.status })) in \(millis(claimTime))")

            // 4. One agent allowed 2 open conversations claims 12 queued ones at once through
            // both nodes: the race is on the agent's count, across rows.
            let limited = try await c.makeAgents(1, admin: admin, maxConcurrent: 2, prefix: "limited")[0]
            let limitedOnB = try await c.b.login(limited.email, password: Cluster.agentPassword)
            var waiting: [String] = []
            for i in 0..<12 {
                let api = i % 2 == 0 ? c.a : c.b
                let one = try await api.startConversation()
                _ = try await api.expect(200, "POST", "/api/v1/conversations/\(one.id)/handoff", token: one.token)
                waiting.append(one.id)
            }
            let limitedClaims = try await withThrowingTaskGroup(of: Int.self) { group in
                for (i, id) in waiting.enumerated() {
                    let (api, token) = i % 2 == 0 ? (c.a, limited.token) : (c.b, limitedOnB)
                    group.addTask { try await api.send("POST", "/api/v1/agent/conversations/\(id)/claim", token: token).0 }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(limitedClaims.filter { $0 == 200 }.count == 2 && limitedClaims.filter { $0 == 409 }.count == 10,
                    "claims by one agent with a limit of 2: \(histogram(limitedClaims))")
            #expect(try await c.database.count("SELECT COUNT(*) AS n FROM conversations WHERE assigned_agent_id = \(bind: limited.id) AND status = 'assigned'") == 2)
            figures.append("12 concurrent claims by one agent limited to 2: \(histogram(limitedClaims))")

            // 4b. Automatic assignment: 20 conversations routed to a team (by a tag, on either
            // node), two of its agents online, one through each node; every node's assignment
            // runs. Nobody goes past their limit and no conversation is assigned twice.
            let supervisor = try await c.a.login("supervisor@demo.tandem")
            let members = try await c.makeAgents(1, admin: admin, maxConcurrent: 6, prefix: "member-a")
                + c.makeAgents(1, admin: admin, maxConcurrent: 8, prefix: "member-b")
            _ = try await c.a.expect(201, "POST", "/api/v1/teams", json: ["name": "Nodes", "memberIDs": members.map(\.id.uuidString), "tags": ["nodes"]],
                                     token: supervisor)
            for i in 0..<20 {
                let api = i % 2 == 0 ? c.a : c.b
                let one = try await api.startConversation()
                _ = try await api.expect(200, "POST", "/api/v1/conversations/\(one.id)/handoff", token: one.token)
                _ = try await api.expect(200, "POST", "/api/v1/agent/conversations/\(one.id)/tags", json: ["tag": "nodes"], token: supervisor)
            }
            let assignStart = ContinuousClock.now
            for (member, api) in zip(members, [c.a, c.b]) {
                _ = try await api.expect(200, "PUT", "/api/v1/agent/presence", json: ["status": "online"], token: member.token)
            }
            let capacity = 14
            let memberIDs = members.map(\.id)
            while try await c.database.count("SELECT COUNT(*) AS n FROM conversations WHERE status = 'assigned' AND assigned_agent_id IN (\(binds: memberIDs))") < capacity,
                  ContinuousClock.now - assignStart < .seconds(30) {
                try await Task.sleep(for: .milliseconds(100))
            }
            let assignTime = ContinuousClock.now - assignStart
            for (member, limit) in zip(members, [6, 8]) {
                #expect(try await c.database.count("SELECT COUNT(*) AS n FROM conversations WHERE status = 'assigned' AND assigned_agent_id = \(bind: member.id)") == limit,
                        "each member exactly at their limit")
            }
            let assignedEvents = try await c.database.count("SELECT COUNT(*) AS n FROM events WHERE kind = 'conversation.assigned'")
            let assignedConversations = try await c.database.count("SELECT COUNT(DISTINCT conversation_id) AS n FROM events WHERE kind = 'conversation.assigned'")
            #expect(assignedEvents == capacity && assignedConversations == capacity, "one assignment per conversation: \(assignedEvents) events, \(assignedConversations) conversations")
            figures.append("automatic assignment of 30 waiting conversations to 2 online agents (limits 6 and 8) on \(count) node(s): 14 assigned in \(millis(assignTime)), none twice, none past a limit")

            // 5. A knowledge-base change on B queues a retrain; then training is requested on
            // both nodes at once. Each queued job runs exactly once, making one version.
            let retrainStart = ContinuousClock.now
            _ = try await c.b.expect(201, "POST", "/api/v1/intents/login_password_reset/examples",
                                     json: ["text": "the reset link in my inbox has expired \(UUID().uuidString.prefix(6))"], token: admin)
            let requests = try await withThrowingTaskGroup(of: Bool.self) { group in
                for i in 0..<2 {
                    let api = i % 2 == 0 ? c.a : c.b
                    group.addTask {
                        let (status, data) = try await api.send("POST", "/api/v1/models/train", json: [:], token: admin)
                        try #require(status == 202, "train request: \(status)")
                        return (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["queued"] as? Bool == true
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let queuedRequests = requests.filter { $0 }.count
            let second = try await c.waitForTraining(started: retrainStart)
            let jobs = try await c.database.count("SELECT COUNT(*) AS n FROM jobs WHERE kind = 'train'")
            #expect(jobs == 2 + queuedRequests, "jobs: the first, the knowledge-base change's, and one per request that said queued")
            #expect(queuedRequests <= count, "at most one job waits, and each node runs one at a time: \(queuedRequests) of 2 requests queued")
            #expect(try await c.database.count("SELECT COUNT(*) AS n FROM jobs WHERE kind = 'train' AND (status <> 'done' OR attempts <> 1)") == 0,
                    "every training job ran once and finished")
            #expect(try await c.database.count("SELECT COUNT(*) AS n FROM model_versions") == jobs, "one version per job")
            #expect(second != first, "the retrained model learned the new example")
            for node in c.nodes { _ = try await c.waitUntilServing(second, on: node.api, agent: agent) }
            figures.append("retraining: \(queuedRequests) of 2 concurrent train requests queued a job; \(jobs) jobs in all, each run once; "
                           + "done in \(seconds(ContinuousClock.now - retrainStart))")

            // 6. The first model activated again through A serves on B.
            let original = try await c.database.uuids("SELECT id FROM model_versions WHERE version = \(bind: first)")
            try #require(original.count == 1)
            _ = try await c.a.expect(200, "POST", "/api/v1/models/\(original[0].uuidString)/activate", json: [:], token: admin)
            let pickedUp = try await c.waitUntilServing(first, on: c.b, agent: agent)
            figures.append("model activated on \(nodeA) → decisions on \(nodeB) carry it after \(millis(pickedUp))")

            // 7. The kill switch turned on through A holds on B at once: B's cached settings follow
            // the change's `workspace.changed` event, well before the cache's age limit
            // (`WorkspaceCache.maximumAge`) or the poll interval (30 s here) would.
            let workspace = try #require(try await c.a.expect(200, "GET", "/api/v1/workspace", token: admin) as? [String: Any])
            var settings = try #require(workspace["settings"] as? [String: any Sendable])
            #expect(settings["killSwitch"] as? Bool == false, "precondition: the AI is on")
            settings["killSwitch"] = true
            let switched = ContinuousClock.now
            _ = try await c.a.expect(200, "PUT", "/api/v1/workspace", json: ["name": workspace["name"] as? String ?? "Fernpay", "settings": settings], token: admin)
            var rule: String?
            while rule != "kill-switch", ContinuousClock.now - switched < .seconds(10) {
                let asking = try await c.b.startConversation()
                _ = try await c.b.expect(201, "POST", "/api/v1/conversations/\(asking.id)/messages", json: ["text": "how do I reset my password"], token: asking.token)
                let view = try #require(try await c.b.expect(200, "GET", "/api/v1/agent/conversations/\(asking.id)", token: agent) as? [String: Any])
                rule = (view["decisions"] as? [[String: Any]])?.last?["rule"] as? String
            }
            let killed = ContinuousClock.now - switched
            #expect(rule == "kill-switch", "\(nodeB) still decides by rule \(rule ?? "none") 10 s after the kill switch went on through \(nodeA)")
            figures.append("kill switch turned on through \(nodeA) → \(nodeB)'s decisions follow it after \(millis(killed))")

            print("Several nodes, \(label), \(seconds(ContinuousClock.now - started)) in all:\n  " + figures.joined(separator: "\n  "))
        }
    }

    // MARK: Helpers

    static let agentPassword = "several-nodes-password"

    /// Creates agents through the API and signs each in on alternate nodes.
    func makeAgents(_ count: Int, admin: String, maxConcurrent: Int? = nil, prefix: String = "claimant") async throws
        -> [(id: UUID, email: String, token: String)] {
        var agents: [(id: UUID, email: String, token: String)] = []
        for i in 0..<count {
            let email = "\(prefix)-\(i)@nodes.tandem"
            var body: [String: any Sendable] = ["email": email, "name": "Claimant \(i)", "role": "agent", "password": Self.agentPassword]
            if let maxConcurrent { body["maxConcurrent"] = maxConcurrent }
            let created = try #require(try await a.expect(201, "POST", "/api/v1/agents", json: body, token: admin) as? [String: Any])
            let id = try #require((created["id"] as? String).flatMap(UUID.init(uuidString:)))
            let api = i % 2 == 0 ? a : b
            agents.append((id, email, try await api.login(email, password: Self.agentPassword)))
        }
        return agents
    }

    /// Waits until no training job is waiting or running; returns the one active version.
    func waitForTraining(started: ContinuousClock.Instant, within timeout: Duration = .seconds(120)) async throws -> String {
        let deadline = started + timeout
        while ContinuousClock.now < deadline {
            let busy = try await database.count("SELECT COUNT(*) AS n FROM jobs WHERE kind = 'train' AND status IN ('pending', 'running')")
                + database.count("SELECT COUNT(*) AS n FROM model_versions WHERE status = 'training'")
            if busy == 0 {
                let active = try await database.strings("SELECT version AS value FROM model_versions WHERE status = 'active'")
                try #require(active.count == 1, "exactly one active model version once training is over: \(active)")
                return active[0]
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw TestSetupError("training was still waiting or running \(timeout) after it was asked for")
    }

    /// Sends customer messages through `api` until the node's decisions carry `version` (by the
    /// decision records the node writes); returns how long that took.
    func waitUntilServing(_ version: String, on api: APIClient, agent: String, within timeout: Duration = .seconds(20)) async throws -> Duration {
        let start = ContinuousClock.now
        let conversation = try await api.startConversation()
        var seen: String?
        while ContinuousClock.now - start < timeout {
            _ = try await api.expect(201, "POST", "/api/v1/conversations/\(conversation.id)/messages",
                                     json: ["text": "how do I reset my password"], token: conversation.token)
            let view = try #require(try await api.expect(200, "GET", "/api/v1/agent/conversations/\(conversation.id)", token: agent) as? [String: Any])
            seen = ((view["decisions"] as? [[String: Any]])?.last?["modelVersion"] as? String)
            if seen == version { return ContinuousClock.now - start }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestSetupError("\(api.base) still decides with \(seen ?? "no model") \(timeout) after; expected \(version)")
    }

    static func millis(_ d: Duration) -> String { "\(Int((Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15).rounded())) ms" }
    static func seconds(_ d: Duration) -> String { String(format: "%.1f s", Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18) }
    static func spread(_ ds: [Duration]) -> String {
        let sorted = ds.sorted()
        return "median \(millis(sorted[sorted.count / 2])), max \(millis(sorted.last!)) (\(ds.count) messages)"
    }
    static func histogram(_ statuses: [Int]) -> String {
        Dictionary(grouping: statuses, by: { $0 }).sorted { $0.key < $1.key }.map { "\($0.value.count) × \($0.key)" }.joined(separator: ", ")
    }
}

/// The nodes' database, opened directly (without migrating or loading anything), to check
/// what the API reports against what is stored.
final class DatabaseProbe: Sendable {
    let app: Application

    init(environment: [String: String]) async throws {
        app = try await Application.make(.testing)
        app.logger.logLevel = .warning
        do {
            try configureDatabase(app, environment: TandemEnvironment(environment))
        } catch {
            try? await app.asyncShutdown()
            throw error
        }
    }

    var sql: any SQLDatabase { app.db as! any SQLDatabase }

    /// A query selecting one integer `n`.
    func count(_ query: SQLQueryString) async throws -> Int {
        let row = try #require(try await sql.raw(query).first())
        return try row.decode(column: "n", as: Int.self)
    }

    /// A query selecting strings as `value`.
    func strings(_ query: SQLQueryString) async throws -> [String] {
        try await sql.raw(query).all().map { try $0.decode(column: "value", as: String.self) }
    }

    /// A query selecting UUIDs as `id`.
    func uuids(_ query: SQLQueryString) async throws -> [UUID] {
        try await sql.raw(query).all().map { try $0.decode(column: "id", as: UUID.self) }
    }

    func shutdown() async { try? await app.asyncShutdown() }
}
