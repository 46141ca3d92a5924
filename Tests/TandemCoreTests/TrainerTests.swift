import Foundation
import Testing
import TandemEmbedding
@testable import TandemCore

/// Synthetic intents: each a cluster of unit vectors around its own centre, with texts that
/// share a keyword, so both heads have something to learn.
enum Synthetic {
    static let intents = ["card_arrival", "change_pin", "refund", "top_up", "exchange_rate", "close_account"]
    static let words = ["arrive", "pin", "refund", "topup", "rate", "close"]

    static func data(perIntent: Int, seed: UInt64, dimension: Int = 16, noise: Double = 0.35, intents chosen: [String] = intents) -> TrainingData {
        var generator = SeededGenerator(seed: seed)
        var centres = SeededGenerator(seed: 999)
        let centre: [[Double]] = intents.map { _ in normalized((0..<dimension).map { _ in Double.random(in: -1...1, using: &centres) }) }
        var texts: [String] = [], labels: [String] = [], values: [Float] = []
        for _ in 0..<perIntent {
            for intent in chosen {
                let i = intents.firstIndex(of: intent)!
                let v = normalized(centre[i].map { $0 + Double.random(in: -noise...noise, using: &generator) })
                values += v.map(Float.init)
                texts.append("please help \(words[i]) \(Int.random(in: 0..<50, using: &generator)) thanks")
                labels.append(intent)
            }
        }
        return TrainingData(texts: texts, labels: labels, embeddings: Matrix(rows: texts.count, columns: dimension, values: values))
    }

    static func normalized(_ v: [Double]) -> [Double] {
        let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return v.map { $0 / norm }
    }

    static var options: TrainingOptions {
        var options = TrainingOptions()
        options.folds = 3
        options.semanticCs = [1, 10]
        options.lexicalCs = [1, 10]
        options.unknownRounds = 1
        options.unknownShare = 0.34
        options.buckets = 256
        options.threads = 2
        return options
    }
}

@Suite("Training, certification and artifacts")
struct TrainerTests {
    @Test("training is accurate, certifies a threshold, and is deterministic for a seed")
    func trains() throws {
        let data = Synthetic.data(perIntent: 120, seed: 1)
        let first = try Trainer(options: Synthetic.options).train(data)
        #expect(first.report.crossValidatedAccuracy > 0.95)
        let threshold = try #require(first.thresholds.certified)
        #expect(first.report.certificate.upperBound <= 0.01)
        #expect(first.report.certificate.coverage > 0.5)
        #expect(first.report.calibrationErrorAfter <= first.report.calibrationErrorBefore + 0.02)
        #expect(first.report.guarantee.contains("at most 1.0%"))
        let second = try Trainer(options: Synthetic.options).train(data)
        #expect(second.thresholds == first.thresholds)
        #expect(second.model.semantic == first.model.semantic)
        #expect(threshold >= 0 && threshold <= 1)
    }

    @Test("held-out calibration (split) also certifies, scored by the deployed model")
    func splitCalibration() throws {
        var options = Synthetic.options
        options.calibration = .split(0.3)
        let trained = try Trainer(options: options).train(Synthetic.data(perIntent: 250, seed: 2))
        #expect(trained.thresholds.certified != nil)
        #expect(trained.report.certificate.calibrationSize == trained.calibration.count)
        #expect(trained.calibration.count == 6 * 75)
        #expect(trained.memoryRows.count + trained.calibration.count == 1500)
        #expect(trained.report.guarantee.contains("exact"))
    }

