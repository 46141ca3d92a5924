import Fluent
import Foundation
import NIOConcurrencyHelpers
import SQLKit
import TandemCore
import TandemOffline
import Vapor

/// Real-time updates that work across nodes: every event is a row in the `events` table
/// (written in the same transaction as the change it describes), and each node's poller reads
/// new rows and hands them to its subscribers (server-sent event streams). A publish on this
/// node wakes the poller at once; with PostgreSQL a NOTIFY wakes the other nodes' pollers too
/// (`EventNotifications`), and otherwise they look every `interval`.
///
/// **Why no event goes missing.** Ids come from a sequence, and on PostgreSQL a sequence value
/// is taken when the row is inserted, not when its transaction commits: a transaction can take
/// id 10, stay open, and commit after id 11 was committed and delivered. Reading `id > highest`
/// would skip 10 forever. So the poller keeps a *low-water mark* in two parts: `high`, the
/// highest id it has delivered, and `gaps`, the ids below `high` it has not seen yet. Each poll
/// reads `id > high OR id IN (gaps)`; a gap that turns up is delivered late, to every
/// subscriber, on every node (each node's poller does the same against the same table).
///
/// A gap is given up only when it can no longer commit. On PostgreSQL that is decided by
/// transaction ids, not by time: `record` makes sure its transaction has an xid *before* it
/// takes the event id, and when a gap is first seen the poller notes the `xmax` of a snapshot
/// taken after the read that revealed it (every transaction that had taken an id by then has an
/// xid below it). Once a later snapshot's `xmin` reaches that mark, every such transaction has
/// ended; a read after that snapshot would have returned the row had it committed, so the id
/// was rolled back and the gap is dropped. SQLite has one writer at a time, so ids are commit
/// order there and a gap is always a rollback: it is dropped at the next poll. A safety window
/// (`TANDEM_EVENT_SAFETY_WINDOW`, by the injected clock) is the last resort for a PostgreSQL
/// horizon held back by some unrelated long transaction; an event whose transaction stays open
/// longer than that is logged and not delivered live (it is still in the table for replays).
///
/// **Resuming.** The SSE `id:` of every frame is an `EventCursor`, not the event's id: the
/// poller's `high` *and* the gaps still open when the frame was sent (`11~10`). A client that
/// reconnects with it replays `id > 11 OR id IN (10)`, so an event that committed late while it
/// was away is replayed too, and nothing it already has is sent twice.
final class EventBus: Sendable {
    struct Event: Sendable, Codable, Equatable {
        var id: Int
        var conversationID: UUID?
        var kind: EventKind
        /// JSON object.
        var payload: String
    }

    /// An event on its way to subscribers, with the resume position after it. Its frame is
    /// encoded once, when it is made: a live event goes to every matching stream as the same bytes.
    struct Delivery: Sendable, Equatable {
        let event: Event
        let cursor: EventCursor
        /// The server-sent event frame; its `id:` is the resume position, not the event's id.
        let bytes: ByteBuffer

        init(event: Event, cursor: EventCursor) {
            self.event = event
            self.cursor = cursor
            bytes = ByteBuffer(string: "id: \(cursor)\nevent: \(event.kind.rawValue)\ndata: \(event.payload.replacingOccurrences(of: "\n", with: "\ndata: "))\n\n")
        }

        var frame: String { String(buffer: bytes) }
    }

    /// What a subscriber may see; the replay filters by it in SQL.
    struct Scope: Sendable {
        /// Only this conversation's events.
        var conversationID: UUID?
        /// Only these kinds (nil: all).
        var kinds: [EventKind]?

        static let all = Scope()

        /// Without `kinds`: every kind a client may see (the nodes' internal ones only by name).
        func matches(_ event: Event) -> Bool {
            (conversationID.map { event.conversationID == $0 } ?? true)
                && (kinds.map { $0.contains(event.kind) } ?? !EventKind.internalKinds.contains(event.kind))
        }
    }

