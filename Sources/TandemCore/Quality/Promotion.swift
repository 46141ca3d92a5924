import Foundation

/// What one model did with one labelled message.
public struct ModelOutcome: Codable, Sendable, Hashable {
    /// The model would have answered automatically (confidence at or above its certified threshold).
    public var answered: Bool
    /// Its predicted intent matches the label (whether or not it answered).
    public var correct: Bool

    public init(answered: Bool, correct: Bool) {
        self.answered = answered
        self.correct = correct
    }
}

/// Both models on the same labelled message.
public struct PromotionSample: Codable, Sendable, Hashable {
    /// The model now serving.
    public var current: ModelOutcome
    /// The retrained model asking to replace it.
    public var candidate: ModelOutcome

    public init(current: ModelOutcome, candidate: ModelOutcome) {
        self.current = current
        self.candidate = candidate
    }
}

/// A model's certificate from training (`RiskControl.Certificate`): the share of messages it
/// is certified to answer and the bound on its error rate among them.
public struct CertifiedFigures: Codable, Sendable, Hashable {
    /// Share of calibration messages at or above the certified threshold: the guaranteed coverage.
    public var coverage: Double
    /// Upper bound on the error rate of those messages; 1 when nothing could be certified.
    public var errorUpperBound: Double

    public init(coverage: Double, errorUpperBound: Double) {
        self.coverage = coverage
        self.errorUpperBound = errorUpperBound
    }
}

/// One model's results on the promotion traffic.
public struct TrafficResult: Codable, Sendable, Equatable {
    /// Labelled messages in the traffic.
    public var messages: Int
    /// Messages it would have answered automatically, and how many of those were wrong.
    public var answered: Int
    /// Of the answered messages, those whose predicted intent disagrees with the label.
    public var wrongAnswers: Int
    /// answered / messages.
    public var coverage: Double
    /// wrongAnswers / answered; nil when it answered nothing.
    public var errorRate: Double?
    /// Share of all messages whose predicted intent matches the label.
    public var accuracy: Double
    /// One-sided Clopper–Pearson upper bound at 1−δ on the error rate of its automated answers.
    public var upperBound: Double

    init(_ outcomes: [ModelOutcome], delta: Double) {
        messages = outcomes.count
        answered = outcomes.filter(\.answered).count
        wrongAnswers = outcomes.filter { $0.answered && !$0.correct }.count
        coverage = messages == 0 ? 0 : Double(answered) / Double(messages)
        errorRate = answered == 0 ? nil : Double(wrongAnswers) / Double(answered)
        accuracy = messages == 0 ? 0 : Double(outcomes.filter(\.correct).count) / Double(messages)
        upperBound = Binomial.upperBound(errors: wrongAnswers, trials: answered, delta: delta)
    }
}

/// The promotion check's verdict, with every number it used.
public struct PromotionDecision: Codable, Sendable, Equatable {
    /// The checks, in the order they are reported. Raw values are stored: never rename them.
    public enum Criterion: String, Codable, Sendable, CaseIterable {
        /// The candidate's training certificate meets α.
        case certified = "certified"
        /// The candidate's error bound on the recent traffic meets α.
        case trafficErrorBound = "traffic-error-bound"
        /// The candidate's certified coverage is not worse than the current model's.
        case coverage = "coverage"
    }

    /// Whether the candidate replaces the current model.
    public var promote: Bool
    /// The criteria the candidate failed; empty exactly when it is promoted.
    public var failed: [Criterion]
    /// One sentence per criterion, with the numbers and whether it passed.
    public var reasons: [String]
    /// The current model on the traffic, for the supervisor's comparison (not a criterion).
    public var current: TrafficResult
    /// The candidate on the traffic: the `traffic-error-bound` criterion's numbers.
    public var candidate: TrafficResult
    /// The certificates the `certified` and `coverage` criteria compared.
    public var currentCertified: CertifiedFigures
    public var candidateCertified: CertifiedFigures
    /// The settings the check ran with, so the decision can be re-checked later.
    public var targetRisk: Double
    public var delta: Double
    public var coverageTolerance: Double
}

