import Fluent
import Foundation
import TandemCore
@testable import TandemServer
import Testing
import Vapor
import VaporTesting

/// Greetings, thanks and "are you a bot?" get the assistant's short reply, never a hand-off;
/// a greeting before a question leaves the question to be decided on its own.
@Suite("Small talk in conversations", .serialized)
struct SmallTalkFlowTests {
    private func reply(_ response: [String: Any]) -> String? { (response["reply"] as? [String: Any])?["text"] as? String }

    @Test("hi, thanks, are you a bot: short replies and no hand-off; hi + a question is decided by the question; admins edit the replies",
          .enabled(if: Shared.hasModel || TestDatabase.isCI, "needs the model"), arguments: TestDatabase.available)
    func flow(database: TestDatabase) async throws {
        let clock = ManualClock()
        try await TestApp.with(database, clock: clock) { t in
            let defaults = SmallTalkReplies()
            let conversations = Conversations(db: t.app.db, services: t.app.tandem, logger: t.app.logger)
            let c = try await t.startConversation()
            // A bare greeting waits for a question (`TurnsFlowTests`); none comes, so it gets its reply.
            let hi = try await t.say("hi", in: c)
            #expect(hi["action"] as? String == "pending")
            clock.advance(by: 3)
            try await conversations.decideDueHolds()  // (or the node's own sweeper, first)
            let greeted = try await MessageRecord.query(on: t.app.db).filter(\.$conversation.$id == UUID(uuidString: c.id)!).sort(\.$seq).all()
            #expect(greeted.last?.role == .ai && greeted.last?.text == defaults.greeting, "\(greeted.map(\.text))")
            let bot = try await t.say("are you a bot?", in: c)
            #expect(reply(bot) == defaults.botQuestion)

            let question = try await t.say("Hello, how do I reset my password?", in: c)
            #expect(question["action"] as? String == "answer", "the question decides: \(question)")
            let approved = try #require(try await IntentRecord.find(key: "login_password_reset", on: t.app.db)?.answer)
            #expect(reply(question)?.hasPrefix(String(approved.prefix(40))) == true, "the approved answer: \(reply(question) ?? "-")")
            let thanks = try await t.say("thanks!", in: c)
            #expect(reply(thanks) == defaults.thanks)

            let conversation = try #require(try await ConversationRecord.find(UUID(uuidString: c.id), on: t.app.db))
            #expect(conversation.status == .ai, "small talk created no hand-off")
            #expect(conversation.unresolvedTurns == 0, "thanks after an answer is no complaint")
            let decisions = try await DecisionRecord.query(on: t.app.db).filter(\.$conversation.$id == conversation.requireID()).sort(\.$createdAt).all()
            #expect(decisions.map(\.rule) == [.smallTalk, .smallTalk, .confident, .smallTalk], "\(decisions.map(\.rule))")
            #expect(decisions[0].intent == nil, "no model guess for a greeting")
            let reasons = DecisionDetails.decode(decisions[2].details)?.reasons ?? []
            #expect(reasons.contains("the model read “how do I reset my password?”, with a greeting at the start set aside"), "\(reasons)")

            // An admin rewrites the greeting; the next greeting uses it.
            let admin = try await t.login("admin@demo.tandem")
            let current = try await t.send(.GET, "/api/v1/workspace", token: admin).json
            var settings = try #require(current["settings"] as? [String: Any])
            settings["smallTalk"] = ["greeting": "Hi from Fernpay! What can we do for you?"]
            let body = try JSONSerialization.data(withJSONObject: ["name": current["name"] as? String ?? "Fernpay", "settings": settings])
            let saved = try await t.send(.PUT, "/api/v1/workspace", body: String(decoding: body, as: UTF8.self), token: admin)
            #expect(saved.status == .ok, "\(saved.body.string)")
            let other = try await t.startConversation(name: "Bo")
            #expect(reply(try await t.say("are you a bot", in: other)) == defaults.botQuestion)
            #expect(try await t.say("good morning", in: other)["action"] as? String == "pending")
            clock.advance(by: 3)
            try await conversations.decideDueHolds()  // (or the node's own sweeper, first)
            let replies = try await MessageRecord.query(on: t.app.db).filter(\.$conversation.$id == UUID(uuidString: other.id)!).sort(\.$seq).all()
            #expect(replies.last?.text == "Hi from Fernpay! What can we do for you?")
            let blank = try JSONSerialization.data(withJSONObject: ["name": "Fernpay", "settings": ["smallTalk": ["thanks": " "]]])
            let refused = try await t.send(.PUT, "/api/v1/workspace", body: String(decoding: blank, as: UTF8.self), token: admin)
            #expect(refused.status == .badRequest)
            #expect(refused.body.string.contains("smallTalk.thanks must not be empty"))
        }
    }
}

