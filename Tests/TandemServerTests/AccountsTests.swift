import Fluent
import Foundation
import TandemCore
import TandemOffline
@testable import TandemServer
import Testing
import Vapor
import VaporTesting

/// Accounts: no known password off loopback, the first admin from the command line, and
/// whatever ends an account's access ends its sessions at once.
@Suite("Accounts", .serialized)
struct AccountsTests {
    @Test("demo accounts and the published password only on a loopback bind")
    func demoDefaults() {
        let loopback = TandemEnvironment([:])
        #expect(loopback.isLoopback && loopback.loadDemo && loopback.demoPassword == "tandem-demo" && loopback.showsDemoLogins)
        let reachable = TandemEnvironment(["TANDEM_HOST": "0.0.0.0"])
        #expect(!reachable.isLoopback && !reachable.loadDemo, "no demo accounts off loopback by default")
        let asked = TandemEnvironment(["TANDEM_HOST": "0.0.0.0", "TANDEM_DEMO": "true"])
        #expect(asked.loadDemo)
        #expect(asked.demoPassword != "tandem-demo" && asked.demoPassword.count == 16, "a random password when asked for")
        #expect(asked.demoPassword == asked.demoPassword, "the same for the whole run")
        #expect(!asked.showsDemoLogins, "the login page does not print a random password")
        #expect(TandemEnvironment(["TANDEM_HOST": "0.0.0.0", "TANDEM_DEMO": "true"]).demoPassword != asked.demoPassword)
        var moved = TandemEnvironment([:])
        moved.host = "0.0.0.0"  // `tandem serve --host 0.0.0.0`
        #expect(!moved.loadDemo && moved.demoPassword != "tandem-demo")
    }

