import Fluent
import Foundation
import NIOConcurrencyHelpers
import TandemCore
import TandemOffline
import Vapor

/// The services one node shares across requests, created by `configure` and reached through
/// `Application.tandem` / `Request.tandem`.
final class TandemServices: Sendable {
    let environment: TandemEnvironment
    /// Every reading of the time on the server goes through this clock.
    let clock: any WallClock
    let intelligence: Intelligence
    let events: EventBus
    let metrics: Metrics
    let rateLimiter: RateLimiter
    let rateLimits: RateLimits
    /// Bounds the customer messages this node handles at once (`TANDEM_MESSAGES_IN_FLIGHT`).
    let admission: Admission
    /// Rung when the queue or the agents' capacity changed: this node's automatic assignment
    /// runs (`BackgroundTasks.assign`).
    let assignments = WakeSignal()
    /// Rung when a message is held for its burst: this node's hold sweeper wakes for it.
    let holds = WakeSignal()
    /// The settings and intents every message reads, kept until they change (`WorkspaceCache`).
    let workspaceCache: WorkspaceCache
    private let keys = NIOLockedValueBox<CustomerKeys?>(nil)

    init(environment: TandemEnvironment, clock: any WallClock, intelligence: Intelligence, events: EventBus) {
        metrics = Metrics(node: environment.nodeID)
        rateLimiter = RateLimiter(clock: clock)
        rateLimits = RateLimits(environment)
        admission = Admission(limit: environment.messagesInFlight)
        workspaceCache = WorkspaceCache(clock: clock)
        self.environment = environment
        self.clock = clock
        self.intelligence = intelligence
        self.events = events
    }

    /// The settings last read, for places that must not wait on the database (DTOs).
    var cachedSettings: WorkspaceSettings { workspaceCache.lastSettings }

    /// Customer keys under the server secret (set by `configure` once the database is ready).
    var customerKeys: CustomerKeys {
        get throws {
            guard let keys = keys.withLockedValue({ $0 }) else { throw AppError.unavailable("the server secret is not loaded yet") }
            return keys
        }
    }

    func useCustomerKeys(_ customerKeys: CustomerKeys) { keys.withLockedValue { $0 = customerKeys } }

    /// The workspace row (created with defaults on first use), read afresh: for changing it.
    func workspace(on db: Database) async throws -> WorkspaceRecord {
        if let existing = try await WorkspaceRecord.query(on: db).first() { return existing }
        let created = WorkspaceRecord(name: "Tandem", settings: WorkspaceSettings())
        try await created.create(on: db)
        return created
    }

    /// The workspace settings (from the cache); `AppError.corruptSettings` when the stored row
    /// does not decode.
    func settings(on db: Database) async throws -> WorkspaceSettings {
        try await workspaceCache.settings { try await workspace(on: db).settings }
    }

    /// An intent by key (from the cache).
    func intent(key: String, on db: Database) async throws -> IntentSnapshot? {
        try await workspaceCache.intents(on: db)[key]
    }

    /// Intent titles by key (from the cache).
    func intentTitles(on db: Database) async throws -> [String: String] {
        try await workspaceCache.intents(on: db).mapValues(\.title)
    }

    /// A client address as stored: keyed under the server secret, never the address itself.
    func addressKey(_ address: String) throws -> String { try customerKeys.key(address: address) }

}

extension Application {
    private struct ServicesKey: StorageKey { typealias Value = TandemServices }

    var tandem: TandemServices {
        get {
            guard let services = storage[ServicesKey.self] else { fatalError("configure(_:) was not called") }
            return services
        }
        set { storage[ServicesKey.self] = newValue }
    }
}

extension Request {
    var tandem: TandemServices { application.tandem }
    var conversations: Conversations { Conversations(db: db, services: tandem, logger: logger) }
    var notes: Notes { Notes(db: db, services: tandem) }
    var teams: Teams { Teams(db: db, services: tandem) }
    var search: Search { Search(db: db) }
    var cannedReplies: CannedReplies { CannedReplies(db: db, services: tandem) }
}
