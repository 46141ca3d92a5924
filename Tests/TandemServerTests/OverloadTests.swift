import Fluent
import Foundation
import NIOConcurrencyHelpers
import TandemCore
@testable import TandemServer
import Testing
import Vapor
import VaporTesting

/// Inference runs on its own bounded executor: a burst of customer messages waits there, not
/// on the cooperative pool the agents' requests need, and what does not fit goes to a person,
/// stored and acknowledged, never dropped.
@Suite("Overload", .serialized)
struct OverloadTests {
    /// Holds the inference thread until `open()`, so a test can fill the queue deterministically.
    final class Gate: Sendable {
        private let started = NIOLockedValueBox(false)
        private let release = DispatchSemaphore(value: 0)

        /// Occupies the executor's thread; returns once it is held there.
        func close(_ executor: InferenceExecutor) async throws {
            Task { _ = try await executor.run { [self] in
                started.withLockedValue { $0 = true }
                release.wait()
            } }
            try await eventually("the gate holds the inference thread") { started.withLockedValue { $0 } && executor.waiting == 0 }
        }

        func open() { release.signal() }
    }

    static let capacity = 16
    static let burst = 200

    @Test("a burst of 200 anonymous messages: the queue takes 16, the rest go to people at once; an agent's reply is not held up; every acknowledged message is stored and decided",
          .enabled(if: Shared.hasModel || TestDatabase.isCI, "needs the model"), arguments: TestDatabase.available)
    func burst(database: TestDatabase) async throws {
        // Admission is tested below; here every message is let in, to reach the model's queue.
        try await TestApp.with(database, adjust: { $0.inferenceQueue = Self.capacity; $0.messagesInFlight = 1000 }) { t in
            try await t.decideEachMessageAlone()
            let executor = t.app.tandem.intelligence.executor
            // An agent already helping a customer.
            let helped = try await t.startConversation(name: "Helped")
            try await t.send(.POST, "/api/v1/conversations/\(helped.id)/handoff", token: helped.token)
            let agent = try await t.login()
            let claim = try await t.send(.POST, "/api/v1/agent/conversations/\(helped.id)/claim", token: agent)
            try #require(claim.status == .ok, "claim: \(claim.status) \(claim.body.string)")

            var customers: [(id: String, token: String)] = []
            for i in 0..<Self.burst { customers.append(try await t.startConversation(name: "Customer \(i)")) }

            let gate = Gate()
            try await gate.close(executor)
            let statuses = try await withThrowingTaskGroup(of: HTTPStatus.self) { group in
                for (i, customer) in customers.enumerated() {
                    group.addTask {
                        try await t.send(.POST, "/api/v1/conversations/\(customer.id)/messages",
                                         json: ["text": "burst \(i): how do I reset my password?"], token: customer.token).status
                    }
                }
                // Everything beyond the queue is decided without the model: wait for those.
                let refused = Self.burst - Self.capacity
                try await eventually("\(refused) messages handed to people while the model is held") {
                    try await DecisionRecord.query(on: t.app.db).filter(\.$rule == .assistantBusy).count() == refused
                        && executor.waiting == Self.capacity
                }
                // The agent's reply does not wait for the model's queue.
                let reply = try await t.send(.POST, "/api/v1/agent/conversations/\(helped.id)/messages",
                                             json: ["text": "Here is your answer."], token: agent)
                #expect(reply.status == .created, "agent reply during the burst: \(reply.status) \(reply.body.string)")
                #expect(executor.waiting == Self.capacity, "the reply came back while the model's queue was still full")
                gate.open()
                var statuses: [HTTPStatus] = []
                for try await status in group { statuses.append(status) }
                return statuses
            }

            #expect(statuses.filter { $0 == .created }.count == Self.burst, "every message acknowledged: \(Dictionary(grouping: statuses, by: \.code).mapValues(\.count))")
            let stored = try await MessageRecord.query(on: t.app.db).filter(\.$role == .customer).filter(\.$text ~~ "burst ").count()
            #expect(stored == Self.burst, "every acknowledged message is stored")
            let decisions = try await DecisionRecord.query(on: t.app.db).all()
            let busy = decisions.filter { $0.rule == .assistantBusy }
            #expect(decisions.count == Self.burst, "every message decided")
            #expect(busy.count == Self.burst - Self.capacity)
            #expect(busy.allSatisfy { $0.action == .handOff && $0.intent == nil }, "a busy model hands off, with no guess it did not make")
            #expect(decisions.filter { $0.rule != .assistantBusy }.allSatisfy { $0.intent != nil }, "the queued messages were read by the model")
            let reasons = busy.first.flatMap { DecisionDetails.decode($0.details)?.reasons } ?? []
            #expect(reasons.first?.contains("\(Self.capacity) messages waiting") == true, "the reason names the queue: \(reasons)")
            // The customers the model could not read are with people now, and were told so.
            let queued = try await ConversationRecord.query(on: t.app.db).filter(\.$status == .queued).filter(\.$handoffRule == .assistantBusy).count()
            #expect(queued == Self.burst - Self.capacity)
            #expect(executor.waiting == 0)
        }
    }