    /// A new stream: what it missed (oldest first), where it stands after that, and what comes next.
    struct Subscription: Sendable {
        var replay: [Delivery]
        /// More was missed than one replay holds: the stream should end after `replay`, and the
        /// client reconnects from the last cursor for the rest.
        var truncated: Bool
        var start: EventCursor
        var stream: AsyncStream<Delivery>
    }

    struct Settings: Sendable {
        /// How long an id the poller has not seen may stay open before it is given up (see above).
        var safetyWindow: TimeInterval = 60
        /// At most this many events per replay (a reconnect or a `once` poll).
        var replayLimit = 500
        /// At most this many events per poll.
        var pollLimit = 500
        /// Events buffered for one slow subscriber; beyond that its stream ends (it resumes from its cursor).
        var bufferLimit = 1000
    }

    private struct Gap {
        var since: Date
        /// PostgreSQL: `xmax` of a snapshot taken after the gap was seen (nil until the next poll notes it).
        var horizon: UInt64?
    }

    private struct Subscriber {
        let scope: Scope
        /// A resume position from another node that was ahead of this one: events it covers are not sent again.
        let seen: EventCursor?
        let continuation: AsyncStream<Delivery>.Continuation
    }

    /// Subscribers are indexed by the conversation they follow, so a poll offers an event only
    /// to the streams that may see it (that conversation's, and the ones that see every
    /// conversation, the agents'), not to every open stream: with thousands of customer
    /// streams the cost of an event is its own followers, not (events x subscribers).
    private struct State {
        var high = 0
        var gaps: [Int: Gap] = [:]
        var subscribers: [UUID: Subscriber] = [:]
        var followers: [UUID: Set<UUID>] = [:]
        var everywhere: Set<UUID> = []
        var cursor: EventCursor { EventCursor(high: high, pending: gaps.keys.sorted()) }

        mutating func add(_ subscriber: Subscriber, id: UUID) {
            subscribers[id] = subscriber
            if let conversation = subscriber.scope.conversationID { followers[conversation, default: []].insert(id) } else { everywhere.insert(id) }
        }

        @discardableResult
        mutating func remove(_ id: UUID) -> Subscriber? {
            guard let subscriber = subscribers.removeValue(forKey: id) else { return nil }
            if let conversation = subscriber.scope.conversationID {
                followers[conversation]?.remove(id)
                if followers[conversation]?.isEmpty == true { followers[conversation] = nil }
            } else {
                everywhere.remove(id)
            }
            return subscriber
        }

        /// The subscribers an event about `conversationID` may concern.
        func candidates(for conversationID: UUID?) -> [UUID] {
            guard let conversationID, let following = followers[conversationID] else { return Array(everywhere) }
            return Array(everywhere) + Array(following)
        }
    }

    private let state = NIOLockedValueBox(State())
    private let wake = WakeSignal()
    let interval: Duration
    let settings: Settings
    let clock: any WallClock
    let limiter: StreamLimiter

    init(interval: Duration = .milliseconds(250), settings: Settings = Settings(), clock: any WallClock = SystemClock(),
         limiter: StreamLimiter = StreamLimiter()) {
        self.interval = interval
        self.settings = settings
        self.clock = clock
        self.limiter = limiter
    }

    static let channel = "tandem_events"

    /// Records an event; call inside the transaction of the change it describes.
    @discardableResult
    static func record(_ kind: EventKind, conversationID: UUID?, payload: some Encodable, on db: Database) async throws -> EventRecord {
        let record = try event(kind, conversationID: conversationID, payload: payload)
        try await insert(on: db) { try await record.create(on: $0) }
        return record
    }

    /// An event row to record with `record(_:on:)`.
    static func event(_ kind: EventKind, conversationID: UUID?, payload: some Encodable) throws -> EventRecord {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        return EventRecord(conversationID: conversationID, kind: kind, payload: String(decoding: try encoder.encode(payload), as: UTF8.self))
    }

