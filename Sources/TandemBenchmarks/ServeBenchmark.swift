import Foundation
import NIOConcurrencyHelpers
import TandemOffline
import TandemServer
import Vapor

/// Posts customer messages to a real server on 127.0.0.1 over HTTP and measures the time
/// from request to AI decision (the response carries the decision): an open-loop run at a
/// fixed rate (latency is measured from the scheduled send time, so a stall is not hidden by
/// the load generator waiting), and a closed-loop run for the most requests per second.
public struct ServeBenchmark: Sendable {
    public struct Report: Codable, Sendable {
        public var database: String
        public var rate: Double
        public var messages: Int
        public var errors: Int
        public var achievedRate: Double
        public var p50Milliseconds: Double
        public var p90Milliseconds: Double
        public var p99Milliseconds: Double
        public var maxMilliseconds: Double
        public var closedLoopConcurrency: Int
        public var closedLoopRequestsPerSecond: Double
        public var closedLoopP50Milliseconds: Double
        public var closedLoopP99Milliseconds: Double
        public var actions: [String: Int]

        enum CodingKeys: String, CodingKey {
            case database, rate, messages, errors, actions
            case achievedRate = "achieved_rate"
            case p50Milliseconds = "p50_ms", p90Milliseconds = "p90_ms", p99Milliseconds = "p99_ms", maxMilliseconds = "max_ms"
            case closedLoopConcurrency = "closed_loop_concurrency"
            case closedLoopRequestsPerSecond = "requests_per_second"
            case closedLoopP50Milliseconds = "closed_loop_p50_ms", closedLoopP99Milliseconds = "closed_loop_p99_ms"
        }

        public var table: String {
            func f(_ v: Double, _ d: Int = 1) -> String { String(format: "%.\(d)f", v) }
            return """
            tandem bench serve — \(database)
              open loop at \(f(rate, 0)) msg/s: \(messages) messages (\(errors) errors), achieved \(f(achievedRate)) msg/s
                message → AI decision: p50 \(f(p50Milliseconds, 2)) ms, p90 \(f(p90Milliseconds, 2)) ms, p99 \(f(p99Milliseconds, 2)) ms, max \(f(maxMilliseconds, 2)) ms
                decisions: \(actions.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
              closed loop, \(closedLoopConcurrency) concurrent clients: \(f(closedLoopRequestsPerSecond)) requests/s, p50 \(f(closedLoopP50Milliseconds, 2)) ms, p99 \(f(closedLoopP99Milliseconds, 2)) ms
            """
        }
    }

    public var environment: TandemEnvironment
    public var texts: [String]
    public var rate: Double
    public var seconds: Double
    public var concurrency: Int
    public var progress: @Sendable (String) -> Void

    public init(environment: TandemEnvironment, texts: [String], rate: Double = 100, seconds: Double = 20, concurrency: Int = 8,
                progress: @escaping @Sendable (String) -> Void = { _ in }) {
        self.environment = environment
        self.texts = texts
        self.rate = rate
        self.seconds = seconds
        self.concurrency = concurrency
        self.progress = progress
    }

    public func run() async throws -> Report {
        var environment = environment
        environment.loadDemo = true
        environment.trainOnStart = true
        // One client sends everything: the per-address limits would measure themselves.
        environment.limits.enabled = false
        let database = environment.databaseURL == nil ? "SQLite (WAL)" : "PostgreSQL"
        return try await TandemApp.withScratch(environment) { app, base in
            // The HTTP client keeps 8 connections per host by default and queues the rest on
            // its side, which would cap the offered load at 8 at once and count its own queue
            // as the server's latency. Set before the client is first used.
            app.http.client.configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 2048
            progress("server on \(base) (\(database)); rate limits lifted for this scratch server (admission \(environment.messagesInFlight) in flight and the model's queue of \(environment.inferenceQueue) stay); waiting for the model")
            try await waitUntilReady(app.client, base)
            return try await measure(app.client, base, database: database)
        }
    }

