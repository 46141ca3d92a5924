import ArgumentParser
import Foundation
import TandemCore

struct GuardrailCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "guardrail",
        abstract: "The quality guardrail's operating characteristics.",
        subcommands: [Simulate.self])

    struct Simulate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Simulate audit streams of an intent with a known error rate through the guardrail.",
            discussion: """
                Each run draws --audits independent audits, each wrong with probability --error-rate, and \
                feeds them to the guardrail in order, as the server does after every verdict. It reports the \
                share of runs demoted and, over those, the audits to demotion. --rule legacy runs the rule \
                before the change detector (upper bound above the target with one wrong audit), for comparison:
                  tandem guardrail simulate --error-rate 0.005 --audits 10000
                  tandem guardrail simulate --error-rate 0.005 --audits 2000 --rule legacy --json
                """)

        @ArgumentParser.Option(help: "True error rate of the simulated intent, 0...1.")
        var errorRate: Double

        @ArgumentParser.Option(help: "Audits per run.")
        var audits = 2_000

        @ArgumentParser.Option(help: "Simulated runs.")
        var runs = 2_000

        @ArgumentParser.Option(help: "Seed of the generator: the same seed gives the same result.")
        var seed: UInt64 = 1

        @ArgumentParser.Option(help: ArgumentHelp("Switching rule: sequential (the change detector) or legacy.", valueName: "rule"))
        var rule: GuardrailSimulation.Rule = .sequential

        @ArgumentParser.Option(help: "Target risk α (the workspace's targetRisk).")
        var targetRisk = 0.01

        @ArgumentParser.Option(help: "Confidence 1 − δ (the workspace's confidenceLevel).")
        var confidence = 0.95

        @ArgumentParser.Option(help: "κ: the detector acts on evidence of an error rate of κ·α (guardrailKappa).")
        var kappa = ChangeDetector.defaultKappa

        @ArgumentParser.Option(help: "Audits within which an intent at α is switched by mistake with chance at most δ (guardrailHorizon).")
        var horizon = ChangeDetector.defaultHorizon

        @ArgumentParser.Flag(help: "Print one JSON object (snake_case keys) instead of the sentences.")
        var json = false

        func validate() throws {
            guard errorRate >= 0 && errorRate <= 1 else { throw ValidationError("--error-rate must be in [0, 1], got \(errorRate)") }
            guard audits >= 1 && audits <= 10_000_000 else { throw ValidationError("--audits must be 1...10,000,000") }
            guard runs >= 1 && runs <= 1_000_000 else { throw ValidationError("--runs must be 1...1,000,000") }
            guard targetRisk > 0 && targetRisk < 1 else { throw ValidationError("--target-risk must be in (0, 1)") }
            guard confidence > 0 && confidence < 1 else { throw ValidationError("--confidence must be in (0, 1)") }
            guard kappa > 1 && kappa * targetRisk < 1 else { throw ValidationError("--kappa must be above 1 with kappa × target risk below 1") }
            guard (1...ChangeDetector.maximumHorizon).contains(horizon) else {
                throw ValidationError("--horizon must be 1...\(ChangeDetector.maximumHorizon)")
            }
        }

        func run() throws {
            let guardrail = Guardrail(targetRisk: targetRisk, delta: 1 - confidence, kappa: kappa, horizon: horizon)
            let result = GuardrailSimulation(rule: rule, guardrail: guardrail, errorRate: errorRate, audits: audits, runs: runs, seed: seed)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                encoder.keyEncodingStrategy = .convertToSnakeCase
                print(String(decoding: try encoder.encode(result), as: UTF8.self))
                return
            }
            let pct = { (v: Double) in String(format: "%.1f%%", v * 100) }
            let ruleText = rule == .sequential
                ? "change detector, α \(pct(targetRisk)) against \(String(format: "%g", kappa))α, threshold \(String(format: "%.2f", result.threshold ?? 0)) nats (horizon \(horizon) audits, δ \(pct(1 - confidence)))"
                : "legacy rule: upper bound at \(pct(confidence)) above α \(pct(targetRisk)) with at least one wrong audit"
            print("rule: \(ruleText)")
            print("error rate \(pct(errorRate)), \(runs) runs of \(audits) audits, seed \(seed)")
            print("demoted: \(result.demotedRuns) of \(runs) runs (\(pct(result.demotedShare)))")
            if let median = result.auditsToDemotionMedian, let p95 = result.auditsToDemotionP95, let mean = result.auditsToDemotionMean {
                print("audits to demotion, over the demoted runs: median \(median), 95th percentile \(p95), mean \(String(format: "%.0f", mean))")
            }
        }
    }
}

extension GuardrailSimulation.Rule: ExpressibleByArgument {}
