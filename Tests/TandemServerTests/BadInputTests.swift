import Fluent
import Foundation
@testable import TandemServer
import Testing
import VaporTesting

/// Bad input gets a clear JSON error (what was wrong, where) and changes nothing.
@Suite("Bad input", .serialized)
struct BadInputTests {
    /// The error body's `code` and `field`.
    private func error(_ response: TestingHTTPResponse) -> (code: String?, field: String?, message: String?) {
        let detail = response.json["error"] as? [String: Any]
        return (detail?["code"] as? String, detail?["field"] as? String, detail?["message"] as? String)
    }

    private func messageCount(_ t: TestApp) async throws -> Int { try await MessageRecord.query(on: t.app.db).count() }

    @Test("invalid JSON, wrong types, missing fields → 400 naming the field; nothing stored", arguments: TestDatabase.available)
    func malformed(database: TestDatabase) async throws {
        try await TestApp.with(database, model: false) { t in
            let c = try await t.startConversation()
            let before = try await messageCount(t)
            let path = "/api/v1/conversations/\(c.id)/messages"

            let invalid = try await t.send(.POST, path, body: "{\"text\": \"hi", token: c.token)
            #expect(invalid.status == .badRequest)
            #expect(error(invalid).code == "invalid_json", "\(invalid.body.string)")

            let wrongType = try await t.send(.POST, path, body: "{\"text\": 42}", token: c.token)
            #expect(wrongType.status == .badRequest)
            #expect(error(wrongType).field == "text", "\(wrongType.body.string)")

            let missing = try await t.send(.POST, path, body: "{\"txt\": \"hello\"}", token: c.token)
            #expect(missing.status == .badRequest)
            #expect(error(missing).code == "missing_field")
            #expect(error(missing).field == "text", "\(missing.body.string)")

            let rating = try await t.send(.POST, "/api/v1/conversations/\(c.id)/rating", body: "{\"score\": \"five\"}", token: c.token)
            #expect(rating.status == .badRequest)
            #expect(error(rating).field == "score")

            let outOfRange = try await t.send(.POST, "/api/v1/conversations/\(c.id)/rating", json: ["score": 9], token: c.token)
            #expect(outOfRange.status == .badRequest, "\(outOfRange.body.string)")

            let login = try await t.send(.POST, "/api/v1/auth/login", body: "{\"email\": \"agent@demo.tandem\"}")
            #expect(login.status == .badRequest)
            #expect(error(login).field == "password")

            let value1 = try await messageCount(t)
            #expect(value1 == before, "a rejected request stored something")
        }
    }

    @Test("a message over the size limit → 413; empty → 400", arguments: TestDatabase.available)
    func tooLarge(database: TestDatabase) async throws {
        try await TestApp.with(database, model: false) { t in
            let c = try await t.startConversation()
            let before = try await messageCount(t)
            let path = "/api/v1/conversations/\(c.id)/messages"
            let long = try await t.send(.POST, path, json: ["text": String(repeating: "a", count: 2001)], token: c.token)
            #expect(long.status == .payloadTooLarge)
            #expect(error(long).code == "too_large", "\(long.body.string)")
            // Larger than the body limit: refused before it is read in full.
            let huge = try await t.send(.POST, path, json: ["text": String(repeating: "b", count: 200_000)], token: c.token)
            #expect(huge.status == .payloadTooLarge)
            let empty = try await t.send(.POST, path, json: ["text": "   "], token: c.token)
            #expect(empty.status == .badRequest)
            #expect(error(empty).field == "text")
            let value2 = try await messageCount(t)
            #expect(value2 == before)
        }
    }

    @Test("unknown or another customer's conversation → 404", arguments: TestDatabase.available)
    func otherConversations(database: TestDatabase) async throws {
        try await TestApp.with(database, model: false) { t in
            let mine = try await t.startConversation(name: "Mine")
            let theirs = try await t.startConversation(name: "Theirs")
            _ = try await t.send(.POST, "/api/v1/conversations/\(theirs.id)/handoff", token: theirs.token)

            let unknown = try await t.send(.GET, "/api/v1/conversations/\(UUID().uuidString)", token: mine.token)
            #expect(unknown.status == .notFound)
            let notAnID = try await t.send(.GET, "/api/v1/conversations/not-an-id", token: mine.token)
            #expect(notAnID.status == .notFound)
            // My token on their conversation: indistinguishable from one that does not exist.
            for (method, path) in [(HTTPMethod.GET, ""), (.GET, "/messages"), (.POST, "/handoff"), (.POST, "/resolve")] {
                let response = try await t.send(method, "/api/v1/conversations/\(theirs.id)\(path)", token: mine.token)
                #expect(response.status == .notFound, "\(method) \(path): \(response.status)")
            }
            let post = try await t.send(.POST, "/api/v1/conversations/\(theirs.id)/messages", json: ["text": "hello"], token: mine.token)
            #expect(post.status == .notFound)
            let noToken = try await t.send(.GET, "/api/v1/conversations/\(mine.id)")
            #expect(noToken.status == .notFound)
            let theirMessages = try await MessageRecord.query(on: t.app.db).filter(\.$conversation.$id == UUID(uuidString: theirs.id)!).all()
            #expect(!theirMessages.contains { $0.text == "hello" })
        }
    }