    private func waitUntilReady(_ client: any Client, _ base: String) async throws {
        for _ in 0..<600 {
            // Ready means the database answers; the benchmark also waits for a model to serve.
            struct Readiness: Decodable { let model: String? }
            if let response = try? await client.get(URI(string: base + "/ready")), response.status == .ok,
               let body = response.body, (try? JSONDecoder().decode(Readiness.self, from: Data(buffer: body)))?.model != nil { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw BenchmarkError("the server did not become ready (no model) within 120 s")
    }

    private struct Conversation: Sendable { let id: String, token: String }

    private func start(_ client: any Client, _ base: String) async throws -> Conversation {
        let response = try await client.post(URI(string: base + "/api/v1/conversations"), headers: ["content-type": "application/json"]) {
            $0.body = ByteBuffer(string: "{}")
        }
        struct Created: Decodable { struct C: Decodable { let id: String }; let conversation: C; let token: String }
        let created = try JSONDecoder().decode(Created.self, from: Data(buffer: response.body ?? ByteBuffer()))
        return Conversation(id: created.conversation.id, token: created.token)
    }

    /// One customer message; returns the decided action, `refused` for a 503 (the server too
    /// busy to take it: nothing stored, the client may send again), nil on any other failure.
    private func post(_ client: any Client, _ base: String, _ conversation: Conversation, _ text: String) async -> String? {
        guard let body = try? JSONEncoder().encode(["text": text]) else { return nil }
        let headers: HTTPHeaders = ["content-type": "application/json", "authorization": "Bearer \(conversation.token)"]
        guard let response = try? await client.post(URI(string: base + "/api/v1/conversations/\(conversation.id)/messages"), headers: headers, beforeSend: {
            $0.body = ByteBuffer(data: body)
        }) else { return nil }
        if response.status == .serviceUnavailable { return "refused" }
        guard response.status == .created, let bytes = response.body else { return nil }
        struct Decided: Decodable { let action: String }
        return (try? JSONDecoder().decode(Decided.self, from: Data(buffer: bytes)))?.action
    }

    private func measure(_ client: any Client, _ base: String, database: String) async throws -> Report {
        let total = max(1, Int(rate * seconds))
        // Each conversation gets two messages, so most decisions are first turns as in real traffic.
        progress("creating \((total + 1) / 2) conversations")
        var conversations: [Conversation] = []
        for _ in 0..<((total + 1) / 2) { conversations.append(try await start(client, base)) }
        let texts = self.texts.isEmpty ? ["where is my card?"] : self.texts

        // Warm-up: code paths, connection pools.
        for i in 0..<min(20, conversations.count) { _ = await post(client, base, conversations[i], texts[i % texts.count]) }

        progress("open loop: \(total) messages at \(rate) msg/s")
        let results = NIOLockedValueBox<[(Double, String?)]>([])
        let begin = DispatchTime.now().uptimeNanoseconds
        await withTaskGroup(of: Void.self) { group in
            for i in 0..<total {
                let scheduled = begin + UInt64(Double(i) / rate * 1e9)
                let now = DispatchTime.now().uptimeNanoseconds
                if scheduled > now { try? await Task.sleep(nanoseconds: scheduled - now) }
                let conversation = conversations[i / 2], text = texts[i % texts.count]
                group.addTask {
                    let action = await post(client, base, conversation, text)
                    let latency = Double(DispatchTime.now().uptimeNanoseconds - scheduled) / 1e6
                    results.withLockedValue { $0.append((latency, action)) }
                }
            }
        }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e9
        let open = results.withLockedValue { $0 }
        let latencies = open.map(\.0)
        var actions: [String: Int] = [:]
        for (_, action) in open { actions[action ?? "error", default: 0] += 1 }

        // Closed loop: `concurrency` clients sending back to back, new conversations each time.
        progress("closed loop: \(concurrency) clients for \(Int(seconds / 2)) s")
        let closedLatencies = NIOLockedValueBox<[Double]>([])
        let closedStart = DispatchTime.now().uptimeNanoseconds
        let deadline = closedStart + UInt64(seconds / 2 * 1e9)
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    var i = worker
                    while DispatchTime.now().uptimeNanoseconds < deadline {
                        guard let conversation = try? await start(client, base) else { continue }
                        let t0 = DispatchTime.now().uptimeNanoseconds
                        if await post(client, base, conversation, texts[i % texts.count]) != nil {
                            closedLatencies.withLockedValue { $0.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6) }
                        }
                        i += concurrency
                    }
                }
            }
        }
        let closed = closedLatencies.withLockedValue { $0 }
        let closedSeconds = Double(DispatchTime.now().uptimeNanoseconds - closedStart) / 1e9

        return Report(
            database: database, rate: rate, messages: total, errors: actions["error"] ?? 0, achievedRate: Double(total) / elapsed,
            p50Milliseconds: Measure.quantile(latencies, 0.5), p90Milliseconds: Measure.quantile(latencies, 0.9),
            p99Milliseconds: Measure.quantile(latencies, 0.99), maxMilliseconds: latencies.max() ?? .nan,
            closedLoopConcurrency: concurrency,
            // Each closed-loop iteration is two requests (start + message); messages/s reported.
            closedLoopRequestsPerSecond: Double(closed.count) / closedSeconds,
            closedLoopP50Milliseconds: Measure.quantile(closed, 0.5), closedLoopP99Milliseconds: Measure.quantile(closed, 0.99),
            actions: actions)
    }
}

public struct BenchmarkError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
