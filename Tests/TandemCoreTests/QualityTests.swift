import Foundation
import TandemTensor
import Testing
@testable import TandemCore

// MARK: - Audit sampling

@Suite("Audit sampling")
struct AuditSamplingTests {
    @Test("rate by evidence: build-up below the target, base from it on", arguments: [
        (AuditSampling(), 0, 0.5, AuditDecision.Reason.buildingEvidence),
        (AuditSampling(), 29, 0.5, .buildingEvidence),
        (AuditSampling(), 30, 0.05, .baseRate),
        (AuditSampling(), 10_000, 0.05, .baseRate),
        // The build-up rate never lowers the rate below the base.
        (AuditSampling(baseRate: 0.2, buildUpRate: 0.1), 0, 0.2, .buildingEvidence),
        // Broken settings: clamped, and NaN audits everything.
        (AuditSampling(baseRate: 1.5), 100, 1, .baseRate),
        (AuditSampling(baseRate: -0.1, buildUpRate: -1), 0, 0, .buildingEvidence),
        (AuditSampling(baseRate: .nan), 100, 1, .baseRate),
        (AuditSampling(evidenceTarget: 0), 0, 0.05, .baseRate),
    ])
    func rates(_ sampling: AuditSampling, _ audits: Int, _ rate: Double, _ reason: AuditDecision.Reason) {
        let chosen = sampling.rate(audits: audits)
        #expect(chosen.rate == rate)
        #expect(chosen.reason == reason)
        #expect(sampling.decide(audits: audits, seed: 7).rate == rate)
    }

    // Draws pinned against an independent Python SplitMix64 (first output for the seed, top 53
    // bits), so that a change of mapping, which would make past audit records unreplayable, fails.
    @Test("draws are a fixed function of the seed", arguments: [
        (UInt64(0), 0.43152799704850997),
        (1, 0.7457817572627011),
        (42, 0.1599103928769201),
        (AuditSampling.stableHash("conv-0001"), 0.9636055318662688),
    ])
    func pinnedDraws(_ seed: UInt64, _ draw: Double) {
        #expect(AuditSampling.draw(seed: seed) == draw)
    }

    @Test("decisions are deterministic and audited exactly when draw < rate", arguments: [
        (UInt64(42), 0, true),   // draw 0.160 < 0.5
        (42, 30, false),         // draw 0.160 >= 0.05
        (0, 5, true),            // draw 0.432 < 0.5
        (1, 5, false),           // draw 0.746 >= 0.5
    ])
    func deterministic(_ seed: UInt64, _ audits: Int, _ audited: Bool) {
        let sampling = AuditSampling()
        let first = sampling.decide(audits: audits, seed: seed)
        #expect(first == sampling.decide(audits: audits, seed: seed))
        #expect(first.audit == audited)
        #expect(first.audits == audits)
        #expect(first.explanation.contains(audited ? "audited" : "not audited"))
    }

    @Test("over consecutive seeds the audited share matches the rate", arguments: [0.05, 0.5, 0.0, 1.0])
    func empiricalRate(_ rate: Double) {
        let sampling = AuditSampling(baseRate: rate, evidenceTarget: 0)
        let n = 20_000
        let audited = (0..<UInt64(n)).filter { sampling.decide(audits: 0, seed: $0).audit }.count
        // Four standard deviations of a binomial share.
        let tolerance = 4 * (rate * (1 - rate) / Double(n)).squareRoot()
        #expect(abs(Double(audited) / Double(n) - rate) <= tolerance, "audited \(audited) of \(n) at rate \(rate)")
    }

    @Test("the stable hash is 64-bit FNV-1a", arguments: [
        ("", UInt64(0xcbf2_9ce4_8422_2325)),
        ("a", 0xaf63_dc4c_8601_ec8c),
        ("foobar", 0x8594_4171_f739_67e8),
    ])
    func fnv(_ text: String, _ hash: UInt64) {
        #expect(AuditSampling.stableHash(text) == hash)
    }

    @Test("the explanation names the evidence and the rates")
    func explanation() {
        let building = AuditSampling().decide(audits: 12, seed: 42)
        #expect(building.explanation.contains("12 of the 30 audits"))
        #expect(building.explanation.contains("50.0%") && building.explanation.contains("base 5.0%"))
        let base = AuditSampling().decide(audits: 45, seed: 42)
        #expect(base.reason == .baseRate && base.explanation.contains("base rate 5.0%"))
    }
}

// MARK: - Error estimates

@Suite("Error estimates")
struct ErrorEstimateTests {
    // Reference values from SciPy 1.17 (binomtest(k, n).proportion_ci(0.95, 'exact' / 'wilson'),
    // beta.ppf(0.95, k + 1, n − k) for the one-sided bound).
    @Test("Wilson, Clopper–Pearson and the one-sided bound match SciPy", arguments: [
        (5, 100, 0.021543679154367973, 0.11175046923191914, 0.016431879181728278, 0.11283491110546288, 0.1022533776432745),
        (3, 40, 0.025836025774588198, 0.19864233524310543, 0.015742179851041527, 0.20386474873289898, 0.18258685001590122),
        (12, 120, 0.05813359202601076, 0.166681741108952, 0.05274778639043278, 0.16816521270267518, 0.15698351392816026),
        (0, 30, 0, 0.11351339317396875, 0, 0.11570330822202743, 0.09503385285530411),
    ])
    func knownValues(_ wrong: Int, _ audited: Int, _ wilsonLow: Double, _ wilsonHigh: Double,
                     _ cpLow: Double, _ cpHigh: Double, _ upper: Double) {
        let estimate = ErrorEstimate(AuditCounts(correct: audited - wrong, wrong: wrong), level: 0.95)
        #expect(estimate.errorRate == Double(wrong) / Double(audited))
        #expect(abs(estimate.wilson.lower - wilsonLow) < 1e-9 && abs(estimate.wilson.upper - wilsonHigh) < 1e-9)
        #expect(abs(estimate.clopperPearson.lower - cpLow) < 1e-9 && abs(estimate.clopperPearson.upper - cpHigh) < 1e-9)
        #expect(abs(estimate.upperBound - upper) < 1e-9)
        // The one-sided bound at 95% is tighter than the two-sided upper end.
        #expect(estimate.upperBound < estimate.clopperPearson.upper)
    }

    @Test("nothing audited: no rate, widest intervals, bound 1")
    func empty() {
        let estimate = ErrorEstimate(.zero, level: 0.95)
        #expect(estimate.errorRate == nil)
        #expect(estimate.wilson == .init(0...1) && estimate.clopperPearson == .init(0...1))
        #expect(estimate.upperBound == 1)
    }

