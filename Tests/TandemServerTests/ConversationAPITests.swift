import Fluent
import Foundation
@testable import TandemServer
import Testing
import VaporTesting

/// The customer and agent API end to end, in-process, on each database.
@Suite("Conversation API", .serialized)
struct ConversationAPITests {
    static let modelRequired = Shared.hasModel || TestDatabase.isCI

    @Test("plain question → AI answer; fraud → human; agent claims, sees draft, replies; customer rates",
          .enabled(if: modelRequired, "needs the MiniLM model for realistic decisions (make model)"),
          arguments: TestDatabase.available)
    func fullFlow(database: TestDatabase) async throws {
        try await TestApp.with(database) { t in
            let conversation = try await t.startConversation(name: "Ana")

            // A plain question the knowledge base answers.
            let answered = try await t.say("How do I reset my password?", in: conversation)
            #expect(answered["action"] as? String == "answer", "\(answered)")
            let reply = try #require(answered["reply"] as? [String: Any])
            #expect(reply["role"] as? String == "ai")
            #expect((reply["text"] as? String)?.lowercased().contains("password") == true)

            // A sensitive topic goes to a person at once, with the reason recorded.
            let fraud = try await t.say("There's a payment on my account I never made, I think my card was stolen", in: conversation)
            #expect(fraud["action"] as? String == "hand-off", "\(fraud)")
            #expect(fraud["reply"] == nil || fraud["reply"] is NSNull, "the AI must not answer a sensitive topic")
            let state = try #require(fraud["conversation"] as? [String: Any])
            #expect(state["status"] as? String == "queued")
            #expect((state["handoffReason"] as? String)?.isEmpty == false)

            // The agent sees it in the queue, claims it, sees suggestions, replies with a label.
            let token = try await t.login()
            let queue = try await t.send(.GET, "/api/v1/agent/queue", token: token)
            #expect(queue.status == .ok)
            #expect(queue.body.string.contains(conversation.id), "queued conversation missing from the queue")
            let claim = try await t.send(.POST, "/api/v1/agent/conversations/\(conversation.id)/claim", token: token)
            #expect(claim.status == .ok, "\(claim.body.string)")
            #expect(claim.json["status"] as? String == "assigned")

            let detail = try await t.send(.GET, "/api/v1/agent/conversations/\(conversation.id)", token: token)
            #expect(detail.status == .ok)
            let suggestions = try #require(detail.json["suggestions"] as? [String: Any], "\(detail.body.string)")
            #expect((suggestions["draft"] as? String)?.isEmpty == false, "no draft reply for the agent")
            #expect((suggestions["summary"] as? String)?.isEmpty == false)
            #expect((suggestions["intents"] as? [[String: Any]])?.isEmpty == false)
            let decisions = try #require(detail.json["decisions"] as? [[String: Any]])
            #expect(decisions.count == 2, "one decision record per AI turn")
            // Every decision explains itself: what fired, with what confidence against what threshold.
            for decision in decisions {
                #expect(decision["rule"] as? String != nil)
                #expect(decision["modelVersion"] as? String != nil)
                #expect((decision["reasons"] as? [String])?.isEmpty == false)
            }

            let intent = try #require((suggestions["intents"] as? [[String: Any]])?.first?["intent"] as? String)
            let sent = try await t.send(.POST, "/api/v1/agent/conversations/\(conversation.id)/messages",
                                        json: ["text": "Hi Ana, I've frozen the card and opened a dispute.", "intent": intent], token: token)
            #expect(sent.status == .created, "\(sent.body.string)")
            let labels = try await LabelRecord.query(on: t.app.db).all()
            #expect(labels.map(\.intent) == [intent], "the agent's confirmed intent is stored as a label")

            // The customer sees the agent's reply.
            let messages = try await t.send(.GET, "/api/v1/conversations/\(conversation.id)/messages", token: conversation.token)
            #expect(messages.jsonArray.contains { $0["role"] as? String == "agent" && ($0["text"] as? String)?.contains("frozen") == true })

            // While a person owns the conversation the AI never answers.
            let during = try await t.say("How do I reset my password?", in: conversation)
            #expect(during["reply"] == nil || during["reply"] is NSNull, "AI answered while an agent owned the conversation")

            let resolved = try await t.send(.POST, "/api/v1/agent/conversations/\(conversation.id)/resolve", token: token)
            #expect(resolved.json["status"] as? String == "resolved", "\(resolved.body.string)")
            let rated = try await t.send(.POST, "/api/v1/conversations/\(conversation.id)/rating", json: ["score": 5], token: conversation.token)
            #expect(rated.status == .ok, "\(rated.body.string)")
            #expect(rated.json["rating"] as? Int == 5)
        }
    }

