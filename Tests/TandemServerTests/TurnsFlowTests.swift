import Fluent
import Foundation
import TandemCore
@testable import TandemServer
import Testing
import Vapor
import VaporTesting

/// Conversations read as people write them: a burst of messages is one decision, a bare
/// greeting waits for the question it usually precedes, a short follow-up is read with the
/// turn before. Time comes from a manual clock: the burst window ends when the test moves it.
@Suite("Bursts and follow-ups in conversations", .serialized)
struct TurnsFlowTests {
    private func reply(_ response: [String: Any]) -> String? { (response["reply"] as? [String: Any])?["text"] as? String }

    private func decisions(_ conversation: (id: String, token: String), _ t: TestApp) async throws -> [DecisionRecord] {
        let id = try #require(UUID(uuidString: conversation.id))
        return try await DecisionRecord.query(on: t.app.db).filter(\.$conversation.$id == id).sort(\.$createdAt).all()
    }

    private func messages(_ conversation: (id: String, token: String), _ t: TestApp) async throws -> [MessageRecord] {
        let id = try #require(UUID(uuidString: conversation.id))
        return try await MessageRecord.query(on: t.app.db).filter(\.$conversation.$id == id).sort(\.$seq).all()
    }

    private func sweep(_ t: TestApp) async throws -> Int {
        try await Conversations(db: t.app.db, services: t.app.tandem, logger: t.app.logger).decideDueHolds()
    }

    @Test("'hi' then 'my purchase was declined' within the window: one decision, on the question, answered; the greeting waited",
          .enabled(if: Shared.hasModel || TestDatabase.isCI, "needs the model"), arguments: TestDatabase.available)
    func greetingThenQuestion(database: TestDatabase) async throws {
        let clock = ManualClock()
        try await TestApp.with(database, clock: clock) { t in
            let c = try await t.startConversation()
            let hi = try await t.say("hi", in: c)
            #expect(hi["action"] as? String == "pending", "a bare greeting waits for the question: \(hi)")
            #expect(reply(hi) == nil)
            clock.advance(by: 1)
            let question = try await t.say("why was my purchase declined", in: c)
            #expect(question["action"] as? String == "answer", "\(question)")
            let all = try await decisions(c, t)
            #expect(all.count == 1, "one decision for the burst: \(all.map(\.rule))")
            #expect(all.first?.intent == "declined_purchase")
            let reasons = DecisionDetails.decode(all.first?.details ?? "")?.reasons ?? []
            #expect(reasons.contains { $0.hasPrefix("read together with the customer's message before it") }, "\(reasons)")
            #expect(reasons.contains("the model read “why was my purchase declined”, with a greeting at the start set aside"), "\(reasons)")
            // Nothing is left waiting, and the window's end finds nothing to do.
            clock.advance(by: 5)
            #expect(try await sweep(t) == 0)
            #expect(try await messages(c, t).allSatisfy { $0.heldUntil == nil })
            let roles = try await messages(c, t).map(\.role)
            #expect(roles == [.system, .customer, .customer, .ai], "no separate greeting reply: \(roles)")
        }
    }

