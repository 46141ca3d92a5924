import Foundation
import TandemTensor

public struct EvaluationOptions: Codable, Sendable, Equatable {
    /// What a conversation handled by a person costs.
    public var humanCostPerContact = 4.5
    /// What the AI costs per message it processes (it reads every message, answered or not).
    public var aiCostPerMessage = 0.02
    public var currency = "GBP"
    /// Accuracies the cost table shows (target risk = 1 − accuracy).
    public var targetAccuracies = [0.95, 0.98, 0.99, 0.995]

    public init() {}
}

/// Messages to evaluate on, with their embeddings.
public typealias TestData = TrainingData

/// The unseen-intent protocol: train without a random share of the intents, then check that
/// their test messages are kept away from automatic answers.
public struct IntentHoldout: Sendable {
    public let heldOut: Set<String>

    public init(intents: [String], share: Double, seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        let count = Int((Double(intents.count) * share).rounded())
        heldOut = Set(intents.sorted().shuffled(using: &generator).prefix(count))
    }

    /// The training data without the held-out intents.
    public func training(_ data: TrainingData) -> TrainingData {
        let keep = data.labels.indices.filter { !heldOut.contains(data.labels[$0]) }
        return TrainingData(texts: keep.map { data.texts[$0] }, labels: keep.map { data.labels[$0] }, embeddings: data.embeddings.selecting(rows: keep))
    }
}

/// Offline evaluation of a trained model on labelled test messages.
public enum Evaluator {
    public static func evaluate(_ trained: TrainedModel, test: TestData, heldOut: Set<String> = [], options: EvaluationOptions = EvaluationOptions()) -> EvaluationReport {
        let model = trained.model
        let scores = model.score(embeddings: test.embeddings, texts: test.texts)
        let predicted = scores.map { model.intents[$0.intent] }
        let thresholds = trained.thresholds
        let automated = zip(predicted, scores).map { intent, score in thresholds.answers(score, intent: intent) }
        let correct = zip(predicted, test.labels).map { $0 == $1 }
        let seen = test.labels.map { !heldOut.contains($0) }
        let n = test.texts.count

        func share(_ predicate: (Int) -> Bool, of subset: (Int) -> Bool = { _ in true }) -> Double {
            let members = (0..<n).filter(subset)
            return members.isEmpty ? 0 : Double(members.filter(predicate).count) / Double(members.count)
        }
        let automatedCount = automated.filter { $0 }.count
        let automatedErrors = (0..<n).filter { automated[$0] && !correct[$0] }.count

        // Risk–coverage curve: the most confident k messages, for every k.
        let order = (0..<n).sorted { scores[$0].confidence > scores[$1].confidence || (scores[$0].confidence == scores[$1].confidence && $0 < $1) }
        var curve: [EvaluationReport.CurvePoint] = []
        var errors = 0
        let step = max(1, n / 200)
        for (k, i) in order.enumerated() {
            if !correct[i] { errors += 1 }
            if (k + 1) % step == 0 || k == n - 1 {
                curve.append(.init(threshold: scores[i].confidence, coverage: Double(k + 1) / Double(n), risk: Double(errors) / Double(k + 1)))
            }
        }

        // Per intent.
        let intents = Array(Set(test.labels).union(model.intents)).sorted()
        let perIntent: [EvaluationReport.IntentRow] = intents.compactMap { intent in
            let members = (0..<n).filter { test.labels[$0] == intent }
            let answeredAs = (0..<n).filter { automated[$0] && predicted[$0] == intent }
            guard !members.isEmpty || !answeredAs.isEmpty else { return nil }
            let size = Double(max(members.count, 1))
            let accuracy = Double(members.filter { correct[$0] }.count) / size
            let coverage = Double(members.filter { automated[$0] }.count) / size
            let threshold: Double? = model.intents.contains(intent) ? thresholds.threshold(for: intent) : nil
            return EvaluationReport.IntentRow(
                intent: intent, seen: !heldOut.contains(intent), support: members.count, accuracy: accuracy, coverage: coverage,
                answered: answeredAs.count, wrongAnswers: answeredAs.filter { !correct[$0] }.count,
                threshold: threshold, override: thresholds.perIntent[intent])
        }

        // Most confused pairs.
        var pairs: [String: Int] = [:]
        for i in 0..<n where !correct[i] { pairs["\(test.labels[i])\u{1}\(predicted[i])", default: 0] += 1 }
        let confusions = pairs.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }.prefix(15).map { key, count in
            let parts = key.split(separator: "\u{1}", omittingEmptySubsequences: false).map(String.init)
            return EvaluationReport.Confusion(actual: parts[0], predicted: parts[1], count: count)
        }

