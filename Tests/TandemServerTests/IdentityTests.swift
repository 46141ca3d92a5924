import Fluent
import Foundation
@testable import TandemServer
import Testing
import Vapor
import VaporTesting

/// Verified customers (the host site signs the user id) and the contact page, which joins a
/// customer's conversations only on a verified identity or a confirmed e-mail.
@Suite("Verified identities and contacts", .serialized)
struct IdentityTests {
    static let userID = "user-42"

    private func secret(_ t: TestApp) async throws -> String {
        let admin = try await t.login("admin@demo.tandem")
        let response = try await t.send(.GET, "/api/v1/identity-secret", token: admin)
        try #require(response.status == .ok, "\(response.body.string)")
        return try #require(response.json["secret"] as? String)
    }

    /// Starts a conversation with `body`; returns the response.
    private func start(_ t: TestApp, _ body: [String: String]) async throws -> TestingHTTPResponse {
        try await t.send(.POST, "/api/v1/conversations", json: body)
    }

    private func started(_ t: TestApp, _ body: [String: String]) async throws -> (id: String, token: String) {
        let response = try await start(t, body)
        try #require(response.status == .created, "\(response.status) \(response.body.string)")
        let conversation = try #require(response.json["conversation"] as? [String: Any])
        return (try #require(conversation["id"] as? String), try #require(response.json["token"] as? String))
    }

    private func error(_ response: TestingHTTPResponse) -> (code: String?, message: String) {
        let error = response.json["error"] as? [String: Any]
        return (error?["code"] as? String, error?["message"] as? String ?? "")
    }

    @Test("a valid signature verifies; a forged one (wrong hash, another user's hash, none, not hex) is refused with what was wrong, creating nothing",
          arguments: TestDatabase.available)
    func signatures(database: TestDatabase) async throws {
        try await TestApp.with(database, model: false) { t in
            // setup
            let secret = try await secret(t)
            let agent = try await t.login()
            let before = try await ConversationRecord.query(on: t.app.db).count()

            // act: the right signature
            let hash = IdentityVerification.hash(userID: Self.userID, secret: secret)
            let c = try await started(t, ["name": "Ada", "userId": Self.userID, "userHash": hash])

            // validate: verified, keyed by the user id, and shown so to agents
            let record = try #require(try await ConversationRecord.find(UUID(uuidString: c.id), on: t.app.db))
            #expect(record.customerVerified)
            #expect(record.customerKey == (try t.app.tandem.customerKeys.key(verifiedUserID: Self.userID)))
            #expect(!record.customerKey.contains(Self.userID), "the user id is stored only as a keyed digest")
            let view = try await t.send(.GET, "/api/v1/agent/conversations/\(c.id)", token: agent)
            #expect(view.json["customerVerified"] as? Bool == true)
            #expect(view.json["contactKey"] as? String == record.customerKey)
            let listed = try await t.send(.GET, "/api/v1/agent/conversations", token: agent).jsonArray
            #expect(listed.first { ($0["id"] as? String)?.lowercased() == c.id.lowercased() }?["customerVerified"] as? Bool == true)

            // act + validate: forgeries, each refused with its reason and nothing stored
            let wrong = String(repeating: "ab", count: 32)
            let otherUsers = IdentityVerification.hash(userID: "user-43", secret: secret)
            let cases: [([String: String], String)] = [
                (["userId": Self.userID, "userHash": wrong], "does not match"),
                (["userId": Self.userID, "userHash": otherUsers], "does not match"),
                (["userId": Self.userID, "userHash": hash.uppercased() + "00"], "not 64 hexadecimal"),
                (["userId": Self.userID, "userHash": "zz" + hash.dropFirst(2)], "not 64 hexadecimal"),
                (["userId": Self.userID], "missing"),
                (["userId": Self.userID, "userHash": ""], "missing"),
            ]
            for (body, reason) in cases {
                let refused = try await start(t, body)
                #expect(refused.status == .forbidden, "\(body): \(refused.status)")
                #expect(error(refused).code == "identity_refused")
                #expect(error(refused).message.contains(reason), "\(body): \(error(refused).message)")
            }
            let stray = try await start(t, ["userHash": hash])
            #expect(stray.status == .badRequest && (stray.json["error"] as? [String: Any])?["field"] as? String == "userHash")
            #expect(try await ConversationRecord.query(on: t.app.db).count() == before + 1, "a refused identity created a conversation")

            // an unverified conversation is shown so
            let plain = try await t.startConversation(name: "Bo")
            let plainView = try await t.send(.GET, "/api/v1/agent/conversations/\(plain.id)", token: agent)
            #expect(plainView.json["customerVerified"] as? Bool == false)
            #expect(plainView.json["contactKey"] as? String == "conversation:\(plain.id.lowercased())")

            // rotating the secret refuses the old signatures
            let admin = try await t.login("admin@demo.tandem")
            let rotated = try await t.send(.POST, "/api/v1/identity-secret/rotate", token: admin)
            #expect(rotated.status == .ok)
            let fresh = try #require(rotated.json["secret"] as? String)
            #expect(fresh != secret)
            #expect(try await start(t, ["userId": Self.userID, "userHash": hash]).status == .forbidden)
            #expect(try await start(t, ["userId": Self.userID, "userHash": IdentityVerification.hash(userID: Self.userID, secret: fresh)]).status == .created)
            #expect(try await t.send(.GET, "/api/v1/identity-secret", token: agent).status == .forbidden, "agents may not read the secret")
            #expect(try await AuditLogRecord.query(on: t.app.db).filter(\.$action == .identitySecretRotate).count() == 1)
        }
    }

    @Test("the contact joins a user's verified conversations and confirmed e-mails, never a chat-typed e-mail; ratings and tags shown",
          arguments: TestDatabase.available)
    func contactHistory(database: TestDatabase) async throws {
        try await TestApp.with(database, model: false) { t in
            // setup: two verified conversations of one user (one rated and tagged), a chat with
            // their e-mail typed in, another user's verified conversation
            let secret = try await secret(t)
            let agent = try await t.login()
            let hash = IdentityVerification.hash(userID: Self.userID, secret: secret)
            let first = try await started(t, ["name": "Ada", "email": "ada@example.com", "userId": Self.userID, "userHash": hash])
            #expect(try await t.send(.POST, "/api/v1/conversations/\(first.id)/resolve", token: first.token).status == .ok)
            #expect(try await t.send(.POST, "/api/v1/conversations/\(first.id)/rating", json: ["score": 4], token: first.token).status == .ok)
            #expect(try await t.send(.POST, "/api/v1/agent/conversations/\(first.id)/tags", json: ["tag": "billing"], token: agent).status == .ok)
            let second = try await started(t, ["name": "Ada", "userId": Self.userID, "userHash": hash, "channel": "mobile"])
            let typed = try await started(t, ["name": "Ada?", "email": "ada@example.com"])
            let other = try await started(t, ["name": "Eve", "userId": "user-43", "userHash": IdentityVerification.hash(userID: "user-43", secret: secret)])

            // act
            let key = try #require(try await t.send(.GET, "/api/v1/agent/conversations/\(second.id)", token: agent).json["contactKey"] as? String)
            let contact = try await t.send(.GET, "/api/v1/agent/contacts/\(key)", token: agent)

            // validate
            #expect(contact.status == .ok, "\(contact.body.string)")
            #expect(contact.json["joinedBy"] as? String == "verified")
            let rows = try #require(contact.json["conversations"] as? [[String: Any]])
            #expect(Set(rows.compactMap { ($0["id"] as? String)?.lowercased() }) == [first.id.lowercased(), second.id.lowercased()],
                    "not \(typed.id) (typed e-mail) nor \(other.id) (another user)")
            let rated = try #require(rows.first { ($0["id"] as? String)?.lowercased() == first.id.lowercased() })
            #expect(rated["rating"] as? Int == 4)
            #expect(rated["tags"] as? [String] == ["billing"])
            #expect(rated["status"] as? String == "resolved")
            #expect(rows.first { ($0["id"] as? String)?.lowercased() == second.id.lowercased() }?["channel"] as? String == "mobile")

            // the chat-typed e-mail is its own contact: only itself
            let typedKey = try #require(try await t.send(.GET, "/api/v1/agent/conversations/\(typed.id)", token: agent).json["contactKey"] as? String)
            #expect(typedKey == "conversation:\(typed.id.lowercased())")
            let alone = try await t.send(.GET, "/api/v1/agent/contacts/\(typedKey)", token: agent)
            #expect((alone.json["conversations"] as? [[String: Any]])?.compactMap { ($0["id"] as? String)?.lowercased() } == [typed.id.lowercased()])
            #expect(alone.json["joinedBy"] as? String == "conversation")
            // ... and its e-mail key lists nothing while no e-mail is confirmed
            let emailKey = try t.app.tandem.customerKeys.key(email: "ada@example.com")
            #expect(try await t.send(.GET, "/api/v1/agent/contacts/\(emailKey)", token: agent).status == .notFound)

            // confirmed e-mails (as the mail channel will mark them) join each other, not the chat one
            let mailA = try await started(t, ["name": "Ada", "email": "ada@example.com", "channel": "email"])
            let mailB = try await started(t, ["name": "Ada", "email": "ADA@example.com ", "channel": "email"])
            for id in [mailA.id, mailB.id] {
                try await ConversationRecord.query(on: t.app.db).filter(\.$id == UUID(uuidString: id)!).set(\.$customerEmailConfirmed, to: true).update()
            }
            let mail = try await t.send(.GET, "/api/v1/agent/contacts/\(emailKey)", token: agent)
            #expect(mail.json["joinedBy"] as? String == "email")
            #expect(Set((mail.json["conversations"] as? [[String: Any]] ?? []).compactMap { ($0["id"] as? String)?.lowercased() })
                    == [mailA.id.lowercased(), mailB.id.lowercased()])
            #expect(try await t.send(.GET, "/api/v1/agent/conversations/\(mailA.id)", token: agent).json["contactKey"] as? String == emailKey)

            // bad and unknown keys; no agent, no contact
            let bad = try await t.send(.GET, "/api/v1/agent/contacts/nonsense", token: agent)
            #expect(bad.status == .badRequest && (bad.json["error"] as? [String: Any])?["field"] as? String == "key")
            #expect(try await t.send(.GET, "/api/v1/agent/contacts/user:\(String(repeating: "0", count: 64))", token: agent).status == .notFound)
            #expect(try await t.send(.GET, "/api/v1/agent/contacts/\(key)", token: first.token).status == .unauthorized)

            // erasure by the verified key still works and unjoins the conversations
            let admin = try await t.login("admin@demo.tandem")
            let erased = try await t.send(.DELETE, "/api/v1/customers/\(key)", token: admin)
            #expect(erased.status == .ok, "\(erased.body.string)")
            #expect(try await t.send(.GET, "/api/v1/agent/contacts/\(key)", token: agent).status == .notFound)
        }
    }

    @Test("the contact page lists the history with links; the conversation page links to it with its badge; user text is inert",
          arguments: TestDatabase.available)
    func contactPage(database: TestDatabase) async throws {
        try await TestApp.with(database, model: false) { t in
            // setup
            let secret = try await secret(t)
            let agent = try await t.login()
            let hostile = "<img src=x onerror=alert(1)>"
            let hash = IdentityVerification.hash(userID: Self.userID, secret: secret)
            let a = try await started(t, ["name": hostile, "userId": Self.userID, "userHash": hash])
            let b = try await started(t, ["name": hostile, "userId": Self.userID, "userHash": hash])
            let key = try t.app.tandem.customerKeys.key(verifiedUserID: Self.userID)

            // act
            let page = try await t.send(.GET, "/console/contacts/\(key)", token: agent)
            let conversation = try await t.send(.GET, "/console/conversations/\(a.id)", token: agent)

            // validate
            #expect(page.status == .ok, "\(page.body.string.prefix(500))")
            let html = page.body.string
            #expect(html.contains("&lt;img src=x onerror=alert(1)&gt;"), "the name is shown as text")
            #expect(!html.contains("<img src=x"), "the name became markup")
            #expect(html.contains("/console/conversations/\(a.id)") && html.contains("/console/conversations/\(b.id)"))
            #expect(html.contains("badge--verified"))
            #expect(conversation.body.string.contains("href=\"/console/contacts/\(key)\""))
            #expect(conversation.body.string.contains("badge--verified"))
            #expect(!conversation.body.string.contains("<img src=x"))
            let list = try await t.send(.GET, "/console/conversations", token: agent).body.string
            #expect(list.contains("badge--verified"))
            #expect(try await t.send(.GET, "/console/contacts/nonsense", token: agent).status == .badRequest)
        }
    }
}
