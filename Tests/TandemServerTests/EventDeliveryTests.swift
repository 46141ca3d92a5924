import Fluent
import Foundation
import NIOConcurrencyHelpers
import SQLKit
import TandemCore
@testable import TandemServer
import Testing
import Vapor

/// Collects what one subscriber receives, so a test can wait for it without cancelling the stream.
final class EventCollector: Sendable {
    private let received = NIOLockedValueBox<[EventBus.Delivery]>([])
    private let task: Task<Void, Never>

    init(_ subscription: EventBus.Subscription) {
        let received = self.received
        task = Task { for await delivery in subscription.stream { received.withLockedValue { $0.append(delivery) } } }
    }

    var deliveries: [EventBus.Delivery] { received.withLockedValue { $0 } }
    var events: [EventBus.Event] { deliveries.map(\.event) }

    /// Waits (at most `seconds`, real time: delivery is asynchronous) until `done` holds.
    func wait(seconds: Double = 10, until done: ([EventBus.Event]) -> Bool) async -> [EventBus.Event] {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            let now = events
            if done(now) { return now }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return events
    }

    deinit { task.cancel() }
}

@Suite("Events never go missing", .serialized)
struct EventDeliveryTests {
    @Test("a lower event id committed after a higher one reaches every subscriber on both nodes")
    func lateCommitReachesBothNodes() async throws {
        guard TestDatabase.available.contains(.postgres) else { return }
        try await TestApp.with(.postgres, model: false) { nodeA in
            let schema = try #require(nodeA.app.tandem.environment.databaseSchema)
            // A second node on the same schema (its migrations and demo data are already there).
            try await TestApp.with(.postgres, demo: false, model: false, adjust: { $0.databaseSchema = schema }) { nodeB in
                // setup
                let conversation = UUID()
                let onA = EventCollector(try await nodeA.app.tandem.events.subscribe(from: nil, scope: .init(conversationID: conversation), on: nodeA.app.db))
                let onB = EventCollector(try await nodeB.app.tandem.events.subscribe(from: nil, scope: .init(conversationID: conversation), on: nodeB.app.db))
                let (took, tookID) = AsyncStream<Int>.makeStream()
                let (gate, open) = AsyncStream<Void>.makeStream()

                // act: transaction 1 takes the lower id and stays open ...
                let late = Task {
                    try await nodeA.app.db.transaction { db in
                        let record = try await EventBus.record(.message, conversationID: conversation, payload: ["text": "late"], on: db)
                        tookID.yield(try record.requireID())
                        for await _ in gate { break }
                    }
                }
                var ids = took.makeAsyncIterator()
                let lowID = try #require(await ids.next())
                // ... while transaction 2 takes a higher id and commits first.
                let highID = try await nodeB.app.db.transaction { db in
                    try await EventBus.record(.message, conversationID: conversation, payload: ["text": "early"], on: db).requireID()
                }
                #expect(lowID < highID)
                nodeA.app.tandem.events.poke(); nodeB.app.tandem.events.poke()
                for collector in [onA, onB] {
                    let got = await collector.wait { $0.contains { $0.id == highID } }
                    #expect(got.map(\.id) == [highID])
                }
                // The resume position sent with the early event still names the open id.
                let early = try #require(onB.deliveries.first)
                #expect(early.cursor == EventCursor(high: highID, pending: [lowID]), "\(early.cursor)")
                open.yield()
                try await late.value
                nodeA.app.tandem.events.poke(); nodeB.app.tandem.events.poke()

                // validate: the late event arrives on both nodes, once.
                for (name, collector) in [("A", onA), ("B", onB)] {
                    let got = await collector.wait(seconds: 5) { $0.contains { $0.id == lowID } }
                    #expect(got.map(\.id).sorted() == [lowID, highID], "node \(name) received \(got.map(\.id))")
                }
                #expect(onA.deliveries.last?.cursor == EventCursor(high: highID, pending: []))
                // A client that left after the early event and resumes from its position gets the late one, only.
                let resumed = try await nodeB.app.tandem.events.subscribe(from: early.cursor, scope: .init(conversationID: conversation), on: nodeB.app.db)
                #expect(resumed.replay.map(\.event.id) == [lowID])
                #expect(!resumed.truncated && resumed.start == EventCursor(high: highID, pending: []))
            }
        }
    }

