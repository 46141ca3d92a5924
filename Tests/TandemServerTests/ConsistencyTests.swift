import Fluent
import Foundation
import SQLKit
import TandemCore
@testable import TandemServer
import Testing

/// Transactions and types hold what they say: settings that do not decode keep the AI off,
/// one training job waits at most, concurrent messages never decide on a stale conversation.
@Suite("Consistency", .serialized)
struct ConsistencyTests {
    @Test("undecodable workspace settings keep the AI off, say why, and saving repairs them",
          .enabled(if: Shared.hasModel || TestDatabase.isCI, "needs the model"), arguments: TestDatabase.available)
    func corruptSettings(database: TestDatabase) async throws {
        let clock = ManualClock(Date(timeIntervalSince1970: 1_790_000_000))
        try await TestApp.with(database, clock: clock) { t in
            let c = try await t.startConversation()
            // An answer the AI gives with good settings …
            let before = try await t.say("How do I reset my password?", in: c)
            #expect(before["action"] as? String == "answer", "precondition: \(before)")

            try await t.sql().raw("UPDATE workspaces SET settings = '{\"targetRisk\": \"lots\"}'").run()
            // Written behind the application's back (no model, no event): read again once the
            // cached settings are `maximumAge` old.
            clock.advance(by: WorkspaceCache.maximumAge)
            let c2 = try await t.startConversation()
            let after = try await t.say("How do I reset my password?", in: c2)
            #expect(after["action"] as? String == "hand-off", "\(after)")
            let admin = try await t.login("admin@demo.tandem")
            let view = try await t.send(.GET, "/api/v1/agent/conversations/\(c2.id)", token: admin)
            let decisions = try #require(view.json["decisions"] as? [[String: Any]])
            let decision = try #require(decisions.last)
            #expect(decision["rule"] as? String == "kill-switch")
            #expect((decision["reasons"] as? [String])?.first?.contains("workspace settings cannot be read") == true, "\(decision)")

            let shown = try await t.send(.GET, "/api/v1/workspace", token: admin)
            #expect(shown.status == .serviceUnavailable)
            #expect((shown.json["error"] as? [String: Any])?["code"] as? String == "corrupt_settings")

            let repaired = try JSONEncoder().encode(AdminController.WorkspaceDTO(name: "Fernpay", settings: WorkspaceSettings()))
            let saved = try await t.send(.PUT, "/api/v1/workspace", body: String(decoding: repaired, as: UTF8.self), token: admin)
            #expect(saved.status == .ok, "\(saved.body.string)")
            #expect(try await t.send(.GET, "/api/v1/workspace", token: admin).status == .ok)
        }
    }

    @Test("the database holds at most one waiting training job, however many ask at once", arguments: TestDatabase.available)
    func onePendingTrainingJob(database: TestDatabase) async throws {
        try await TestApp.with(database, model: false) { t in
            // Ask from many tasks at once, for a run an hour from now: the node's job runner
            // (which looks every second) cannot claim it meanwhile, so it stays pending.
            let later = t.app.tandem.clock.now.addingTimeInterval(3600)
            let queued = try await withThrowingTaskGroup(of: Bool.self) { group in
                for i in 0..<8 { group.addTask { try await ModelLifecycle.requestTraining(reason: "ask \(i)", at: later, on: t.app.db) } }
                return try await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
            }
            // One read, so a status cannot change between two counts.
            let jobs = try await JobRecord.query(on: t.app.db).filter(\.$kind == .train).all()
            #expect(queued == 1 && jobs.count == 1 && jobs.first?.status == .pending, "queued \(queued), jobs \(jobs.map(\.status))")

            // A plain insert beside the waiting one is refused by the database itself.
            await #expect(throws: (any Error).self) {
                try await JobRecord(kind: .train, payload: "{}", runAt: later).create(on: t.app.db)
            }
        }
    }

    @Test("concurrent messages in one conversation each decide on its latest state", .enabled(if: Shared.hasModel || TestDatabase.isCI, "needs the model"),
          arguments: TestDatabase.available)
    func concurrentMessages(database: TestDatabase) async throws {
        try await TestApp.with(database) { t in
            // Each message decided on its own: with a burst window, messages the model cannot
            // place that arrive together are read as one (TurnsFlowTests).
            try await t.decideEachMessageAlone()
            let c = try await t.startConversation()
            let texts = ["when will my card arrive?", "how do I top up by bank transfer?", "what is the exchange rate?",
                         "can I get a virtual card?", "my card payment was declined", "how long does a transfer take?"]
            try await withThrowingTaskGroup(of: Void.self) { group in
                for text in texts { group.addTask { _ = try await t.say(text, in: c) } }
                try await group.waitForAll()
            }
            let id = try #require(UUID(uuidString: c.id))
            let conversation = try #require(try await ConversationRecord.find(id, on: t.app.db))
            let answers = try await MessageRecord.query(on: t.app.db).filter(\.$conversation.$id == id).filter(\.$role == .ai).count()
            let decisions = try await DecisionRecord.query(on: t.app.db).filter(\.$conversation.$id == id).all()
            #expect(decisions.count == texts.count)
            #expect(conversation.aiAnswers == answers, "ai answers counted \(conversation.aiAnswers), stored \(answers)")
            #expect(answers == decisions.filter { $0.action == .answer }.count)
        }
    }
}
