import Foundation
import TandemTensor

/// The guardrail's operating characteristics, measured rather than asserted: many simulated
/// audit streams of an intent with a known error rate, each run through the same code the
/// server runs (`ChangeDetector.step`, or the old rule's `LegacyGuardrail`), counting how many
/// are demoted and after how many audits.
///
/// Each run's audits are independent Bernoulli draws from a `SeededGenerator` seeded from
/// `seed` and the run's index, so a result is reproducible from its inputs alone.
public struct GuardrailSimulation: Codable, Sendable, Equatable {
    /// Which switching rule to simulate; raw values are the command line's `--rule`.
    public enum Rule: String, Codable, Sendable, CaseIterable {
        /// The change detector (`ChangeDetector`).
        case sequential
        /// The rule before it: upper bound above α with at least one wrong audit.
        case legacy
    }

    public var rule: Rule
    /// The simulated intent's true error rate.
    public var errorRate: Double
    /// Audits per run: the horizon the demoted share is about.
    public var audits: Int
    public var runs: Int
    public var seed: UInt64
    public var targetRisk: Double
    public var delta: Double
    /// The detector's κ and horizon (also reported for the legacy rule, which ignores them).
    public var kappa: Double
    public var horizon: Int
    /// The detector's threshold in nats; nil for the legacy rule.
    public var threshold: Double?
    /// Runs demoted within `audits` audits.
    public var demotedRuns: Int
    /// demotedRuns / runs.
    public var demotedShare: Double
    /// Over the demoted runs: the audit at which they were demoted (nearest-rank percentiles).
    public var auditsToDemotionMedian: Int?
    public var auditsToDemotionP95: Int?
    public var auditsToDemotionMean: Double?

    /// - Precondition: `errorRate` in [0, 1], `audits` and `runs` at least 1.
    public init(rule: Rule, guardrail: Guardrail, errorRate: Double, audits: Int, runs: Int, seed: UInt64) {
        precondition(errorRate >= 0 && errorRate <= 1, "the error rate must be in [0, 1]")
        precondition(audits >= 1 && runs >= 1, "need at least one audit and one run")
        self.rule = rule
        self.errorRate = errorRate
        self.audits = audits
        self.runs = runs
        self.seed = seed
        targetRisk = guardrail.targetRisk
        delta = guardrail.delta
        kappa = guardrail.detector.kappa
        horizon = guardrail.detector.horizon
        threshold = rule == .sequential ? guardrail.detector.evidenceNeeded : nil

        var demotions: [Int] = []
        switch rule {
        case .sequential:
            let detector = guardrail.detector
            for run in 0..<runs {
                var generator = Self.generator(seed: seed, run: run)
                var score = 0
                for audit in 1...audits {
                    score = detector.step(score, wrong: Self.wrong(errorRate, &generator))
                    if score >= detector.threshold {
                        demotions.append(audit)
                        break
                    }
                }
            }
        case .legacy:
            let rule = LegacyGuardrail(targetRisk: guardrail.targetRisk, delta: guardrail.delta)
            // auditsToClear(k) for k = 0, 1, …: the old rule fires after audit n with k wrong
            // exactly when k ≥ 1 and n < auditsToClear(k). Cached per k: each is a bisection.
            var clear: [Int] = [0]
            for run in 0..<runs {
                var generator = Self.generator(seed: seed, run: run)
                var wrong = 0
                for audit in 1...audits {
                    if Self.wrong(errorRate, &generator) { wrong += 1 }
                    while clear.count <= wrong { clear.append(rule.auditsToClear(wrong: clear.count)) }
                    if wrong >= 1 && audit < clear[wrong] {
                        demotions.append(audit)
                        break
                    }
                }
            }
        }
        demotedRuns = demotions.count
        demotedShare = Double(demotions.count) / Double(runs)
        demotions.sort()
        auditsToDemotionMedian = Self.percentile(demotions, 0.5)
        auditsToDemotionP95 = Self.percentile(demotions, 0.95)
        auditsToDemotionMean = demotions.isEmpty ? nil : Double(demotions.reduce(0, +)) / Double(demotions.count)
    }

