import Fluent
import Foundation
import NIOConcurrencyHelpers
import TandemCore
import Vapor

/// What the intent a message was read as says, as a value: the cache hands the same one to every
/// reader, and nobody can change it under another.
struct IntentSnapshot: Sendable, Equatable {
    let settings: IntentSettings
    let title: String
    let answer: String
    let guarded: Bool
    let shadow: Bool

    init(_ record: IntentRecord) {
        settings = record.settings
        title = record.title
        answer = record.answer
        guarded = record.guarded
        shadow = record.shadow
    }

    var key: String { settings.key }
    var sensitive: Bool { settings.sensitive }
}

/// The workspace configuration every customer message reads (the settings; the intents with
/// their answers, titles and guard flags), kept in memory instead of read on every message.
///
/// **Invalidation through the event log.** A change to a workspace or intent row made through
/// its model (every write the application makes) passes `WorkspaceChanges`, which empties this
/// node's cache at once and records a `workspace.changed` event in the change's own transaction.
/// Every node's cache follows that event (`watch`) and empties itself when it arrives, so another
/// node serves the change as soon as its poller delivers it (at once with PostgreSQL's NOTIFY).
/// The event also closes the one gap the immediate emptying leaves: a reader that fills the cache
/// between the write and its commit reads the old row, and the event, delivered after the
/// commit, empties it again. A fill that an emptying overtook is not kept (`generation`).
///
/// A row changed behind the application's back (SQL by hand) is read again after `maximumAge`
/// by the injected clock at the latest.
final class WorkspaceCache: Sendable {
    static let maximumAge: TimeInterval = 60

    private struct Entry<Value: Sendable>: Sendable {
        var value: Value
        var at: Date
    }

    private struct State: Sendable {
        var generation = 0
        var settings: Entry<WorkspaceSettings>?
        var intents: Entry<[String: IntentSnapshot]>?
        /// The settings last decoded, for places that must not wait on the database (DTOs);
        /// kept across emptyings.
        var lastSettings = WorkspaceSettings()
        /// The id of the last `workspace.changed` event `watch` acted on.
        var lastChange = 0
    }

    private let state = NIOLockedValueBox(State())
    private let clock: any WallClock

    init(clock: any WallClock) {
        self.clock = clock
    }

    /// The settings last read (defaults before the first read); never waits.
    var lastSettings: WorkspaceSettings { state.withLockedValue { $0.lastSettings } }

    /// Every `workspace.changed` event up to this id has been acted on (0 before `watch` starts).
    var lastChange: Int { state.withLockedValue { $0.lastChange } }

    /// Forgets everything read: the next reader reads the database again.
    func invalidate(event: Int? = nil) {
        state.withLockedValue {
            if let event { $0.lastChange = max($0.lastChange, event) }
            $0.generation += 1
            $0.settings = nil
            $0.intents = nil
        }
    }

    /// The workspace settings; `read` fetches and decodes them on a miss (it throws
    /// `AppError.corruptSettings` for a row that does not decode, which is never kept).
    func settings(_ read: () async throws -> WorkspaceSettings) async throws -> WorkspaceSettings {
        try await cached(\.settings) {
            let value = try await read()
            state.withLockedValue { $0.lastSettings = value }
            return value
        }
    }

    /// Every intent by key.
    func intents(on db: Database) async throws -> [String: IntentSnapshot] {
        try await cached(\.intents, read: {
            Dictionary(try await IntentRecord.query(on: db).all().map { ($0.key, IntentSnapshot($0)) }, uniquingKeysWith: { a, _ in a })
        })
    }

    private func cached<Value: Sendable>(_ entry: WritableKeyPath<State, Entry<Value>?>, read: () async throws -> Value) async throws -> Value {
        let now = clock.now
        let (hit, generation) = state.withLockedValue { s -> (Value?, Int) in
            guard let kept = s[keyPath: entry], now.timeIntervalSince(kept.at) < Self.maximumAge, kept.at <= now else { return (nil, s.generation) }
            return (kept.value, s.generation)
        }
        if let hit { return hit }
        let value = try await read()
        state.withLockedValue { s in
            // Emptied while this read was under way: the value may predate the change.
            if s.generation == generation { s[keyPath: entry] = Entry(value: value, at: now) }
        }
        return value
    }

    /// Empties the cache whenever a `workspace.changed` event arrives, from any node; runs until
    /// the task is cancelled (a subscription that fails is retried: until then, `maximumAge` holds).
    func watch(_ events: EventBus, on db: Database, logger: Logger) async {
        while !Task.isCancelled {
            do {
                let subscription = try await events.subscribe(from: nil, scope: .init(kinds: [.workspaceChanged]), on: db)
                // Whatever changed before the subscription started is not in the cache either.
                invalidate(event: subscription.start.high)
                for await delivery in subscription.stream { invalidate(event: delivery.event.id) }
            } catch {
                logger.warning("workspace changes: \(error); the cache is read again every \(Int(Self.maximumAge)) s meanwhile")
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }
}

/// Empties the workspace cache when a workspace or intent row is created, changed or deleted,
/// and records the `workspace.changed` event that tells the other nodes (see `WorkspaceCache`).
struct WorkspaceChanges: AnyModelMiddleware {
    let cache: WorkspaceCache

    private struct Changed: Encodable {
        var table: String
    }

    func handle(_ event: ModelEvent, _ model: any AnyModel, on db: any Database,
                chainingTo next: any AnyModelResponder) -> EventLoopFuture<Void> {
        guard model is IntentRecord || model is WorkspaceRecord else { return next.handle(event, model, on: db) }
        let cache = cache
        let table = type(of: model).schema
        return next.handle(event, model, on: db).flatMap {
            cache.invalidate()
            return db.eventLoop.makeFutureWithTask {
                try await EventBus.record(.workspaceChanged, conversationID: nil, payload: Changed(table: table), on: db)
            }.map { _ in }
        }
    }
}
