import Foundation

/// What people found when they reviewed automated answers: how many were right and how many wrong.
public struct AuditCounts: Codable, Sendable, Hashable {
    /// Audited answers the reviewer confirmed.
    public var correct: Int
    /// Audited answers the reviewer found wrong: the errors every estimate counts.
    public var wrong: Int

    /// All audited answers: the trials of the binomial estimates.
    public var audited: Int { correct + wrong }

    /// - Precondition: both counts are at least 0 (a negative count has no meaning as evidence).
    public init(correct: Int, wrong: Int) {
        precondition(correct >= 0 && wrong >= 0, "audit counts cannot be negative")
        self.correct = correct
        self.wrong = wrong
    }

    /// Rejects negative counts, so that stored data cannot reach the estimates' preconditions.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let correct = try container.decode(Int.self, forKey: .correct)
        let wrong = try container.decode(Int.self, forKey: .wrong)
        guard correct >= 0 && wrong >= 0 else {
            throw DecodingError.dataCorruptedError(forKey: correct < 0 ? .correct : .wrong, in: container,
                                                   debugDescription: "audit counts cannot be negative")
        }
        self.init(correct: correct, wrong: wrong)
    }

    /// No audits yet: the starting point for sums.
    public static let zero = AuditCounts(correct: 0, wrong: 0)

    /// Pools two sets of audits (of the same model), e.g. successive days.
    public static func + (lhs: AuditCounts, rhs: AuditCounts) -> AuditCounts {
        AuditCounts(correct: lhs.correct + rhs.correct, wrong: lhs.wrong + rhs.wrong)
    }
}

/// The error rate of automated answers as seen by the audits, with its uncertainty.
///
/// Both two-sided intervals are given because they serve different readers: Wilson's is the
/// better summary of where the rate probably lies (close to nominal coverage, never empty),
/// Clopper–Pearson's is exact and never covers less than the stated level, which is what a
/// guarantee needs. The one-sided upper bound is the Clopper–Pearson bound the rest of Tandem
/// certifies with ("with confidence `level`, the error rate is at most `upperBound`"), so it is
/// the number the guardrail compares with the target risk α.
public struct ErrorEstimate: Codable, Sendable, Equatable {
    /// A two-sided interval as plain numbers, because `ClosedRange` does not encode as readable JSON.
    public struct Interval: Codable, Sendable, Equatable {
        /// Lowest plausible error rate at the level.
        public var lower: Double
        /// Highest plausible error rate at the level.
        public var upper: Double

        public init(_ range: ClosedRange<Double>) {
            lower = range.lowerBound
            upper = range.upperBound
        }
    }

    /// Audited answers the estimate rests on; shown so a reader can judge how much evidence there is.
    public var audited: Int
    /// Audited answers found wrong.
    public var wrong: Int
    /// Confidence level 1−δ of the intervals and of the bound, e.g. 0.95.
    public var level: Double
    /// wrong / audited; nil when nothing was audited (a rate of 0 would read as "no errors").
    public var errorRate: Double?
    /// Two-sided Wilson score interval at `level`.
    public var wilson: Interval
    /// Two-sided Clopper–Pearson interval at `level`.
    public var clopperPearson: Interval
    /// One-sided Clopper–Pearson upper bound at `level` (δ = 1 − level); 1 when nothing was
    /// audited or every audited answer was wrong.
    public var upperBound: Double

    /// - Precondition: `level` is in (0, 1).
    public init(_ counts: AuditCounts, level: Double) {
        precondition(level > 0 && level < 1, "the confidence level must be in (0, 1)")
        audited = counts.audited
        wrong = counts.wrong
        self.level = level
        errorRate = counts.audited == 0 ? nil : Double(counts.wrong) / Double(counts.audited)
        wilson = Interval(Binomial.wilson(successes: counts.wrong, trials: counts.audited, level: level))
        clopperPearson = Interval(Binomial.clopperPearson(successes: counts.wrong, trials: counts.audited, level: level))
        upperBound = Binomial.upperBound(errors: counts.wrong, trials: counts.audited, delta: 1 - level)
    }

    /// The counts the estimate rests on.
    public var counts: AuditCounts { AuditCounts(correct: audited - wrong, wrong: wrong) }
}

/// Error estimates per intent and for the whole workspace, for the quality page.
///
/// `overall` pools the audits as they are. Intents that are still building evidence are
/// audited more often (see `AuditSampling`), so the pooled rate leans towards them: it is the
/// error rate among audited answers, not among all automated answers. When the caller passes
/// how many automated answers each intent gave, `workspace` corrects for that by weighting
/// each intent's rate by its share of the automated answers. The guardrail acts on the
/// per-intent figures, where every answer of an intent had the same chance of being audited
/// at any one time.
public struct ErrorReport: Codable, Sendable, Equatable {
    /// One intent's estimate, in a list rather than a dictionary so the JSON keeps its order.
    public struct IntentRow: Codable, Sendable, Equatable {
        /// The intent's key.
        public var intent: String
        /// Its audits' estimate at the report's level.
        public var estimate: ErrorEstimate
        /// Automated answers the intent gave in the period, when the caller supplied them.
        public var automatedAnswers: Int?
    }

