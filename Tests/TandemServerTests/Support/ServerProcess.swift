import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import NIOConcurrencyHelpers
import Testing

/// A `tandem serve` child process: the binary `make test` builds, on its own port, with its
/// output in a log file (the tail is printed when a test that started it fails).
struct ServerProcess {
    /// The `tandem` binary built beside the test bundle (`make test` builds it first).
    static let binary: URL? = {
        var directory = URL(fileURLWithPath: CommandLine.arguments.first ?? "").deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("tandem")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory.deleteLastPathComponent()
        }
        let fromRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(".build/debug/tandem")
        return FileManager.default.isExecutableFile(atPath: fromRoot.path) ? fromRoot : nil
    }()

    /// Ports handed out in this test process, so two servers started together never share one.
    private static let usedPorts = NIOLockedValueBox(Set<Int>())

    let process = Process()
    let api: APIClient
    let log: URL
    var base: String { api.base }

    init(binary: URL, environment: [String: String], log: URL? = nil) throws {
        let port = Self.usedPorts.withLockedValue { used in
            var port: Int
            repeat { port = Int.random(in: 20_000..<60_000) } while used.contains(port)
            used.insert(port)
            return port
        }
        var environment = environment
        environment["TANDEM_PORT"] = String(port)
        environment["TANDEM_HOST"] = "127.0.0.1"
        api = APIClient(base: "http://127.0.0.1:\(port)")
        // Beside the data by default, so the test's clean-up of its data folder removes it too.
        let folder = environment["TANDEM_DATA_DIR"].map { URL(fileURLWithPath: $0) } ?? FileManager.default.temporaryDirectory
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        self.log = log ?? folder.appendingPathComponent("serve-\(port).log")
        _ = FileManager.default.createFile(atPath: self.log.path, contents: nil)
        let output = try FileHandle(forWritingTo: self.log)
        process.executableURL = binary
        process.arguments = ["serve"]
        process.environment = environment
        process.standardOutput = output
        process.standardError = output
        try process.run()
    }

    func waitUntilHealthy(within seconds: Int = 60) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if let (_, response) = try? await URLSession.shared.data(from: URL(string: base + "/health")!),
               (response as? HTTPURLResponse)?.statusCode == 200 { return }
            guard process.isRunning else {
                throw TestSetupError("tandem serve exited with status \(process.terminationStatus); its log ends:\n\(logTail())")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestSetupError("tandem serve did not become healthy at \(base) within \(seconds) s; its log ends:\n\(logTail())")
    }

    /// The last lines the server wrote.
    func logTail(_ lines: Int = 30) -> String {
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    func startConversation() async throws -> (String, String) {
        let conversation = try await api.startConversation()
        return (conversation.id, conversation.token)
    }

    /// True when the server acknowledged the message (2xx).
    func post(_ text: String, conversation: String, token: String) async throws -> Bool {
        let (status, _) = try await api.send("POST", "/api/v1/conversations/\(conversation)/messages", json: ["text": text], token: token)
        return (200..<300).contains(status)
    }

    func messages(conversation: String, token: String) async throws -> [String] {
        let (status, data) = try await api.send("GET", "/api/v1/conversations/\(conversation)/messages", token: token)
        let list = try #require(try? JSONSerialization.jsonObject(with: data) as? [[String: Any]], "messages: \(status)")
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

/// JSON over HTTP to a running server, as any client talks to it. Sendable, so concurrent
/// requests can be sent from a task group.
struct APIClient: Sendable {
    let base: String

    /// Sends a request; returns the status and the body.
    func send(_ method: String, _ path: String, json: [String: any Sendable]? = nil, token: String? = nil) async throws -> (Int, Data) {
        var request = URLRequest(url: URL(string: base + path)!)
        request.httpMethod = method
        request.timeoutInterval = 60
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let json {
            request.httpBody = try JSONSerialization.data(withJSONObject: json)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as? HTTPURLResponse
        let status = http?.statusCode ?? 0
        // Held to the API contract like every in-process response (TestApp.send).
        for violation in Contract.document.violations(method: method, path: path, status: status,
                                                      contentType: http?.value(forHTTPHeaderField: "Content-Type"), body: data) {
            Issue.record("\(method) \(base)\(path): the response breaks the API contract: \(violation)")
        }
        return (status, data)
    }

    /// Sends a request that must answer `status`; returns the body as JSON.
    func expect(_ status: Int, _ method: String, _ path: String, json: [String: any Sendable]? = nil, token: String? = nil) async throws -> Any {
        let (actual, data) = try await send(method, path, json: json, token: token)
        try #require(actual == status, "\(method) \(base)\(path): \(actual) \(String(decoding: data.prefix(300), as: UTF8.self))")
        return (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) ?? NSNull()
    }

    func startConversation() async throws -> (id: String, token: String) {
        let json = try #require(try await expect(201, "POST", "/api/v1/conversations", json: [:]) as? [String: Any])
        let conversation = try #require(json["conversation"] as? [String: Any])
        return (try #require(conversation["id"] as? String), try #require(json["token"] as? String))
    }

    /// Signs an agent in; returns the bearer token.
    func login(_ email: String, password: String = "tandem-demo") async throws -> String {
        let json = try #require(try await expect(200, "POST", "/api/v1/auth/login", json: ["email": email, "password": password]) as? [String: Any])
        return try #require(json["token"] as? String)
    }
}

/// Reads a server-sent event stream as it arrives: URLSession's delegate hands over each chunk,
/// stamped with when it came, so a test can tell how long an event took to reach it.
final class EventStreamReader: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    // @unchecked: URLSession calls the delegate on its own queue; everything mutable is in `state`.
    private struct State {
        var text = ""
        /// For each chunk: when it arrived and the length of `text` after it.
        var arrivals: [(at: ContinuousClock.Instant, end: String.Index)] = []
        var status: Int?
        var finished: (any Error)??
    }
    private let state = NIOLockedValueBox(State())
    private var session: URLSession!
    let url: String

    init(url: String, token: String) {
        self.url = url
        super.init()
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 120
        session = URLSession(configuration: configuration, delegate: self, delegateQueue: nil)
        var request = URLRequest(url: URL(string: url)!)
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        request.setValue("text/event-stream", forHTTPHeaderField: "Accept")
        session.dataTask(with: request).resume()
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        state.withLockedValue { $0.status = (response as? HTTPURLResponse)?.statusCode }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        let now = ContinuousClock.now
        state.withLockedValue { s in
            s.text += String(decoding: data, as: UTF8.self)
            s.arrivals.append((now, s.text.endIndex))
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        state.withLockedValue { $0.finished = .some(error) }
    }

    var text: String { state.withLockedValue { $0.text } }

    /// Waits until `needle` has arrived (after `offset` characters, when given) and returns when
    /// it arrived; fails after `timeout`.
    @discardableResult
    func waitFor(_ needle: String, within timeout: Duration = .seconds(10)) async throws -> ContinuousClock.Instant {
        let deadline = ContinuousClock.now + timeout
        while true {
            let found = state.withLockedValue { s -> (ContinuousClock.Instant?, String?) in
                if let range = s.text.range(of: needle) {
                    return (s.arrivals.first { $0.end >= range.upperBound }?.at, nil)
                }
                if let finished = s.finished { return (nil, "the stream ended (\(finished.map { "\($0)" } ?? "closed")) before it came") }
                return (nil, nil)
            }
            if let at = found.0 { return at }
            if let problem = found.1 { throw TestSetupError("\(url): \(problem); waited for \(needle)") }
            guard ContinuousClock.now < deadline else {
                throw TestSetupError("\(url): \(needle) did not arrive within \(timeout) (status \(state.withLockedValue { $0.status }.map(String.init) ?? "none"), received \(text.count) characters)")
            }
            try await Task.sleep(for: .milliseconds(2))
        }
    }

    func close() { session.invalidateAndCancel() }
}
