import Fluent
import Foundation
import TandemCore
@testable import TandemServer
import Testing
import VaporTesting

/// Learning from people must not make things worse: a retrain on bad labels is not promoted.
@Suite("Promotion", .serialized)
struct PromotionTests {
    /// Stores customer messages with agents' labels, as agent replies would.
    private func seedLabels(_ t: TestApp, _ pairs: [(text: String, intent: String)]) async throws {
        let c = try await t.startConversation()
        let conversationID = try #require(UUID(uuidString: c.id))
        for (i, pair) in pairs.enumerated() {
            let message = MessageRecord(conversationID: conversationID, seq: 100 + i, role: .customer, text: pair.text)
            try await message.create(on: t.app.db)
            try await LabelRecord(messageID: try message.requireID(), conversationID: conversationID, intent: pair.intent,
                                  predicted: nil, source: .agentReply, agentID: nil).create(on: t.app.db)
        }
    }

    private func retrain(_ t: TestApp, token: String) async throws -> [[String: Any]] {
        let queued = try await t.send(.POST, "/api/v1/models/train", token: token)
        #expect(queued.status == .accepted, "\(queued.body.string)")
        t.app.jobs?.poke()
        var versions: [[String: Any]] = []
        for _ in 0..<900 {
            versions = try await t.send(.GET, "/api/v1/models", token: token).jsonArray
            if versions.count == 2, !versions.contains(where: { ["training", "ready"].contains($0["status"] as? String) }) { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        return versions
    }

    @Test("a retrain on deliberately corrupted labels is not promoted; the serving model stays",
          .enabled(if: Shared.hasModel || TestDatabase.isCI, "needs the model"), arguments: TestDatabase.available)
    func corruptedLabels(database: TestDatabase) async throws {
        let clock = ManualClock(Date())
        try await TestApp.with(database, clock: clock) { t in
            let document = try DemoWorkspace.document
            let keys = document.intents.map(\.key)
            // Older labels: the knowledge base's own phrasings, each labelled as the next intent.
            var corrupted: [(String, String)] = []
            for (i, intent) in document.intents.enumerated() {
                for example in intent.examples.prefix(8) { corrupted.append((example, keys[(i + 1) % keys.count])) }
            }
            clock.advance(by: 1)  // the labels are newer than the serving model
            try await seedLabels(t, corrupted)
            clock.advance(by: 1)  // the held-out labels are strictly newer
            // Recent traffic, correctly labelled: enough to be the held-out 20%.
            var recent: [(String, String)] = []
            for intent in document.intents { for example in intent.examples.suffix(2) { recent.append((example, intent.key)) } }
            try await seedLabels(t, recent)
            #expect(recent.count * 4 >= corrupted.count, "precondition: the recent labels are the held-out share")

            let token = try await t.login("supervisor@demo.tandem")
            let before = try await t.send(.GET, "/api/v1/models", token: token).jsonArray
            let serving = try #require(before.first?["id"] as? String)
            let versions = try await retrain(t, token: token)
            #expect(versions.count == 2, "\(versions)")
            let candidate = try #require(versions.first { $0["id"] as? String != serving })
            #expect(candidate["status"] as? String == "rejected", "\(candidate)")
            #expect((candidate["error"] as? String)?.contains("not promoted") == true)
            #expect((candidate["summary"] as? String)?.contains("promotion check") == true)
            #expect(versions.first { $0["id"] as? String == serving }?["status"] as? String == "active", "the serving model stays")
        }
    }

    @Test("the same retrain with correct labels is promoted (the check is not a wall)",
          .enabled(if: Shared.hasModel || TestDatabase.isCI, "needs the model"), arguments: [TestDatabase.sqlite])
    func goodLabels(database: TestDatabase) async throws {
        let clock = ManualClock(Date())
        try await TestApp.with(database, clock: clock) { t in
            let document = try DemoWorkspace.document
            var good: [(String, String)] = []
            for intent in document.intents { for example in intent.examples.prefix(8) { good.append((example, intent.key)) } }
            clock.advance(by: 1)
            try await seedLabels(t, good)
            clock.advance(by: 1)
            var recent: [(String, String)] = []
            for intent in document.intents { for example in intent.examples.suffix(2) { recent.append((example, intent.key)) } }
            try await seedLabels(t, recent)
            let token = try await t.login("supervisor@demo.tandem")
            let serving = try #require(try await t.send(.GET, "/api/v1/models", token: token).jsonArray.first?["id"] as? String)
            let versions = try await retrain(t, token: token)
            let candidate = try #require(versions.first { $0["id"] as? String != serving })
            #expect(candidate["status"] as? String == "active", "\(candidate)")
        }
    }

    @Test("enough new labels schedule a retrain; a few do not", arguments: TestDatabase.available)
    func scheduledRetrain(database: TestDatabase) async throws {
        let clock = ManualClock(Date())
        try await TestApp.with(database, clock: clock) { t in
            // Queued, and maybe already taken by this node's job runner.
            func pendingTrainJobs() async throws -> Int {
                try await JobRecord.query(on: t.app.db).filter(\.$kind == .train).count()
            }
            clock.advance(by: 1)  // labels strictly newer than the model
            let few = (0..<10).map { ("message \($0)", "card_arrival") }
            try await seedLabels(t, few)
            try await ModelLifecycle.scheduleRetraining(app: t.app)
            let afterFew = try await pendingTrainJobs()
            #expect(afterFew == 0)
            try await seedLabels(t, (0..<ModelLifecycle.labelsPerRetrain).map { ("more \($0)", "card_arrival") })
            try await ModelLifecycle.scheduleRetraining(app: t.app)
            let afterMany = try await pendingTrainJobs()
            #expect(afterMany == 1)
        }
    }
}
