import Foundation

/// Watches one intent's ordered audit verdicts for evidence that its error rate has risen from
/// at most α (H0) to κ·α or more (H1): a Bernoulli CUSUM of the log-likelihood ratio, scored on
/// integers so that its operating characteristics can be computed exactly.
///
/// **The statistic.** A wrong audit is evidence for H1 of ln κ nats; a correct one is evidence
/// for H0 of ln((1 − α)/(1 − κα)) nats (small: at α = 1%, κ = 3 it takes 54 correct audits to
/// outweigh one wrong). The score adds `wrongStep` for a wrong verdict and removes `correctStep`
/// for a right one, never going below 0, and alarms when it reaches `threshold`. The two steps
/// are the two log-likelihood ratios in a common unit, rounded to integers of at least 50 units
/// for a wrong verdict (so within 1%). Because the score falls back towards 0 during a good
/// period and never below it, a good history is not banked: a drift that starts after 5,000
/// good audits is caught as fast as one at the start, which a cumulative test (or the old
/// upper-bound rule, which pools every audit) cannot do.
///
/// **The guarantee.** For an intent whose audited answers are each wrong with probability at most
/// α given the ones before (the rate may change over time, as long as it stays at or below α),
/// the probability that the detector alarms within its first `horizon` audits (counted from
/// the start, or from its return to automatic answers) is at most δ. The threshold is the
/// lowest score for which that holds at exactly α, computed exactly: the score is a Markov
/// chain on the integers 0..<threshold, so the chance of an alarm within n audits is a
/// dynamic programme over its states (`runLengthDistribution`), not an asymptotic
/// approximation. Lower error rates only make alarms rarer: the score is monotone in every
/// verdict, so coupling each audit with one wrong with probability exactly α gives a path that
/// is at least as high at every step. The detector is meant to be run after every verdict, and
/// the guarantee is about the first crossing of the whole path, so it holds however often (or
/// rarely) anyone looks. It does not say "never": a CUSUM alarms eventually, also at α; past
/// the horizon the chance keeps growing (about 58% within 10,000 audits at exactly α with the
/// defaults, 2.4% at α/2), which is why the Audits page shows the figures for a year of the
/// workspace's audits. The classic bounds (Lorden's average run length ≥ e^h, or Ville's
/// inequality for the Shiryaev–Roberts sum, P(alarm within n) ≤ n·e^−h) hold too but are far
/// too loose to set a threshold that still catches κ·α within a few hundred audits.
public struct ChangeDetector: Codable, Sendable, Equatable {
    /// α: the error rate H0 allows.
    public var targetRisk: Double
    /// κ: H1 is an error rate of κ·α or more; between α and κ·α is the indifference zone, where
    /// the detector may or may not alarm.
    public var kappa: Double
    /// δ: the highest chance of a false demotion within `horizon` audits.
    public var delta: Double
    /// Audits over which the false-demotion chance is held at δ.
    public var horizon: Int
    /// Score units a correct audit removes.
    public var correctStep: Int
    /// Score units a wrong audit adds.
    public var wrongStep: Int
    /// Score at which the detector alarms.
    public var threshold: Int
    /// Nats of evidence per score unit, to state the score as a log-likelihood ratio.
    public var natsPerUnit: Double

    public static let defaultKappa = 3.0
    /// 700 audits: at α = 1%, δ = 5%, κ = 3 this gives a threshold of 4.37 nats, which demotes an
    /// intent at 0.5% within 10,000 audits in 2.4% of cases and catches one at 3% within a
    /// median of 235 audits (95th percentile 668).
    public static let defaultHorizon = 700
    /// Longest horizon accepted: the threshold search is a dozen dynamic programmes over it
    /// (about a second at α = 0.1%, where the score has thousands of states).
    public static let maximumHorizon = 10_000

    /// - Precondition: α, δ in (0, 1); κ > 1 with κ·α < 1; 1 ≤ horizon ≤ `maximumHorizon`.
    public init(targetRisk: Double, delta: Double, kappa: Double = defaultKappa, horizon: Int = defaultHorizon) {
        precondition(targetRisk > 0 && targetRisk < 1, "target risk must be in (0, 1)")
        precondition(delta > 0 && delta < 1, "delta must be in (0, 1)")
        precondition(kappa > 1 && kappa * targetRisk < 1, "kappa must be above 1 with kappa × target risk below 1")
        precondition(horizon >= 1 && horizon <= Self.maximumHorizon, "the horizon must be 1...\(Self.maximumHorizon) audits")
        self.targetRisk = targetRisk
        self.kappa = kappa
        self.delta = delta
        self.horizon = horizon
        let forH0 = log((1 - targetRisk) / (1 - kappa * targetRisk))
        let ratio = log(kappa) / forH0
        correctStep = max(1, Int((50 / ratio).rounded(.up)))
        wrongStep = max(1, Int((ratio * Double(correctStep)).rounded()))
        natsPerUnit = forH0 / Double(correctStep)
        threshold = Self.lowestThreshold(wrongStep: wrongStep, correctStep: correctStep, errorRate: targetRisk,
                                         horizon: horizon, delta: delta)
    }

    /// The threshold in nats of evidence (a log-likelihood ratio).
    public var evidenceNeeded: Double { Double(threshold) * natsPerUnit }

    /// The score after one more verdict.
    @inline(__always)
    public func step(_ score: Int, wrong: Bool) -> Int {
        wrong ? score + wrongStep : max(0, score - correctStep)
    }

