import TandemCore
import Foundation

extension EvaluationReport {
    /// `report.html`: a self-contained page (inline CSS and SVG, no scripts).
    public var html: String {
        func pct(_ v: Double, _ digits: Int = 1) -> String { DisplayFormat.percent(v, digits, fixed: true) }
        func num(_ v: Double?, _ digits: Int = 3) -> String { v.map { String(format: "%.\(digits)f", $0) } ?? "—" }
        let t = training
        var cards = [
            ("Accuracy", pct(accuracy, 2), heldOutIntents.isEmpty ? "top-1 on \(testExamples) test messages" : "top-1 on messages of known intents"),
            ("Automated", pct(coverage), "share of the test set the AI answers"),
            ("Error when automated", pct(risk, 2), "target \(pct(t.options.targetRisk, 1)) with \(pct(t.options.confidenceLevel, 0)) confidence"),
            ("Threshold", num(threshold), "certified; unknown-request threshold \(num(unknownThreshold))"),
        ]
        if let seenCoverage, let unseenKeptAway {
            cards.append(("Unseen intents kept away", pct(unseenKeptAway), "\(heldOutIntents.count) intents held out of training"))
            cards.append(("Known intents automated", pct(seenCoverage), "with the held-out intents present"))
        }
        let cardHTML = cards.map { "<div class=\"card\"><div class=\"k\">\(escapeHTML($0.0))</div><div class=\"v\">\(escapeHTML($0.1))</div><div class=\"s\">\(escapeHTML($0.2))</div></div>" }.joined()

        let maxRisk = max(0.05, min(1, (riskCoverage.map(\.risk).max() ?? 0.1) * 1.05))
        let chosen = riskCoverage.last { p in threshold.map { p.threshold >= $0 } ?? false }
        let chart = SVGChart.line(
            title: "Risk–coverage curve on the test set",
            series: [.init(label: "error rate among the most confident messages", points: riskCoverage.map { ($0.coverage, $0.risk) })],
            xLabel: "share of test messages answered automatically", yLabel: "error rate among them",
            xRange: 0...1, yRange: 0...maxRisk, xFormat: { pct($0, 0) }, yFormat: { pct($0, 1) },
            reference: (t.options.targetRisk, "target \(pct(t.options.targetRisk, 1))"),
            marker: chosen.map { ($0.coverage, $0.risk, "certified threshold \(num(threshold))") }, id: "chart-risk-coverage")

        let costRows = costs.map { row in
            "<tr><th scope=\"row\">\(escapeHTML(row.label))</th><td>\(pct(row.automatedShare))</td><td>\(pct(row.realisedRisk, 2))</td><td>\(num(row.threshold))</td><td>\(escapeHTML(options.currency)) \(String(format: "%.0f", row.costPer1000))</td></tr>"
        }.joined()
        let intentRows = perIntent.sorted { ($0.seen ? 1 : 0, $0.coverage) < ($1.seen ? 1 : 0, $1.coverage) }.map { row in
            let note = row.override.map { "raised: \($0.errors) of \($0.automated) wrong just above the global threshold" } ?? (row.seen ? "" : "held out of training")
            return "<tr><th scope=\"row\">\(escapeHTML(row.intent))</th><td>\(row.support)</td><td>\(pct(row.accuracy))</td><td>\(pct(row.coverage))</td><td>\(row.answered == 0 ? "—" : pct(Double(row.wrongAnswers) / Double(row.answered), 1))</td><td>\(num(row.threshold))</td><td>\(escapeHTML(note))</td></tr>"
        }.joined()
        let confusionRows = confusions.map {
            "<tr><td>\(escapeHTML($0.actual))</td><td>\(escapeHTML($0.predicted))</td><td>\($0.count)</td></tr>"
        }.joined()
        let h = t.hyperparameters
        return """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
        <title>Tandem evaluation report</title>
        <style>
        body{font:15px/1.5 system-ui,-apple-system,Segoe UI,sans-serif;color:#1f2328;margin:0;background:#f6f7f9}
        main{max-width:1080px;margin:0 auto;padding:24px}h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:0 0 10px}
        .sub{color:#59636e;margin:0 0 20px}.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(190px,1fr));gap:12px}
        .card{background:#fff;border:1px solid #dfe3e8;border-radius:10px;padding:14px}.card .k{color:#59636e;font-size:13px}
        .card .v{font-size:26px;font-weight:650;margin:2px 0}.card .s{color:#59636e;font-size:12px}
        section{background:#fff;border:1px solid #dfe3e8;border-radius:10px;padding:16px;margin-top:16px}
        table{border-collapse:collapse;width:100%;font-size:14px}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #eef0f3}
        thead th{color:#59636e;font-weight:600;font-size:13px}td{font-variant-numeric:tabular-nums}.scroll{max-height:520px;overflow:auto}
        \(SVGChart.css)
        </style></head><body><main>
        <h1>Evaluation report</h1>
        <p class="sub">\(trainExamples) training and \(testExamples) test messages · \(escapeHTML(model))\(heldOutIntents.isEmpty ? "" : " · \(heldOutIntents.count) intents held out of training")</p>
        <div class="cards">\(cardHTML)</div>
        <section><h2>What is guaranteed</h2><p>\(escapeHTML(t.guarantee))</p></section>
        <section><h2>Risk and coverage</h2>\(chart)
        <p>Each point: if the AI answered only the most confident share of test messages, this would be the error rate among them. The dot marks the certified confidence threshold; the unknown-request gate then holds back some of those messages as well, which gives the automated share above.</p></section>
        <section><h2>Cost by target accuracy</h2>
        <table><thead><tr><th scope="col">Target accuracy</th><th scope="col">Automated</th><th scope="col">Realised error</th><th scope="col">Threshold</th><th scope="col">Cost per 1,000 conversations</th></tr></thead><tbody>\(costRows)</tbody></table>
        <p>Cost = 1,000 × (AI cost per message \(escapeHTML(options.currency)) \(String(format: "%.2f", options.aiCostPerMessage)) + share handed to people × human cost per contact \(escapeHTML(options.currency)) \(String(format: "%.2f", options.humanCostPerContact))). Thresholds for other targets are certified on the same calibration data.</p></section>
        <section><h2>Per intent</h2><div class="scroll"><table><thead><tr><th scope="col">Intent</th><th scope="col">Test messages</th><th scope="col">Accuracy</th><th scope="col">Automated</th><th scope="col">Error when answered</th><th scope="col">Threshold</th><th scope="col">Note</th></tr></thead><tbody>\(intentRows)</tbody></table></div></section>
        <section><h2>Most confused intents</h2><table><thead><tr><th scope="col">Actual</th><th scope="col">Predicted</th><th scope="col">Messages</th></tr></thead><tbody>\(confusionRows)</tbody></table></section>
        <section><h2>Training</h2><table><tbody>
        <tr><th scope="row">Cross-validated accuracy</th><td>\(pct(t.crossValidatedAccuracy, 2))</td></tr>
        <tr><th scope="row">Calibration error (ECE)</th><td>\(num(t.calibrationErrorBefore)) before temperature scaling, \(num(t.calibrationErrorAfter)) after (T = \(num(h.temperature, 2))); \(num(expectedCalibrationError)) on the test set</td></tr>
        <tr><th scope="row">Hyperparameters</th><td>C = \(h.semanticC) (embeddings), \(h.lexicalC) (n-grams); n-gram weight \(h.lexicalWeight); familiarity weight \(h.familiarityWeight); \(h.neighbours) nearest examples</td></tr>
        <tr><th scope="row">Calibration</th><td>\(t.certificate.calibrationSize) messages; \(pct(t.certificate.coverage)) of them above the certified threshold at \(pct(t.certificate.errorRate, 2)) error (upper bound \(pct(t.certificate.upperBound, 2)))</td></tr>
        <tr><th scope="row">Unknown requests</th><td>\(t.unknown.examples) simulated in \(t.unknown.rounds) rounds; threshold \(num(t.unknown.threshold)) keeps \(pct(t.unknown.keptAway)) of them away</td></tr>
        <tr><th scope="row">Training time</th><td>\(String(format: "%.1f s", t.seconds))</td></tr>
        </tbody></table></section>
        </main></body></html>
        """
    }
}
