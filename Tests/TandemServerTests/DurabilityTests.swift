import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// Nothing acknowledged is lost: every message that got a 2xx is there after the real
/// `tandem serve` process is killed with SIGKILL and started again on the same database.
@Suite("Durability")
struct DurabilityTests {
    @Test("SIGKILL after acknowledged messages loses none of them", .enabled(if: ServerProcess.binary != nil || TestDatabase.isCI, "build `tandem` first (make test does)"),
          arguments: TestDatabase.available)
    func killNine(database: TestDatabase) async throws {
        let binary = try #require(ServerProcess.binary, "the tandem executable was not found next to the tests")
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-kill-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        var environment = ProcessInfo.processInfo.environment
        environment["TANDEM_DATA_DIR"] = data.path
        environment["TANDEM_BCRYPT_COST"] = "4"
        environment["TANDEM_TRAIN_ON_START"] = "false"  // decisions are not the point; storage is
        environment["TANDEM_ENCODER"] = "lexical"
        environment["TANDEM_RATE_LIMITS"] = "off"  // 25 messages in one conversation at once: over the per-conversation limit
        environment.removeValue(forKey: "DATABASE_URL")
        let schema = "kill_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        if database == .postgres {
            // Bound first: `#require` into an optional subscript would pass nil through (and run on SQLite).
            let url = try #require(TestDatabase.postgresURL, "TANDEM_TEST_POSTGRES_URL is required")
            environment["DATABASE_URL"] = url
            environment["TANDEM_DATABASE_SCHEMA"] = schema
        }

        let first = try ServerProcess(binary: binary, environment: environment)
        defer { first.terminate() }
        try await first.waitUntilHealthy()
        let (id, token) = try await first.startConversation()
        var acknowledged: [String] = []
        for i in 0..<25 {
            let text = "message \(i) \(UUID().uuidString.prefix(8))"
            if try await first.post(text, conversation: id, token: token) { acknowledged.append(text) }
        }
        #expect(acknowledged.count == 25)
        first.kill9()

        let server = try ServerProcess(binary: binary, environment: environment)
        defer { server.terminate() }
        try await server.waitUntilHealthy()
        let stored = try await server.messages(conversation: id, token: token)
        for text in acknowledged { #expect(stored.contains(text), "acknowledged message lost after SIGKILL: \(text)") }
        if database == .postgres { _ = try? await server.dropSchema(schema, url: TestDatabase.postgresURL!) }
    }
}
