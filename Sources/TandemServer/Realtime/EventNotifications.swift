import FluentPostgresDriver
import Foundation
import Vapor

/// PostgreSQL: wakes this node's event poller whenever any node commits an event. `record`
/// sends `NOTIFY` inside the event's transaction, so the notification arrives when it commits;
/// without a listener another node's events would wait for the next poll
/// (`TANDEM_EVENT_POLL_INTERVAL`). A `LISTEN` belongs to its session, so this holds one
/// connection of its own, outside the pool, and reconnects when it drops. Deployments (or
/// tests) in other schemas of the same database share the channel: their notifications only
/// cost this node an extra, empty poll.
enum EventNotifications {
    static func listen(configuration: PostgresConnection.Configuration, eventLoop: any EventLoop, logger: Logger,
                       wake: @escaping @Sendable () -> Void) async {
        var connected = true
        while !Task.isCancelled {
            do {
                let connection = try await PostgresConnection.connect(on: eventLoop, configuration: configuration, id: 0, logger: logger)
                if !connected { logger.notice("event notifications: listening again") }
                connected = true
                try await withTaskCancellationHandler {
                    try await connection.listen(on: EventBus.channel) { notifications in
                        // Whatever committed while this node was not listening.
                        wake()
                        for try await _ in notifications { wake() }
                    }
                } onCancel: {
                    let closing: EventLoopFuture<Void> = connection.close()
                    _ = closing
                }
                try? await connection.close()
            } catch {
                if Task.isCancelled { return }
                if connected { logger.warning("event notifications: \(String(reflecting: error)); polling until the connection is back") }
                connected = false
            }
            // The poller keeps delivering meanwhile; reconnect without hammering a database that is down.
            try? await Task.sleep(for: .seconds(2))
        }
    }
}
