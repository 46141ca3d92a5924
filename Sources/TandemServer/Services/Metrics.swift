import Foundation
import NIOConcurrencyHelpers
import Prometheus
import TandemCore

/// What `/metrics` exposes, in the Prometheus text format, with a HELP line for each metric.
/// Counters and the latency histogram count what this node did and carry its `node` label:
/// Prometheus scrapes every node, and `sum without (node)` gives the cluster. The workspace
/// gauges are read from the shared database, so every node reports the same value: aggregate
/// them with `max`. The registry is swift-prometheus's, used directly: its factory for the
/// swift-metrics API (2.4) cannot carry HELP text.
final class Metrics: Sendable {
    let registry = PrometheusCollectorRegistry()

    /// How a resolved conversation was handled.
    enum Path: String, Sendable {
        case ai
        case human
        case aiThenHuman = "ai_then_human"
    }

    /// Decision latency buckets: the target is well under 50 ms per message.
    static let latencyBuckets: [Duration] = [1, 2.5, 5, 10, 25, 50, 100, 250, 1000].map { .microseconds(Int64($0 * 1000)) }

    private let messages: Counter
    private let latency: DurationHistogram
    private let queueWaiting: Gauge
    private let withPeople: Gauge
    private let modelLoaded: Gauge
    private let inferenceWaiting: Gauge
    private let inferenceBatches: Counter
    private let inferenceTexts: Counter
    /// The executor's totals at the last scrape: each scrape adds what ran since.
    private let scraped = NIOLockedValueBox(InferenceExecutor.BatchSizes())

    private let node: (String, String)

    init(node: String) {
        self.node = ("node", node)
        messages = registry.makeCounter(descriptor: Self.name("customer_messages_total", "Customer messages this node accepted."), labels: [self.node])
        latency = registry.makeDurationHistogram(
            descriptor: Self.name("decision_latency_seconds", "Time from a stored customer message to the AI's decision, on this node."),
            labels: [self.node], buckets: Self.latencyBuckets)
        queueWaiting = registry.makeGauge(descriptor: Self.name("queue_waiting", "Conversations waiting for a person (workspace-wide, from the database: the same on every node)."), labels: [])
        withPeople = registry.makeGauge(descriptor: Self.name("conversations_with_people", "Conversations a person is handling (workspace-wide, from the database: the same on every node)."), labels: [])
        modelLoaded = registry.makeGauge(descriptor: Self.name("model_loaded", "1 when this node serves an intent model, else 0."), labels: [self.node])
        inferenceBatches = registry.makeCounter(descriptor: Self.name("inference_batches_total", "Batches this node's model encoded and scored."), labels: [self.node])
        inferenceTexts = registry.makeCounter(descriptor: Self.name("inference_texts_total", "Customer texts this node's model encoded and scored, in those batches."), labels: [self.node])
        inferenceWaiting = registry.makeGauge(descriptor: Self.name("inference_waiting", "Customer messages waiting for this node's model (TANDEM_INFERENCE_QUEUE at most)."), labels: [self.node])
    }

    private static func name(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "tandem", metricName: name, unitName: "", helpText: help)
    }

    func customerMessage() { messages.increment() }

    func decision(action: RoutingDecision.Action, rule: RoutingDecision.Rule, latency duration: Duration) {
        registry.makeCounter(descriptor: Self.name("decisions_total", "The AI's decisions on this node, by action and by the rule that fired."),
                             labels: [node, ("action", action.rawValue), ("rule", rule.rawValue)]).increment()
        latency.record(duration)
    }

    /// A message the model was too busy to read (its queue full): it went to a person.
    func inferenceRefused() {
        registry.makeCounter(descriptor: Self.name("inference_refused_total", "Customer messages this node handed to people because the model's queue was full."),
                             labels: [node]).increment()
    }

    /// A text read again with the same model (a held burst decided, a turn re-read): its reading was reused, not encoded again.
    func readingReused() {
        registry.makeCounter(descriptor: Self.name("inference_reused_total", "Customer texts this node read again with the same model, whose reading it reused instead of encoding them again."),
                             labels: [node]).increment()
    }

    func handoff(rule: RoutingDecision.Rule) {
        registry.makeCounter(descriptor: Self.name("handoffs_total", "Conversations this node handed to people, by the rule that fired."),
                             labels: [node, ("rule", rule.rawValue)]).increment()
    }

    func resolved(path: Path) {
        registry.makeCounter(descriptor: Self.name("resolved_total", "Conversations resolved on this node, by who handled them."),
                             labels: [node, ("path", path.rawValue)]).increment()
    }

    func webhookDelivered(_ event: WebhookEvent) {
        registry.makeCounter(descriptor: Self.name("webhooks_delivered_total", "Webhook deliveries this node completed, by event."),
                             labels: [node, ("event", event.rawValue)]).increment()
    }

    /// The exposition text, with the workspace gauges set to the values just read.
    func exposition(queued: Int, assigned: Int, modelLoaded loaded: Bool, inferenceWaiting waiting: Int,
                    inferenceBatches batches: InferenceExecutor.BatchSizes) -> String {
        scraped.withLockedValue { last in
            // Two scrapes at once may read the totals in either order: the later-read totals
            // were counted already (a counter never goes down).
            guard batches.batches >= last.batches, batches.items >= last.items else { return }
            inferenceBatches.increment(by: Int64(batches.batches - last.batches))
            inferenceTexts.increment(by: Int64(batches.items - last.items))
            last = batches
        }
        inferenceWaiting.set(to: Double(waiting))
        queueWaiting.set(to: Double(queued))
        withPeople.set(to: Double(assigned))
        modelLoaded.set(to: loaded ? 1 : 0)
        return registry.emitToString()
    }
}