        // Cost table: re-certify on the calibration data at each target accuracy.
        let certificate = trained.report.certificate
        let calibration = trained.calibration
        var costs: [EvaluationReport.CostRow] = []
        for accuracy in options.targetAccuracies {
            let risk = 1 - accuracy
            let certified = RiskControl(targetRisk: risk, delta: certificate.delta)
                .certify(confidences: calibration.map(\.confidence), correct: calibration.map(\.correct)).threshold
            let answered = (0..<n).filter { i in
                certified.map { scores[i].confidence >= $0 && scores[i].knownScore >= thresholds.unknown } ?? false
            }
            let share = Double(answered.count) / Double(max(n, 1))
            costs.append(.init(label: String(format: "%.1f%%", accuracy * 100), targetAccuracy: accuracy, threshold: certified, automatedShare: share,
                               realisedRisk: answered.isEmpty ? 0 : Double(answered.filter { !correct[$0] }.count) / Double(answered.count),
                               costPer1000: cost(share: share, options)))
        }
        costs.append(.init(label: "AI answers everything", targetAccuracy: nil, threshold: 0, automatedShare: 1,
                           realisedRisk: Double(correct.filter { !$0 }.count) / Double(max(n, 1)), costPer1000: cost(share: 1, options)))
        costs.append(.init(label: "people answer everything", targetAccuracy: nil, threshold: nil, automatedShare: 0, realisedRisk: 0,
                           costPer1000: cost(share: 0, options)))

        let hasHoldout = !heldOut.isEmpty
        return EvaluationReport(
            model: "\(model.intents.count) intents", trainExamples: trained.report.examples, testExamples: n,
            heldOutIntents: heldOut.sorted(), options: options, training: trained.report,
            accuracy: share({ correct[$0] }, of: { seen[$0] }),
            accuracyAll: share({ correct[$0] }),
            coverage: Double(automatedCount) / Double(max(n, 1)),
            risk: automatedCount == 0 ? 0 : Double(automatedErrors) / Double(automatedCount),
            threshold: thresholds.certified,
            unknownThreshold: thresholds.unknown,
            seenCoverage: hasHoldout ? share({ automated[$0] }, of: { seen[$0] }) : nil,
            unseenKeptAway: hasHoldout ? share({ !automated[$0] }, of: { !seen[$0] }) : nil,
            expectedCalibrationError: Calibration.expectedError(confidences: scores.map(\.probability), correct: correct),
            riskCoverage: curve, perIntent: perIntent, confusions: Array(confusions), costs: costs)
    }

    static func cost(share: Double, _ options: EvaluationOptions) -> Double {
        1000 * (options.aiCostPerMessage + (1 - share) * options.humanCostPerContact)
    }
}

/// `report.json`: what `tandem evaluate` measured.
public struct EvaluationReport: Codable, Sendable {
    public struct CurvePoint: Codable, Sendable, Equatable {
        public var threshold: Double
        public var coverage: Double
        public var risk: Double
    }

    public struct IntentRow: Codable, Sendable {
        public var intent: String
        public var seen: Bool
        public var support: Int
        public var accuracy: Double
        public var coverage: Double
        public var answered: Int
        public var wrongAnswers: Int
        public var threshold: Double?
        public var override: IntentOverride?

        enum CodingKeys: String, CodingKey {
            case intent, seen, support, accuracy, coverage, answered, threshold, override
            case wrongAnswers = "wrong_answers"
        }
    }

    public struct Confusion: Codable, Sendable, Equatable {
        public var actual: String
        public var predicted: String
        public var count: Int
    }

    public struct CostRow: Codable, Sendable {
        public var label: String
        public var targetAccuracy: Double?
        public var threshold: Double?
        public var automatedShare: Double
        public var realisedRisk: Double
        public var costPer1000: Double

