import Foundation
import NIOConcurrencyHelpers
import NIOHTTP1

/// Customer messages over HTTP to a `tandem serve` process of its own (`BenchServer`): for each
/// offered rate of a sweep, an open-loop run (latency counts from each message's *scheduled*
/// send time, so a stall is not hidden by the load generator waiting) measuring message → AI
/// decision (the response carries the decision). Each step reads every acknowledged message
/// back: one the server answered 201 for and cannot show is *lost*. A last step at a low rate
/// shows whether the server recovered by itself. Where the time goes comes from the server's
/// `Server-Timing` header, phase by phase.
public struct ServeBenchmark: Sendable {
    /// One offered rate.
    public struct Step: Codable, Sendable {
        public var offeredRate: Double
        public var messages: Int
        /// Answered 201: stored and decided.
        public var acknowledged: Int
        /// Answered 503: the server too busy to take it (nothing stored; the client may retry).
        public var refused: Int
        /// Anything else: other statuses, time-outs, broken connections.
        public var errors: Int
        /// Acknowledged, and not among the conversation's messages when read back.
        public var lost: Int
        public var achievedRate: Double
        public var p50Milliseconds: Double
        public var p90Milliseconds: Double
        public var p99Milliseconds: Double
        public var maxMilliseconds: Double
        public var actions: [String: Int]
        /// Mean milliseconds per acknowledged message, by server phase (`Server-Timing`).
        public var phases: [String: Double]
        /// The server's resident memory after the step, MB.
        public var serverMemoryMB: Double?
        /// The server's CPU time while the step's messages were sent, per acknowledged message, ms.
        public var serverCPUMilliseconds: Double?

        enum CodingKeys: String, CodingKey {
            case messages, acknowledged, refused, errors, lost, actions, phases
            case offeredRate = "offered_rate", achievedRate = "achieved_rate"
            case p50Milliseconds = "p50_ms", p90Milliseconds = "p90_ms", p99Milliseconds = "p99_ms", maxMilliseconds = "max_ms"
            case serverMemoryMB = "server_rss_mb", serverCPUMilliseconds = "server_cpu_ms_per_message"
        }
    }

    public struct Report: Encodable, Sendable {
        public var database: String
        public var server: String
        public var seconds: Double
        public var steps: [Step]
        /// The low-rate step after the sweep.
        public var recovery: Step?
        /// The server's resident memory at idle after the load, and its peak, MB.
        public var idleMemoryMB: Double?
        public var peakMemoryMB: Double?
        /// The model's work over the whole run, from the server's `/metrics` (nil from a server
        /// without these counters): messages acknowledged, texts encoded, the batches they ran
        /// in, and texts read again whose reading was reused instead.
        public var model: ModelWork?

        enum CodingKeys: String, CodingKey {
            case database, server, seconds, steps, recovery, model
            case idleMemoryMB = "idle_rss_mb", peakMemoryMB = "peak_rss_mb"
        }

        /// A single rate prints its step's fields at the top level too (`achieved_rate`,
        /// `p50_ms`, `p99_ms`, `errors`, ...), as `--rate R --json` always has.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(database, forKey: .database)
            try container.encode(server, forKey: .server)
            try container.encode(seconds, forKey: .seconds)
            try container.encode(steps, forKey: .steps)
            try container.encodeIfPresent(recovery, forKey: .recovery)
            try container.encodeIfPresent(idleMemoryMB, forKey: .idleMemoryMB)
            try container.encodeIfPresent(peakMemoryMB, forKey: .peakMemoryMB)
            try container.encodeIfPresent(model, forKey: .model)
            if steps.count == 1 { try steps[0].encode(to: encoder) }
        }

        public var table: String {
            func f(_ v: Double?, _ d: Int = 1) -> String { v.map { $0.isNaN ? "-" : String(format: "%.\(d)f", $0) } ?? "-" }
            var lines = ["tandem bench serve: \(database), server \(server), \(f(seconds, 0)) s per step", "",
                         "| offered | achieved | p50 | p90 | p99 | max | acknowledged | refused (503) | errors | lost | server RSS | server CPU per message |",
                         "|---|---|---|---|---|---|---|---|---|---|---|---|"]
            for (step, label) in steps.map({ ($0, "") }) + (recovery.map { [($0, " (recovery)")] } ?? []) {
                lines.append("| \(f(step.offeredRate, 0)) msg/s\(label) | \(f(step.achievedRate)) | \(f(step.p50Milliseconds)) ms | \(f(step.p90Milliseconds)) ms | "
                    + "\(f(step.p99Milliseconds)) ms | \(f(step.maxMilliseconds)) ms | \(step.acknowledged) of \(step.messages) | \(step.refused) | "
                    + "\(step.errors) | \(step.lost) | \(f(step.serverMemoryMB, 0)) MB | \(f(step.serverCPUMilliseconds, 2)) ms |")
            }
            lines.append("")
            lines.append("server memory: \(f(idleMemoryMB, 0)) MB resident at idle after the load, peak \(f(peakMemoryMB, 0)) MB")
            if let model, model.messages > 0, model.batches > 0 {
                lines.append("the model: \(model.texts) texts encoded for \(model.messages) messages (\(f(Double(model.texts) / Double(model.messages), 2)) per message), "
                    + "in \(model.batches) batches (\(f(Double(model.texts) / Double(model.batches), 1)) texts each); \(model.reused) readings reused")
            }
            // Where the time of one message goes, at each rate (server phases, mean ms).
            let names = Array(Set(steps.flatMap(\.phases.keys))).sorted { Self.order($0) < Self.order($1) }
            if !names.isEmpty {
                lines += ["", "where the time of one message goes (server phases, mean ms per acknowledged message):", "",
                          "| phase | " + steps.map { "\(f($0.offeredRate, 0)) msg/s" }.joined(separator: " | ") + " |",
                          "|---|" + String(repeating: "---|", count: steps.count)]
                for name in names {
                    lines.append("| \(name) | " + steps.map { f($0.phases[name], 2) }.joined(separator: " | ") + " |")
                }
            }
            return lines.joined(separator: "\n")
        }