    @Test("always a human: the button and phrases asking for one hand off at once", arguments: TestDatabase.available)
    func alwaysAHuman(database: TestDatabase) async throws {
        try await TestApp.with(database) { t in
            let first = try await t.startConversation()
            let asked = try await t.say("I want to talk to a real person please", in: first)
            #expect(asked["action"] as? String == "hand-off")
            #expect((asked["conversation"] as? [String: Any])?["handoffRule"] as? String == "asked-for-human")

            let second = try await t.startConversation()
            let pressed = try await t.send(.POST, "/api/v1/conversations/\(second.id)/handoff", token: second.token)
            #expect(pressed.status == .ok)
            #expect(pressed.json["status"] as? String == "queued")
            #expect(pressed.json["handoffRule"] as? String == "asked-for-human")

            // Each hand-off records its events in one change, in order: the notice to the
            // customer, the hand-off, then (for a message) the decision.
            for (conversation, expected) in [(first, ["conversation.created", "message", "message", "conversation.handed_off", "decision"]),
                                             (second, ["conversation.created", "message", "conversation.handed_off"])] {
                let id = try #require(UUID(uuidString: conversation.id))
                let events = try await EventRecord.query(on: t.app.db).filter(\.$conversationID == id).sort(\.$id).all()
                #expect(events.map(\.kind.rawValue) == expected, "\(conversation.id)")
                let notice = try #require(events.last { $0.kind == .message })
                #expect(notice.payload.contains(#""role":"system""#), "\(notice.payload)")
                let handedOff = try #require(events.first { $0.kind == .conversationHandedOff })
                let payload = try #require(try JSONSerialization.jsonObject(with: Data(handedOff.payload.utf8)) as? [String: Any])
                #expect(payload["status"] as? String == "queued", "\(handedOff.payload)")
                #expect(payload["handoffRule"] as? String == "asked-for-human", "\(handedOff.payload)")
            }
        }
    }

    @Test("an agent hands the conversation back to the AI", .enabled(if: modelRequired, "needs the model"),
          arguments: TestDatabase.available)
    func returnToAI(database: TestDatabase) async throws {
        try await TestApp.with(database) { t in
            let conversation = try await t.startConversation()
            _ = try await t.send(.POST, "/api/v1/conversations/\(conversation.id)/handoff", token: conversation.token)
            let token = try await t.login()
            _ = try await t.send(.POST, "/api/v1/agent/conversations/\(conversation.id)/claim", token: token)
            let back = try await t.send(.POST, "/api/v1/agent/conversations/\(conversation.id)/return-to-ai", token: token)
            #expect(back.json["status"] as? String == "ai", "\(back.body.string)")
            let answered = try await t.say("How do I reset my password?", in: conversation)
            #expect(answered["action"] as? String == "answer")
        }
    }