    /// Records several events of one change, in order, in one insert (their ids are not read
    /// back): on PostgreSQL also one xid check and one NOTIFY for all of them.
    static func record(_ records: [EventRecord], on db: Database) async throws {
        guard !records.isEmpty else { return }
        try await insert(on: db) { try await records.create(on: $0) }
    }

    private static func insert(on db: Database, _ insert: @escaping @Sendable (Database) async throws -> Void) async throws {
        guard let sql = db as? SQLDatabase, sql.dialect.name == "postgresql" else {
            try await insert(db)
            return
        }
        // The transaction's xid must exist before the ids are taken (see the type's comment), so
        // even a lone event gets a transaction of its own.
        let write: @Sendable (Database) async throws -> Void = { db in
            guard let sql = db as? SQLDatabase else { return }
            try await sql.raw("SELECT pg_current_xact_id()").run()
            try await insert(db)
            try await sql.raw("NOTIFY \(unsafeRaw: channel)").run()
        }
        if db.inTransaction { try await write(db) } else { try await db.transaction(write) }
    }

    /// Wakes this node's poller (after a commit that recorded events).
    func poke() { wake.signal() }

    /// Where a new subscriber without a resume position starts.
    var cursor: EventCursor { state.withLockedValue { $0.cursor } }

    /// A stream of the events in `scope` after `cursor` (replaying what the subscriber missed
    /// since then, e.g. after a reconnect, at most `replayLimit`), then the live ones.
    func subscribe(from cursor: EventCursor?, scope: Scope, on db: Database) async throws -> Subscription {
        let id = UUID()
        let (stream, continuation) = AsyncStream<Delivery>.makeStream(bufferingPolicy: .bufferingOldest(settings.bufferLimit))
        // Register first, then replay up to where live delivery starts, so nothing falls between the two.
        let start = state.withLockedValue { s in
            s.add(Subscriber(scope: scope, seen: cursor.flatMap { $0.high > s.high ? $0 : nil }, continuation: continuation), id: id)
            return s.cursor
        }
        continuation.onTermination = { [weak self] _ in _ = self?.state.withLockedValue { $0.remove(id) } }
        guard let cursor else { return Subscription(replay: [], truncated: false, start: start, stream: stream) }
        do {
            let (replay, truncated) = try await Self.replay(from: cursor, until: start, scope: scope, limit: settings.replayLimit, on: db)
            if truncated { continuation.finish() }
            let resumed = cursor.high > start.high ? cursor.merging(pending: start.pending) : start
            return Subscription(replay: replay, truncated: truncated, start: truncated ? replay.last!.cursor : resumed, stream: stream)
        } catch {
            continuation.finish()
            throw error
        }
    }

    /// The stored events in `scope` a client at `cursor` has not seen, that a poller at `until`
    /// has delivered (the rest it delivers live), oldest first; at most `limit`, filtered and
    /// bounded in SQL. `truncated` says more were left.
    static func replay(from cursor: EventCursor, until bus: EventCursor, scope: Scope, limit: Int,
                       on db: Database) async throws -> (deliveries: [Delivery], truncated: Bool) {
        let query = EventRecord.query(on: db)
        if let conversation = scope.conversationID { query.filter(\.$conversationID == conversation) }
        if let kinds = scope.kinds { query.filter(\.$kind ~~ kinds) } else { query.filter(\.$kind !~ EventKind.internalKinds) }
        if cursor.pending.isEmpty {
            query.filter(\.$id > cursor.high)
        } else {
            query.group(.or) { $0.filter(\.$id > cursor.high).filter(\.$id ~~ cursor.pending) }
        }
        query.filter(\.$id <= bus.high)
        if !bus.pending.isEmpty { query.filter(\.$id !~ bus.pending) }
        let records = try await query.sort(\.$id).limit(limit + 1).all()
        let open = Set(bus.pending)
        let candidates = Set(cursor.pending).union(bus.pending.filter { $0 > cursor.high })
        let deliveries = records.prefix(limit).map { record in
            let event = Event(record)
            let high = max(cursor.high, event.id)
            // Still unseen after this one: the client's own gaps not yet replayed, and ids the poller has not delivered.
            let pending = candidates.filter { $0 <= high && ($0 > event.id || open.contains($0)) }.sorted()
            return Delivery(event: event, cursor: EventCursor(high: high, pending: pending))
        }
        return (deliveries, records.count > limit)
    }

