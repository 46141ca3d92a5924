import Fluent
import Foundation
import TandemCore
@testable import TandemServer
import Testing
import Vapor
import VaporTesting

/// Private notes: for the team only, never in anything the customer reads; @mentions notify.
@Suite("Notes and mentions", .serialized)
struct NotesTests {
    static let secret = "Customer sounded upset; check the refund with @supervisor before replying"

    @Test("a note reaches agents and the mentioned agent's notifications, never the customer's API or stream; read marks it",
          arguments: TestDatabase.available)
    func privateAndNotified(database: TestDatabase) async throws {
        try await TestApp.with(database, model: false) { t in
            // setup
            let c = try await t.startConversation()
            _ = try await t.send(.POST, "/api/v1/conversations/\(c.id)/handoff", token: c.token)
            let agent = try await t.login(), supervisor = try await t.login("supervisor@demo.tandem")

            // act
            let added = try await t.send(.POST, "/api/v1/agent/conversations/\(c.id)/notes", json: ["text": Self.secret], token: agent)

            // validate: stored, listed, the mention resolved
            #expect(added.status == .created, "\(added.body.string)")
            let mentions = try #require(added.json["mentions"] as? [[String: Any]])
            #expect(mentions.map { $0["email"] as? String } == ["supervisor@demo.tandem"])
            let listed = try await t.send(.GET, "/api/v1/agent/conversations/\(c.id)/notes", token: agent).jsonArray
            #expect(listed.map { $0["text"] as? String } == [Self.secret])
            #expect(listed.first?["agentName"] as? String != nil)
            #expect(listed.first?["createdAt"] as? String != nil, "stamped from the clock")

            // never to the customer: the conversation, its messages, its event stream
            let view = try await t.send(.GET, "/api/v1/conversations/\(c.id)", token: c.token)
            #expect(view.status == .ok)
            #expect(!view.body.string.contains("upset"), "a note leaked into the customer's conversation")
            let messages = try await t.send(.GET, "/api/v1/conversations/\(c.id)/messages", token: c.token)
            #expect(!messages.body.string.contains("upset"))
            let stream = try await t.send(.GET, "/api/v1/conversations/\(c.id)/events?once=true", token: c.token, headers: ["Last-Event-ID": "0"])
            #expect(stream.status == .ok)
            #expect(stream.body.string.contains("event: message"), "the stream replayed the conversation's messages")
            #expect(!stream.body.string.contains("upset") && !stream.body.string.contains("event: note") && !stream.body.string.contains("event: mention"),
                    "a note reached the customer's stream: \(stream.body.string)")
            // ... while the agents' stream carries both
            let agentStream = try await t.send(.GET, "/api/v1/agent/events?once=true", token: agent, headers: ["Last-Event-ID": "0"])
            #expect(agentStream.body.string.contains("event: note") && agentStream.body.string.contains("event: mention"))

            // the mentioned agent is notified, the author is not
            let unread = try await t.send(.GET, "/api/v1/agent/mentions?unread=true", token: supervisor).jsonArray
            #expect(unread.count == 1)
            #expect(unread.first?["text"] as? String == Self.secret)
            #expect((unread.first?["conversationID"] as? String)?.lowercased() == c.id.lowercased())
            #expect(try await t.send(.GET, "/api/v1/agent/mentions", token: agent).jsonArray.isEmpty)
            let mentionID = try #require(unread.first?["id"] as? String)
            #expect(try await t.send(.POST, "/api/v1/agent/mentions/\(mentionID)/read", token: agent).status == .notFound,
                    "another agent's mention")
            let read = try await t.send(.POST, "/api/v1/agent/mentions/\(mentionID)/read", token: supervisor)
            #expect(read.status == .ok)
            #expect(read.json["readAt"] as? String != nil)
            #expect(try await t.send(.GET, "/api/v1/agent/mentions?unread=true", token: supervisor).jsonArray.isEmpty)
            #expect(try await t.send(.GET, "/api/v1/agent/mentions", token: supervisor).jsonArray.count == 1, "read, still listed")

            // erasing the customer takes the notes with the conversation
            let admin = try await t.login("admin@demo.tandem")
            let key = try #require(try await ConversationRecord.find(UUID(uuidString: c.id), on: t.app.db)?.customerKey)
            #expect(try await t.send(.DELETE, "/api/v1/customers/\(key)", token: admin).status == .ok)
            #expect(try await NoteRecord.query(on: t.app.db).count() == 0)
            #expect(try await MentionRecord.query(on: t.app.db).count() == 0)
        }
    }

    @Test("bad input: empty, unknown or ambiguous @handles refused with the handle named and nothing stored; e-mail addresses are no mentions",
          arguments: TestDatabase.available)
    func badInput(database: TestDatabase) async throws {
        try await TestApp.with(database, model: false) { t in
            let c = try await t.startConversation()
            let agent = try await t.login()
            let path = "/api/v1/agent/conversations/\(c.id)/notes"
            let empty = try await t.send(.POST, path, json: ["text": "  "], token: agent)
            #expect(empty.status == .badRequest)
            let unknown = try await t.send(.POST, path, json: ["text": "ask @nobody about it"], token: agent)
            #expect(unknown.status == .badRequest)
            #expect(unknown.body.string.contains("@nobody names no active agent"), "\(unknown.body.string)")
            #expect(try await NoteRecord.query(on: t.app.db).count() == 0)
            let plain = try await t.send(.POST, path, json: ["text": "customer asked us to write to bob@example.com"], token: agent)
            #expect(plain.status == .created)
            #expect((plain.json["mentions"] as? [Any])?.isEmpty == true)
            let long = try await t.send(.POST, path, json: ["text": String(repeating: "a", count: t.app.tandem.environment.maxMessageCharacters + 1)], token: agent)
            #expect(long.status == .payloadTooLarge)
            #expect(try await t.send(.GET, "/api/v1/agent/mentions?limit=0", token: agent).status == .badRequest)
            #expect(try await t.send(.GET, "/api/v1/agent/mentions?unread=maybe", token: agent).status == .badRequest)
            #expect(try await t.send(.GET, path).status == .unauthorized)
            #expect(try await t.send(.POST, "/api/v1/agent/conversations/\(UUID())/notes", json: ["text": "x"], token: agent).status == .notFound)
        }
    }

    @Test("handles: at the start of a word, each once, lowercased, an e-mail allowed, a sentence's full stop dropped")
    func handles() {
        #expect(Notes.handles(in: "@Ana please look, and @bo.") == ["ana", "bo"])
        #expect(Notes.handles(in: "cc @ana@example.com (@ana)") == ["ana@example.com", "ana"])
        #expect(Notes.handles(in: "write to bob@example.com") == [])
        #expect(Notes.handles(in: "@ana @ANA") == ["ana"])
        #expect(Notes.handles(in: "an @ alone") == [])
    }
}