    @Test("50 agents claiming one conversation at once: exactly one owns it", arguments: TestDatabase.available)
    func concurrentClaims(database: TestDatabase) async throws {
        try await TestApp.with(database) { t in
            let conversation = try await t.startConversation()
            _ = try await t.send(.POST, "/api/v1/conversations/\(conversation.id)/handoff", token: conversation.token)
            // 50 distinct agents, each with its own token.
            let admin = try await t.login("admin@demo.tandem")
            var tokens: [String] = []
            for i in 0..<50 {
                let email = "claimer\(i)@demo.tandem"
                let created = try await t.send(.POST, "/api/v1/agents", json: ["email": email, "name": "Claimer \(i)", "role": "agent", "password": "password-\(i)-long"], token: admin)
                try #require(created.status == .created, "\(created.body.string)")
                tokens.append(try await t.login(email, password: "password-\(i)-long"))
            }
            let statuses = try await withThrowingTaskGroup(of: HTTPStatus.self) { group in
                for token in tokens {
                    group.addTask { try await t.send(.POST, "/api/v1/agent/conversations/\(conversation.id)/claim", token: token).status }
                }
                return try await group.reduce(into: [HTTPStatus]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .ok }.count == 1, "\(statuses.map(\.code))")
            #expect(statuses.filter { $0 == .conflict }.count == 49, "the others get 409: \(statuses.map(\.code))")
            let owned = try await ConversationRecord.query(on: t.app.db).filter(\.$assignedAgentID != nil).count()
            #expect(owned == 1)
        }
    }

    @Test("per-agent limit of concurrent conversations; release puts it back in the queue", arguments: TestDatabase.available)
    func agentLimitAndRelease(database: TestDatabase) async throws {
        try await TestApp.with(database) { t in
            let workspace = try await t.app.tandem.workspace(on: t.app.db)
            var settings = try workspace.settings
            settings.maxConcurrentPerAgent = 1
            workspace.store(settings)
            try await workspace.save(on: t.app.db)
            let a = try await t.startConversation(), b = try await t.startConversation()
            for c in [a, b] { _ = try await t.send(.POST, "/api/v1/conversations/\(c.id)/handoff", token: c.token) }
            let token = try await t.login()
            let value1 = try await t.send(.POST, "/api/v1/agent/conversations/\(a.id)/claim", token: token).status
            #expect(value1 == .ok)
            let second = try await t.send(.POST, "/api/v1/agent/conversations/\(b.id)/claim", token: token)
            #expect(second.status == .conflict, "\(second.body.string)")
            let released = try await t.send(.POST, "/api/v1/agent/conversations/\(a.id)/release", token: token)
            #expect(released.json["status"] as? String == "queued", "\(released.body.string)")
            let value2 = try await t.send(.POST, "/api/v1/agent/conversations/\(b.id)/claim", token: token).status
            #expect(value2 == .ok)
        }
    }

    @Test("SSE: the customer's event stream carries new messages", arguments: TestDatabase.available)
    func eventStreamBacklog(database: TestDatabase) async throws {
        try await TestApp.with(database) { t in
            let conversation = try await t.startConversation()
            _ = try await t.send(.POST, "/api/v1/conversations/\(conversation.id)/handoff", token: conversation.token)
            // Past events are replayed from the event log, so a reconnecting client misses nothing.
            let events = try await t.send(.GET, "/api/v1/conversations/\(conversation.id)/events?after=0&once=true", token: conversation.token)
            #expect(events.status == .ok)
            #expect(events.headers.contentType?.description.contains("event-stream") == true)
            #expect(events.body.string.contains("event: message"), "\(events.body.string.prefix(400))")
        }
    }

    @Test("concurrent messages in one conversation are all stored, in distinct order", arguments: TestDatabase.available)
    func concurrentMessages(database: TestDatabase) async throws {
        try await TestApp.with(database) { t in
            let c = try await t.startConversation()
            let statuses = try await withThrowingTaskGroup(of: HTTPStatus.self) { group in
                for i in 0..<12 {
                    group.addTask {
                        try await t.send(.POST, "/api/v1/conversations/\(c.id)/messages", json: ["text": "question number \(i)"], token: c.token).status
                    }
                }
                return try await group.reduce(into: [HTTPStatus]()) { $0.append($1) }
            }
            #expect(statuses.allSatisfy { $0 == .created }, "\(statuses.map(\.code))")
            let messages = try await MessageRecord.query(on: t.app.db).filter(\.$conversation.$id == UUID(uuidString: c.id)!).all()
            #expect(messages.filter { $0.role == .customer }.count == 12)
            #expect(Set(messages.map(\.seq)).count == messages.count, "sequence numbers are unique")
        }
    }
}
