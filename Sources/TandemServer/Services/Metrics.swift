import Foundation
import NIOConcurrencyHelpers

/// Counters and a latency histogram in the Prometheus text format, for `/metrics`. Per node:
/// Prometheus scrapes every node and sums.
final class Metrics: Sendable {
    private struct Key: Hashable { var name: String; var labels: [String: String] }
    private let counters = NIOLockedValueBox<[Key: Double]>([:])
    private let histogram = NIOLockedValueBox<(buckets: [Double: Int], sum: Double, count: Int)>(([:], 0, 0))
    static let latencyBuckets: [Double] = [1, 2.5, 5, 10, 25, 50, 100, 250, 1000]

    func increment(_ name: String, labels: [String: String] = [:], by amount: Double = 1) {
        counters.withLockedValue { $0[Key(name: name, labels: labels), default: 0] += amount }
    }

    func observeDecision(action: String, rule: String, milliseconds: Double) {
        increment("tandem_decisions_total", labels: ["action": action, "rule": rule])
        histogram.withLockedValue { h in
            for bucket in Self.latencyBuckets where milliseconds <= bucket { h.buckets[bucket, default: 0] += 1 }
            h.sum += milliseconds
            h.count += 1
        }
    }

    /// The exposition text, with gauges computed by the caller.
    func render(gauges: [(name: String, help: String, value: Double)]) -> String {
        var lines: [String] = []
        let snapshot = counters.withLockedValue { $0 }
        for name in Set(snapshot.keys.map(\.name)).sorted() {
            lines.append("# TYPE \(name) counter")
            for (key, value) in snapshot.filter({ $0.key.name == name }).sorted(by: { "\($0.key.labels)" < "\($1.key.labels)" }) {
                lines.append("\(name)\(Self.labels(key.labels)) \(Self.number(value))")
            }
        }
        let h = histogram.withLockedValue { $0 }
        lines.append("# HELP tandem_decision_latency_ms Time from a stored customer message to the AI's decision.")
        lines.append("# TYPE tandem_decision_latency_ms histogram")
        for bucket in Self.latencyBuckets {
            lines.append("tandem_decision_latency_ms_bucket{le=\"\(Self.number(bucket))\"} \(h.buckets[bucket] ?? 0)")
        }
        lines.append("tandem_decision_latency_ms_bucket{le=\"+Inf\"} \(h.count)")
        lines.append("tandem_decision_latency_ms_sum \(Self.number(h.sum))")
        lines.append("tandem_decision_latency_ms_count \(h.count)")
        for gauge in gauges {
            lines.append("# HELP \(gauge.name) \(gauge.help)")
            lines.append("# TYPE \(gauge.name) gauge")
            lines.append("\(gauge.name) \(Self.number(gauge.value))")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func labels(_ labels: [String: String]) -> String {
        guard !labels.isEmpty else { return "" }
        let body = labels.sorted { $0.key < $1.key }.map { key, value in
            "\(key)=\"\(value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n"))\""
        }.joined(separator: ",")
        return "{\(body)}"
    }

    private static func number(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : String(v)
    }
}
