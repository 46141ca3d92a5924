import Foundation

/// Chooses the confidence threshold above which the AI may answer, with a finite-sample
/// guarantee in the Learn-then-Test framework (Angelopoulos et al., 2021):
///
/// For each threshold λ of a grid fixed in advance, the null hypothesis is "the error rate
/// among messages with confidence ≥ λ exceeds α". Its p-value is the exact binomial tail
/// P(X ≤ errors | n, α) over the n calibration messages above λ (the Clopper–Pearson bound).
///
/// The hypotheses are tested from the strictest threshold down with Wiens' fallback procedure,
/// which controls the family-wise error rate at δ: hypothesis j gets the level δ·wⱼ plus the
/// level of its predecessor if that was rejected, and one that is not rejected costs only its
/// own share instead of stopping the search (plain fixed-sequence testing would stop at the
/// first of the strict thresholds, where a single confidently-wrong message, e.g. a
/// mislabelled one, is enough to fail). Thresholds with fewer messages than could ever reject
/// at the full δ are left out of the family (this uses the confidences only, never whether
/// answers were right). Half of δ goes to the strictest tested threshold, so that while its
/// successors keep being rejected the search runs at level ≥ δ/2 (close to fixed-sequence
/// testing, which small calibration sets need); the other half is spread over the rest with
/// geometrically decaying weights, so that an early failure does not end the search.
///
/// So with probability at least 1−δ over the calibration sample, every certified threshold —
/// in particular the lowest, which is used — has an error rate of at most α among the
/// messages it lets through, for messages drawn like the calibration sample.
public struct RiskControl: Sendable {
    public let targetRisk: Double
    public let delta: Double
    public let grid: [Double]

    /// Thresholds, strictest first: fine steps near 1 (where most confident answers sit), then
    /// every 0.005 down to 0.
    public static let defaultGrid: [Double] = [0.9999, 0.9995, 0.999, 0.9975] + stride(from: 0.995, to: 0.0, by: -0.005).map { ($0 * 1000).rounded() / 1000 } + [0]

    /// Share of δ for the strictest tested threshold.
    public var headShare = 0.5
    /// Ratio of successive weights of the others.
    public var decay = 0.95

    public init(targetRisk: Double, delta: Double, grid: [Double] = RiskControl.defaultGrid) {
        precondition(targetRisk > 0 && targetRisk < 1, "target risk must be in (0, 1)")
        precondition(delta > 0 && delta < 1, "delta must be in (0, 1)")
        self.targetRisk = targetRisk
        self.delta = delta
        self.grid = grid
    }

    /// One tested threshold, kept so the decision can be explained.
    public struct Test: Codable, Sendable, Equatable {
        public var threshold: Double
        public var automated: Int
        public var errors: Int
        /// Binomial p-value of "error rate > α".
        public var pValue: Double
        /// Level it was tested at (its share of δ plus what a rejected predecessor passed on);
        /// 0 for thresholds with too few messages to be tested.
        public var level: Double
        public var rejected: Bool
        /// Clopper–Pearson upper bound on the error rate at the tested level.
        public var upperBound: Double
    }

    public struct Certificate: Codable, Sendable, Equatable {
        public var targetRisk: Double
        public var delta: Double
        public var calibrationSize: Int
        /// The lowest certified threshold, or nil when none could be certified (then nothing
        /// is answered automatically).
        public var threshold: Double?
        /// Share of calibration messages at or above the threshold, and their error rate.
        public var coverage: Double
        public var errorRate: Double
        public var upperBound: Double
        public var tests: [Test]
    }

    /// Fewest messages with which "error rate > α" can be rejected at level δ: n with
    /// (1 − α)ⁿ ≤ δ, i.e. even with no errors at all.
    public var minimumCount: Int { Int((log(delta) / log1p(-targetRisk)).rounded(.up)) }

    public func certify(confidences: [Double], correct: [Bool]) -> Certificate {
        precondition(confidences.count == correct.count, "one outcome per confidence")
        // Sort once; then every threshold's counts are a prefix.
        let order = confidences.indices.sorted { confidences[$0] > confidences[$1] || (confidences[$0] == confidences[$1] && $0 < $1) }
        var prefixErrors = [0]
        for i in order { prefixErrors.append(prefixErrors.last! + (correct[i] ? 0 : 1)) }
        var counts: [(threshold: Double, n: Int, k: Int)] = []
        var pointer = 0
        for threshold in grid {
            while pointer < order.count && confidences[order[pointer]] >= threshold { pointer += 1 }
            counts.append((threshold, pointer, prefixErrors[pointer]))
        }
        // The family: thresholds with enough messages; half of δ on the first, the rest decaying.
        let testable = counts.indices.filter { counts[$0].n >= minimumCount }
        let tailSum = testable.indices.dropFirst().reduce(0.0) { $0 + pow(decay, Double($1 - 1)) }
        var weight: [Int: Double] = [:]
        for (rank, index) in testable.enumerated() {
            if rank == 0 {
                weight[index] = testable.count == 1 ? 1 : headShare
            } else {
                weight[index] = (1 - headShare) * pow(decay, Double(rank - 1)) / tailSum
            }
        }

        var tests: [Test] = []
        var carried = 0.0
        var best: Test?
        for (index, entry) in counts.enumerated() {
            let (threshold, n, k) = entry
            guard let share = weight[index] else {
                tests.append(Test(threshold: threshold, automated: n, errors: k, pValue: 1, level: 0, rejected: false, upperBound: 1))
                continue
            }
            let level = delta * share + carried
            let p = k >= n ? 1 : Beta.regularized(1 - targetRisk, a: Double(n - k), b: Double(k + 1))
            let rejected = p <= level
            let test = Test(threshold: threshold, automated: n, errors: k, pValue: p, level: level, rejected: rejected,
                            upperBound: Binomial.upperBound(errors: k, trials: n, delta: level))
            tests.append(test)
            carried = rejected ? level : 0
            if rejected { best = test }
        }
        let total = Double(max(confidences.count, 1))
        return Certificate(
            targetRisk: targetRisk, delta: delta, calibrationSize: confidences.count, threshold: best?.threshold,
            coverage: Double(best?.automated ?? 0) / total,
            errorRate: best.map { $0.automated == 0 ? 0 : Double($0.errors) / Double($0.automated) } ?? 0,
            upperBound: best?.upperBound ?? 1, tests: tests)
    }
}