    @Test("a rolled-back id is given up by PostgreSQL's transaction horizon; a stuck one after the safety window")
    func gapsAreGivenUp() async throws {
        guard TestDatabase.available.contains(.postgres) else { return }
        let clock = ManualClock()
        try await TestApp.with(.postgres, model: false, clock: clock) { t in
            // setup
            let bus = t.app.tandem.events
            let conversation = UUID()
            struct Rollback: Error {}
            // act: an id taken and rolled back, then a committed event above it
            _ = try? await t.app.db.transaction { db in
                try await EventBus.record(.message, conversationID: conversation, payload: ["text": "rolled back"], on: db)
                throw Rollback()
            }
            let high = try await EventBus.record(.message, conversationID: conversation, payload: ["text": "kept"], on: t.app.db).requireID()
            // validate: the gap closes without the clock moving (no transaction can still commit it)
            var cursor = bus.cursor
            for _ in 0..<250 where cursor.high < high || !cursor.pending.isEmpty {
                bus.poke()
                try await Task.sleep(for: .milliseconds(20))
                cursor = bus.cursor
            }
            #expect(cursor == EventCursor(high: high, pending: []))

            // An id held by an open transaction is waited for until the safety window passes.
            let (took, tookID) = AsyncStream<Int>.makeStream()
            let (gate, open) = AsyncStream<Void>.makeStream()
            let held = Task {
                try await t.app.db.transaction { db in
                    tookID.yield(try await EventBus.record(.message, conversationID: conversation, payload: ["text": "slow"], on: db).requireID())
                    for await _ in gate { break }
                }
            }
            var ids = took.makeAsyncIterator()
            let slow = try #require(await ids.next())
            let after = try await EventBus.record(.message, conversationID: conversation, payload: ["text": "after"], on: t.app.db).requireID()
            for _ in 0..<250 where bus.cursor.high < after { bus.poke(); try await Task.sleep(for: .milliseconds(20)) }
            let waiting = bus.cursor
            #expect(waiting == EventCursor(high: after, pending: [slow]))
            clock.advance(by: t.app.tandem.environment.eventSafetyWindow + 1)
            for _ in 0..<250 where !bus.cursor.pending.isEmpty { bus.poke(); try await Task.sleep(for: .milliseconds(20)) }
            #expect(bus.cursor.pending.isEmpty, "given up after the window")
            open.yield()
            try await held.value
            // A client whose position still names the id gets it on resume.
            let resumed = try await bus.subscribe(from: waiting, scope: .init(conversationID: conversation), on: t.app.db)
            #expect(resumed.replay.map(\.event.id) == [slow])
        }
    }

