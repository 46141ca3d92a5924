import AsyncHTTPClient
import Foundation
import NIOConcurrencyHelpers
import NIOCore

/// Live chats at scale: holds `streams` customer event streams (one per conversation) and
/// `consoles` agent console streams open on a `tandem serve` process of its own, then posts
/// `events` customer messages at `rate`, each with a marker, to conversations among them, and
/// measures how long each takes to reach its customer's stream and every console (from the
/// send of the message to the frame that carries it). The server's resident memory before and
/// with the streams open says what one stream costs.
public struct SSEBenchmark: Sendable {
    public struct Report: Codable, Sendable {
        public var database: String
        public var streams: Int
        public var consoles: Int
        public var events: Int
        public var rate: Double
        /// Streams that opened (answered 200 and sent their first frame).
        public var opened: Int
        public var openSeconds: Double
        /// Customer streams: message sent → its frame on the conversation's stream.
        public var deliveries: Int
        public var missed: Int
        public var p50Milliseconds: Double
        public var p99Milliseconds: Double
        public var maxMilliseconds: Double
        /// Console streams: message sent → its frame on each console.
        public var consoleDeliveries: Int
        public var consoleMissed: Int
        public var consoleP50Milliseconds: Double
        public var consoleP99Milliseconds: Double
        public var memoryBeforeMB: Double?
        public var memoryWithStreamsMB: Double?
        public var kilobytesPerStream: Double?

        enum CodingKeys: String, CodingKey {
            case database, streams, consoles, events, rate, opened, deliveries, missed
            case openSeconds = "open_seconds"
            case p50Milliseconds = "p50_ms", p99Milliseconds = "p99_ms", maxMilliseconds = "max_ms"
            case consoleDeliveries = "console_deliveries", consoleMissed = "console_missed"
            case consoleP50Milliseconds = "console_p50_ms", consoleP99Milliseconds = "console_p99_ms"
            case memoryBeforeMB = "server_rss_before_mb", memoryWithStreamsMB = "server_rss_with_streams_mb"
            case kilobytesPerStream = "kb_per_stream"
        }

        public var table: String {
            func f(_ v: Double?, _ d: Int = 1) -> String { v.map { $0.isNaN ? "-" : String(format: "%.\(d)f", $0) } ?? "-" }
            return """
            tandem bench sse: \(database)
              \(opened) of \(streams + consoles) streams open (\(streams) customers, \(consoles) consoles) in \(f(openSeconds)) s
              \(events) messages at \(f(rate, 0)) msg/s
              customer streams: \(deliveries) delivered, \(missed) missed; p50 \(f(p50Milliseconds)) ms, p99 \(f(p99Milliseconds)) ms, max \(f(maxMilliseconds)) ms
              consoles: \(consoleDeliveries) delivered, \(consoleMissed) missed; p50 \(f(consoleP50Milliseconds)) ms, p99 \(f(consoleP99Milliseconds)) ms
              server memory: \(f(memoryBeforeMB, 0)) MB before, \(f(memoryWithStreamsMB, 0)) MB with the streams open: \(f(kilobytesPerStream)) KB per stream
            """
        }
    }

    public var streams: Int
    public var consoles: Int
    public var events: Int
    public var rate: Double
    public var progress: @Sendable (String) -> Void

    public init(streams: Int = 2000, consoles: Int = 50, events: Int = 300, rate: Double = 20,
                progress: @escaping @Sendable (String) -> Void = { _ in }) {
        self.streams = streams
        self.consoles = consoles
        self.events = events
        self.rate = rate
        self.progress = progress
    }

    /// Arrival times of markers, by stream.
    private final class Arrivals: Sendable {
        let customer = NIOLockedValueBox<[Int: ContinuousClock.Instant]>([:])
        let console = NIOLockedValueBox<[[Int: ContinuousClock.Instant]]>([])
        let opened = NIOLockedValueBox(0)
    }

