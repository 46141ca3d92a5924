import Foundation
import NIOCore
import Vapor

/// A server-sent-events response fed by the event bus: the events the client missed (from its
/// `Last-Event-ID`, or `after`), then live ones. A comment every `TANDEM_STREAM_HEARTBEAT`
/// seconds keeps proxies from closing an idle stream; after `TANDEM_STREAM_LIFETIME` (by the
/// injected clock, checked at each heartbeat) the server ends the stream and the browser
/// reconnects from its last `id:`. Streams are capped per credential and per node (`StreamLimiter`).
enum EventStream {
    static func response(for req: Request, scope: EventBus.Scope, key: String) async throws -> Response {
        let cursor = try resumePosition(req)
        let bus = req.tandem.events
        var headers = HTTPHeaders()
        headers.contentType = HTTPMediaType(type: "text", subType: "event-stream", parameters: ["charset": "utf-8"])
        headers.cacheControl = .init(noCache: true)
        if (try? req.query.get(Bool.self, at: "once")) == true {
            // Polling fallback (and proxies that cannot hold a stream): what is stored, then close.
            let until = bus.cursor
            let from = cursor ?? .origin
            let (replay, truncated) = try await EventBus.replay(from: from, until: until, scope: scope, limit: bus.settings.replayLimit, on: req.db)
            let last = truncated ? replay.last!.cursor : (from.high > until.high ? from : until)
            return Response(status: .ok, headers: headers, body: .init(string: replay.map(\.frame).joined() + "id: \(last)\n\n"))
        }
        let lease = try bus.limiter.acquire(key)
        let subscription = try await bus.subscribe(from: cursor, scope: scope, on: req.db)
        headers.add(name: "X-Accel-Buffering", value: "no")
        let clock = req.tandem.clock
        let environment = req.tandem.environment
        let opened = clock.now
        return Response(status: .ok, headers: headers, body: .init(managedAsyncStream: { writer in
            defer { lease.release() }
            try await writer.writeBuffer(ByteBuffer(string: "retry: 2000\nid: \(cursor ?? subscription.start)\n: connected\n\n"))
            for delivery in subscription.replay { try await writer.writeBuffer(delivery.bytes) }
            // More was missed than one replay holds: end here; the browser reconnects for the rest.
            if subscription.truncated { return }
            try await writer.writeBuffer(ByteBuffer(string: "id: \(subscription.start)\n\n"))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await delivery in subscription.stream { try await writer.writeBuffer(delivery.bytes) }
                }
                group.addTask {
                    while !Task.isCancelled {
                        try await Task.sleep(for: .seconds(environment.streamHeartbeat))
                        try await writer.writeBuffer(ByteBuffer(string: ": keep-alive\n\n"))
                        if clock.now.timeIntervalSince(opened) >= environment.streamLifetime {
                            try await writer.writeBuffer(ByteBuffer(string: ": lifetime reached, reconnect\n\n"))
                            return
                        }
                    }
                }
                try await group.next()
                group.cancelAll()
            }
        }))
    }

    /// `Last-Event-ID` (what browsers send on reconnect), else `?after=`; nil for neither.
    static func resumePosition(_ req: Request) throws -> EventCursor? {
        if let header = req.headers.first(name: "Last-Event-ID"), !header.isEmpty {
            guard let cursor = EventCursor(header) else { throw AppError.invalidField("Last-Event-ID", "not a position this server sent") }
            return cursor
        }
        guard let after = req.query[String.self, at: "after"], !after.isEmpty else { return nil }
        guard let cursor = EventCursor(after) else { throw AppError.invalidField("after", "not a position this server sent") }
        return cursor
    }
}
