import Foundation
import TandemBenchmarks
import TandemOffline
import Testing

/// The serving benchmark at a small scale, against a real `tandem serve` process: offered
/// twice what a deliberately small server sustains, it must refuse what it cannot take (503),
/// lose nothing it acknowledged, and recover by itself when the load drops.
@Suite("Serve benchmark", .serialized)
struct ServeBenchmarkTests {
    /// The `tandem` binary `make test` builds before the tests.
    static let binary = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".build/debug/tandem").path
    static var isCI: Bool { ["1", "true", "yes"].contains(ProcessInfo.processInfo.environment["CI"]?.lowercased() ?? "") }
    static var postgresURL: String? { ProcessInfo.processInfo.environment["TANDEM_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 } }
    static var databases: [String?] { postgresURL != nil || isCI ? [nil, postgresURL ?? "postgres://tandem:tandem@127.0.0.1:5432/tandem_test"] : [nil] }
    static var ready: Bool {
        FileManager.default.isExecutableFile(atPath: binary)
            && FileManager.default.fileExists(atPath: (TandemEnvironment().modelDirectory as NSString).appendingPathComponent("model.safetensors"))
    }

    @Test("overloaded 2x: refusals, not losses; every acknowledged message is stored; the server recovers when the load drops",
          .enabled(if: ready || isCI, "needs .build/debug/tandem and the model (make test builds and fetches both)"), arguments: databases)
    func overloadThenRecover(databaseURL: String?) async throws {
        // Admission of 4 in flight and a model queue of 2: a few dozen messages a second saturate it.
        let server = try await BenchServer(binary: Self.binary, databaseURL: databaseURL,
                                           settings: ["TANDEM_MESSAGES_IN_FLIGHT": "4", "TANDEM_INFERENCE_QUEUE": "2"], progress: { _ in })
        let report: ServeBenchmark.Report
        do {
            report = try await ServeBenchmark(rates: [150], seconds: 2, recoveryRate: 5, texts: ["where is my card?", "how do I reset my password?"]).run(against: server)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()

        let step = try #require(report.steps.first)
        let recovery = try #require(report.recovery)
        #expect(step.messages == 300)
        #expect(step.refused > 0, "at 150 msg/s a server admitting 4 at once refuses some: \(step.actions)")
        #expect(step.acknowledged > 0, "and takes some: \(step.actions)")
        #expect(step.errors == 0, "every message answered with a decision or a 503: \(step.actions)")
        #expect(step.lost == 0, "\(step.lost) acknowledged messages were not stored")
        #expect(recovery.acknowledged == recovery.messages, "after the burst, every message at 5 msg/s is taken: \(recovery.actions)")
        #expect(recovery.lost == 0)
        #expect(step.phases["handler"] != nil && step.phases["store"] != nil, "the server reports its phases: \(step.phases)")
    }

    @Test("Server-Timing header values parse into phases")
    func parsesServerTiming() {
        let phases = ServeBenchmark.serverTiming("store;dur=1.250, encode;desc=\"x\";dur=4.1, broken, handler;dur=9")
        #expect(phases.map(\.0) == ["store", "encode", "handler"])
        #expect(phases.map(\.1) == [1.25, 4.1, 9])
    }
}
