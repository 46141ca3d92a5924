import Foundation
import TandemCore
import Testing

/// `tandem guardrail simulate` prints what `GuardrailSimulation` computes, in the JSON the issue
/// asks for, for both rules.
@Suite("tandem guardrail simulate")
struct GuardrailCommandTests {
    private func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let binary = try #require(ServerProcess.binary, "the tandem executable was not found next to the tests")
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test("--json has the demoted share and the audits to demotion, as the library computes them",
          .enabled(if: ServerProcess.binary != nil || TestDatabase.isCI, "build `tandem` first (make test does)"),
          arguments: GuardrailSimulation.Rule.allCases)
    func json(rule: GuardrailSimulation.Rule) throws {
        // act
        let (status, output) = try run(["guardrail", "simulate", "--error-rate", "0.03", "--audits", "1500", "--runs", "300",
                                        "--seed", "4", "--rule", rule.rawValue, "--json"])
        // validate
        #expect(status == 0, "\(output)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any], "\(output)")
        let expected = GuardrailSimulation(rule: rule, guardrail: Guardrail(targetRisk: 0.01, delta: 0.05), errorRate: 0.03,
                                           audits: 1_500, runs: 300, seed: 4)
        #expect(object["demoted_share"] as? Double == expected.demotedShare)
        #expect(object["audits_to_demotion_median"] as? Int == expected.auditsToDemotionMedian)
        #expect(object["audits_to_demotion_p95"] as? Int == expected.auditsToDemotionP95)
        #expect(object["rule"] as? String == rule.rawValue && object["runs"] as? Int == 300)
    }

    @Test("sentences by default; bad arguments are refused with the reason",
          .enabled(if: ServerProcess.binary != nil || TestDatabase.isCI, "build `tandem` first (make test does)"))
    func sentencesAndErrors() throws {
        let (status, output) = try run(["guardrail", "simulate", "--error-rate", "0.005", "--audits", "500", "--runs", "50"])
        #expect(status == 0 && output.contains("demoted:") && output.contains("change detector"), "\(output)")
        let bad = try run(["guardrail", "simulate", "--error-rate", "1.5"])
        #expect(bad.status != 0 && bad.output.contains("--error-rate must be in [0, 1]"), "\(bad.output)")
        let kappa = try run(["guardrail", "simulate", "--error-rate", "0.1", "--target-risk", "0.5", "--kappa", "3"])
        #expect(kappa.status != 0 && kappa.output.contains("--kappa"), "\(kappa.output)")
    }
}