        enum CodingKeys: String, CodingKey {
            case label, threshold
            case targetAccuracy = "target_accuracy"
            case automatedShare = "automated_share"
            case realisedRisk = "realised_risk"
            case costPer1000 = "cost_per_1000"
        }
    }

    public var model: String
    public var trainExamples: Int
    public var testExamples: Int
    public var heldOutIntents: [String]
    public var options: EvaluationOptions
    public var training: TrainingReport
    /// Top-1 accuracy on test messages of intents the model knows.
    public var accuracy: Double
    /// Top-1 accuracy on all test messages (held-out intents count as wrong).
    public var accuracyAll: Double
    /// Share of all test messages answered automatically.
    public var coverage: Double
    /// Error rate among automatically answered test messages (answers to held-out intents are errors).
    public var risk: Double
    public var threshold: Double?
    public var unknownThreshold: Double
    public var seenCoverage: Double?
    public var unseenKeptAway: Double?
    public var expectedCalibrationError: Double
    public var riskCoverage: [CurvePoint]
    public var perIntent: [IntentRow]
    public var confusions: [Confusion]
    public var costs: [CostRow]

    enum CodingKeys: String, CodingKey {
        case model, options, training, accuracy, coverage, risk, threshold, confusions, costs
        case trainExamples = "train_examples"
        case testExamples = "test_examples"
        case heldOutIntents = "held_out_intents"
        case accuracyAll = "accuracy_all"
        case unknownThreshold = "unknown_threshold"
        case seenCoverage = "seen_coverage"
        case unseenKeptAway = "unseen_kept_away"
        case expectedCalibrationError = "expected_calibration_error"
        case riskCoverage = "risk_coverage"
        case perIntent = "per_intent"
    }

    /// Keys whose value may be absent are written as null, so every report has the same fields.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(model, forKey: .model)
        try c.encode(trainExamples, forKey: .trainExamples)
        try c.encode(testExamples, forKey: .testExamples)
        try c.encode(heldOutIntents, forKey: .heldOutIntents)
        try c.encode(options, forKey: .options)
        try c.encode(training, forKey: .training)
        try c.encode(accuracy, forKey: .accuracy)
        try c.encode(accuracyAll, forKey: .accuracyAll)
        try c.encode(coverage, forKey: .coverage)
        try c.encode(risk, forKey: .risk)
        try c.encode(threshold, forKey: .threshold)
        try c.encode(unknownThreshold, forKey: .unknownThreshold)
        try c.encode(seenCoverage, forKey: .seenCoverage)
        try c.encode(unseenKeptAway, forKey: .unseenKeptAway)
        try c.encode(expectedCalibrationError, forKey: .expectedCalibrationError)
        try c.encode(riskCoverage, forKey: .riskCoverage)
        try c.encode(perIntent, forKey: .perIntent)
        try c.encode(confusions, forKey: .confusions)
        try c.encode(costs, forKey: .costs)
    }

    /// The terminal summary.
    public var summary: String {
        var lines = [
            String(format: "accuracy %.2f%% on %d test messages%@", accuracy * 100, testExamples, heldOutIntents.isEmpty ? "" : " of known intents"),
            String(format: "automated %.1f%% of the test set at %.2f%% error (target %.2f%%, confidence %.0f%%), certified threshold %@, unknown threshold %.3f",
                   coverage * 100, risk * 100, training.options.targetRisk * 100, training.options.confidenceLevel * 100,
                   threshold.map { String(format: "%.3f", $0) } ?? "none", unknownThreshold),
            String(format: "calibration error on test %.3f; training took %.1f s", expectedCalibrationError, training.seconds),
        ]
        if let seenCoverage, let unseenKeptAway {
            lines.append(String(format: "unseen intents (%d held out): %.1f%% of their messages kept from the AI; %.1f%% of known-intent messages automated",
                                heldOutIntents.count, unseenKeptAway * 100, seenCoverage * 100))
        }
        for row in costs {
            lines.append(String(format: "  %-24@ automated %5.1f%%  realised error %5.2f%%  cost per 1,000 conversations %@ %.0f",
                                row.label as NSString, row.automatedShare * 100, row.realisedRisk * 100, options.currency, row.costPer1000))
        }
        return lines.joined(separator: "\n")
    }
}