    @Test("beyond TANDEM_MESSAGES_IN_FLIGHT a message gets 503 with Retry-After before anything is stored; a resend with its key is stored once",
          .enabled(if: Shared.hasModel || TestDatabase.isCI, "needs the model"), arguments: TestDatabase.available)
    func admission(database: TestDatabase) async throws {
        let inFlight = 6, offered = 20
        try await TestApp.with(database, adjust: { $0.inferenceQueue = 100; $0.messagesInFlight = inFlight }) { t in
            try await t.decideEachMessageAlone()
            let executor = t.app.tandem.intelligence.executor
            var customers: [(id: String, token: String)] = []
            for i in 0..<offered { customers.append(try await t.startConversation(name: "Customer \(i)")) }
            let gate = Gate()
            try await gate.close(executor)
            // Those let in wait for the model, holding their places: the rest are refused.
            let results = try await withThrowingTaskGroup(of: (Int, HTTPStatus, String?).self) { group in
                for (i, customer) in customers.enumerated() {
                    group.addTask {
                        let r = try await t.send(.POST, "/api/v1/conversations/\(customer.id)/messages", json: ["text": "where is my card?"],
                                                 token: customer.token, headers: ["Idempotency-Key": "key-\(i)"])
                        return (i, r.status, r.headers.first(name: .retryAfter))
                    }
                }
                var refused: [(Int, HTTPStatus, String?)] = []
                for _ in 0..<(offered - inFlight) { if let r = try await group.next() { refused.append(r) } }
                try await eventually("the admitted messages wait for the model") { executor.waiting == inFlight }
                gate.open()
                var all = refused
                for try await r in group { all.append(r) }
                return (refused, all)
            }
            #expect(results.0.allSatisfy { $0.1 == .serviceUnavailable && $0.2 == "2" }, "refused with 503 and Retry-After: \(results.0.map(\.1))")
            #expect(results.1.filter { $0.1 == .created }.count == inFlight)
            let stored = try await MessageRecord.query(on: t.app.db).filter(\.$role == .customer).count()
            #expect(stored == inFlight, "nothing stored for a refused message")
            #expect(t.app.tandem.admission.inFlight == 0)

            // The customer's page sends it again with the same key: now it is stored, once.
            let again = try #require(results.0.first)
            let customer = customers[again.0]
            for _ in 0..<2 {
                _ = try await t.send(.POST, "/api/v1/conversations/\(customer.id)/messages", json: ["text": "where is my card?"],
                                     token: customer.token, headers: ["Idempotency-Key": "key-\(again.0)"])
            }
            #expect(try await MessageRecord.query(on: t.app.db).filter(\.$role == .customer).count() == inFlight + 1)
        }
    }

    @Test("the executor refuses once full, runs in order, and refuses after shutdown")
    func executor() async throws {
        let executor = InferenceExecutor(capacity: 2)
        let gate = Gate()
        try await gate.close(executor)
        let order = NIOLockedValueBox<[Int]>([])
        // Each job is queued before the next is submitted: two tasks started together may reach
        // the queue in either order.
        let first = Task { try await executor.run { order.withLockedValue { $0.append(1) } } }
        try await eventually("one waiting") { executor.waiting == 1 }
        let second = Task { try await executor.run { order.withLockedValue { $0.append(2) } } }
        try await eventually("two waiting") { executor.waiting == 2 }
        await #expect(throws: InferenceExecutor.Overloaded(waiting: 2)) { try await executor.run { 3 } }
        gate.open()
        try await first.value
        try await second.value
        #expect(order.withLockedValue { $0 } == [1, 2])
        #expect(try await executor.run { 40 + 2 } == 42)
        executor.shutdown()
        await #expect(throws: InferenceExecutor.Overloaded(waiting: 0)) { try await executor.run { 0 } }
    }
}

/// Polls `condition` until it holds, failing after `timeout` seconds.
func eventually(_ what: String, timeout: TimeInterval = 30, _ condition: () async throws -> Bool) async throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    Issue.record("timed out after \(Int(timeout)) s waiting until \(what)")
    throw TestSetupError("timed out waiting until \(what)")
}