    /// Nearest rank: the smallest value with at least `share` of the values at or below it.
    static func percentile(_ sorted: [Int], _ share: Double) -> Int? {
        guard !sorted.isEmpty else { return nil }
        let rank = Int((share * Double(sorted.count)).rounded(.up))
        return sorted[min(sorted.count, max(1, rank)) - 1]
    }

    /// Each run its own stream: the run's index mixed into the seed by one SplitMix64 step, so
    /// runs neither overlap nor depend on how many draws the runs before them used.
    static func generator(seed: UInt64, run: Int) -> SeededGenerator {
        var mixer = SeededGenerator(seed: seed ^ (UInt64(run) &* 0xD1B5_4A32_D192_ED03))
        return SeededGenerator(seed: mixer.next())
    }

    @inline(__always)
    static func wrong(_ rate: Double, _ generator: inout SeededGenerator) -> Bool {
        Double(generator.next() >> 11) * 0x1p-53 < rate
    }
}

/// What the Audits page says about the guardrail at the workspace's settings: how likely a good
/// intent is to be demoted within a year of audits and how fast a bad one is caught, from
/// `GuardrailSimulation`.
public struct GuardrailCharacteristics: Codable, Sendable, Equatable {
    /// Audits in a year at the workspace's pace (the horizon of the two good cases).
    public var yearlyAudits: Int
    /// An intent at half the target.
    public var halfTarget: GuardrailSimulation
    /// An intent exactly at the target.
    public var atTarget: GuardrailSimulation
    /// An intent at κ times the target, followed until demoted (up to 20 × the horizon audits).
    public var bad: GuardrailSimulation

    public init(guardrail: Guardrail, yearlyAudits: Int, runs: Int = 1_000, seed: UInt64 = 12) {
        let year = max(1, yearlyAudits)
        self.yearlyAudits = year
        let alpha = guardrail.targetRisk
        halfTarget = GuardrailSimulation(rule: .sequential, guardrail: guardrail, errorRate: alpha / 2, audits: year, runs: runs, seed: seed)
        atTarget = GuardrailSimulation(rule: .sequential, guardrail: guardrail, errorRate: alpha, audits: year, runs: runs, seed: seed)
        bad = GuardrailSimulation(rule: .sequential, guardrail: guardrail, errorRate: min(1, guardrail.detector.kappa * alpha),
                                  audits: max(1_000, 20 * guardrail.detector.horizon), runs: runs, seed: seed)
    }

    /// The figures in plain words, one sentence each.
    public var sentences: [String] {
        func share(_ s: GuardrailSimulation) -> String {
            s.demotedRuns == 0 ? "fewer than 1 in \(s.runs)" : String(format: "%.1f%%", s.demotedShare * 100)
        }
        let α = String(format: "%g%%", atTarget.targetRisk * 100)
        var lines = [
            "An intent whose answers are wrong \(String(format: "%g%%", halfTarget.errorRate * 100)) of the time (half the target) is "
                + "demoted by mistake within a year of audits (\(yearlyAudits)) in \(share(halfTarget)) of simulated years.",
            "One exactly at the target, \(α), is demoted within that year in \(share(atTarget)).",
        ]
        if let median = bad.auditsToDemotionMedian, let p95 = bad.auditsToDemotionP95 {
            lines.append("One wrong \(String(format: "%g%%", bad.errorRate * 100)) of the time (\(String(format: "%g", bad.kappa)) times the "
                + "target) is caught after a median of \(median) audits; 95% of the time within \(p95)"
                + (bad.demotedRuns < bad.runs ? " (\(share(bad)) caught within \(bad.audits))." : "."))
        }
        return lines
    }
}