    @Test("the report pools intents and lists them sorted")
    func report() throws {
        let report = ErrorReport(byIntent: [
            "refund": AuditCounts(correct: 38, wrong: 2),
            "card_arrival": AuditCounts(correct: 57, wrong: 3),
        ], level: 0.95)
        #expect(report.intents.map(\.intent) == ["card_arrival", "refund"])
        #expect(report.overall.audited == 100 && report.overall.wrong == 5)
        #expect(abs(report.overall.upperBound - 0.1022533776432745) < 1e-9)
        let decoded = try JSONDecoder().decode(ErrorReport.self, from: JSONEncoder().encode(report))
        #expect(decoded == report)
    }
}

@Suite("Workspace error estimate")
struct WeightedErrorEstimateTests {
    @Test("weights each intent's audited rate by its automated answers, not by its audits")
    func weighting() throws {
        // "refund" is still building evidence, so it is audited at 50% while "card" is at 5%:
        // pooled, its errors count for far more than its share of the answers.
        let report = ErrorReport(byIntent: [
            "card": AuditCounts(correct: 100, wrong: 0),
            "refund": AuditCounts(correct: 40, wrong: 10),
        ], automatedAnswers: ["card": 9000, "refund": 1000, "pin": 0], level: 0.95)
        #expect(abs(try #require(report.overall.errorRate) - 10.0 / 150) < 1e-12)
        let workspace = try #require(report.workspace)
        #expect(workspace.automatedAnswers == 10_000)
        #expect(abs(try #require(workspace.errorRate) - 0.02) < 1e-12)
        // Bonferroni over the two intents that answered: each bound at 1 − 0.05/2.
        let expected = 0.9 * Binomial.upperBound(errors: 0, trials: 100, delta: 0.025)
            + 0.1 * Binomial.upperBound(errors: 10, trials: 50, delta: 0.025)
        #expect(abs(workspace.upperBound - expected) < 1e-12)
        #expect(report.intents.map(\.intent) == ["card", "pin", "refund"])
        #expect(report.intents.map(\.automatedAnswers) == [9000, 0, 1000])
        #expect(ErrorReport(byIntent: ["card": AuditCounts(correct: 1, wrong: 0)], level: 0.95).workspace == nil)
    }

    @Test("an intent that answered without audits leaves the rate unknown and bounds its share at 1")
    func unauditedIntent() {
        let estimate = WeightedErrorEstimate([(AuditCounts(correct: 500, wrong: 0), 800), (.zero, 200)], level: 0.95)
        #expect(estimate.errorRate == nil)
        #expect(abs(estimate.upperBound - (0.8 * Binomial.upperBound(errors: 0, trials: 500, delta: 0.025) + 0.2)) < 1e-12)
        let nothing = WeightedErrorEstimate([(.zero, 0)], level: 0.95)
        #expect(nothing.automatedAnswers == 0 && nothing.errorRate == nil && nothing.upperBound == 0)
    }

    @Test("the bound covers the true workspace rate at least at the stated level")
    func coverage() {
        // Three intents with known error rates, audited at different rates; how often does the
        // 90% bound fall below the true volume-weighted rate? At most 10% of the time.
        let strata: [(rate: Double, audits: Int, volume: Int)] = [(0.01, 200, 7000), (0.05, 60, 2000), (0.2, 15, 1000)]
        let truth = strata.reduce(0) { $0 + $1.rate * Double($1.volume) } / 10_000
        var generator = SeededGenerator(seed: 2024)
        let runs = 2000
        var misses = 0
        for _ in 0..<runs {
            let sampled = strata.map { stratum -> (audits: AuditCounts, automatedAnswers: Int) in
                let wrong = (0..<stratum.audits).filter { _ in Double.random(in: 0..<1, using: &generator) < stratum.rate }.count
                return (AuditCounts(correct: stratum.audits - wrong, wrong: wrong), stratum.volume)
            }
            if WeightedErrorEstimate(sampled, level: 0.9).upperBound < truth { misses += 1 }
        }
        #expect(misses <= runs / 10, "the bound missed \(misses) of \(runs) times")
    }

