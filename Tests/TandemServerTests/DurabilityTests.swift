import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// Nothing acknowledged is lost: every message that got a 2xx is there after the real
/// `tandem serve` process is killed with SIGKILL and started again on the same database.
@Suite("Durability")
struct DurabilityTests {
    /// The `tandem` binary built beside the test bundle (`make test` builds it first).
    static let binary: URL? = {
        var directory = URL(fileURLWithPath: CommandLine.arguments.first ?? "").deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("tandem")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory.deleteLastPathComponent()
        }
        let fromRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/debug/tandem")
        return FileManager.default.isExecutableFile(atPath: fromRoot.path) ? fromRoot : nil
    }()

    @Test("SIGKILL after acknowledged messages loses none of them", .enabled(if: binary != nil || TestDatabase.isCI, "build `tandem` first (make test does)"),
          arguments: TestDatabase.available)
    func killNine(database: TestDatabase) async throws {
        let binary = try #require(Self.binary, "the tandem executable was not found next to the tests")
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
            environment["DATABASE_URL"] = try #require(TestDatabase.postgresURL, "TANDEM_TEST_POSTGRES_URL is required")
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

/// A `tandem serve` child process on a free port.
struct ServerProcess {
    let process = Process()
    let base: String

    init(binary: URL, environment: [String: String]) throws {
        let port = Int.random(in: 20_000..<60_000)
        var environment = environment
        environment["TANDEM_PORT"] = String(port)
        environment["TANDEM_HOST"] = "127.0.0.1"
        base = "http://127.0.0.1:\(port)"
        process.executableURL = binary
        process.arguments = ["serve"]
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    func waitUntilHealthy() async throws {
        for _ in 0..<300 {
            if let (_, response) = try? await URLSession.shared.data(from: URL(string: base + "/health")!),
               (response as? HTTPURLResponse)?.statusCode == 200 { return }
            guard process.isRunning else { throw TestSetupError("tandem serve exited with status \(process.terminationStatus)") }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestSetupError("tandem serve did not become healthy at \(base) within 30 s")
    }

    private func request(_ method: String, _ path: String, json: [String: String]? = nil, token: String? = nil) async throws -> (Int, Any?) {
        var request = URLRequest(url: URL(string: base + path)!)
        request.httpMethod = method
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let json {
            request.httpBody = try JSONSerialization.data(withJSONObject: json)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, try? JSONSerialization.jsonObject(with: data))
    }

    func startConversation() async throws -> (String, String) {
        let (status, body) = try await request("POST", "/api/v1/conversations", json: [:])
        let json = try #require(body as? [String: Any], "start conversation: \(status)")
        let conversation = try #require(json["conversation"] as? [String: Any])
        return (try #require(conversation["id"] as? String), try #require(json["token"] as? String))
    }

    /// True when the server acknowledged the message (2xx).
    func post(_ text: String, conversation: String, token: String) async throws -> Bool {
        let (status, _) = try await request("POST", "/api/v1/conversations/\(conversation)/messages", json: ["text": text], token: token)
        return (200..<300).contains(status)
    }

    func messages(conversation: String, token: String) async throws -> [String] {
        let (status, body) = try await request("GET", "/api/v1/conversations/\(conversation)/messages", token: token)
        let list = try #require(body as? [[String: Any]], "messages: \(status)")
        return list.compactMap { $0["text"] as? String }
    }

    func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func terminate() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func dropSchema(_ schema: String, url: String) async throws {
        let psql = Process()
        psql.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        psql.arguments = [url, "-q", "-c", "DROP SCHEMA IF EXISTS \(schema) CASCADE"]
        psql.standardOutput = FileHandle.nullDevice
        psql.standardError = FileHandle.nullDevice
        try psql.run()
        psql.waitUntilExit()
    }
}