        /// Phases in the order a message passes them; `handler` (the whole) last.
        static func order(_ phase: String) -> Int {
            ["store", "settings", "context", "inference", "encode", "intent", "decide", "handler"].firstIndex(of: phase) ?? 50
        }
    }

    public struct ModelWork: Codable, Sendable {
        public var messages: Int
        public var texts: Int
        public var batches: Int
        public var reused: Int
    }

    public var rates: [Double]
    public var seconds: Double
    public var recoveryRate: Double
    public var texts: [String]
    public var progress: @Sendable (String) -> Void

    public init(rates: [Double], seconds: Double = 10, recoveryRate: Double = 10, texts: [String],
                progress: @escaping @Sendable (String) -> Void = { _ in }) {
        self.rates = rates
        self.seconds = seconds
        self.recoveryRate = recoveryRate
        self.texts = texts.isEmpty ? ["where is my card?"] : texts
        self.progress = progress
    }

    public func run(against server: BenchServer) async throws -> Report {
        let http = BenchHTTP()
        defer { http.shutdown() }
        // Warm-up: code paths, connection pools, the first batches.
        let warm = try await http.startConversations(server.baseURL, count: 10)
        for (i, conversation) in warm.enumerated() { _ = await post(http, server.baseURL, conversation, texts[i % texts.count]) }

        let before = await modelWork(http, server.baseURL)
        var steps: [Step] = []
        var sent = warm.count
        for rate in rates {
            steps.append(try await step(http, server, rate: rate, seconds: seconds, first: sent))
            sent += steps.last!.messages
        }
        var recovery: Step?
        if recoveryRate > 0 {
            // Give the server what it still holds (a queue under overload), then offer a rate it sustains.
            try await Task.sleep(for: .seconds(2))
            recovery = try await step(http, server, rate: recoveryRate, seconds: max(2, seconds / 2), first: sent)
        }
        try await Task.sleep(for: .seconds(2))
        let memory = server.memory
        var model: ModelWork?
        if let before, let after = await modelWork(http, server.baseURL) {
            model = ModelWork(messages: (steps + (recovery.map { [$0] } ?? [])).map(\.acknowledged).reduce(0, +),
                              texts: after.texts - before.texts, batches: after.batches - before.batches, reused: after.reused - before.reused)
        }
        return Report(database: server.database, server: server.process.executableURL?.path ?? "", seconds: seconds, steps: steps,
                      recovery: recovery, idleMemoryMB: memory?.current, peakMemoryMB: memory?.peak, model: model)
    }

    /// The server's model counters so far, or nil when it has none.
    private func modelWork(_ http: BenchHTTP, _ base: String) async -> (texts: Int, batches: Int, reused: Int)? {
        guard let (status, body, _) = try? await http.send(.GET, base + "/metrics"), status == .ok else { return nil }
        var values: [String: Int] = [:]
        for line in String(decoding: body, as: UTF8.self).split(separator: "\n") where line.hasPrefix("tandem_inference_") {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let name = parts[0].split(separator: "{").first, let value = Double(parts[1]) else { continue }
            values[String(name), default: 0] += Int(value)
        }
        guard let texts = values["tandem_inference_texts_total"], let batches = values["tandem_inference_batches_total"] else { return nil }
        return (texts, batches, values["tandem_inference_reused_total"] ?? 0)
    }

    private struct Outcome: Sendable {
        let latency: Double
        let action: String
        /// The stored message's id, as the server answered it ("" when it did not).
        let id: String
        let acknowledged: Bool
        let timings: [(String, Double)]
    }

    /// `first`: the index of the step's first text, so that a run does not send a text again
    /// before it has sent every one (a repeat would be read from the server's kept readings).
    private func step(_ http: BenchHTTP, _ server: BenchServer, rate: Double, seconds: Double, first: Int) async throws -> Step {
        let base = server.baseURL
        let total = max(1, Int(rate * seconds))
        // Two messages per conversation, so most decisions are first turns, as in real traffic.
        progress("\(Int(rate)) msg/s: creating \((total + 1) / 2) conversations")
        let conversations = try await http.startConversations(base, count: (total + 1) / 2)
        progress("\(Int(rate)) msg/s: \(total) messages over \(seconds) s")
        let outcomes = NIOLockedValueBox<[Int: Outcome]>([:])
        let cpuBefore = server.cpuSeconds
        let begin = ContinuousClock.now
        await withTaskGroup(of: Void.self) { group in
            for i in 0..<total {
                let scheduled = begin + .seconds(Double(i) / rate)
                try? await Task.sleep(until: scheduled, clock: .continuous)
                let conversation = conversations[i / 2]
                // The text as a customer wrote it: a marker to find it by would lengthen it, and
                // change how the model reads it. The message id the server answers with finds it.
                let text = texts[(first + i) % texts.count]
                group.addTask {
                    let (action, id, timings) = await post(http, base, conversation, text)
                    let latency = (ContinuousClock.now - scheduled).milliseconds
                    let acknowledged = !["refused", "error"].contains(action)
                    outcomes.withLockedValue { $0[i] = Outcome(latency: latency, action: action, id: id, acknowledged: acknowledged, timings: timings) }
                }
            }
        }
        let elapsed = (ContinuousClock.now - begin).milliseconds / 1000
        let cpu = cpuBefore.flatMap { before in server.cpuSeconds.map { $0 - before } }
        let results = outcomes.withLockedValue { $0 }

        // Read back: every acknowledged message must be stored.
        let stored = try await withThrowingTaskGroup(of: String.self) { group in
            for (n, conversation) in conversations.enumerated() where results[2 * n]?.acknowledged == true || results[2 * n + 1]?.acknowledged == true {
                group.addTask { try await http.messages(base, conversation) }
            }
            return try await group.reduce(into: "") { $0 += $1 }
        }
        let lost = results.values.filter { $0.acknowledged && !stored.contains($0.id) }.count

        let acknowledged = results.values.filter(\.acknowledged)
        var actions: [String: Int] = [:]
        for outcome in results.values { actions[outcome.action, default: 0] += 1 }
        var phases: [String: Double] = [:]
        for outcome in acknowledged { for (name, ms) in outcome.timings { phases[name, default: 0] += ms } }
        if !acknowledged.isEmpty { phases = phases.mapValues { $0 / Double(acknowledged.count) } }
        let latencies = acknowledged.map(\.latency)
        let step = Step(
            offeredRate: rate, messages: total, acknowledged: acknowledged.count, refused: actions["refused"] ?? 0,
            errors: actions["error"] ?? 0, lost: lost, achievedRate: Double(acknowledged.count) / elapsed,
            p50Milliseconds: Measure.quantile(latencies, 0.5), p90Milliseconds: Measure.quantile(latencies, 0.9),
            p99Milliseconds: Measure.quantile(latencies, 0.99), maxMilliseconds: latencies.max() ?? .nan,
            actions: actions, phases: phases, serverMemoryMB: server.memory?.current,
            serverCPUMilliseconds: acknowledged.isEmpty ? nil : cpu.map { $0 * 1000 / Double(acknowledged.count) })
        progress("\(Int(rate)) msg/s: achieved \(String(format: "%.1f", step.achievedRate)), p99 \(String(format: "%.1f", step.p99Milliseconds)) ms, "
                 + "\(step.refused) refused, \(step.errors) errors, \(step.lost) lost")
        return step
    }

    /// One customer message: the decided action (`refused` for a 503, `error` for anything
    /// else that is not a decision), the stored message's id and the server's phases.
    private func post(_ http: BenchHTTP, _ base: String, _ conversation: BenchHTTP.Conversation, _ text: String) async -> (String, String, [(String, Double)]) {
        guard let body = try? JSONEncoder().encode(["text": text]),
              let (status, response, headers) = try? await http.send(.POST, base + "/api/v1/conversations/\(conversation.id)/messages",
                                                                      json: body, bearer: conversation.token, timeout: .seconds(10))
        else { return ("error", "", []) }
        if status == .serviceUnavailable { return ("refused", "", []) }
        struct Decided: Decodable {
            struct Message: Decodable { let id: String }
            let action: String
            let message: Message
        }
        guard status == .created, let decided = try? JSONDecoder().decode(Decided.self, from: response) else { return ("error", "", []) }
        return (decided.action, decided.message.id, Self.serverTiming(headers.first(name: "Server-Timing") ?? ""))
    }

    /// `store;dur=1.2, encode;dur=4.1` → [("store", 1.2), ("encode", 4.1)].
    public static func serverTiming(_ header: String) -> [(String, Double)] {
        header.split(separator: ",").compactMap { entry in
            let parts = entry.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let name = parts.first, !name.isEmpty,
                  let duration = parts.dropFirst().first(where: { $0.hasPrefix("dur=") }).flatMap({ Double($0.dropFirst(4)) }) else { return nil }
            return (name, duration)
        }
    }
}

public struct BenchmarkError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension Duration {
    var milliseconds: Double { Double(components.seconds) * 1e3 + Double(components.attoseconds) / 1e15 }
}
