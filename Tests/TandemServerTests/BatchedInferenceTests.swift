import Fluent
import Foundation
import NIOConcurrencyHelpers
import TandemCore
@testable import TandemServer
import Testing
import Vapor
import VaporTesting

/// Dynamic batching on the inference executor: work waiting under one key runs as one batch,
/// each caller gets its own result, and a message decided in a batch is decided exactly as it
/// would have been alone.
@Suite("Batched inference", .serialized)
struct BatchedInferenceTests {
    @Test("work waiting under one key runs as one batch (at most maxBatch), in arrival order; other keys and unbatched work keep their places")
    func gathersWaitingWork() async throws {
        let executor = InferenceExecutor(capacity: 32, maxBatch: 4, name: "tandem-test-inference")
        defer { executor.shutdown() }
        let calls = NIOLockedValueBox<[[Int]]>([])
        let gate = OverloadTests.Gate()
        try await gate.close(executor)

        // Queued one at a time, so the arrival order is known: six under "a", two under "b", one alone.
        let plan: [(value: Int, key: String?)] = [(1, "a"), (2, "a"), (3, "a"), (4, "a"), (5, "a"), (6, "a"), (7, "b"), (8, "b"), (-1, nil)]
        let results = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            for (position, item) in plan.enumerated() {
                group.addTask {
                    if let key = item.key {
                        let output = try await executor.batched(item.value, key: key) { inputs in
                            calls.withLockedValue { $0.append(inputs) }
                            return inputs.map { $0 * 10 }
                        }
                        return (item.value, output)
                    }
                    let output = try await executor.run { calls.withLockedValue { $0.append([item.value]) }; return item.value * 10 }
                    return (item.value, output)
                }
                try await eventually("item \(position + 1) queued") { executor.waiting == position + 1 }
            }
            gate.open()
            return try await group.reduce(into: [Int: Int]()) { $0[$1.0] = $1.1 }
        }

        #expect(calls.withLockedValue { $0 } == [[1, 2, 3, 4], [5, 6], [7, 8], [-1]])
        #expect(results == Dictionary(uniqueKeysWithValues: plan.map { ($0.value, $0.value * 10) }), "each caller gets its own output")
        #expect(executor.batches == InferenceExecutor.BatchSizes(batches: 3, items: 8, largest: 4))
    }

    @Test("16 messages decided in one batch get the decisions they get one at a time: same intent, rule, action, thresholds, explanation; scores to float32 rounding",
          .enabled(if: Shared.hasModel || TestDatabase.isCI, "needs the model"), arguments: TestDatabase.available)
    func batchedDecisionsEqualUnbatched(database: TestDatabase) async throws {
        let texts = [
            "where is my card?", "I still have not received my new card", "how do I reset my password?",
            "my payment was declined at the shop", "can I pay off my plan early?", "what is the fee for a late payment",
            "I want to close my account", "why was I charged twice", "how long does a refund take",
            "my card was stolen yesterday", "can I change the date of my payments", "is there an app for android",
            "do you report to credit agencies", "I need to speak to a person", "how do I update my address", "what's my spending limit",
        ]
        try await TestApp.with(database) { t in
            try await t.decideEachMessageAlone()
            let executor = t.app.tandem.intelligence.executor

            func decide(_ texts: [String], together: Bool) async throws -> [String: DecisionRecord] {
                var conversations: [(id: String, token: String)] = []
                for _ in texts { conversations.append(try await t.startConversation()) }
                let gate = OverloadTests.Gate()
                if together { try await gate.close(executor) }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for (text, conversation) in zip(texts, conversations) {
                        if together {
                            group.addTask { try await t.say(text, in: conversation) }
                        } else {
                            try await t.say(text, in: conversation)
                        }
                    }
                    if together {
                        try await eventually("all \(texts.count) messages wait for the model") { executor.waiting == texts.count }
                        gate.open()
                    }
                    try await group.waitForAll()
                }
                var decisions: [String: DecisionRecord] = [:]
                for (text, conversation) in zip(texts, conversations) {
                    let id = try #require(UUID(uuidString: conversation.id))
                    decisions[text] = try #require(try await DecisionRecord.query(on: t.app.db).filter(\.$conversation.$id == id).first(), "no decision for '\(text)'")
                }
                return decisions
            }

            let alone = try await decide(texts, together: false)
            #expect(executor.batches.largest == 1, "decided one at a time: \(executor.batches)")
            // The same texts again: forget their readings, or they would not be encoded at all.
            t.app.tandem.intelligence.forgetReadings()
            let together = try await decide(texts, together: true)
            #expect(executor.batches.largest == texts.count, "decided in one batch: \(executor.batches)")

            // A packed batch runs the encoder's matrix products with more rows: float32 sums in
            // another order, so scores agree to float32 rounding, not bit for bit. Everything
            // decided from them must be the same.
            func close(_ x: Double?, _ y: Double?) -> Bool {
                guard let x, let y else { return x == nil && y == nil }
                return abs(x - y) <= 1e-5 * max(1, abs(x))
            }
            for text in texts {
                let a = try #require(alone[text]), b = try #require(together[text])
                #expect(a.modelVersion == b.modelVersion && a.encoder == b.encoder, "'\(text)': model")
                #expect(a.intent == b.intent && a.rule == b.rule && a.action == b.action, "'\(text)': \(a.intent ?? "-") \(a.rule) \(a.action) alone, \(b.intent ?? "-") \(b.rule) \(b.action) in a batch")
                #expect(close(a.confidence, b.confidence) && close(a.knownScore, b.knownScore) && close(a.familiarity, b.familiarity),
                        "'\(text)': scores \(a.confidence ?? .nan) \(a.knownScore ?? .nan) \(a.familiarity ?? .nan) alone, \(b.confidence ?? .nan) \(b.knownScore ?? .nan) \(b.familiarity ?? .nan) in a batch")
                #expect(a.threshold == b.threshold && a.unknownThreshold == b.unknownThreshold, "'\(text)': thresholds")
                #expect(a.draft == b.draft, "'\(text)': draft")
                let da = try #require(DecisionDetails.decode(a.details)), db = try #require(DecisionDetails.decode(b.details))
                #expect(da.reasons == db.reasons, "'\(text)': the explanation\n\(da.reasons)\n\(db.reasons)")
                #expect(da.alternatives.map(\.intent) == db.alternatives.map(\.intent) && da.neighbours.map(\.text) == db.neighbours.map(\.text),
                        "'\(text)': alternatives and neighbours")
                #expect(zip(da.alternatives, db.alternatives).allSatisfy { close($0.probability, $1.probability) }
                        && zip(da.neighbours, db.neighbours).allSatisfy { close($0.similarity, $1.similarity) }, "'\(text)': their figures")
            }
        }
    }
}
