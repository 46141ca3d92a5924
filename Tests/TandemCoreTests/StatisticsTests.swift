import Foundation
import TandemTensor
import Testing
@testable import TandemCore

@Suite("Exact binomial bounds")
struct StatisticsTests {
    // Reference values from scipy.stats.beta.ppf (SciPy 1.17), the standard Clopper–Pearson form.
    @Test("Clopper–Pearson upper bounds match SciPy", arguments: [
        (0, 100, 0.05, 0.029513049607039925),
        (5, 1000, 0.05, 0.010484076911415651),
        (50, 7000, 0.01, 0.009853298961183154),
        (3, 20, 0.001, 0.5087293739733165),
    ])
    func upper(_ k: Int, _ n: Int, _ delta: Double, _ expected: Double) {
        #expect(abs(Binomial.upperBound(errors: k, trials: n, delta: delta) - expected) < 1e-9)
    }

    @Test("Clopper–Pearson lower bounds match SciPy", arguments: [
        (5, 1000, 0.05, 0.001972153141805247),
        (3, 20, 0.001, 0.009987580998389594),
        (20, 20, 0.05, 0.8608916593317348),
    ])
    func lower(_ k: Int, _ n: Int, _ delta: Double, _ expected: Double) {
        #expect(abs(Binomial.lowerBound(errors: k, trials: n, delta: delta) - expected) < 1e-9)
    }

    @Test("edge cases: no trials, all errors, no errors")
    func edges() {
        #expect(Binomial.upperBound(errors: 0, trials: 0, delta: 0.05) == 1)
        #expect(Binomial.upperBound(errors: 7, trials: 7, delta: 0.05) == 1)
        #expect(Binomial.lowerBound(errors: 0, trials: 50, delta: 0.05) == 0)
        // With no errors the bound has the closed form 1 − δ^(1/n).
        #expect(abs(Binomial.upperBound(errors: 0, trials: 300, delta: 0.05) - (1 - pow(0.05, 1.0 / 300))) < 1e-12)
    }

    @Test("regularised incomplete beta and normal quantile")
    func specialFunctions() {
        #expect(abs(Beta.regularized(0.3, a: 2.5, b: 3.5) - 0.29675298929566646) < 1e-12)
        #expect(abs(Normal.quantile(0.975) - 1.959963984540054) < 1e-9)
        #expect(abs(Normal.quantile(0.001) - -3.090232306167813) < 1e-9)
        let interval = Binomial.wilson(successes: 81, trials: 263, level: 0.95)
        // Wilson 95% interval for 81/263 (Agresti & Coull's worked form): 0.2553 … 0.3662.
        #expect(abs(interval.lowerBound - 0.2553) < 5e-4 && abs(interval.upperBound - 0.3662) < 5e-4)
    }
}

@Suite("Risk control (Learn-then-Test)")
struct RiskControlTests {
    /// Confidence uniform on [0, 1]; a message with confidence c is wrong with probability
    /// 0.2·(1 − c)². The true error rate above threshold t is then 0.2/3·(1 − t)², at most 1%
    /// from t = 0.613 (39% of messages).
    static func sample(_ n: Int, _ generator: inout SeededGenerator) -> (confidence: [Double], correct: [Bool]) {
        var confidences: [Double] = [], correct: [Bool] = []
        for _ in 0..<n {
            let c = Double.random(in: 0..<1, using: &generator)
            confidences.append(c)
            correct.append(Double.random(in: 0..<1, using: &generator) >= 0.2 * (1 - c) * (1 - c))
        }
        return (confidences, correct)
    }

    static func trueRisk(above t: Double) -> Double { 0.2 / 3 * (1 - t) * (1 - t) }

    @Test("the guarantee holds: over repeated calibration samples the chosen threshold's true risk exceeds α at most δ of the time")
    func guaranteeHoldsInSimulation() {
        let alpha = 0.01, delta = 0.1
        var generator = SeededGenerator(seed: 42)
        var violations = 0, certified = 0
        let trials = 300
        var coverage = 0.0
        for _ in 0..<trials {
            let (c, ok) = Self.sample(10_000, &generator)
            guard let t = RiskControl(targetRisk: alpha, delta: delta).certify(confidences: c, correct: ok).threshold else { continue }
            certified += 1
            coverage += 1 - t
            if Self.trueRisk(above: t) > alpha { violations += 1 }
        }
        // Useful: nearly always certifies, and gets within reach of the best possible 39%.
        #expect(certified >= trials * 95 / 100)
        #expect(coverage / Double(certified) > 0.30, "mean coverage \(coverage / Double(certified))")
        // Valid: the true risk above the chosen threshold exceeds α in at most δ of the samples.
        #expect(Double(violations) / Double(trials) <= delta, "violations \(violations)/\(trials)")
    }

    @Test("thresholds: nothing when data cannot support the target, 0 when every message is right")
    func extremes() {
        let few = RiskControl(targetRisk: 0.01, delta: 0.05).certify(confidences: [0.99, 0.98, 0.97], correct: [true, true, true])
        #expect(few.threshold == nil && few.coverage == 0)
        let perfect = RiskControl(targetRisk: 0.01, delta: 0.05).certify(confidences: (0..<2000).map { Double($0) / 2000 }, correct: Array(repeating: true, count: 2000))
        #expect(perfect.threshold == 0 && perfect.coverage == 1)
        let hopeless = RiskControl(targetRisk: 0.01, delta: 0.05).certify(confidences: (0..<2000).map { Double($0) / 2000 }, correct: (0..<2000).map { $0 % 10 != 0 })
        #expect(hopeless.threshold == nil)
    }

    @Test("every test is recorded with its level and bound, and the chosen one is the lowest rejected")
    func explainable() {
        var generator = SeededGenerator(seed: 7)
        let (c, ok) = Self.sample(5000, &generator)
        let certificate = RiskControl(targetRisk: 0.01, delta: 0.05).certify(confidences: c, correct: ok)
        #expect(certificate.tests.count == RiskControl.defaultGrid.count)
        let rejected = certificate.tests.filter(\.rejected)
        #expect(rejected.last?.threshold == certificate.threshold)
        for test in rejected { #expect(test.upperBound <= 0.01 + 1e-12 && test.pValue <= test.level) }
        // The fallback procedure spends at most δ in total, and only tests thresholds with enough messages.
        #expect(certificate.tests.map(\.level).max()! <= 0.05 + 1e-12)
        #expect(certificate.tests.filter { $0.level > 0 }.allSatisfy { $0.automated >= RiskControl(targetRisk: 0.01, delta: 0.05).minimumCount })
        #expect(RiskControl(targetRisk: 0.01, delta: 0.05).minimumCount == 299)
    }
}