    @Test("an install bound off loopback has no accounts; tandem admin create makes the first admin", arguments: TestDatabase.available)
    func firstAdmin(database: TestDatabase) async throws {
        let reachable = TandemEnvironment(["TANDEM_HOST": "0.0.0.0"])
        try await TestApp.with(database, model: false, adjust: { $0.host = "0.0.0.0"; $0.loadDemo = reachable.loadDemo }) { t in
            #expect(try await AgentRecord.query(on: t.app.db).count() == 0)
            let page = try await t.send(.GET, "/console/login")
            #expect(!page.body.string.contains("tandem-demo"), "the login page names no password")
            let demo = try await t.send(.POST, "/api/v1/auth/login", json: ["email": "admin@demo.tandem", "password": "tandem-demo"])
            #expect(demo.status == .unauthorized)

            // The command's own code path, on the database this server uses.
            let summary = try await Accounts.createFromCommandLine(email: "Owner@Example.com", name: "Olive Owner", role: "admin",
                                                                   password: "correct horse battery", environment: t.app.tandem.environment)
            #expect(summary == "created admin owner@example.com")
            let token = try await t.login("owner@example.com", password: "correct horse battery")
            let me = try await t.send(.GET, "/api/v1/agent/me", token: token)
            #expect(me.json["role"] as? String == "admin")
            await #expect(throws: (any Error).self, "a second account with the same e-mail") {
                _ = try await Accounts.createFromCommandLine(email: "owner@example.com", name: "X", role: "admin",
                                                             password: "another long one", environment: t.app.tandem.environment)
            }
            await #expect(throws: (any Error).self, "a short password") {
                _ = try await Accounts.createFromCommandLine(email: "b@example.com", name: "B", role: "admin", password: "short",
                                                             environment: t.app.tandem.environment)
            }
        }
    }

    @Test("demo accounts that still have the published password are locked when the server is reachable", arguments: [TestDatabase.sqlite])
    func publishedPasswordLocked(database: TestDatabase) async throws {
        try await TestApp.with(database, model: false) { t in
            let session = try await t.login("agent@demo.tandem")
            let hasher = t.app.password
            let locked = try await DemoWorkspace.lockPublishedPasswords(on: t.app.db, verify: { try hasher.verify($0, created: $1) },
                                                                        logger: t.app.logger)
            #expect(locked == 3)
            #expect(try await t.send(.GET, "/api/v1/agent/me", token: session).status == .unauthorized)
            let again = try await t.send(.POST, "/api/v1/auth/login", json: ["email": "agent@demo.tandem", "password": "tandem-demo"])
            #expect(again.status == .unauthorized)
        }
    }

    @Test("deactivation ends a live session at once; the last admin stays; reset and revoke sign out", arguments: TestDatabase.available)
    func adminActions(database: TestDatabase) async throws {
        try await TestApp.with(database, model: false) { t in
            let admin = try await t.login("admin@demo.tandem")
            let agentToken = try await t.login("agent@demo.tandem")
            let agents = try await t.send(.GET, "/api/v1/agents", token: admin).jsonArray
            func id(_ email: String) throws -> String { try #require(agents.first { $0["email"] as? String == email }?["id"] as? String) }
            let agentID = try id("agent@demo.tandem"), adminID = try id("admin@demo.tandem")

            #expect(try await t.send(.GET, "/api/v1/agent/me", token: agentToken).status == .ok)
            let off = try await t.send(.PATCH, "/api/v1/agents/\(agentID)", json: ["active": false], token: admin)
            #expect(off.status == .ok)
            #expect(off.json["active"] as? Bool == false)
            #expect(try await t.send(.GET, "/api/v1/agent/me", token: agentToken).status == .unauthorized, "the live session stopped at once")
            let refused = try await t.send(.POST, "/api/v1/auth/login", json: ["email": "agent@demo.tandem", "password": "tandem-demo"])
            #expect(refused.status == .unauthorized)
            let on = try await t.send(.PATCH, "/api/v1/agents/\(agentID)", json: ["active": true], token: admin)
            #expect(on.status == .ok)
            #expect(try await t.send(.GET, "/api/v1/agent/me", token: agentToken).status == .unauthorized, "reactivation does not revive old sessions")
            let fresh = try await t.login("agent@demo.tandem")

            let role = try await t.send(.PATCH, "/api/v1/agents/\(agentID)", json: ["role": "supervisor"], token: admin)
            #expect(role.json["role"] as? String == "supervisor")
            let bad = try await t.send(.PATCH, "/api/v1/agents/\(agentID)", json: ["role": "owner"], token: admin)
            #expect(bad.status == .badRequest)
            #expect(((bad.json["error"] as? [String: Any])?["message"] as? String)?.contains("agent, supervisor, admin") == true)

            let last = try await t.send(.PATCH, "/api/v1/agents/\(adminID)", json: ["active": false], token: admin)
            #expect(last.status == .conflict, "the last active admin cannot lock everyone out")
            let demote = try await t.send(.PATCH, "/api/v1/agents/\(adminID)", json: ["role": "agent"], token: admin)
            #expect(demote.status == .conflict)

            let reset = try await t.send(.POST, "/api/v1/agents/\(agentID)/password", json: ["password": "a brand new secret"], token: admin)
            #expect(reset.status == .noContent)
            #expect(try await t.send(.GET, "/api/v1/agent/me", token: fresh).status == .unauthorized)
            let afterReset = try await t.login("agent@demo.tandem", password: "a brand new secret")
            let revoke = try await t.send(.DELETE, "/api/v1/agents/\(agentID)/sessions", token: admin)
            #expect(revoke.status == .noContent)
            #expect(try await t.send(.GET, "/api/v1/agent/me", token: afterReset).status == .unauthorized)

            let agentOnly = try await t.login("supervisor@demo.tandem")
            #expect(try await t.send(.PATCH, "/api/v1/agents/\(agentID)", json: ["active": false], token: agentOnly).status == .forbidden)
        }
    }

    @Test("an agent changes their own password: the current one is required; other sessions end", arguments: TestDatabase.available)
    func changeOwnPassword(database: TestDatabase) async throws {
        try await TestApp.with(database, model: false) { t in
            let here = try await t.login("agent@demo.tandem")
            let elsewhere = try await t.login("agent@demo.tandem")
            let wrong = try await t.send(.POST, "/api/v1/agent/password", json: ["currentPassword": "guess", "newPassword": "my own long secret"], token: here)
            #expect(wrong.status == .badRequest)
            #expect((wrong.json["error"] as? [String: Any])?["field"] as? String == "currentPassword")
            let short = try await t.send(.POST, "/api/v1/agent/password", json: ["currentPassword": "tandem-demo", "newPassword": "short"], token: here)
            #expect((short.json["error"] as? [String: Any])?["field"] as? String == "newPassword")
            let changed = try await t.send(.POST, "/api/v1/agent/password", json: ["currentPassword": "tandem-demo", "newPassword": "my own long secret"], token: here)
            #expect(changed.status == .noContent)
            #expect(try await t.send(.GET, "/api/v1/agent/me", token: here).status == .ok, "this session stays")
            #expect(try await t.send(.GET, "/api/v1/agent/me", token: elsewhere).status == .unauthorized, "the others end")
            let old = try await t.send(.POST, "/api/v1/auth/login", json: ["email": "agent@demo.tandem", "password": "tandem-demo"])
            #expect(old.status == .unauthorized)
            _ = try await t.login("agent@demo.tandem", password: "my own long secret")
        }
    }

    @Test("sessions end after two idle hours, slide while used, end at twelve hours anyway, and are purged", arguments: TestDatabase.available)
    func idleSessions(database: TestDatabase) async throws {
        let clock = ManualClock(Date(timeIntervalSince1970: 1_790_000_000))
        try await TestApp.with(database, model: false, clock: clock) { t in
            func live(_ token: String) async throws -> Bool {
                try await t.send(.GET, "/api/v1/agent/me", token: token).status == .ok
            }
            let used = try await t.login("agent@demo.tandem")
            let idle = try await t.login("supervisor@demo.tandem")
            for _ in 0..<5 {  // 5 × 119 min: well past the idle window in total, never idle that long
                clock.advance(by: 119 * 60)
                #expect(try await live(used), "use renews the idle window")
            }
            #expect(try await !live(idle), "unused for 595 minutes")
            clock.advance(by: 121 * 60)
            #expect(try await !live(used), "unused for 121 minutes")

            let steady = try await t.login("admin@demo.tandem")
            for _ in 0..<11 { clock.advance(by: 60 * 60); #expect(try await live(steady)) }
            clock.advance(by: 61 * 60)
            #expect(try await !live(steady), "12 hours after sign-in, however busy")

            let purged = try await Sessions.purge(now: clock.now, idle: t.app.tandem.environment.sessionIdleTimeout, on: t.app.db)
            #expect(purged == 3)
            #expect(try await AgentTokenRecord.query(on: t.app.db).count() == 0)
        }
    }
}