/// The check a retrained candidate model must pass before it replaces the current one.
///
/// Both models are run on the same recent labelled traffic that the candidate did not train
/// on (the caller's duty: traffic the candidate trained on would flatter it). The candidate is
/// promoted only if all of these hold:
///
/// 1. **certified**: its own training certificate meets α (error upper bound ≤ α). A model that
///    certified no threshold has bound 1 and would answer nothing.
/// 2. **traffic-error-bound**: on the traffic, the one-sided Clopper–Pearson upper bound at 1−δ
///    on the error rate of the answers it would have sent automatically is ≤ α. This is what
///    catches a model that learnt from bad labels: its certificate can look fine, because its
///    calibration split carries the same bad labels, but its confident answers disagree with
///    fresh, correctly labelled traffic. It also needs enough traffic: with no wrong answers at
///    all, the bound reaches α only after ln δ / ln(1−α) automated answers (299 for α = 1%,
///    δ = 5%), so a thin sample rejects rather than promotes.
/// 3. **coverage**: its certified (guaranteed) coverage is not worse than the current model's:
///    at least the current one minus `coverageTolerance`, which is 0 by default. Certified
///    coverages come from different calibration samples, so a workspace that prefers not to
///    reject an equally good model on that noise can allow a small drop (0.005 = half a point);
///    a model that automates visibly less is never worth the switch.
///
/// The current model's traffic results are computed alongside, for the supervisor's comparison.
public struct PromotionCheck: Codable, Sendable, Equatable {
    /// α: the error rate the candidate's automated answers must stay under.
    public var targetRisk: Double
    /// δ: the traffic bound holds with confidence 1−δ.
    public var delta: Double
    /// Largest drop in certified coverage still accepted, as a fraction (0.005 = 0.5 points).
    public var coverageTolerance: Double

    /// - Precondition: `targetRisk` and `delta` in (0, 1), `coverageTolerance` in [0, 1).
    public init(targetRisk: Double, delta: Double, coverageTolerance: Double = 0) {
        precondition(targetRisk > 0 && targetRisk < 1, "target risk must be in (0, 1)")
        precondition(delta > 0 && delta < 1, "delta must be in (0, 1)")
        precondition(coverageTolerance >= 0 && coverageTolerance < 1, "coverage tolerance must be in [0, 1)")
        self.targetRisk = targetRisk
        self.delta = delta
        self.coverageTolerance = coverageTolerance
    }

    /// Runs the three checks. `traffic` must be recent labelled messages neither model trained
    /// or calibrated on; `current` and `candidate` are the models' training certificates.
    public func evaluate(traffic: [PromotionSample], current currentCertified: CertifiedFigures,
                         candidate candidateCertified: CertifiedFigures) -> PromotionDecision {
        let current = TrafficResult(traffic.map(\.current), delta: delta)
        let candidate = TrafficResult(traffic.map(\.candidate), delta: delta)
        let level = String(format: "%g%%", (1 - delta) * 100)
        var failed: [PromotionDecision.Criterion] = []
        var reasons: [String] = []
        func check(_ criterion: PromotionDecision.Criterion, _ passed: Bool, _ sentence: String) {
            if !passed { failed.append(criterion) }
            reasons.append((passed ? "passes " : "fails ") + criterion.rawValue + ": " + sentence)
        }

        let certified = candidateCertified.errorUpperBound <= targetRisk
        check(.certified, certified, "the candidate's training error bound \(percent(candidateCertified.errorUpperBound)) "
            + (certified ? "<=" : ">") + " α \(percent(targetRisk))")

        let trafficBound = candidate.upperBound <= targetRisk
        let observed = candidate.errorRate.map { " (\(percent($0)))" } ?? ""
        check(.trafficErrorBound, trafficBound, "on \(candidate.messages) recent messages the candidate would have answered "
            + "\(candidate.answered), \(candidate.wrongAnswers) wrongly\(observed); \(level) upper bound \(percent(candidate.upperBound)) "
            + (trafficBound ? "<=" : ">") + " α \(percent(targetRisk)) (current model: \(current.answered) answered, "
            + "\(current.wrongAnswers) wrongly, bound \(percent(current.upperBound)))")

        let floor = currentCertified.coverage - coverageTolerance
        let coverage = candidateCertified.coverage >= floor
        let allowance = coverageTolerance > 0 ? " minus \(percent(coverageTolerance)) tolerance = \(percent(floor))" : ""
        check(.coverage, coverage, "certified coverage \(percent(candidateCertified.coverage)) "
            + (coverage ? ">=" : "<") + " current \(percent(currentCertified.coverage))" + allowance)

        return PromotionDecision(promote: failed.isEmpty, failed: failed, reasons: reasons, current: current, candidate: candidate,
                                 currentCertified: currentCertified, candidateCertified: candidateCertified,
                                 targetRisk: targetRisk, delta: delta, coverageTolerance: coverageTolerance)
    }
}

private func percent(_ share: Double) -> String {
    String(format: "%.2f%%", share * 100)
}
