import Fluent
import Foundation
import TandemCore
@testable import TandemServer
import Testing
import Vapor
import VaporTesting

/// Abuse control: anonymous and sign-in requests are limited per client address, per
/// conversation and per e-mail; a refused request gets 429 with Retry-After and stores nothing.
@Suite("Rate limits", .serialized)
struct RateLimitTests {
    private func error(_ response: TestingHTTPResponse) -> String? {
        (response.json["error"] as? [String: Any])?["code"] as? String
    }

    @Test("new conversations per address: the burst passes, the next is 429 with Retry-After and stores nothing; time refills",
          arguments: TestDatabase.available)
    func conversations(database: TestDatabase) async throws {
        let clock = ManualClock(Date(timeIntervalSince1970: 1_790_000_000))
        try await TestApp.with(database, model: false, clock: clock, adjust: { $0.limits.enabled = true; $0.limits.conversationsPerAddress = 5 }) { t in
            for _ in 0..<5 { _ = try await t.startConversation() }
            let before = try await ConversationRecord.query(on: t.app.db).count()
            let refused = try await t.send(.POST, "/api/v1/conversations", json: ["name": "Ana"])
            #expect(refused.status == .tooManyRequests)
            #expect(error(refused) == "rate_limited")
            let wait = try #require(refused.headers.first(name: .retryAfter).flatMap(Int.init))
            #expect(wait == 12, "one token every 60/5 s")
            #expect(try await ConversationRecord.query(on: t.app.db).count() == before, "nothing stored")
            // Another client is not affected.
            let other = try await t.send(.POST, "/api/v1/conversations", json: ["name": "Bo"], headers: ["X-Forwarded-For": "203.0.113.9"])
            #expect(other.status == .tooManyRequests, "X-Forwarded-For counts only from a trusted proxy")
            clock.advance(by: Double(wait))
            _ = try await t.startConversation()
        }
    }

    @Test("behind a trusted proxy the forwarded address is the client", arguments: [TestDatabase.sqlite])
    func trustedProxy(database: TestDatabase) async throws {
        try await TestApp.with(database, model: false, adjust: {
            $0.limits.enabled = true; $0.limits.conversationsPerAddress = 2; $0.trustedProxies = ["local"]
        }) { t in
            func create(from address: String) async throws -> HTTPStatus {
                try await t.send(.POST, "/api/v1/conversations", json: ["name": "Ana"], headers: ["X-Forwarded-For": "198.51.100.7, \(address)"]).status
            }
            var statuses: [HTTPStatus] = []
            for address in ["203.0.113.1", "203.0.113.1", "203.0.113.1", "203.0.113.2"] { statuses.append(try await create(from: address)) }
            #expect(statuses == [.created, .created, .tooManyRequests, .created], "a different client behind the same proxy is not limited")
        }
    }

    @Test("messages per conversation: every acknowledged message is stored, no refused one is",
          .enabled(if: Shared.hasModel || TestDatabase.isCI, "needs the model"), arguments: TestDatabase.available)
    func messages(database: TestDatabase) async throws {
        try await TestApp.with(database, adjust: { $0.limits.enabled = true; $0.limits.messagesPerConversation = 8 }) { t in
            let c = try await t.startConversation()
            var accepted = 0, refused = 0
            for i in 0..<12 {
                let response = try await t.send(.POST, "/api/v1/conversations/\(c.id)/messages", json: ["text": "message \(i) about my card"], token: c.token)
                if response.status == .created { accepted += 1 } else {
                    #expect(response.status == .tooManyRequests)
                    #expect(response.headers.first(name: .retryAfter) != nil)
                    refused += 1
                }
            }
            #expect(accepted == 4 && refused == 8, "burst of half a minute's allowance: \(accepted) accepted")
            let stored = try await MessageRecord.query(on: t.app.db).filter(\.$conversation.$id == UUID(uuidString: c.id)!)
                .filter(\.$role == .customer).count()
            #expect(stored == accepted, "every acknowledged message is stored, no refused one is")
        }
    }

    @Test("sign-ins per e-mail are limited before the password is checked", arguments: [TestDatabase.sqlite])
    func logins(database: TestDatabase) async throws {
        try await TestApp.with(database, model: false, adjust: { $0.limits.enabled = true; $0.limits.loginsPerEmail = 3 }) { t in
            for _ in 0..<3 {
                let wrong = try await t.send(.POST, "/api/v1/auth/login", json: ["email": "admin@demo.tandem", "password": "guess"])
                #expect(wrong.status == .unauthorized)
            }
            let blocked = try await t.send(.POST, "/api/v1/auth/login", json: ["email": "ADMIN@demo.tandem", "password": "tandem-demo"])
            #expect(blocked.status == .tooManyRequests, "even the right password waits")
            #expect(error(blocked) == "rate_limited")
            let other = try await t.send(.POST, "/api/v1/auth/login", json: ["email": "agent@demo.tandem", "password": "tandem-demo"])
            #expect(other.status == .ok)
        }
    }

    @Test("a conversation holds at most TANDEM_MAX_MESSAGES_PER_CONVERSATION messages", arguments: [TestDatabase.sqlite])
    func cap(database: TestDatabase) async throws {
        try await TestApp.with(database, model: false, adjust: { $0.limits.messagesPerConversationCap = 4 }) { t in
            let c = try await t.startConversation()  // the greeting is message 1
            var statuses: [HTTPStatus] = []
            for i in 0..<4 {
                statuses.append(try await t.send(.POST, "/api/v1/conversations/\(c.id)/messages", json: ["text": "question \(i)"], token: c.token).status)
            }
            // Without a model every message is handed off, which adds the hand-off notice once.
            let count = try await MessageRecord.query(on: t.app.db).filter(\.$conversation.$id == UUID(uuidString: c.id)!).count()
            #expect(statuses.last == .conflict, "\(statuses)")
            #expect(count <= 4 + 1, "stored \(count)")
        }
    }

    @Test("open conversations per address are capped: resolving one or 24 hours make room; the address itself is never stored",
          arguments: TestDatabase.available)
    func openConversations(database: TestDatabase) async throws {
        let clock = ManualClock(Date(timeIntervalSince1970: 1_790_000_000))
        try await TestApp.with(database, model: false, clock: clock, adjust: {
            $0.limits.enabled = true; $0.limits.conversationsPerAddress = 100; $0.limits.openConversationsPerAddress = 3
        }) { t in
            var open: [(id: String, token: String)] = []
            for _ in 0..<3 { open.append(try await t.startConversation()) }
            let before = try await ConversationRecord.query(on: t.app.db).count()
            let refused = try await t.send(.POST, "/api/v1/conversations", json: ["name": "Ana"])
            #expect(refused.status == .tooManyRequests)
            #expect(error(refused) == "rate_limited")
            #expect(refused.headers.first(name: .retryAfter) == "3600")
            #expect(try await ConversationRecord.query(on: t.app.db).count() == before, "nothing stored")

            let resolved = try await t.send(.POST, "/api/v1/conversations/\(open[0].id)/resolve", token: open[0].token)
            #expect(resolved.status == .ok)
            _ = try await t.startConversation()
            #expect(try await t.send(.POST, "/api/v1/conversations", json: ["name": "Ana"]).status == .tooManyRequests)

            // Only the last 24 hours count.
            clock.advance(by: 86_401)
            _ = try await t.startConversation()

            let keys = try await ConversationRecord.query(on: t.app.db).all().map(\.originKey)
            #expect(keys.allSatisfy { $0 != nil && !$0!.contains("127.0.0.1") && $0!.count == 64 }, "a digest, not the address: \(keys)")
        }
    }
}