    @Test("agent routes: 401 without login, 403 with the wrong role", arguments: TestDatabase.available)
    func authentication(database: TestDatabase) async throws {
        try await TestApp.with(database, model: false) { t in
            for path in ["/api/v1/agent/queue", "/api/v1/agent/me", "/api/v1/intents", "/api/v1/workspace", "/api/v1/agents"] {
                let response = try await t.send(.GET, path)
                #expect(response.status == .unauthorized, "\(path): \(response.status)")
                #expect(error(response).code == "unauthenticated")
            }
            let bogus = try await t.send(.GET, "/api/v1/agent/queue", token: "not-a-token")
            #expect(bogus.status == .unauthorized)
            let wrongPassword = try await t.send(.POST, "/api/v1/auth/login", json: ["email": "agent@demo.tandem", "password": "nope"])
            #expect(wrongPassword.status == .unauthorized)

            let agent = try await t.login("agent@demo.tandem")
            let value3 = try await t.send(.GET, "/api/v1/agent/queue", token: agent).status
            #expect(value3 == .ok)
            let supervisorOnly = try await t.send(.POST, "/api/v1/intents", json: ["key": "x_y", "title": "X", "answer": "Y"], token: agent)
            #expect(supervisorOnly.status == .forbidden)
            #expect(error(supervisorOnly).code == "forbidden")
            let supervisor = try await t.login("supervisor@demo.tandem")
            let value4 = try await t.send(.PUT, "/api/v1/workspace", json: ["name": "X"], token: supervisor).status
            #expect(value4 == .forbidden)
            let value5 = try await t.send(.GET, "/api/v1/webhooks", token: supervisor).status
            #expect(value5 == .forbidden)

            // The console pages send a browser without a session to the login page.
            let page = try await t.send(.GET, "/console")
            #expect(page.status == .seeOther)
            #expect(page.headers.first(name: .location)?.hasPrefix("/console/login") == true)

            // Logged out tokens stop working.
            let value6 = try await t.send(.POST, "/api/v1/auth/logout", token: agent).status
            #expect(value6 == .noContent)
            let value7 = try await t.send(.GET, "/api/v1/agent/queue", token: agent).status
            #expect(value7 == .unauthorized)
        }
    }

    @Test("the same message with the same idempotency key is stored once", arguments: TestDatabase.available)
    func idempotency(database: TestDatabase) async throws {
        try await TestApp.with(database, model: false) { t in
            let c = try await t.startConversation()
            let first = try await t.say("Where is my refund?", in: c, key: "retry-123")
            let again = try await t.say("Where is my refund?", in: c, key: "retry-123", expect: .ok)
            #expect(first["duplicate"] as? Bool == false)
            #expect(again["duplicate"] as? Bool == true)
            let firstID = (first["message"] as? [String: Any])?["id"] as? String
            #expect(firstID != nil && firstID == (again["message"] as? [String: Any])?["id"] as? String)
            // Concurrent retries of another message: exactly one is the first delivery.
            let statuses = try await withThrowingTaskGroup(of: HTTPStatus.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        try await t.send(.POST, "/api/v1/conversations/\(c.id)/messages", json: ["text": "Card not arrived"], token: c.token,
                                         headers: ["Idempotency-Key": "retry-456"]).status
                    }
                }
                return try await group.reduce(into: [HTTPStatus]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .created }.count == 1 && statuses.filter { $0 == .ok }.count == 7, "\(statuses)")
            let stored = try await MessageRecord.query(on: t.app.db).all().filter { $0.role == .customer }.map(\.text)
            #expect(stored.filter { $0 == "Where is my refund?" }.count == 1)
            #expect(stored.filter { $0 == "Card not arrived" }.count == 1, "\(stored)")
        }
    }
}