    @Test("a bare greeting, and a fragment the model cannot place, are decided alone when the window ends: the greeting's reply, then a person",
          .enabled(if: Shared.hasModel || TestDatabase.isCI, "needs the model"), arguments: TestDatabase.available)
    func windowEnds(database: TestDatabase) async throws {
        let clock = ManualClock()
        try await TestApp.with(database, clock: clock) { t in
            let c = try await t.startConversation()
            #expect(try await t.say("hello there", in: c)["action"] as? String == "pending")
            clock.advance(by: 1.5)
            #expect(try await sweep(t) == 0, "the window has not ended")
            clock.advance(by: 1)
            _ = try await sweep(t)  // (or the node's own sweeper, first)
            let afterGreeting = try await messages(c, t)
            #expect(afterGreeting.last?.role == .ai)
            #expect(afterGreeting.last?.text == SmallTalkReplies().greeting)
            #expect(try await decisions(c, t).map(\.rule) == [.smallTalk])

            // A fragment waits; a second fragment extends the burst; the window's end decides both at once.
            let first = try await t.say("the thing", in: c)
            #expect(first["action"] as? String == "pending", "\(first)")
            clock.advance(by: 1)
            let second = try await t.say("with the", in: c)
            #expect(second["action"] as? String == "pending", "\(second)")
            clock.advance(by: 1.5)
            #expect(try await sweep(t) == 0, "the window restarted with the second fragment")
            let encoded = t.app.tandem.intelligence.executor.batches.items
            clock.advance(by: 1)
            _ = try await sweep(t)  // (or the node's own sweeper, first)
            // The burst was read when its second fragment came; the window's end decides on that reading.
            #expect(t.app.tandem.intelligence.executor.batches.items == encoded, "the burst was encoded again at the window's end")
            let rules = try await decisions(c, t).map(\.rule)
            #expect(rules.count == 2, "one decision for the two fragments: \(rules)")
            #expect(rules.last == .unknownRequest || rules.last == .lowConfidence, "\(rules)")
            let conversation = try #require(try await ConversationRecord.find(UUID(uuidString: c.id), on: t.app.db))
            #expect(conversation.status == .queued)
            // The decision names the message it read last and quotes the whole burst.
            let last = try #require(try await decisions(c, t).last)
            let lastCustomer = try #require(try await messages(c, t).last { $0.role == .customer })
            #expect(last.$message.id == lastCustomer.id)
            #expect((DecisionDetails.decode(last.details)?.reasons ?? []).contains { $0.contains("“the thing with the”") })
        }
    }

    @Test("a short follow-up is read with the previous turn; with the setting off it is read alone",
          .enabled(if: Shared.hasModel || TestDatabase.isCI, "needs the model"), arguments: TestDatabase.available)
    func followUp(database: TestDatabase) async throws {
        let clock = ManualClock()
        try await TestApp.with(database, clock: clock) { t in
            let c = try await t.startConversation()
            let first = try await t.say("can I use fernpay with apple pay", in: c)
            #expect(first["action"] as? String == "answer", "\(first)")
            let follow = try await t.say("and with google pay?", in: c)
            let decision = try #require(try await decisions(c, t).last)
            let reasons = DecisionDetails.decode(decision.details)?.reasons ?? []
            #expect(reasons.contains("a short follow-up (it starts with “and”), read with the customer's previous message “can I use fernpay with apple pay”"),
                    "\(reasons)")
            // Read with the turn before, it is the same topic again: the approved answer was
            // already given, so a person takes it.
            #expect(decision.intent == "apple_google_pay")
            #expect(follow["action"] as? String == "hand-off", "\(follow)")
            #expect(decision.rule == .repeatedUnresolved)

            // Off: the same follow-up is read on its own words.
            let workspace = try await t.app.tandem.workspace(on: t.app.db)
            var settings = try workspace.settings
            settings.readFollowUps = false
            workspace.store(settings)
            try await workspace.save(on: t.app.db)
            let other = try await t.startConversation()
            #expect(try await t.say("can I use fernpay with apple pay", in: other)["action"] as? String == "answer")
            _ = try await t.say("and with google pay?", in: other)
            let alone = try #require(try await decisions(other, t).last)
            #expect(!(DecisionDetails.decode(alone.details)?.reasons ?? []).contains { $0.hasPrefix("a short follow-up") })
        }
    }

    @Test("the window set to 0 decides every message as it comes",
          .enabled(if: Shared.hasModel || TestDatabase.isCI, "needs the model"), arguments: TestDatabase.available)
    func windowOff(database: TestDatabase) async throws {
        let clock = ManualClock()
        try await TestApp.with(database, clock: clock) { t in
            let workspace = try await t.app.tandem.workspace(on: t.app.db)
            var settings = try workspace.settings
            settings.burstWindowSeconds = 0
            workspace.store(settings)
            try await workspace.save(on: t.app.db)
            let c = try await t.startConversation()
            let hi = try await t.say("hi", in: c)
            #expect(hi["action"] as? String == "answer")
            #expect(reply(hi) == SmallTalkReplies().greeting)
        }
    }
}