    @Test("stored audit counts cannot be negative")
    func decodingRejectsNegativeCounts() throws {
        let valid = try JSONDecoder().decode(AuditCounts.self, from: Data(#"{"correct": 3, "wrong": 1}"#.utf8))
        #expect(valid == AuditCounts(correct: 3, wrong: 1))
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(AuditCounts.self, from: Data(#"{"correct": 3, "wrong": -1}"#.utf8))
        }
    }
}

// MARK: - Guardrail

struct GuardrailCase: Sendable, CustomTestStringConvertible {
    let name: String
    var guardrail = standardGuardrail
    let input: GuardrailInput
    var killSwitch = false
    let kind: GuardrailAction.Kind
    let guarded: Bool
    let routing: AutomationMode
    var testDescription: String { name }
}

/// α = 1%, δ = 5%, κ = 3, horizon 700: the defaults. Built once (the threshold search runs dynamic programmes).
private let standardGuardrail = Guardrail(targetRisk: 0.01, delta: 0.05)

/// `audited` verdicts in order, wrong at the given 1-based positions.
private func stream(wrongAt wrong: Set<Int>, of audited: Int) -> [Bool] {
    (1...max(1, audited)).prefix(audited).map { !wrong.contains($0) }
}

private func audits(_ wrong: Int, of audited: Int) -> AuditCounts {
    AuditCounts(correct: audited - wrong, wrong: wrong)
}

private let withReason = SupervisorOverride(supervisor: "dana", reason: "wrong answers came from a mislabelled article, fixed")
private let blankReason = SupervisorOverride(supervisor: "dana", reason: "  ")
/// Four wrong answers in a row after 100 right ones: 4 × 54 = 216 ≥ the threshold 214.
private let burst = stream(wrongAt: [101, 102, 103, 104], of: 110)

private let guardrailCases: [GuardrailCase] = [
    GuardrailCase(name: "nothing audited", input: .init(intent: "card"), kind: .none, guarded: false, routing: .auto),
    GuardrailCase(name: "30 audits, no errors", input: .init(intent: "card", verdicts: stream(wrongAt: [], of: 30)),
                  kind: .none, guarded: false, routing: .auto),
    // The old rule switched here (upper bound 14.9% > α with one wrong answer).
    GuardrailCase(name: "1 wrong of 30 is tolerated", input: .init(intent: "card", verdicts: stream(wrongAt: [3], of: 30)),
                  kind: .none, guarded: false, routing: .auto),
    GuardrailCase(name: "3 wrong in a row are tolerated", input: .init(intent: "card", verdicts: stream(wrongAt: [101, 102, 103], of: 110)),
                  kind: .none, guarded: false, routing: .auto),
    GuardrailCase(name: "a burst of 4 wrong switches", input: .init(intent: "card", verdicts: burst),
                  kind: .switchToDraft, guarded: true, routing: .draftOnly),
    // The same 4 wrong answers spread out: each is outweighed by the correct ones after it.
    GuardrailCase(name: "4 wrong spread over 400 are tolerated",
                  input: .init(intent: "card", verdicts: stream(wrongAt: [50, 150, 250, 350], of: 400)),
                  kind: .none, guarded: false, routing: .auto),
    // 6 wrong of 500 pooled (1.2%) switched under the old rule; in the detector it depends on when.
    GuardrailCase(name: "6 wrong of 500, spread, are tolerated",
                  input: .init(intent: "card", verdicts: stream(wrongAt: [40, 120, 200, 280, 360, 440], of: 500)),
                  kind: .none, guarded: false, routing: .auto),
    // κ = 1.5 weighs each wrong answer less (ln 1.5 nats), to catch smaller rises over longer stretches.
    GuardrailCase(name: "a smaller κ tolerates the burst: 4 in a row do not switch at κ = 1.5",
                  guardrail: Guardrail(targetRisk: 0.01, delta: 0.05, kappa: 1.5), input: .init(intent: "card", verdicts: burst),
                  kind: .none, guarded: false, routing: .auto),

    // Coming back.
    GuardrailCase(name: "guarded stays guarded without fresh evidence, promotion or override",
                  input: .init(intent: "card", verdicts: burst, guarded: true), kind: .none, guarded: true, routing: .draftOnly),
    GuardrailCase(name: "guarded stays guarded at 298 agreeing verdicts",
                  input: .init(intent: "card", verdicts: burst, sinceSwitch: audits(0, of: 298), guarded: true),
                  kind: .none, guarded: true, routing: .draftOnly),
    GuardrailCase(name: "guarded is restored by 299 agreeing verdicts",
                  input: .init(intent: "card", verdicts: burst, sinceSwitch: audits(0, of: 299), guarded: true),
                  kind: .restoreAuto, guarded: false, routing: .auto),
    GuardrailCase(name: "one disagreement needs 473 verdicts: 472 do not restore",
                  input: .init(intent: "card", verdicts: burst, sinceSwitch: audits(1, of: 472), guarded: true),
                  kind: .none, guarded: true, routing: .draftOnly),
    GuardrailCase(name: "one disagreement needs 473 verdicts: 473 restore",
                  input: .init(intent: "card", verdicts: burst, sinceSwitch: audits(1, of: 473), guarded: true),
                  kind: .restoreAuto, guarded: false, routing: .auto),
    GuardrailCase(name: "guarded is restored after a promotion",
                  input: .init(intent: "card", verdicts: burst, guarded: true, promotedSinceSwitch: true),
                  kind: .restoreAuto, guarded: false, routing: .auto),
    GuardrailCase(name: "guarded is restored by an override with a reason",
                  input: .init(intent: "card", verdicts: burst, guarded: true, override: withReason),
                  kind: .restoreAuto, guarded: false, routing: .auto),
    GuardrailCase(name: "an override without a reason does not restore",
                  input: .init(intent: "card", verdicts: burst, guarded: true, override: blankReason),
                  kind: .none, guarded: true, routing: .draftOnly),
    GuardrailCase(name: "an override with a reason keeps an alarming intent automatic",
                  input: .init(intent: "card", verdicts: burst, override: withReason), kind: .none, guarded: false, routing: .auto),
    GuardrailCase(name: "an override without a reason does not stop the switch",
                  input: .init(intent: "card", verdicts: burst, override: blankReason),
                  kind: .switchToDraft, guarded: true, routing: .draftOnly),

    // Admins' modes.
    GuardrailCase(name: "draft-only intents are not switched", input: .init(intent: "card", verdicts: burst, mode: .draftOnly),
                  kind: .none, guarded: false, routing: .draftOnly),
    GuardrailCase(name: "off intents are not switched", input: .init(intent: "card", verdicts: burst, mode: .off),
                  kind: .none, guarded: false, routing: .off),

    // Kill switch: everything to people, bookkeeping continues.
    GuardrailCase(name: "kill switch sends a healthy intent to people", input: .init(intent: "card", verdicts: stream(wrongAt: [], of: 400)),
                  killSwitch: true, kind: .none, guarded: false, routing: .off),
    GuardrailCase(name: "kill switch still records an alarm", input: .init(intent: "card", verdicts: burst),
                  killSwitch: true, kind: .switchToDraft, guarded: true, routing: .off),
    GuardrailCase(name: "kill switch keeps a restored intent with people",
                  input: .init(intent: "card", guarded: true, promotedSinceSwitch: true),
                  killSwitch: true, kind: .restoreAuto, guarded: false, routing: .off),
]

@Suite("Quality guardrail")
struct GuardrailTests {
    @Test("rules", arguments: guardrailCases)
    func rules(_ c: GuardrailCase) {
        let action = c.guardrail.evaluate(c.input, killSwitch: c.killSwitch)
        #expect(action.kind == c.kind)
        #expect(action.guarded == c.guarded)
        #expect(action.routing == c.routing)
        #expect(action.evidence.first?.contains("kill switch") == c.killSwitch)
    }

    @Test("the default detector: steps and threshold from α, κ, δ and the horizon")
    func defaults() {
        let d = standardGuardrail.detector
        // ln 3 / ln(0.99 / 0.97) = 53.8: one wrong answer weighs as much as 54 right ones.
        #expect(d.correctStep == 1 && d.wrongStep == 54)
        #expect(d.threshold == 214, "4 wrong in a row switch, 3 do not")
        #expect(abs(d.evidenceNeeded - 4.3675) < 1e-3)
        // Large α: the steps are scaled so a wrong verdict is at least 50 units (rounding within 1%).
        let loose = ChangeDetector(targetRisk: 0.2, delta: 0.05)
        let ratio = log(3.0) / log(0.8 / 0.4)
        #expect(loose.wrongStep >= 50)
        #expect(abs(Double(loose.wrongStep) / Double(loose.correctStep) / ratio - 1) < 0.01)
    }

    @Test("the threshold is the lowest with at most δ chance of an alarm within the horizon at error α", arguments: [
        (0.01, 0.05, 3.0, 700), (0.01, 0.05, 3.0, 2_000), (0.05, 0.05, 3.0, 700), (0.01, 0.01, 2.0, 500), (0.1, 0.1, 3.0, 300),
    ])
    func thresholdIsLowest(_ alpha: Double, _ delta: Double, _ kappa: Double, _ horizon: Int) {
        let d = ChangeDetector(targetRisk: alpha, delta: delta, kappa: kappa, horizon: horizon)
        #expect(d.alarmProbability(errorRate: alpha, within: horizon) <= delta)
        let lower = ChangeDetector.runLengthDistribution(wrongStep: d.wrongStep, correctStep: d.correctStep, threshold: d.threshold - 1,
                                                          errorRate: alpha, audits: horizon).last ?? 0
        #expect(lower > delta, "one unit lower would break the guarantee")
    }

    /// The exact run-length distribution, checked against brute force on a tiny chart: every
    /// sequence of 12 verdicts, weighted by its probability.
    @Test("the dynamic programme agrees with enumerating every audit sequence")
    func dynamicProgrammeIsExact() {
        let (up, down, h, n, p) = (3, 1, 5, 12, 0.2)
        var alarmedBy = [Double](repeating: 0, count: n)
        for bits in 0..<(1 << n) {
            var score = 0, wrong = 0
            for i in 0..<n {
                let isWrong = bits & (1 << i) != 0
                if isWrong { wrong += 1 }
                score = isWrong ? score + up : max(0, score - down)
                if score >= h {
                    // Every continuation of this prefix is in the enumeration: weigh the prefix only.
                    let probability = pow(p, Double(wrong)) * pow(1 - p, Double(i + 1 - wrong))
                    if bits >> (i + 1) == 0 { for j in i..<n { alarmedBy[j] += probability } }
                    break
                }
            }
        }
        let cdf = ChangeDetector.runLengthDistribution(wrongStep: up, correctStep: down, threshold: h, errorRate: p, audits: n)
        for i in 0..<n { #expect(abs(cdf[i] - alarmedBy[i]) < 1e-12, "audit \(i + 1): \(cdf[i]) vs \(alarmedBy[i])") }
    }

    @Test("false demotions under H0 on simulated streams stay within δ over the horizon", arguments: [0.01, 0.007, 0.005, 0.002])
    func falseAlarmsBounded(_ rate: Double) {
        let g = standardGuardrail
        let runs = 4_000
        let simulated = GuardrailSimulation(rule: .sequential, guardrail: g, errorRate: rate, audits: g.detector.horizon, runs: runs, seed: 7)
        let sd = (0.05 * 0.95 / Double(runs)).squareRoot()
        #expect(simulated.demotedShare <= 0.05 + 3 * sd, "\(simulated.demotedShare) at \(rate)")
        // …and the simulation matches the exact figure (an independent calculation).
        let exact = g.detector.alarmProbability(errorRate: rate, within: g.detector.horizon)
        let sdExact = max(1e-4, (exact * (1 - exact) / Double(runs)).squareRoot())
        #expect(abs(simulated.demotedShare - exact) <= 4 * sdExact + 1.0 / Double(runs), "\(simulated.demotedShare) vs exact \(exact)")
    }

    @Test("an error rate that varies but stays at most α is no more likely to be demoted than one at α")
    func nonStationaryNull() {
        let d = standardGuardrail.detector
        let runs = 4_000
        var alarms = 0
        for run in 0..<runs {
            var generator = SeededGenerator(seed: 99 &+ UInt64(run) &* 7_919)
            var score = 0
            for audit in 1...d.horizon {
                // Good and bad weeks: 0.2% and exactly α, alternating every 50 audits.
                let rate = (audit / 50) % 2 == 0 ? 0.002 : 0.01
                score = d.step(score, wrong: Double(generator.next() >> 11) * 0x1p-53 < rate)
                if score >= d.threshold { alarms += 1; break }
            }
        }
        let share = Double(alarms) / Double(runs)
        #expect(share <= d.alarmProbability(errorRate: 0.01, within: d.horizon) + 3 * (0.05 * 0.95 / Double(runs)).squareRoot(), "\(share)")
    }

    @Test("the issue's figures: 0.5% rarely demoted within 10,000 audits, 3% caught within a few hundred")
    func operatingCharacteristics() throws {
        let g = standardGuardrail
        let good = GuardrailSimulation(rule: .sequential, guardrail: g, errorRate: 0.005, audits: 10_000, runs: 2_000, seed: 1)
        #expect(good.demotedShare <= 0.05, "\(good.demotedShare)")
        #expect(abs(good.demotedShare - g.detector.alarmProbability(errorRate: 0.005, within: 10_000)) < 0.012)
        let bad = GuardrailSimulation(rule: .sequential, guardrail: g, errorRate: 0.03, audits: 10_000, runs: 2_000, seed: 1)
        #expect(bad.demotedShare == 1)
        let median = try #require(bad.auditsToDemotionMedian), p95 = try #require(bad.auditsToDemotionP95)
        #expect(median <= 250 && p95 <= 700, "median \(median), p95 \(p95)")
        // The same percentiles from the exact distribution.
        let cdf = g.detector.runLengthDistribution(errorRate: 0.03, audits: 3_000)
        let exactMedian = cdf.firstIndex { $0 >= 0.5 }! + 1, exactP95 = cdf.firstIndex { $0 >= 0.95 }! + 1
        #expect(abs(median - exactMedian) <= 12 && abs(p95 - exactP95) <= 35, "\(median)/\(p95) vs exact \(exactMedian)/\(exactP95)")
    }

    @Test("a drift that starts after 5,000 good audits is caught as fast as one at the start")
    func lateDrift() {
        let d = standardGuardrail.detector
        var delays: [Int] = []
        var falseAlarms = 0
        for run in 0..<500 {
            var generator = SeededGenerator(seed: 2_024 &+ UInt64(run))
            var verdicts: [Bool] = []
            for audit in 1...7_000 { verdicts.append(Double(generator.next() >> 11) * 0x1p-53 >= (audit <= 5_000 ? 0.002 : 0.03)) }
            let path = d.run(verdicts)
            guard let at = path.alarmAt else { continue }
            if at <= 5_000 { falseAlarms += 1 } else { delays.append(at - 5_000) }
        }
        #expect(falseAlarms <= 5, "a 0.2% intent demoted within 5,000 audits in \(falseAlarms) of 500 runs")
        #expect(delays.count >= 490, "the drift was caught within 2,000 audits in \(delays.count) of \(500 - falseAlarms) runs")
        delays.sort()
        let median = delays[delays.count / 2]
        let fresh = d.runLengthDistribution(errorRate: 0.03, audits: 3_000).firstIndex { $0 >= 0.5 }! + 1
        #expect(median <= fresh + 40, "median delay after the drift \(median), from a fresh start \(fresh)")
    }

    @Test("evaluating after every verdict gives the answer of evaluating once at the end")
    func anyEvaluationSchedule() {
        let d = standardGuardrail.detector
        var generator = SeededGenerator(seed: 5)
        let verdicts = (0..<3_000).map { i in Double(generator.next() >> 11) * 0x1p-53 >= (i < 1_500 ? 0.005 : 0.03) }
        let whole = d.run(verdicts)
        let firstCrossing = (1...verdicts.count).first { d.run(verdicts.prefix($0)).score >= d.threshold }
        #expect(whole.alarmAt == firstCrossing)
        #expect(whole.alarmAt != nil)
    }

    @Test("the old rule reproduces the issue's table: most good intents demoted")
    func legacyTable() {
        let g = standardGuardrail
        let legacy = LegacyGuardrail(targetRisk: 0.01, delta: 0.05)
        // One wrong answer trips it below 473 audits, two below 628 (as documented before).
        #expect(legacy.auditsToClear(wrong: 1) == 473 && legacy.auditsToClear(wrong: 2) == 628)
        #expect(legacy.breached(audits(1, of: 472)) && !legacy.breached(audits(1, of: 473)) && !legacy.breached(audits(0, of: 10)))
        let good = GuardrailSimulation(rule: .legacy, guardrail: g, errorRate: 0.002, audits: 2_000, runs: 2_000, seed: 1)
        // At least the runs whose first wrong answer came before audit 473: 1 − 0.998^472.
        let firstWrongEarly = 1 - pow(0.998, 472.0)
        #expect(good.demotedShare >= firstWrongEarly - 0.035 && good.demotedShare <= firstWrongEarly + 0.08, "\(good.demotedShare)")
        let atTarget = GuardrailSimulation(rule: .legacy, guardrail: g, errorRate: 0.01, audits: 2_000, runs: 2_000, seed: 1)
        #expect(atTarget.demotedShare >= 0.99)
    }

    @Test("evidence states counts, the detector's score against its threshold, and the rule")
    func evidence() {
        let action = standardGuardrail.evaluate(GuardrailInput(intent: "card", verdicts: burst))
        #expect(action.evidence[0] == "card: 4 wrong of 110 audited (3.64%); 95% upper bound 8.13%, α 1.00%")
        #expect(action.evidence[1].hasPrefix("evidence that the error rate is 3.00% or more rather than at most 1.00%: 4.29 of the 4.37 needed to switch (98%)"),
                "\(action.evidence[1])")
        #expect(action.evidence[1].hasSuffix("it rests on audits 101–110, 4 of 10 wrong"), "\(action.evidence[1])")
        #expect(action.evidence[2] == "evidence that the error rate rose to 3.00% or more reached the threshold at audit 104: card switched to draft-only")
        #expect(action.detector.alarmAt == 104 && action.breached)

        let restored = standardGuardrail.evaluate(GuardrailInput(intent: "card", verdicts: burst, sinceSwitch: audits(0, of: 299), guarded: true))
        #expect(restored.restore?.certified == true && restored.restore?.agreeingNeeded == 0)
        #expect(restored.evidence.contains("since the switch people found 0 of 299 of card's would-be answers wrong (0.00%); 95% upper bound 1.00%, α 1.00%"),
                "\(restored.evidence)")
        #expect(restored.evidence.last?.contains("returns to automatic answers") == true)
        let waiting = standardGuardrail.evaluate(GuardrailInput(intent: "card", verdicts: burst, sinceSwitch: audits(0, of: 200), guarded: true))
        #expect(waiting.restore?.agreeingNeeded == 99)
        #expect(waiting.evidence.last?.contains("at least 99 more agreeing") == true, "\(waiting.evidence)")

        let ignored = standardGuardrail.evaluate(GuardrailInput(intent: "card", guarded: true, override: blankReason))
        #expect(ignored.evidence.last == "the override by dana has no reason and is ignored")
        let overridden = standardGuardrail.evaluate(GuardrailInput(intent: "card", guarded: true, override: withReason))
        #expect(overridden.evidence.last?.contains(withReason.reason) == true)
    }

    @Test("the report's workspace state drives routing")
    func reportFeedsRouting() throws {
        let report = standardGuardrail.evaluate([
            GuardrailInput(intent: "card", verdicts: burst),
            GuardrailInput(intent: "refund", verdicts: stream(wrongAt: [7], of: 50)),
            GuardrailInput(intent: "pin", guarded: true),
            GuardrailInput(intent: "fees", guarded: true, promotedSinceSwitch: true),
        ])
        #expect(report.actions.map(\.kind) == [.switchToDraft, .none, .none, .restoreAuto])
        #expect(report.workspace == WorkspaceState(killSwitch: false, guardrailDraftOnly: ["card", "pin"]))

        let input = RoutingInput(
            signals: MessageSignals(),
            prediction: Prediction(intent: "card", confidence: 0.99, threshold: 0.9, unknownThreshold: 0.3, familiarity: 0.8),
            intent: IntentSettings(key: "card", sensitive: false, automation: .auto),
            workspace: report.workspace)
        #expect(RoutingPolicy.decide(input).rule == .guardrail)

        let killed = standardGuardrail.evaluate([GuardrailInput(intent: "refund")], killSwitch: true)
        #expect(killed.workspace.killSwitch)
        let decoded = try JSONDecoder().decode(GuardrailReport.self, from: JSONEncoder().encode(killed))
        #expect(decoded == killed)
    }

    @Test("the Audits page's sentences come from the simulation at the workspace's settings")
    func characteristics() {
        let c = GuardrailCharacteristics(guardrail: standardGuardrail, yearlyAudits: 3_000, runs: 400, seed: 3)
        #expect(c.halfTarget.errorRate == 0.005 && c.atTarget.errorRate == 0.01 && abs(c.bad.errorRate - 0.03) < 1e-12)
        #expect(c.halfTarget.audits == 3_000 && c.bad.demotedShare == 1)
        #expect(c.sentences.count == 3)
        #expect(c.sentences[2].contains("median of \(c.bad.auditsToDemotionMedian!) audits"), "\(c.sentences)")
        let exact = standardGuardrail.detector.alarmProbability(errorRate: 0.01, within: 3_000)
        #expect(abs(c.atTarget.demotedShare - exact) < 4 * (exact * (1 - exact) / 400).squareRoot(), "\(c.atTarget.demotedShare) vs \(exact)")
    }
}

// MARK: - Shadow mode

@Suite("Shadow mode")
struct ShadowModeTests {
    let shadow = ShadowMode(targetRisk: 0.01, delta: 0.05)

    @Test("with no disagreement it takes ln δ / ln(1 − α) agreeing labels, as a training certificate does")
    func minimumEvidence() {
        #expect(shadow.minimumLabels == 299)
        #expect(shadow.minimumLabels == RiskControl(targetRisk: 0.01, delta: 0.05).minimumCount)
        #expect(ShadowMode(targetRisk: 0.05, delta: 0.05).minimumLabels == 59)
    }

    @Test("graduates exactly when the bound on disagreement reaches α", arguments: [
        (0, 0, false, 299),
        (298, 0, false, 1),
        (299, 0, true, 0),
        // One disagreement: the bound reaches 1% only at 473 labels (the guardrail restores on the same standard).
        (298, 1, false, 174),
        (472, 1, true, 0),
        (471, 1, false, 1),
    ])
    func graduation(_ agreeing: Int, _ disagreeing: Int, _ graduates: Bool, _ needed: Int) {
        let decision = shadow.evaluate(ShadowInput(intent: "card", labels: AuditCounts(correct: agreeing, wrong: disagreeing)))
        #expect(decision.graduate == graduates)
        #expect(decision.agreeingLabelsNeeded == needed)
        #expect(decision.routing == (graduates ? .auto : .draftOnly))
        #expect(decision.evidence.last?.contains(graduates ? "leaves shadow mode" : "\(needed) more agreeing") == true)
    }

    @Test("the labels needed are the fewest that bring the bound to α", arguments: [(0, 0), (50, 2), (1000, 12), (10, 9)])
    func neededIsMinimal(_ agreeing: Int, _ disagreeing: Int) {
        let labels = AuditCounts(correct: agreeing, wrong: disagreeing)
        let needed = shadow.agreeingLabelsNeeded(after: labels)
        let n = labels.audited
        #expect(Binomial.upperBound(errors: disagreeing, trials: n + needed, delta: 0.05) <= 0.01)
        if needed > 0 {
            #expect(Binomial.upperBound(errors: disagreeing, trials: n + needed - 1, delta: 0.05) > 0.01)
        }
    }

    @Test("the admins' mode and the kill switch still win")
    func modes() {
        let proven = AuditCounts(correct: 400, wrong: 0)
        #expect(shadow.evaluate(ShadowInput(intent: "card", labels: proven, mode: .draftOnly)).routing == .draftOnly)
        #expect(shadow.evaluate(ShadowInput(intent: "card", labels: .zero, mode: .off)).routing == .off)
        let killed = shadow.evaluate(ShadowInput(intent: "card", labels: proven), killSwitch: true)
        #expect(killed.graduate && killed.routing == .off && killed.evidence.first?.contains("kill switch") == true)
    }

    @Test("the guardrail's report holds shadow intents at draft-only until they graduate")
    func inGuardrailReport() {
        let report = standardGuardrail.evaluate(
            [GuardrailInput(intent: "refund", verdicts: Array(repeating: true, count: 60))],
            shadow: [ShadowInput(intent: "card", labels: AuditCounts(correct: 120, wrong: 0)),
                     ShadowInput(intent: "pin", labels: AuditCounts(correct: 300, wrong: 0))])
        #expect(report.shadow.map(\.graduate) == [false, true])
        #expect(report.workspace.shadowDraftOnly == ["card"])
        #expect(report.workspace.guardrailDraftOnly.isEmpty)
        let input = RoutingInput(
            signals: MessageSignals(),
            prediction: Prediction(intent: "card", confidence: 0.99, threshold: 0.9, unknownThreshold: 0.3, familiarity: 0.8),
            intent: IntentSettings(key: "card", sensitive: false, automation: .auto),
            workspace: report.workspace)
        #expect(RoutingPolicy.decide(input).action == .draftForHuman)
    }
}

// MARK: - Promotion

/// `messages` labelled messages: each model answers the first `answered` of them and gets the
/// first `wrong` of those wrong; unanswered messages are predicted correctly.
private func traffic(_ messages: Int, current: (answered: Int, wrong: Int), candidate: (answered: Int, wrong: Int)) -> [PromotionSample] {
    (0..<messages).map { i in
        PromotionSample(current: ModelOutcome(answered: i < current.answered, correct: i >= current.wrong),
                        candidate: ModelOutcome(answered: i < candidate.answered, correct: i >= candidate.wrong))
    }
}

struct PromotionCase: Sendable, CustomTestStringConvertible {
    let name: String
    var check = PromotionCheck(targetRisk: 0.01, delta: 0.05)
    let traffic: [PromotionSample]
    var current = CertifiedFigures(coverage: 0.70, errorUpperBound: 0.009)
    let candidate: CertifiedFigures
    let failed: [PromotionDecision.Criterion]
    var testDescription: String { name }
}

private let promotionCases: [PromotionCase] = [
    PromotionCase(name: "a better candidate is promoted",
                  traffic: traffic(2000, current: (1400, 6), candidate: (1500, 4)),
                  candidate: CertifiedFigures(coverage: 0.74, errorUpperBound: 0.008), failed: []),
    // Trained on corrupted labels: its certificate looks fine (its calibration split has the
    // same bad labels), but 7.5% of its automated answers on clean traffic are wrong.
    PromotionCase(name: "a candidate trained on corrupted labels is rejected",
                  traffic: traffic(2000, current: (1400, 6), candidate: (1600, 120)),
                  candidate: CertifiedFigures(coverage: 0.80, errorUpperBound: 0.009), failed: [.trafficErrorBound]),
    PromotionCase(name: "a candidate that automates less is rejected",
                  traffic: traffic(2000, current: (1400, 6), candidate: (1380, 2)),
                  candidate: CertifiedFigures(coverage: 0.69, errorUpperBound: 0.006), failed: [.coverage]),
    // "Not worse" by default: any drop in guaranteed coverage fails, equal coverage passes.
    PromotionCase(name: "equal coverage passes",
                  traffic: traffic(2000, current: (1400, 6), candidate: (1400, 2)),
                  candidate: CertifiedFigures(coverage: 0.70, errorUpperBound: 0.006), failed: []),
    PromotionCase(name: "a drop of 0.1 points fails without a tolerance",
                  traffic: traffic(2000, current: (1400, 6), candidate: (1398, 2)),
                  candidate: CertifiedFigures(coverage: 0.699, errorUpperBound: 0.006), failed: [.coverage]),
    PromotionCase(name: "within a 0.5-point coverage tolerance passes",
                  check: PromotionCheck(targetRisk: 0.01, delta: 0.05, coverageTolerance: 0.005),
                  traffic: traffic(2000, current: (1400, 6), candidate: (1390, 2)),
                  candidate: CertifiedFigures(coverage: 0.6951, errorUpperBound: 0.006), failed: []),
    PromotionCase(name: "just beyond the tolerance fails",
                  check: PromotionCheck(targetRisk: 0.01, delta: 0.05, coverageTolerance: 0.005),
                  traffic: traffic(2000, current: (1400, 6), candidate: (1390, 2)),
                  candidate: CertifiedFigures(coverage: 0.6949, errorUpperBound: 0.006), failed: [.coverage]),
    PromotionCase(name: "an uncertified candidate is rejected",
                  traffic: traffic(2000, current: (1400, 6), candidate: (1500, 4)),
                  candidate: CertifiedFigures(coverage: 0.72, errorUpperBound: 1), failed: [.certified]),
    // 80 answers without an error: bound 3.7% > 1%; too little traffic to show anything.
    PromotionCase(name: "thin traffic is not enough",
                  traffic: traffic(100, current: (70, 0), candidate: (80, 0)),
                  candidate: CertifiedFigures(coverage: 0.75, errorUpperBound: 0.008), failed: [.trafficErrorBound]),
    PromotionCase(name: "no traffic at all is rejected",
                  traffic: [], candidate: CertifiedFigures(coverage: 0.75, errorUpperBound: 0.008), failed: [.trafficErrorBound]),
    PromotionCase(name: "every check can fail at once",
                  traffic: traffic(2000, current: (1400, 6), candidate: (1000, 200)),
                  candidate: CertifiedFigures(coverage: 0.5, errorUpperBound: 0.02), failed: [.certified, .trafficErrorBound, .coverage]),
]

@Suite("Promotion check")
struct PromotionTests {
    @Test("decisions", arguments: promotionCases)
    func decisions(_ c: PromotionCase) {
        let decision = c.check.evaluate(traffic: c.traffic, current: c.current, candidate: c.candidate)
        #expect(decision.failed == c.failed)
        #expect(decision.promote == c.failed.isEmpty)
        #expect(decision.reasons.count == PromotionDecision.Criterion.allCases.count)
        for criterion in PromotionDecision.Criterion.allCases {
            let verdict = c.failed.contains(criterion) ? "fails " : "passes "
            #expect(decision.reasons.contains { $0.hasPrefix(verdict + criterion.rawValue) }, "\(criterion)")
        }
    }

    @Test("the numbers are the candidate's and the current model's on the traffic")
    func numbers() throws {
        let decision = PromotionCheck(targetRisk: 0.01, delta: 0.05).evaluate(
            traffic: traffic(2000, current: (1400, 6), candidate: (1600, 120)),
            current: CertifiedFigures(coverage: 0.70, errorUpperBound: 0.009),
            candidate: CertifiedFigures(coverage: 0.80, errorUpperBound: 0.009))
        #expect(decision.candidate.messages == 2000 && decision.candidate.answered == 1600 && decision.candidate.wrongAnswers == 120)
        #expect(decision.candidate.coverage == 0.8 && decision.candidate.errorRate == 0.075)
        #expect(decision.candidate.accuracy == 0.94)
        #expect(decision.candidate.upperBound == Binomial.upperBound(errors: 120, trials: 1600, delta: 0.05))
        #expect(decision.current.upperBound < 0.01 && decision.current.wrongAnswers == 6)
        let decoded = try JSONDecoder().decode(PromotionDecision.self, from: JSONEncoder().encode(decision))
        #expect(decoded == decision)
    }
}

// MARK: - Quality metrics

private let t0 = Date(timeIntervalSince1970: 1_740_000_000) // 2025-02-19 21:20 UTC
private let day: TimeInterval = 86_400

private func record(_ id: String, customer: String = "c1", intent: String? = "card", start: TimeInterval = 0,
                    resolvedAfter: TimeInterval? = 600, path: ConversationRecord.Path = .aiOnly, firstResponse: Double? = nil,
                    handoff: RoutingDecision.Rule? = nil, rating: Int? = nil, aiMessages: Int = 0) -> ConversationRecord {
    ConversationRecord(id: id, customerKey: customer, intent: intent, startedAt: t0 + start,
                       resolvedAt: resolvedAfter.map { t0 + start + $0 }, path: path, firstResponseSeconds: firstResponse,
                       handoffReason: handoff, rating: rating, aiMessages: aiMessages)
}

@Suite("Quality metrics")
struct QualityMetricsTests {
    @Test("percentiles interpolate between closest ranks (NumPy's default)", arguments: [
        ([1.0, 2, 3, 4], 2.5, 3.7),
        ([10.0, 20, 30, 40, 50, 60, 70, 80, 90, 100], 55, 91),
        ([5.0], 5, 5),
        ([3.0, 1, 2], 2, 2.8),
    ])
    func percentiles(_ values: [Double], _ p50: Double, _ p90: Double) throws {
        let result = Percentiles(values)
        #expect(result.count == values.count)
        #expect(abs(try #require(result.p50) - p50) < 1e-9)
        #expect(abs(try #require(result.p90) - p90) < 1e-9)
    }

    @Test("no values, no percentiles")
    func emptyPercentiles() {
        #expect(Percentiles([]).p50 == nil && Percentiles([]).p90 == nil && Percentiles([]).count == 0)
    }

    // The first conversation is resolved 10 minutes after t0; the second one starts `after`
    // seconds after that resolution.
    @Test("durable resolution: a re-contact within the window counts against it", arguments: [
        ("same customer and intent after 6 days", 6 * day, "c1", "card" as String?, true),
        ("exactly 7 days later still counts", 7 * day, "c1", "card", true),
        ("after 8 days: outside the window", 8 * day, "c1", "card", false),
        ("another intent", 3 * day, "c1", "refund", false),
        ("unknown intent matches", 3 * day, "c1", nil, true),
        ("another customer", 3 * day, "c2", "card", false),
    ])
    func durable(_ name: String, _ after: TimeInterval, _ customer: String, _ intent: String?, _ recontacted: Bool) {
        // The second conversation is still open, so only the first is evaluated.
        let records = [record("a"), record("b", customer: customer, intent: intent, start: 600 + after, resolvedAfter: nil)]
        let result = QualityMetrics.durableResolution(records, asOf: t0 + 30 * day)
        #expect(result.overall == Durability(resolved: 1, recontacted: recontacted ? 1 : 0, durableShare: recontacted ? 0 : 1))
        #expect(result.ai == result.overall && result.people.resolved == 0 && result.people.durableShare == nil)
    }

    @Test("durable resolution leaves out conversations whose window is still open, and splits AI from people")
    func durablePendingAndSides() {
        let records = [
            record("a"),                                                        // AI, durable
            record("b", customer: "c2", path: .humanOnly),                      // people, re-contacted by "c"
            record("c", customer: "c2", start: 2 * day, path: .aiThenHuman),   // people, durable
            record("d", customer: "c3", start: 25 * day),                       // resolved 5 days before asOf: pending
            record("e", customer: "c4", resolvedAfter: nil),                    // unresolved: not counted
        ]
        let result = QualityMetrics.durableResolution(records, windowDays: 7, asOf: t0 + 30 * day)
        #expect(result.pending == 1)
        #expect(result.overall == Durability(resolved: 3, recontacted: 1, durableShare: 2.0 / 3))
        #expect(result.ai == Durability(resolved: 1, recontacted: 0, durableShare: 1))
        #expect(result.people == Durability(resolved: 2, recontacted: 1, durableShare: 0.5))
    }

    @Test("automated share per day, in the report's time zone")
    func automatedByDay() {
        // t0 is 21:20 UTC; three hours later is the next day in UTC but not in New York.
        let records = [
            record("a"), record("b", start: 3600, path: .humanOnly),
            record("c", start: 3 * 3600), record("d", start: 3 * 3600 + 60, path: .aiThenHuman),
        ]
        let utc = QualityMetrics.automatedByDay(records)
        #expect(utc == [
            DailyAutomation(day: "2025-02-19", conversations: 2, automated: 1, share: 0.5),
            DailyAutomation(day: "2025-02-20", conversations: 2, automated: 1, share: 0.5),
        ])
        let newYork = QualityMetrics.automatedByDay(records, timeZone: TimeZone(identifier: "America/New_York")!)
        #expect(newYork == [DailyAutomation(day: "2025-02-19", conversations: 4, automated: 2, share: 0.5)])
    }

