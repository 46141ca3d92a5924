import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import TandemOffline
import TandemServer
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A `tandem serve` process of its own for a benchmark: the client measures from another
/// process, as a real client would, and the server's memory is its own. Scratch data (a
/// temporary folder; on PostgreSQL a scratch schema, dropped at `stop()`), the demo workspace
/// trained at start, per-address rate limits off (one client sends everything: the limits
/// would only measure themselves); admission and the inference queue keep their limits.
public final class BenchServer: @unchecked Sendable {
    public let baseURL: String
    public let process: Process
    public let database: String
    private let scratch: URL
    private let environment: TandemEnvironment

    /// `binary`: the `tandem` to run (default: this executable). `settings`: more `TANDEM_*`
    /// variables for the server (they win over the benchmark's own).
    public init(binary: String? = nil, databaseURL: String?, settings: [String: String] = [:],
                progress: @Sendable (String) -> Void) async throws {
        let binary = binary ?? Self.currentExecutable
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw BenchmarkError("no tandem executable at \(binary) (build it first: swift build --product tandem)")
        }
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let port = try LoopbackPort.free()
        var variables = ProcessInfo.processInfo.environment
        variables["TANDEM_DATA_DIR"] = scratch.path
        variables["TANDEM_HOST"] = "127.0.0.1"
        variables["TANDEM_PORT"] = "\(port)"
        variables["TANDEM_DEMO"] = "1"
        variables["TANDEM_TRAIN_ON_START"] = "1"
        variables["TANDEM_RATE_LIMITS"] = "off"
        variables["TANDEM_STREAMS_PER_TOKEN"] = "1000"
        variables["DATABASE_URL"] = databaseURL
        variables["TANDEM_DATABASE_SCHEMA"] = databaseURL == nil ? nil
            : "bench_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        variables.merge(settings) { _, new in new }
        environment = TandemEnvironment(variables)
        database = databaseURL == nil ? "SQLite" : "PostgreSQL"
        baseURL = "http://127.0.0.1:\(port)"

        process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["serve"]
        process.environment = variables
        let log = scratch.appendingPathComponent("server.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        progress("server \(binary) (pid \(process.processIdentifier), \(database)) on \(baseURL); waiting for its model")
        do {
            try await waitUntilReady()
        } catch {
            let tail = (try? String(contentsOf: log, encoding: .utf8)).map { String($0.suffix(2000)) } ?? ""
            await stop()
            throw BenchmarkError("\(error)\n--- server log (end) ---\n\(tail)")
        }
    }

    /// CPU time the server process has used so far, seconds.
    public var cpuSeconds: Double? { Measure.cpuSeconds(process: "\(process.processIdentifier)") }

    /// Resident and peak resident memory of the server process, MB.
    public var memory: (current: Double, peak: Double)? { Measure.residentMemoryMB(process: "\(process.processIdentifier)") }

    /// Ends the server (SIGTERM, then SIGKILL after 10 s) and removes its scratch data.
    public func stop() async {
        if process.isRunning {
            process.terminate()
            for _ in 0..<100 where process.isRunning { try? await Task.sleep(for: .milliseconds(100)) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        try? await TandemApp.dropScratchSchema(environment)
        try? FileManager.default.removeItem(at: scratch)
    }

    private func waitUntilReady() async throws {
        let http = BenchHTTP(connections: 2)
        defer { http.shutdown() }
        for _ in 0..<1200 {
            guard process.isRunning else { throw BenchmarkError("the server exited with status \(process.terminationStatus)") }
            // Ready means the database answers; the benchmark also waits for a model to serve.
            struct Readiness: Decodable { let model: String? }
            if let (status, body, _) = try? await http.send(.GET, baseURL + "/ready"), status == .ok,
               (try? JSONDecoder().decode(Readiness.self, from: body))?.model != nil { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw BenchmarkError("the server did not become ready (no model) within 240 s")
    }

    /// The running executable: the benchmark starts another process of the same `tandem`.
    static var currentExecutable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}

/// The benchmarks' HTTP client (AsyncHTTPClient): one pool with room for every request at
/// once, so the client never queues on its side and counts its own queue as the server's.
public final class BenchHTTP: Sendable {
    let client: HTTPClient

    public init(connections: Int = 4096) {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connections)
        configuration.timeout = .init(connect: .seconds(10), read: nil)
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    public func shutdown() { try? client.syncShutdown() }

    /// One request and its whole response: status, body, headers.
    public func send(_ method: HTTPMethod, _ url: String, json: Data? = nil, bearer: String? = nil,
                     timeout: TimeAmount = .seconds(30)) async throws -> (HTTPResponseStatus, Data, HTTPHeaders) {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let json {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: json))
        }
        if let bearer { request.headers.add(name: "authorization", value: "Bearer \(bearer)") }
        let response = try await client.execute(request, timeout: timeout)
        let body = try await response.body.collect(upTo: 16 << 20)
        return (response.status, Data(buffer: body), response.headers)
    }

    public struct Conversation: Sendable {
        public let id: String
        public let token: String
    }

    /// Starts `count` customer conversations, `parallel` at a time.
    public func startConversations(_ base: String, count: Int, parallel: Int = 16) async throws -> [Conversation] {
        try await withThrowingTaskGroup(of: [Conversation].self) { group in
            for worker in 0..<parallel {
                group.addTask {
                    var mine: [Conversation] = []
                    for _ in stride(from: worker, to: count, by: parallel) { mine.append(try await self.startConversation(base)) }
                    return mine
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
    }

    public func startConversation(_ base: String) async throws -> Conversation {
        let (status, body, _) = try await send(.POST, base + "/api/v1/conversations", json: Data("{}".utf8))
        struct Created: Decodable { struct C: Decodable { let id: String }; let conversation: C; let token: String }
        guard status == .created || status == .ok, let created = try? JSONDecoder().decode(Created.self, from: body) else {
            throw BenchmarkError("starting a conversation: \(status) \(String(decoding: body.prefix(300), as: UTF8.self))")
        }
        return Conversation(id: created.conversation.id, token: created.token)
    }

    /// The stored messages of `conversation`, as the customer reads them (raw JSON).
    public func messages(_ base: String, _ conversation: Conversation) async throws -> String {
        let (status, body, _) = try await send(.GET, base + "/api/v1/conversations/\(conversation.id)/messages", bearer: conversation.token)
        guard status == .ok else { throw BenchmarkError("reading messages back: \(status)") }
        return String(decoding: body, as: UTF8.self)
    }
}