/// "Unresolved" means the same problem again: a new question after AI answers is answered.
@Suite("Loop guard in conversations", .serialized)
struct LoopGuardFlowTests {
    @Test("a second, different question after an AI answer is answered; the same problem again goes to a person",
          .enabled(if: Shared.hasModel || TestDatabase.isCI, "needs the model"), arguments: TestDatabase.available)
    func flow(database: TestDatabase) async throws {
        try await TestApp.with(database) { t in
            let c = try await t.startConversation()
            let first = try await t.say("how do I reset my password", in: c)
            #expect(first["action"] as? String == "answer", "\(first)")
            let second = try await t.say("I've moved house, how do I update my address", in: c)
            #expect(second["action"] as? String == "answer", "a new question is a new question: \(second)")
            let third = try await t.say("need to change my home address", in: c)
            #expect(third["action"] as? String == "hand-off", "the same problem again: \(third)")
            let id = try #require(UUID(uuidString: c.id))
            let rules = try await DecisionRecord.query(on: t.app.db).filter(\.$conversation.$id == id).sort(\.$createdAt).all().map(\.rule)
            #expect(rules == [.confident, .confident, .repeatedUnresolved], "\(rules)")
        }
    }
}

/// Once a person is asked for, the AI does not answer over them while they wait.
@Suite("Waiting for a person", .serialized)
struct WaitingForPersonTests {
    @Test("queued: the customer hears their place, and the AI only drafts; assigned: drafts; back with the AI: it answers",
          .enabled(if: Shared.hasModel || TestDatabase.isCI, "needs the model"), arguments: TestDatabase.available)
    func states(database: TestDatabase) async throws {
        try await TestApp.with(database) { t in
            func lastSystemText(_ c: (id: String, token: String)) async throws -> String {
                let messages = try await t.send(.GET, "/api/v1/conversations/\(c.id)/messages", token: c.token).jsonArray
                return messages.last { $0["role"] as? String == "system" }?["text"] as? String ?? ""
            }
            let first = try await t.startConversation(name: "First"), second = try await t.startConversation(name: "Second")
            for c in [first, second] {
                #expect(try await t.send(.POST, "/api/v1/conversations/\(c.id)/handoff", token: c.token).status == .ok)
            }
            #expect(try await lastSystemText(first).contains("You're next in the queue"))
            #expect(try await lastSystemText(second).contains("You're number 2 in the queue"))
            // The place is live: the customer's view of the conversation carries it while queued.
            func position(_ c: (id: String, token: String)) async throws -> Int? {
                try await t.send(.GET, "/api/v1/conversations/\(c.id)", token: c.token).json["queuePosition"] as? Int
            }
            #expect(try await position(first) == 1)
            #expect(try await position(second) == 2)

            // Queued: a question the AI would answer gets a draft for the person, no answer.
            let waiting = try await t.say("how do I reset my password", in: first)
            #expect(waiting["action"] as? String == "draft", "\(waiting)")
            #expect(waiting["reply"] == nil || waiting["reply"] is NSNull, "no AI reply while the customer waits for a person")
            let thanks = try await t.say("thanks", in: first)
            #expect(thanks["action"] as? String == "draft", "small talk too: \(thanks)")

            // Assigned: drafts for the owner.
            let agent = try await t.login()
            #expect(try await t.send(.POST, "/api/v1/agent/conversations/\(first.id)/claim", token: agent).status == .ok)
            let owned = try await t.say("how do I reset my password", in: first)
            #expect(owned["action"] as? String == "draft")
            #expect(try await position(first) == nil, "no place in the queue once a person has it")
            #expect(try await position(second) == 1, "the next one moves up")

            // Returned to the AI: it answers again.
            #expect(try await t.send(.POST, "/api/v1/agent/conversations/\(first.id)/return-to-ai", token: agent).status == .ok)
            let back = try await t.say("how do I reset my password", in: first)
            #expect(back["action"] as? String == "answer", "\(back)")

            let id = try #require(UUID(uuidString: first.id))
            let rules = try await DecisionRecord.query(on: t.app.db).filter(\.$conversation.$id == id).sort(\.$createdAt).all().map(\.rule)
            #expect(rules == [.waitingForPerson, .waitingForPerson, .humanOwns, .confident], "\(rules)")
        }
    }
}