    /// Runs the detector over `verdicts` in order (true: the answer was right).
    public func run(_ verdicts: some Sequence<Bool>) -> DetectorPath {
        var path = DetectorPath(audits: 0, wrong: 0, score: 0, threshold: threshold, evidence: 0, evidenceNeeded: evidenceNeeded,
                                alarmAt: nil, runStart: 1, runWrong: 0)
        for correct in verdicts {
            path.audits += 1
            if !correct { path.wrong += 1 }
            path.score = step(path.score, wrong: !correct)
            if path.score == 0 {
                path.runStart = path.audits + 1
                path.runWrong = 0
            } else if !correct {
                path.runWrong += 1
            }
            if path.alarmAt == nil && path.score >= threshold { path.alarmAt = path.audits }
        }
        path.evidence = Double(path.score) * natsPerUnit
        return path
    }

    /// `cdf[i]` = the probability that the detector has alarmed by audit i + 1, for independent
    /// audits each wrong with probability `errorRate`, starting from score 0. Exact up to
    /// floating-point rounding.
    public func runLengthDistribution(errorRate: Double, audits: Int) -> [Double] {
        Self.runLengthDistribution(wrongStep: wrongStep, correctStep: correctStep, threshold: threshold,
                                   errorRate: errorRate, audits: audits)
    }

    /// The probability of an alarm within `audits` audits at `errorRate` (exact).
    public func alarmProbability(errorRate: Double, within audits: Int) -> Double {
        runLengthDistribution(errorRate: errorRate, audits: audits).last ?? 0
    }

    /// `stopAbove`: stop once the alarm probability exceeds it (the threshold search only needs
    /// to know that), returning the distribution so far.
    static func runLengthDistribution(wrongStep: Int, correctStep: Int, threshold: Int, errorRate p: Double, audits: Int,
                                      stopAbove: Double = .infinity) -> [Double] {
        guard audits > 0 else { return [] }
        guard threshold > 0 else { return Array(repeating: 1, count: audits) }
        var now = [Double](repeating: 0, count: threshold)
        var next = now
        now[0] = 1
        var alarmed = 0.0
        var cdf = [Double]()
        cdf.reserveCapacity(audits)
        let q = 1 - p
        // The inner loop is the whole cost of the threshold search, so it works on raw buffers:
        // every index is in 0..<threshold by construction (max(0, s − down) ≤ s, and s + up is
        // only written below the threshold).
        now.withUnsafeMutableBufferPointer { nowBuffer in
            next.withUnsafeMutableBufferPointer { nextBuffer in
                var current = nowBuffer.baseAddress!, other = nextBuffer.baseAddress!
                // States above the highest reachable one hold no mass yet: skip them.
                var reach = 0
                for _ in 0..<audits {
                    let nextReach = min(threshold - 1, reach + wrongStep)
                    other.update(repeating: 0, count: nextReach + 1)
                    for s in 0...reach {
                        let mass = current[s]
                        if mass == 0 { continue }
                        other[max(0, s - correctStep)] += q * mass
                        let up = s + wrongStep
                        if up >= threshold { alarmed += p * mass } else { other[up] += p * mass }
                    }
                    reach = nextReach
                    swap(&current, &other)
                    cdf.append(min(1, alarmed))
                    if alarmed > stopAbove { break }
                }
            }
        }
        return cdf
    }

    /// The lowest threshold whose alarm probability within `horizon` audits at `errorRate` is at
    /// most δ. The probability falls as the threshold rises (a higher threshold is crossed later
    /// on every path), so a doubling search and bisection find it.
    static func lowestThreshold(wrongStep: Int, correctStep: Int, errorRate: Double, horizon: Int, delta: Double) -> Int {
        func passes(_ h: Int) -> Bool {
            (runLengthDistribution(wrongStep: wrongStep, correctStep: correctStep, threshold: h, errorRate: errorRate,
                                   audits: horizon, stopAbove: delta).last ?? 0) <= delta
        }
        var failing = 0
        var passing = wrongStep
        while !passes(passing) {
            failing = passing
            passing *= 2
        }
        while passing - failing > 1 {
            let middle = failing + (passing - failing) / 2
            if passes(middle) { passing = middle } else { failing = middle }
        }
        return passing
    }
}

/// The detector's state after an intent's verdicts, with what explains it.
public struct DetectorPath: Codable, Sendable, Equatable {
    /// Verdicts read.
    public var audits: Int
    /// Of those, wrong.
    public var wrong: Int
    /// The score after the last verdict.
    public var score: Int
    /// The score that demotes.
    public var threshold: Int
    /// The score as evidence for H1, in nats (a log-likelihood ratio).
    public var evidence: Double
    /// The threshold in nats.
    public var evidenceNeeded: Double
    /// The verdict (1-based) at which the score first reached the threshold, if it has.
    public var alarmAt: Int?
    /// The verdict (1-based) from which the score has been above 0 without a break: the stretch
    /// of audits the evidence now rests on (earlier ones have been outweighed).
    public var runStart: Int
    /// Wrong verdicts in that stretch.
    public var runWrong: Int

    /// How far the score is towards the threshold, 0...1 (1 once reached).
    public var progress: Double { threshold == 0 ? 1 : min(1, Double(score) / Double(threshold)) }
    /// Audits in the stretch the evidence rests on.
    public var runAudits: Int { max(0, audits - runStart + 1) }
}
