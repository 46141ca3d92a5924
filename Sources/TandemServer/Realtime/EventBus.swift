import Fluent
import Foundation
import NIOConcurrencyHelpers
import SQLKit
import Vapor

/// Real-time updates that work across nodes: every event is a row in the `events` table
/// (written in the same transaction as the change it describes), and each node's poller reads
/// new rows and hands them to its subscribers (server-sent event streams). A publish on this
/// node wakes the poller at once; with PostgreSQL a NOTIFY wakes the other nodes' pollers too,
/// and otherwise they look every `interval`.
final class EventBus: Sendable {
    struct Event: Sendable, Codable, Equatable {
        var id: Int
        var conversationID: UUID?
        var kind: EventKind
        /// JSON object.
        var payload: String
    }

    private struct Subscriber {
        let filter: @Sendable (Event) -> Bool
        let continuation: AsyncStream<Event>.Continuation
    }

    private let subscribers = NIOLockedValueBox<[UUID: Subscriber]>([:])
    private let lastSeen = NIOLockedValueBox<Int>(0)
    private let wake = WakeSignal()
    let interval: Duration

    init(interval: Duration = .milliseconds(250)) { self.interval = interval }

    static let channel = "tandem_events"

    /// Records an event; call inside the transaction of the change it describes.
    @discardableResult
    static func record(_ kind: EventKind, conversationID: UUID?, payload: some Encodable, on db: Database) async throws -> EventRecord {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        let json = String(decoding: try encoder.encode(payload), as: UTF8.self)
        let record = EventRecord(conversationID: conversationID, kind: kind, payload: json)
        try await record.create(on: db)
        if let sql = db as? SQLDatabase, sql.dialect.name == "postgresql" {
            try await sql.raw("NOTIFY \(unsafeRaw: channel)").run()
        }
        return record
    }

    /// Wakes this node's poller (after a commit that recorded events).
    func poke() { wake.signal() }

    /// A stream of future events that pass `filter`, starting after event `after` (replaying
    /// what the subscriber missed since then, e.g. after a reconnect).
    func subscribe(after: Int?, on db: Database, filter: @escaping @Sendable (Event) -> Bool) async throws -> AsyncStream<Event> {
        let id = UUID()
        let (stream, continuation) = AsyncStream<Event>.makeStream(bufferingPolicy: .bufferingNewest(1000))
        // Register first, then replay, so nothing falls between the two.
        let start = lastSeen.withLockedValue { $0 }
        subscribers.withLockedValue { $0[id] = Subscriber(filter: filter, continuation: continuation) }
        continuation.onTermination = { [weak self] _ in _ = self?.subscribers.withLockedValue { $0.removeValue(forKey: id) } }
        if let after, after < start {
            let missed = try await EventRecord.query(on: db).filter(\.$id > after).filter(\.$id <= start).sort(\.$id).all()
            for record in missed {
                let event = Event(record)
                if filter(event) { continuation.yield(event) }
            }
        }
        return stream
    }

    /// Stored events after `after` that pass `filter`, oldest first (at most `limit`).
    static func backlog(after: Int, on db: Database, limit: Int = 500, filter: (Event) -> Bool) async throws -> [Event] {
        try await EventRecord.query(on: db).filter(\.$id > after).sort(\.$id).limit(limit).all().map(Event.init).filter(filter)
    }

    /// The latest event id, where new subscribers start.
    var latest: Int { lastSeen.withLockedValue { $0 } }

    /// The poller: runs until the task is cancelled.
    func run(on db: Database, logger: Logger) async {
        if let last = try? await EventRecord.query(on: db).sort(\.$id, .descending).first()?.id {
            lastSeen.withLockedValue { $0 = last }
        }
        while !Task.isCancelled {
            await wake.wait(timeout: interval)
            do {
                let after = lastSeen.withLockedValue { $0 }
                let records = try await EventRecord.query(on: db).filter(\.$id > after).sort(\.$id).limit(500).all()
                guard let last = records.last?.id else { continue }
                let events = records.map(Event.init)
                lastSeen.withLockedValue { $0 = last }
                let targets = subscribers.withLockedValue { Array($0.values) }
                for event in events {
                    for subscriber in targets where subscriber.filter(event) { subscriber.continuation.yield(event) }
                }
                if records.count == 500 { poke() }
            } catch {
                logger.warning("event poller: \(error)")
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    func finish() {
        // Finish outside the lock: each stream's termination handler takes it again.
        let all = subscribers.withLockedValue { all in
            defer { all.removeAll() }
            return Array(all.values)
        }
        for subscriber in all { subscriber.continuation.finish() }
        wake.signal()
    }
}

/// Wakes one waiter; a signal with nobody waiting is remembered for the next wait.
final class WakeSignal: Sendable {
    private let state = NIOLockedValueBox<(pending: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    func signal() {
        let waiter = state.withLockedValue { s -> CheckedContinuation<Void, Never>? in
            if let w = s.waiter { s.waiter = nil; return w }
            s.pending = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns on a signal or after `timeout`, whichever comes first.
    func wait(timeout: Duration) async {
        let timer = Task { [weak self] in
            // Only a timeout that ran out signals: a cancelled timer (the wait ended by a
            // signal) must not leave a pending wake-up behind, or waiters would spin.
            guard (try? await Task.sleep(for: timeout)) != nil else { return }
            self?.signal()
        }
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLockedValue { s -> Bool in
                if s.pending { s.pending = false; return true }
                s.waiter = c
                return false
            }
            if now { c.resume() }
        }
        timer.cancel()
    }
}

extension EventBus.Event {
    init(_ record: EventRecord) {
        self.init(id: record.id ?? 0, conversationID: record.conversationID, kind: record.kind, payload: record.payload)
    }

    /// One server-sent event frame.
    var frame: String {
        "id: \(id)\nevent: \(kind.rawValue)\ndata: \(payload.replacingOccurrences(of: "\n", with: "\ndata: "))\n\n"
    }
}
