import Foundation
import TandemTensor
import Testing
@testable import TandemCore

@Suite("Training, certification and artifacts")
struct TrainerTests {
    @Test("training is accurate, certifies a threshold, and is deterministic for a seed")
    func trains() throws {
        let data = SyntheticIntents.data(perIntent: 120, seed: 1)
        let first = try Trainer(options: SyntheticIntents.options, clock: ManualClock()).train(data)
        #expect(first.report.crossValidatedAccuracy > 0.95)
        let threshold = try #require(first.thresholds.certified)
        #expect(first.report.certificate.upperBound <= 0.01)
        #expect(first.report.certificate.coverage > 0.5)
        #expect(first.report.calibrationErrorAfter <= first.report.calibrationErrorBefore + 0.02)
        #expect(first.report.guarantee.contains("at most 1.0%"))
        let second = try Trainer(options: SyntheticIntents.options, clock: ManualClock()).train(data)
        #expect(second.thresholds == first.thresholds)
        #expect(second.model.semantic == first.model.semantic)
        #expect(threshold >= 0 && threshold <= 1)
    }

    @Test("held-out calibration (split) also certifies, scored by the deployed model")
    func splitCalibration() throws {
        var options = SyntheticIntents.options
        options.calibration = .split(0.3)
        let trained = try Trainer(options: options, clock: ManualClock()).train(SyntheticIntents.data(perIntent: 250, seed: 2))
        #expect(trained.thresholds.certified != nil)
        #expect(trained.report.certificate.calibrationSize == trained.calibration.count)
        #expect(trained.calibration.count == 6 * 75)
        #expect(trained.memoryRows.count + trained.calibration.count == 1500)
        #expect(trained.report.guarantee.contains("exact"))
    }

    @Test("bad input gives typed errors")
    func badInput() {
        let data = SyntheticIntents.data(perIntent: 10, seed: 3)
        #expect(throws: TrainingError.tooFewIntents(1)) {
            try Trainer(options: SyntheticIntents.options, clock: ManualClock()).train(TrainingData(texts: Array(data.texts.prefix(5)), labels: Array(repeating: "x", count: 5),
                                                                      embeddings: data.embeddings.selecting(rows: Array(0..<5))))
        }
        #expect(throws: TrainingError.mismatchedInputs(texts: 60, labels: 59, embeddings: 60)) {
            try Trainer(options: SyntheticIntents.options, clock: ManualClock()).train(TrainingData(texts: data.texts, labels: Array(data.labels.dropLast()), embeddings: data.embeddings))
        }
        var options = SyntheticIntents.options
        options.targetRisk = 0
        #expect(throws: TrainingError.self) { try Trainer(options: options, clock: ManualClock()).train(data) }
    }

    @Test("an artifact encoded and decoded scores identically; corruption and mismatches are refused with a reason")
    func artifactRoundTrip() throws {
        let data = SyntheticIntents.data(perIntent: 80, seed: 4)
        let trained = try Trainer(options: SyntheticIntents.options, clock: ManualClock()).train(data)
        let artifact = ModelArtifact(trained: trained, encoder: "test-encoder@1", data: data, createdAt: ManualClock().now)
        let files = try artifact.files()
        let loaded = try ModelArtifact(files: files, expectedEncoder: "test-encoder@1")
        #expect(loaded.version == artifact.version && !artifact.version.isEmpty)
        #expect(loaded.createdAt == artifact.createdAt)
        #expect(loaded.thresholds == trained.thresholds)
        #expect(loaded.exampleTexts == data.texts)
        #expect(try loaded.files() == files)
        let original = trained.model.score(embeddings: data.embeddings, texts: data.texts)
        let reloaded = loaded.model.score(embeddings: data.embeddings, texts: data.texts)
        for (a, b) in zip(original, reloaded) {
            #expect(a.intent == b.intent && abs(a.confidence - b.confidence) < 1e-9 && abs(a.knownScore - b.knownScore) < 1e-9)
        }

        #expect(throws: ModelArtifact.LoadError.encoderMismatch(artifact: "test-encoder@1", current: "other@2")) {
            try ModelArtifact(files: files, expectedEncoder: "other@2")
        }
        var truncated = files
        truncated.weights = files.weights.prefix(files.weights.count - 100)
        #expect { try ModelArtifact(files: truncated) } throws: { error in
            guard case .corrupt(let file, _)? = error as? ModelArtifact.LoadError else { return false }
            return file == ModelArtifact.weightsFile
        }
        let json = String(decoding: files.manifest, as: UTF8.self)
        var future = files
        future.manifest = Data(json.replacingOccurrences(of: "\"formatVersion\" : 1", with: "\"formatVersion\" : 99").utf8)
        #expect { try ModelArtifact(files: future) } throws: { error in
            guard case .incompatibleFormat? = error as? ModelArtifact.LoadError else { return false }
            return (error as? LocalizedError)?.errorDescription?.contains("retrain") == true
        }
        var garbled = files
        garbled.manifest = Data("{not json".utf8)
        #expect { try ModelArtifact(files: garbled) } throws: { ($0 as? ModelArtifact.LoadError).map { if case .corrupt = $0 { return true }; return false } ?? false }
    }

    @Test("evaluation: coverage, risk and the unseen-intent protocol are computed from the decisions")
    func evaluation() throws {
        let holdout = IntentHoldout(intents: SyntheticIntents.intents, share: 0.34, seed: 5)
        #expect(holdout.heldOut.count == 2)
        let train = holdout.training(SyntheticIntents.data(perIntent: 120, seed: 6))
        #expect(Set(train.labels).isDisjoint(with: holdout.heldOut))
        let trained = try Trainer(options: SyntheticIntents.options, clock: ManualClock()).train(train)
        let test = SyntheticIntents.data(perIntent: 40, seed: 7)
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
        let json = try JSONEncoder().encode(report)
        let object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        for key in ["accuracy", "coverage", "risk", "threshold", "unseen_kept_away", "seen_coverage"] {
            #expect(object[key] != nil, "report.json lacks \(key)")
        }
    }
}