    @Test("Last-Event-ID: 0 on a customer stream reads only that conversation's events, at most 500", arguments: TestDatabase.available)
    func scopedBoundedReplay(database: TestDatabase) async throws {
        try await TestApp.with(database, model: false) { t in
            // setup: many events of other conversations, 520 of a busy one, a few of ours
            let conversation = try await t.startConversation()
            let ours = try #require(UUID(uuidString: conversation.id))
            let busy = UUID()
            var seed: [EventRecord] = []
            for i in 0..<700 { seed.append(EventRecord(conversationID: UUID(), kind: .message, payload: #"{"n":\#(i)}"#)) }
            for i in 0..<520 { seed.append(EventRecord(conversationID: busy, kind: .message, payload: #"{"n":\#(i)}"#)) }
            for i in 0..<3 { seed.append(EventRecord(conversationID: ours, kind: .message, payload: #"{"mine":\#(i)}"#)) }
            for chunk in stride(from: 0, to: seed.count, by: 200) { try await Array(seed[chunk..<min(chunk + 200, seed.count)]).create(on: t.app.db) }
            let last = try #require(try await EventRecord.query(on: t.app.db).max(\.$id))
            let bus = t.app.tandem.events
            bus.poke()
            for _ in 0..<500 where bus.cursor.high < last { try await Task.sleep(for: .milliseconds(20)) }
            #expect(bus.cursor.high == last)

            // act + validate: what SQL returns is only this conversation's (creation event and the three)
            let scope = EventBus.Scope(conversationID: ours, kinds: EventKind.allCases.filter(\.isCustomerVisible))
            let (mine, truncated) = try await EventBus.replay(from: .origin, until: bus.cursor, scope: scope, limit: 500, on: t.app.db)
            #expect(!truncated)
            #expect(mine.allSatisfy { $0.event.conversationID == ours })
            #expect(mine.filter { $0.event.payload.contains("mine") }.count == 3)
            #expect(mine.count < 10, "\(mine.count) events read for one conversation")

            let response = try await t.send(.GET, "/api/v1/conversations/\(conversation.id)/events?once=true", token: conversation.token,
                                            headers: ["Last-Event-ID": "0"])
            #expect(response.status == .ok)
            let frames = response.body.string.components(separatedBy: "\n\n").filter { $0.contains("event: ") }
            #expect(frames.count == mine.count)
            #expect(!response.body.string.contains(#""n":"#), "another conversation's event leaked")

            // A backlog beyond the limit comes in pages of 500, each resuming from the last position.
            let all = EventBus.Scope(conversationID: busy)
            let first = try await EventBus.replay(from: .origin, until: bus.cursor, scope: all, limit: 500, on: t.app.db)
            #expect(first.deliveries.count == 500 && first.truncated)
            let rest = try await EventBus.replay(from: try #require(first.deliveries.last?.cursor), until: bus.cursor, scope: all, limit: 500, on: t.app.db)
            #expect(rest.deliveries.count == 20 && !rest.truncated)
            let subscription = try await bus.subscribe(from: .origin, scope: all, on: t.app.db)
            #expect(subscription.replay.count == 500 && subscription.truncated, "a truncated replay ends the stream; the client reconnects")
        }
    }

    @Test("pruning removes events past the retention and keeps recent ones", arguments: TestDatabase.available)
    func pruning(database: TestDatabase) async throws {
        let clock = ManualClock()
        try await TestApp.with(database, model: false, clock: clock) { t in
            // setup
            let conversation = UUID()
            let old = try await EventBus.record(.message, conversationID: conversation, payload: ["text": "old"], on: t.app.db)
            clock.advance(by: 8 * 86_400)
            let recent = try await EventBus.record(.message, conversationID: conversation, payload: ["text": "recent"], on: t.app.db)
            // act
            let cutoff = clock.now.addingTimeInterval(-t.app.tandem.environment.eventRetentionDays * 86_400)
            let removed = try await EventBus.prune(before: cutoff, on: t.app.db)
            // validate
            #expect(removed >= 1)
            let left = try await EventRecord.query(on: t.app.db).all().compactMap(\.id)
            #expect(!left.contains(try old.requireID()))
            #expect(left.contains(try recent.requireID()))
        }
    }

    @Test("streams are capped per token (429) and per node (503), with Retry-After", arguments: TestDatabase.available)
    func connectionLimits(database: TestDatabase) async throws {
        try await TestApp.with(database, model: false, adjust: { $0.streamsPerToken = 2; $0.streamsTotal = 3 }) { t in
            let conversation = try await t.startConversation()
            let limiter = t.app.tandem.events.limiter
            let held = try (0..<2).map { _ in try limiter.acquire("conversation:\(conversation.id)") }
            let tooMany = try await t.send(.GET, "/api/v1/conversations/\(conversation.id)/events", token: conversation.token)
            #expect(tooMany.status == .tooManyRequests)
            #expect(tooMany.headers.first(name: .retryAfter) == "10")
            #expect((tooMany.json["error"] as? [String: Any])?["code"] as? String == "too_many_streams")

            let other = try await t.startConversation(name: "Bo")
            let third = try limiter.acquire("conversation:someone-else")
            let full = try await t.send(.GET, "/api/v1/conversations/\(other.id)/events", token: other.token)
            #expect(full.status == .serviceUnavailable)
            #expect(full.headers.first(name: .retryAfter) == "30")
            #expect((full.json["error"] as? [String: Any])?["code"] as? String == "streams_full")
            // The polling fallback holds no stream and still answers.
            #expect(try await t.send(.GET, "/api/v1/conversations/\(other.id)/events?once=true", token: other.token).status == .ok)
            for lease in held + [third] { lease.release() }
            // An agent's streams count against its session token.
            let token = try await t.login()
            let agentHeld = try (0..<2).map { _ in try limiter.acquire("agent:" + Secrets.digest(token)) }
            let agentRefused = try await t.send(.GET, "/api/v1/agent/events", token: token)
            #expect(agentRefused.status == .tooManyRequests && agentRefused.headers.first(name: .retryAfter) == "10")
            for lease in agentHeld { lease.release() }
            #expect(limiter.open == 0)
        }
    }

    @Test("a stream sends heartbeats and ends at its maximum lifetime (by the injected clock)", arguments: TestDatabase.available)
    func heartbeatAndLifetime(database: TestDatabase) async throws {
        let clock = ManualClock()
        try await TestApp.with(database, model: false, clock: clock, adjust: { $0.streamHeartbeat = 0.05 }) { t in
            // setup
            let conversation = try await t.startConversation()
            let base = try await t.listen()
            let client = t.app.client
            let stream = Task {
                try await client.get(URI(string: "\(base)/api/v1/conversations/\(conversation.id)/events"),
                                     headers: ["Authorization": "Bearer \(conversation.token)"])
            }
            let limiter = t.app.tandem.events.limiter
            for _ in 0..<250 where limiter.open == 0 { try await Task.sleep(for: .milliseconds(20)) }
            #expect(limiter.open == 1)
            // act: an hour passes
            clock.advance(by: t.app.tandem.environment.streamLifetime)
            let response = try await stream.value
            // validate
            let body = response.body.map { String(buffer: $0) } ?? ""
            #expect(response.status == .ok)
            #expect(body.contains(": connected") && body.contains(": keep-alive") && body.contains("lifetime reached"), "\(body.prefix(300))")
            for _ in 0..<100 where limiter.open > 0 { try await Task.sleep(for: .milliseconds(20)) }
            #expect(limiter.open == 0, "the ended stream gave its lease back")
        }
    }

    @Test("resume positions read and write back")
    func cursors() {
        #expect(EventCursor("42") == EventCursor(high: 42, pending: []))
        #expect(EventCursor("42~41,39")?.description == "42~39,41")
        #expect(EventCursor("42~43") == nil && EventCursor("x") == nil && EventCursor("-1") == nil)
        #expect(EventCursor(high: 100, pending: Array(1...40)) == EventCursor(high: 0, pending: []), "too many open ids: fall back below the oldest")
        #expect(EventCursor(high: 9, pending: [5]).covers(4) && !EventCursor(high: 9, pending: [5]).covers(5))
    }
}