    @Test("hand-offs by reason, most frequent first")
    func handoffs() {
        let records = [
            record("a", path: .aiThenHuman, handoff: .lowConfidence), record("b", path: .aiThenHuman, handoff: .notHelpful),
            record("c", path: .aiThenHuman, handoff: .lowConfidence), record("d", path: .humanOnly, handoff: .askedForHuman),
            record("e"),
        ]
        #expect(QualityMetrics.handoffsByReason(records) == [
            HandoffCount(reason: .lowConfidence, count: 2, share: 0.5),
            HandoffCount(reason: .askedForHuman, count: 1, share: 0.25),
            HandoffCount(reason: .notHelpful, count: 1, share: 0.25),
        ])
    }

    @Test("ratings by path: mean, count, distribution; off-scale ratings ignored")
    func ratings() {
        let records = [
            record("a", rating: 5), record("b", rating: 4), record("c", rating: 5), record("d", rating: 9),
            record("e", path: .humanOnly, rating: 1), record("f", path: .humanOnly, rating: 3), record("g", path: .humanOnly),
        ]
        #expect(QualityMetrics.ratingsByPath(records) == [
            RatingSummary(path: .aiOnly, count: 3, mean: 14.0 / 3, distribution: [0, 0, 0, 1, 2]),
            RatingSummary(path: .aiThenHuman, count: 0, mean: nil, distribution: [0, 0, 0, 0, 0]),
            RatingSummary(path: .humanOnly, count: 2, mean: 2, distribution: [1, 0, 1, 0, 0]),
        ])
    }

    @Test("first-response and resolution percentiles for the AI and for people")
    func timings() {
        let records = [
            record("a", resolvedAfter: 60, firstResponse: 1), record("b", resolvedAfter: 120, firstResponse: 2),
            record("c", resolvedAfter: 180, firstResponse: 3), record("d", resolvedAfter: nil, firstResponse: 4),
            record("e", resolvedAfter: 3600, path: .aiThenHuman, firstResponse: 30),
            record("f", resolvedAfter: 7200, path: .humanOnly, firstResponse: 90),
        ]
        let result = QualityMetrics.timings(records)
        #expect(result.map(\.handler) == [.ai, .people])
        #expect(result[0].firstResponse == Percentiles([1, 2, 3, 4]) && result[0].firstResponse.p50 == 2.5)
        #expect(result[0].resolution.count == 3 && result[0].resolution.p50 == 120)
        #expect(result[1].firstResponse.p50 == 60 && result[1].resolution.p90 == 6840)
    }

    @Test("cost per resolved conversation")
    func cost() throws {
        let records = [
            record("a", aiMessages: 2),
            record("b", path: .aiThenHuman, aiMessages: 1),
            record("c", resolvedAfter: nil, path: .humanOnly),
        ]
        let cost = QualityMetrics.cost(records, costs: CostModel(aiCostPerMessage: 0.01, humanCostPerContact: 4))
        #expect(cost.aiMessages == 3 && cost.humanContacts == 2 && cost.resolved == 2)
        #expect(abs(cost.totalCost - 8.03) < 1e-12)
        #expect(abs(try #require(cost.costPerResolved) - 4.015) < 1e-12)
        #expect(QualityMetrics.cost([record("x", resolvedAfter: nil)], costs: CostModel(aiCostPerMessage: 1, humanCostPerContact: 1))
            .costPerResolved == nil)
    }

    @Test("'did not help' hand-offs per intent")
    func notHelpful() {
        let records = [
            record("a", path: .aiThenHuman, handoff: .notHelpful), record("b"), record("c"),
            record("d", intent: "refund", path: .aiThenHuman, handoff: .notHelpful),
            record("e", intent: "refund", path: .aiThenHuman, handoff: .notHelpful),
            record("f", intent: "pin", path: .aiThenHuman, handoff: .lowConfidence),
        ]
        #expect(QualityMetrics.notHelpfulByIntent(records) == [
            NotHelpfulCount(intent: "refund", notHelpful: 2, conversations: 2),
            NotHelpfulCount(intent: "card", notHelpful: 1, conversations: 3),
        ])
    }

    @Test("cost–quality frontier rows", arguments: [
        (0.99, 0.70, 300.0, 1221.0),   // 0.7 × 3 × 0.01 + 0.3 × 4 = 1.221 per conversation
        (0.999, 0.40, 600, 2412),      // 0.4 × 0.03 + 0.6 × 4
        (1.0, 0.0, 1000, 4000),
    ])
    func frontier(_ accuracy: Double, _ share: Double, _ human: Double, _ perThousand: Double) throws {
        let rows = QualityMetrics.frontier([FrontierPoint(targetAccuracy: accuracy, automatedShare: share)], conversationsPerDay: 1000,
                                           aiMessagesPerConversation: 3, costs: CostModel(aiCostPerMessage: 0.01, humanCostPerContact: 4))
        let row = try #require(rows.first)
        #expect(row.targetAccuracy == accuracy && row.automatedShare == share)
        #expect(abs(row.humanConversationsPerDay - human) < 1e-9)
        #expect(abs(row.costPerThousand - perThousand) < 1e-9)
    }

    @Test("the insights report survives a JSON round trip")
    func reportCodable() throws {
        let records = [
            record("a", firstResponse: 2, rating: 5, aiMessages: 2),
            record("b", customer: "c2", path: .aiThenHuman, firstResponse: 40, handoff: .notHelpful, aiMessages: 1),
            record("c", customer: "c3", intent: nil, resolvedAfter: nil, path: .humanOnly, handoff: .askedForHuman),
        ]
        let report = InsightsReport(records: records, costs: CostModel(aiCostPerMessage: 0.01, humanCostPerContact: 4),
                                    asOf: t0 + 30 * day)
        #expect(report.conversations == 3 && report.durableResolution.overall.resolved == 2)
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        #expect(try decoder.decode(InsightsReport.self, from: encoder.encode(report)) == report)
    }
}