    public func run(against server: BenchServer) async throws -> Report {
        let base = server.baseURL
        let http = BenchHTTP(connections: streams + consoles + 64)
        defer { http.shutdown() }
        progress("starting \(streams) conversations")
        let conversations = try await http.startConversations(base, count: streams)
        struct Login: Decodable { let token: String }
        let (status, body, _) = try await http.send(.POST, base + "/api/v1/auth/login",
                                                     json: Data(#"{"email":"agent@demo.tandem","password":"tandem-demo"}"#.utf8))
        guard status == .ok, let agent = try? JSONDecoder().decode(Login.self, from: body) else {
            throw BenchmarkError("agent sign-in: \(status) \(String(decoding: body.prefix(200), as: UTF8.self))")
        }
        try await Task.sleep(for: .seconds(1))
        let before = server.memory?.current

        let arrivals = Arrivals()
        arrivals.console.withLockedValue { $0 = Array(repeating: [:], count: consoles) }
        progress("opening \(streams) customer streams and \(consoles) console streams")
        let openStart = ContinuousClock.now
        var readers: [Task<Void, Never>] = []
        for (index, conversation) in conversations.enumerated() {
            readers.append(Task {
                await Self.read(http, base + "/api/v1/conversations/\(conversation.id)/events", bearer: conversation.token, arrivals: arrivals) { marker, at in
                    arrivals.customer.withLockedValue { if $0[marker] == nil { $0[marker] = at } }
                }
            })
            // Open in waves, so the server's accept queue is not the thing measured.
            if index % 100 == 99 { try await Task.sleep(for: .milliseconds(20)) }
        }
        for console in 0..<consoles {
            readers.append(Task {
                await Self.read(http, base + "/api/v1/agent/events", bearer: agent.token, arrivals: arrivals) { marker, at in
                    arrivals.console.withLockedValue { if $0[console][marker] == nil { $0[console][marker] = at } }
                }
            })
        }
        let wanted = streams + consoles
        for _ in 0..<600 where arrivals.opened.withLockedValue({ $0 }) < wanted { try await Task.sleep(for: .milliseconds(100)) }
        let opened = arrivals.opened.withLockedValue { $0 }
        let openSeconds = (ContinuousClock.now - openStart).milliseconds / 1000
        try await Task.sleep(for: .seconds(1))
        let withStreams = server.memory?.current
        progress("\(opened) streams open in \(String(format: "%.1f", openSeconds)) s; server \(withStreams.map { String(format: "%.0f", $0) } ?? "?") MB")

        // Messages with markers, each to a random conversation among the streams.
        var sent: [Int: (conversation: Int, at: ContinuousClock.Instant)] = [:]
        var generator = SystemRandomNumberGenerator()
        let begin = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for marker in 0..<events {
                let scheduled = begin + .seconds(Double(marker) / rate)
                try? await Task.sleep(until: scheduled, clock: .continuous)
                let n = Int.random(in: 0..<conversations.count, using: &generator)
                let conversation = conversations[n]
                sent[marker] = (n, ContinuousClock.now)
                group.addTask {
                    let text = try JSONEncoder().encode(["text": "where is my card? bench-marker-\(marker)."])
                    _ = try await http.send(.POST, base + "/api/v1/conversations/\(conversation.id)/messages", json: text, bearer: conversation.token)
                }
            }
            try await group.waitForAll()
        }
        // Everything sent: wait for the last frames (at most 10 s).
        for _ in 0..<100 {
            let done = arrivals.customer.withLockedValue { $0.count } >= events
                && arrivals.console.withLockedValue { $0.allSatisfy { $0.count >= events } }
            if done { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        for reader in readers { reader.cancel() }

        let customer = arrivals.customer.withLockedValue { $0 }
        let latencies = sent.compactMap { marker, send in customer[marker].map { ($0 - send.at).milliseconds } }
        let consoleArrivals = arrivals.console.withLockedValue { $0 }
        let consoleLatencies = consoleArrivals.flatMap { seen in sent.compactMap { marker, send in seen[marker].map { ($0 - send.at).milliseconds } } }
        let perStream: Double? = if let before, let withStreams { (withStreams - before) * 1024 / Double(max(1, opened)) } else { nil }
        return Report(
            database: server.database, streams: streams, consoles: consoles, events: events, rate: rate, opened: opened, openSeconds: openSeconds,
            deliveries: latencies.count, missed: events - latencies.count,
            p50Milliseconds: Measure.quantile(latencies, 0.5), p99Milliseconds: Measure.quantile(latencies, 0.99), maxMilliseconds: latencies.max() ?? .nan,
            consoleDeliveries: consoleLatencies.count, consoleMissed: events * consoles - consoleLatencies.count,
            consoleP50Milliseconds: Measure.quantile(consoleLatencies, 0.5), consoleP99Milliseconds: Measure.quantile(consoleLatencies, 0.99),
            memoryBeforeMB: before, memoryWithStreamsMB: withStreams, kilobytesPerStream: perStream)
    }

    /// Reads one event stream until cancelled, calling `found` for each marker in its frames.
    private static func read(_ http: BenchHTTP, _ url: String, bearer: String, arrivals: Arrivals,
                             found: @Sendable (Int, ContinuousClock.Instant) -> Void) async {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "authorization", value: "Bearer \(bearer)")
        request.headers.add(name: "accept", value: "text/event-stream")
        guard let response = try? await http.client.execute(request, timeout: .hours(1)), response.status == .ok else { return }
        var pending = ""
        var counted = false
        do {
            for try await chunk in response.body {
                let now = ContinuousClock.now
                pending += String(buffer: chunk)
                if !counted { counted = true; arrivals.opened.withLockedValue { $0 += 1 } }
                // Complete frames only: a marker may be split between two chunks.
                guard let end = pending.range(of: "\n\n", options: .backwards) else { continue }
                let frames = pending[..<end.upperBound]
                var rest = frames[...]
                while let start = rest.range(of: "bench-marker-") {
                    let digits = rest[start.upperBound...].prefix { $0.isNumber }
                    if let marker = Int(digits) { found(marker, now) }
                    rest = rest[start.upperBound...]
                }
                pending = String(pending[end.upperBound...])
            }
        } catch {
            // Cancelled at the end of the run, or the server ended the stream.
        }
    }
}