    /// Confidence level of every interval and bound in the report.
    public var level: Double
    /// All audits pooled: the error rate among audited answers.
    public var overall: ErrorEstimate
    /// The error rate among all automated answers, when their counts per intent were given.
    public var workspace: WeightedErrorEstimate?
    /// Sorted by intent key, so the output is stable.
    public var intents: [IntentRow]

    /// - Parameters:
    ///   - counts: audits per intent, of the model now serving.
    ///   - automatedAnswers: automated answers per intent over the same period; when given, the
    ///     report includes the volume-weighted `workspace` estimate. Intents that answered but
    ///     have no audits are included with their volume (they widen the bound).
    ///   - level: confidence level, e.g. 0.95.
    public init(byIntent counts: [String: AuditCounts], automatedAnswers: [String: Int]? = nil, level: Double) {
        self.level = level
        overall = ErrorEstimate(counts.values.reduce(.zero, +), level: level)
        let keys = Set(counts.keys).union(automatedAnswers.map { Array($0.keys) } ?? []).sorted()
        intents = keys.map { key in
            IntentRow(intent: key, estimate: ErrorEstimate(counts[key] ?? .zero, level: level), automatedAnswers: automatedAnswers?[key])
        }
        workspace = automatedAnswers.map { volumes in
            WeightedErrorEstimate(keys.map { (counts[$0] ?? .zero, max(0, volumes[$0] ?? 0)) }, level: level)
        }
    }
}

/// The error rate over all automated answers of a workspace, from audits sampled at different
/// rates per intent: each intent's audited rate weighted by its share of the automated answers.
///
/// The bound is simultaneous: each of the k intents with answers gets a one-sided
/// Clopper–Pearson bound at confidence 1 − δ/k (Bonferroni), so with confidence at least
/// 1 − δ all of them hold at once, and then so does their weighted sum. It is conservative —
/// the price of needing no assumption about how the intents' errors relate — and an intent
/// with answers but no audits contributes its whole weight to it.
public struct WeightedErrorEstimate: Codable, Sendable, Equatable {
    /// Automated answers over all intents: the population the estimate is about.
    public var automatedAnswers: Int
    /// Σ share × audited error rate; nil when an intent with answers has no audits (its rate is unknown).
    public var errorRate: Double?
    /// With confidence `level`, the workspace error rate is at most this; 0 when nothing was answered automatically.
    public var upperBound: Double
    /// Confidence level 1 − δ of the bound.
    public var level: Double

    /// - Parameter strata: each intent's audits and automated answers; intents without answers are ignored.
    /// - Precondition: `level` is in (0, 1).
    public init(_ strata: [(audits: AuditCounts, automatedAnswers: Int)], level: Double) {
        precondition(level > 0 && level < 1, "the confidence level must be in (0, 1)")
        let answering = strata.filter { $0.automatedAnswers > 0 }
        let total = answering.reduce(0) { $0 + $1.automatedAnswers }
        automatedAnswers = total
        self.level = level
        guard total > 0 else {
            errorRate = nil
            upperBound = 0
            return
        }
        let delta = (1 - level) / Double(answering.count)
        var rate: Double? = 0
        var bound = 0.0
        for stratum in answering {
            let weight = Double(stratum.automatedAnswers) / Double(total)
            let audits = stratum.audits
            bound += weight * Binomial.upperBound(errors: audits.wrong, trials: audits.audited, delta: delta)
            if audits.audited > 0, let sum = rate {
                rate = sum + weight * Double(audits.wrong) / Double(audits.audited)
            } else {
                rate = nil
            }
        }
        errorRate = rate
        upperBound = min(1, bound)
    }
}

/// The target as a count people can picture: how many automatic answers a week are expected to
/// be wrong, from the automatic answers of a period and the audited error rate over it.
///
/// The rate is the pooled audited one: intents still building evidence are audited more often
/// (`AuditSampling`), so it leans towards them (see `ErrorReport`). The interval is the
/// two-sided Clopper–Pearson interval of that rate at `level`, scaled by the weekly volume; the
/// volume itself is taken as known.
public struct WrongAnswersPerWeek: Codable, Sendable, Equatable {
    /// Automatic answers a week over the period.
    public var answersPerWeek: Double
    /// Expected wrong ones a week; nil before any audit.
    public var expected: Double?
    /// [lower, upper] at `level`; nil before any audit.
    public var interval: [Double]?
    /// What the target allows: answersPerWeek × α.
    public var allowed: Double
    public var level: Double

    /// - Precondition: `days` ≥ 1, α and `level` in (0, 1).
    public init(automaticAnswers: Int, days: Int, audits: AuditCounts, targetRisk: Double, level: Double) {
        precondition(days >= 1, "the period needs at least one day")
        let perWeek = Double(max(0, automaticAnswers)) * 7 / Double(days)
        let estimate = ErrorEstimate(audits, level: level)
        answersPerWeek = perWeek
        expected = estimate.errorRate.map { $0 * perWeek }
        interval = estimate.errorRate == nil ? nil : [estimate.clopperPearson.lower * perWeek, estimate.clopperPearson.upper * perWeek]
        allowed = perWeek * targetRisk
        self.level = level
    }
}
