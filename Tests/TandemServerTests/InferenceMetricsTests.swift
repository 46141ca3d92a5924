@testable import TandemServer
import Testing

@Suite("The model's counters in /metrics")
struct InferenceMetricsTests {
    @Test("scrapes that read the executor's totals out of order never count backwards (nor stop the server)")
    func scrapesOutOfOrder() {
        let metrics = Metrics(node: "n1")
        func lines(_ batches: Int, _ items: Int) -> Set<String> {
            let text = metrics.exposition(queued: 0, assigned: 0, modelLoaded: true, inferenceWaiting: 0,
                                          inferenceBatches: InferenceExecutor.BatchSizes(batches: batches, items: items, largest: 4))
            return Set(text.split(separator: "\n").map(String.init))
        }
        #expect(lines(3, 7).isSuperset(of: ["tandem_inference_batches_total{node=\"n1\"} 3", "tandem_inference_texts_total{node=\"n1\"} 7"]))
        // The slower of two concurrent scrapes read the totals before the other one did.
        #expect(lines(2, 5).isSuperset(of: ["tandem_inference_batches_total{node=\"n1\"} 3", "tandem_inference_texts_total{node=\"n1\"} 7"]))
        #expect(lines(4, 11).isSuperset(of: ["tandem_inference_batches_total{node=\"n1\"} 4", "tandem_inference_texts_total{node=\"n1\"} 11"]))
    }
}
