import Fluent
import Foundation
import SQLKit
import TandemCore
@testable import TandemServer
import Testing

/// The workspace configuration every message reads is kept in memory, and follows every change:
/// the application's own at once, another node's when its `workspace.changed` event arrives, one
/// made behind the application's back after `WorkspaceCache.maximumAge`.
@Suite("Workspace cache", .serialized)
struct WorkspaceCacheTests {
    /// Settings as stored, with `auditRate` changed (the rest the defaults).
    private static func settingsJSON(auditRate: Double) -> String {
        var settings = WorkspaceSettings()
        settings.auditRate = auditRate
        return WorkspaceRecord(name: "Fernpay", settings: settings).settingsJSON
    }

    /// Waits until this node's cache has acted on every `workspace.changed` event recorded so
    /// far (the demo's seeding records one per row), so that none empties it during a check:
    /// events are delivered in order, so once a marker recorded now is acted on, so is every
    /// earlier one. The cache is empty afterwards.
    private static func settle(_ t: TestApp) async throws {
        let marker = try await EventBus.record(.workspaceChanged, conversationID: nil, payload: ["table": "test"], on: t.app.db).requireID()
        for _ in 0..<500 where t.app.tandem.workspaceCache.lastChange < marker {
            t.app.tandem.events.poke()
            try await Task.sleep(for: .milliseconds(20))
        }
        try #require(t.app.tandem.workspaceCache.lastChange >= marker, "the cache never acted on event \(marker)")
    }

    @Test("a row another node changed is served once its workspace.changed event arrives; never sooner, and no client's stream carries the event",
          arguments: TestDatabase.available)
    func anotherNodesChange(database: TestDatabase) async throws {
        let clock = ManualClock(Date(timeIntervalSince1970: 1_790_000_000))
        try await TestApp.with(database, model: false, clock: clock) { t in
            let services = t.app.tandem
            try await Self.settle(t)
            let before = try await services.settings(on: t.app.db).auditRate
            let agents = EventCollector(try await services.events.subscribe(from: services.events.cursor, scope: .all, on: t.app.db))

            // The other node's write, as its database session sees it (no model here, so no
            // middleware): cached, this node still serves what it read.
            try await t.sql().raw("UPDATE workspaces SET settings = \(bind: Self.settingsJSON(auditRate: 0.37))").run()
            #expect(try await services.settings(on: t.app.db).auditRate == before, "read from the cache, not the database")

            // The other node's model middleware recorded this in the same transaction.
            try await EventBus.record(.workspaceChanged, conversationID: nil, payload: ["table": "workspaces"], on: t.app.db)
            try await EventBus.record(.message, conversationID: nil, payload: ["text": "after"], on: t.app.db)
            services.events.poke()
            var served = before
            for _ in 0..<250 where served != 0.37 {
                try await Task.sleep(for: .milliseconds(20))
                served = try await services.settings(on: t.app.db).auditRate
            }
            #expect(served == 0.37, "the event emptied the cache (the clock never moved)")

            // An agent's stream sees every kind but the nodes' own signals.
            let seen = await agents.wait { $0.contains { $0.kind == .message } }
            #expect(seen.map(\.kind) == [.message], "\(seen.map(\.kind))")
            let replayed = try await EventBus.replay(from: EventCursor(high: 0, pending: []), until: services.events.cursor, scope: .all,
                                                     limit: 500, on: t.app.db)
            #expect(!replayed.deliveries.contains { $0.event.kind == .workspaceChanged }, "nor does a replay")
        }
    }

    @Test("the application's own change is served at once; a change behind its back after the age limit",
          arguments: TestDatabase.available)
    func ownChangeAndAgeLimit(database: TestDatabase) async throws {
        let clock = ManualClock(Date(timeIntervalSince1970: 1_790_000_000))
        try await TestApp.with(database, model: false, clock: clock) { t in
            let services = t.app.tandem
            try await Self.settle(t)
            let key = try #require(try await IntentRecord.query(on: t.app.db).first()?.key, "the demo workspace has intents")
            #expect(try await services.intent(key: key, on: t.app.db)?.guarded == false)

            // Through the model, as the guardrail switches an intent: the next read has it.
            let intent = try #require(try await IntentRecord.find(key: key, on: t.app.db))
            intent.guarded = true
            try await intent.save(on: t.app.db)
            #expect(try await services.intent(key: key, on: t.app.db)?.guarded == true)
            try await Self.settle(t)
            #expect(try await services.intent(key: key, on: t.app.db)?.guarded == true, "read again after the event")

            // By hand in SQL: the cache holds what it read until it is `maximumAge` old.
            try await t.sql().raw("UPDATE intents SET title = 'Renamed by hand' WHERE key = \(bind: key)").run()
            #expect(try await services.intentTitles(on: t.app.db)[key] != "Renamed by hand")
            clock.advance(by: WorkspaceCache.maximumAge)
            #expect(try await services.intentTitles(on: t.app.db)[key] == "Renamed by hand")
        }
    }
}