    @Test("bad input gives typed errors")
    func badInput() {
        let data = Synthetic.data(perIntent: 10, seed: 3)
        #expect(throws: TrainingError.tooFewIntents(1)) {
            try Trainer(options: Synthetic.options).train(TrainingData(texts: Array(data.texts.prefix(5)), labels: Array(repeating: "x", count: 5),
                                                                      embeddings: data.embeddings.selecting(rows: Array(0..<5))))
        }
        #expect(throws: TrainingError.mismatchedInputs(texts: 60, labels: 59, embeddings: 60)) {
            try Trainer(options: Synthetic.options).train(TrainingData(texts: data.texts, labels: Array(data.labels.dropLast()), embeddings: data.embeddings))
        }
        var options = Synthetic.options
        options.targetRisk = 0
        #expect(throws: TrainingError.self) { try Trainer(options: options).train(data) }
    }

    @Test("an artifact written and read back scores identically; corruption and mismatches are refused with a reason")
    func artifactRoundTrip() throws {
        let data = Synthetic.data(perIntent: 80, seed: 4)
        let trained = try Trainer(options: Synthetic.options).train(data)
        let artifact = ModelArtifact(trained: trained, encoder: "test-encoder@1", data: data)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-artifact-\(UUID().uuidString)")
        try artifact.write(to: folder)
        let loaded = try ModelArtifact.read(from: folder, expectedEncoder: "test-encoder@1")
        #expect(loaded.version == artifact.version && !artifact.version.isEmpty)
        #expect(loaded.thresholds == trained.thresholds)
        #expect(loaded.exampleTexts == data.texts)
        let original = trained.model.score(embeddings: data.embeddings, texts: data.texts)
        let reloaded = loaded.model.score(embeddings: data.embeddings, texts: data.texts)
        for (a, b) in zip(original, reloaded) {
            #expect(a.intent == b.intent && abs(a.confidence - b.confidence) < 1e-9 && abs(a.knownScore - b.knownScore) < 1e-9)
        }

        #expect(throws: ModelArtifact.LoadError.encoderMismatch(artifact: "test-encoder@1", current: "other@2")) {
            try ModelArtifact.read(from: folder, expectedEncoder: "other@2")
        }
        let weights = folder.appendingPathComponent(ModelArtifact.weightsFile)
        let bytes = try Data(contentsOf: weights)
        try bytes.prefix(bytes.count - 100).write(to: weights)
        #expect { try ModelArtifact.read(from: folder) } throws: { error in
            guard case .corrupt(let file, _)? = error as? ModelArtifact.LoadError else { return false }
            return file.hasSuffix(ModelArtifact.weightsFile)
        }
        try bytes.write(to: weights)
        let manifest = folder.appendingPathComponent(ModelArtifact.manifestFile)
        let json = try String(contentsOf: manifest, encoding: .utf8)
        try json.replacingOccurrences(of: "\"formatVersion\" : 1", with: "\"formatVersion\" : 99").write(to: manifest, atomically: true, encoding: .utf8)
        #expect { try ModelArtifact.read(from: folder) } throws: { error in
            guard case .incompatibleFormat? = error as? ModelArtifact.LoadError else { return false }
            return (error as? LocalizedError)?.errorDescription?.contains("retrain") == true
        }
        try "{not json".write(to: manifest, atomically: true, encoding: .utf8)
        #expect { try ModelArtifact.read(from: folder) } throws: { ($0 as? ModelArtifact.LoadError).map { if case .corrupt = $0 { return true }; return false } ?? false }
        try FileManager.default.removeItem(at: manifest)
        #expect(throws: ModelArtifact.LoadError.missingFile(manifest.path)) { try ModelArtifact.read(from: folder) }
    }

    @Test("evaluation: coverage, risk and the unseen-intent protocol are computed from the decisions")
    func evaluation() throws {
        let holdout = IntentHoldout(intents: Synthetic.intents, share: 0.34, seed: 5)
        #expect(holdout.heldOut.count == 2)
        let train = holdout.training(Synthetic.data(perIntent: 120, seed: 6))
        #expect(Set(train.labels).isDisjoint(with: holdout.heldOut))
        let trained = try Trainer(options: Synthetic.options).train(train)
        let test = Synthetic.data(perIntent: 40, seed: 7)
        let report = Evaluator.evaluate(trained, test: test, heldOut: holdout.heldOut)

        let scores = trained.model.score(embeddings: test.embeddings, texts: test.texts)
        let answered = test.texts.indices.filter { trained.thresholds.answers(scores[$0], intent: trained.model.intents[scores[$0].intent]) }
        #expect(abs(report.coverage - Double(answered.count) / Double(test.texts.count)) < 1e-12)
        let wrong = answered.filter { trained.model.intents[scores[$0].intent] != test.labels[$0] }
        #expect(abs(report.risk - (answered.isEmpty ? 0 : Double(wrong.count) / Double(answered.count))) < 1e-12)
        let unseen = test.texts.indices.filter { holdout.heldOut.contains(test.labels[$0]) }
        #expect(abs(try #require(report.unseenKeptAway) - Double(unseen.filter { !answered.contains($0) }.count) / Double(unseen.count)) < 1e-12)
        #expect(report.costs.count == 6)
        #expect(report.costs.last!.costPer1000 == 1000 * (0.02 + 4.5))
        // The HTML shows user-provided names as text.
        #expect(report.html.contains("card_arrival") && !report.html.contains("<script"))
        let json = try JSONEncoder().encode(report)
        let object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        for key in ["accuracy", "coverage", "risk", "threshold", "unseen_kept_away", "seen_coverage"] {
            #expect(object[key] != nil, "report.json lacks \(key)")
        }
    }

    @Test("HTML escaping makes markup inert")
    func escaping() {
        #expect(escapeHTML("<script>alert('x')</script> & \"q\"") == "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;")
    }
}