    /// Deletes events created before `cutoff`; returns how many. `events_created` keeps it cheap.
    @discardableResult
    static func prune(before cutoff: Date, on db: Database) async throws -> Int {
        let count = try await EventRecord.query(on: db).filter(\.$createdAt < cutoff).count()
        if count > 0 { try await EventRecord.query(on: db).filter(\.$createdAt < cutoff).delete() }
        return count
    }

    /// The poller: runs until the task is cancelled.
    func run(on db: Database, logger: Logger) async {
        do {
            try await start(on: db)
        } catch {
            logger.warning("event poller start: \(error)")
        }
        while !Task.isCancelled {
            await wake.wait(timeout: interval)
            do {
                if try await poll(on: db, logger: logger) { poke() }
            } catch {
                logger.warning("event poller: \(error)")
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// Starts after the latest event; ids missing among the last thousand may still commit.
    func start(on db: Database) async throws {
        guard let last = try await EventRecord.query(on: db).sort(\.$id, .descending).first()?.id else { return }
        let recent = try await EventRecord.query(on: db).filter(\.$id > last - 1000).all().compactMap(\.id)
        let now = clock.now
        state.withLockedValue { s in
            guard s.high < last else { return }
            let seen = Set(recent)
            for id in max(s.high + 1, last - 999)..<last where !seen.contains(id) { s.gaps[id] = Gap(since: now) }
            s.high = last
        }
    }

    /// One poll: delivers what committed since the last one; returns whether more is waiting.
    @discardableResult
    func poll(on db: Database, logger: Logger) async throws -> Bool {
        let (high, open) = state.withLockedValue { ($0.high, Array($0.gaps.keys)) }
        // PostgreSQL's horizon, read before the rows (see the type's comment); SQLite has none to wait for.
        var horizon: (xmin: UInt64, xmax: UInt64)?
        let sql = db as? SQLDatabase
        let postgres = sql?.dialect.name == "postgresql"
        if postgres, !open.isEmpty, let sql,
           let row = try await sql.raw("SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin, pg_snapshot_xmax(pg_current_snapshot())::text AS xmax").first() {
            horizon = (UInt64(try row.decode(column: "xmin", as: String.self)) ?? 0, UInt64(try row.decode(column: "xmax", as: String.self)) ?? 0)
        }
        let query = EventRecord.query(on: db)
        if open.isEmpty {
            query.filter(\.$id > high)
        } else {
            query.group(.or) { $0.filter(\.$id > high).filter(\.$id ~~ open) }
        }
        let records = try await query.sort(\.$id).limit(settings.pollLimit).all()
        let now = clock.now
        let window = settings.safetyWindow
        var overflowed: [AsyncStream<Delivery>.Continuation] = []
        var abandoned: [Int] = []
        state.withLockedValue { s in
            let existing = Set(open)
            if let horizon {
                for (id, gap) in s.gaps where existing.contains(id) && gap.horizon == nil { s.gaps[id]?.horizon = horizon.xmax }
            }
            for record in records {
                let event = Event(record)
                if s.gaps.removeValue(forKey: event.id) == nil {
                    guard event.id > s.high else { continue }
                    for id in max(s.high + 1, event.id - 10_000)..<event.id { s.gaps[id] = Gap(since: now, horizon: postgres ? nil : 0) }
                    s.high = event.id
                }
                let delivery = Delivery(event: event, cursor: s.cursor)
                for key in s.candidates(for: event.conversationID) {
                    guard let subscriber = s.subscribers[key], subscriber.scope.matches(event) else { continue }
                    if let seen = subscriber.seen, seen.covers(event.id) { continue }
                    if case .dropped = subscriber.continuation.yield(delivery) {
                        s.remove(key)
                        overflowed.append(subscriber.continuation)
                    }
                }
            }
            // Gaps that were open before this read and were not in it: rolled back, or waited out.
            for (id, gap) in s.gaps where existing.contains(id) {
                let ended = postgres ? (horizon.map { h in gap.horizon.map { h.xmin >= $0 } ?? false } ?? false) : true
                if ended {
                    s.gaps.removeValue(forKey: id)
                } else if now.timeIntervalSince(gap.since) > window {
                    s.gaps.removeValue(forKey: id)
                    abandoned.append(id)
                }
            }
        }
        // Outside the lock: a stream's termination handler takes it again.
        for continuation in overflowed { continuation.finish() }
        if !abandoned.isEmpty {
            logger.warning("event poller: ids \(abandoned.sorted()) stayed uncommitted for \(Int(window)) s; live streams will not wait for them")
        }
        return records.count == settings.pollLimit
    }

    func finish() {
        // Finish outside the lock: each stream's termination handler takes it again.
        let all = state.withLockedValue { s in
            defer { s = State(high: s.high, gaps: s.gaps) }
            return Array(s.subscribers.values)
        }
        for subscriber in all { subscriber.continuation.finish() }
        wake.signal()
    }
}

/// A resume position: every event up to `high` has been delivered except `pending` (ids that
/// had not committed yet). Written as the SSE `id:`: `42`, or `42~39,41` with pending ids.
struct EventCursor: Sendable, Equatable, CustomStringConvertible, LosslessStringConvertible {
    var high: Int
    var pending: [Int]

    /// More pending ids than this and the cursor falls back to just below the oldest: a resume
    /// may then repeat a few events, but never skips one.
    static let maxPending = 32

    static let origin = EventCursor(high: 0, pending: [])

    init(high: Int, pending: [Int]) {
        if pending.count > Self.maxPending, let oldest = pending.min() {
            self.high = oldest - 1
            self.pending = []
        } else {
            self.high = high
            self.pending = pending
        }
    }

    init?(_ description: String) {
        let parts = description.trimmingCharacters(in: .whitespaces).split(separator: "~", maxSplits: 1, omittingEmptySubsequences: false)
        guard let first = parts.first, let high = Int(first), high >= 0 else { return nil }
        var pending: [Int] = []
        if parts.count == 2 {
            let ids = parts[1].split(separator: ",").map { Int($0) }
            guard !ids.isEmpty, ids.count <= Self.maxPending, ids.allSatisfy({ $0 != nil && $0! >= 0 && $0! < high }) else { return nil }
            pending = ids.compactMap { $0 }.sorted()
        }
        self.init(high: high, pending: pending)
    }

    var description: String { pending.isEmpty ? "\(high)" : "\(high)~" + pending.map(String.init).joined(separator: ",") }

    /// Whether a client at this position already has event `id`.
    func covers(_ id: Int) -> Bool { id <= high && !pending.contains(id) }

    func merging(pending more: [Int]) -> EventCursor {
        EventCursor(high: high, pending: Set(pending).union(more.filter { $0 < high }).sorted())
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

    /// Returns on a signal, after `timeout`, or when the waiting task is cancelled, whichever
    /// comes first (so a loop waiting a long interval still stops at once at shutdown).
    func wait(timeout: Duration) async {
        let timer = Task { [weak self] in
            // Only a timeout that ran out signals: a cancelled timer (the wait ended by a
            // signal) must not leave a pending wake-up behind, or waiters would spin.
            guard (try? await Task.sleep(for: timeout)) != nil else { return }
            self?.signal()
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let now = state.withLockedValue { s -> Bool in
                    if s.pending { s.pending = false; return true }
                    s.waiter = c
                    return false
                }
                if now { c.resume() }
            }
        } onCancel: {
            signal()
        }
        timer.cancel()
    }
}

extension EventBus.Event {
    init(_ record: EventRecord) {
        self.init(id: record.id ?? 0, conversationID: record.conversationID, kind: record.kind, payload: record.payload)
    }
}

