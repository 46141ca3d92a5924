import Fluent
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import FluentPostgresDriver
import SQLKit
import TandemOffline
import TandemCore
import TandemEmbedding
@testable import TandemServer
import Testing
import VaporTesting

/// The databases the suite runs against. SQLite always; PostgreSQL when a server is given
/// (`TANDEM_TEST_POSTGRES_URL`, which `make test` sets after starting one) — required in CI.
enum TestDatabase: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite, postgres

    var testDescription: String { rawValue }

    static var postgresURL: String? {
        ProcessInfo.processInfo.environment["TANDEM_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }
    static var isCI: Bool { ["1", "true", "yes"].contains(ProcessInfo.processInfo.environment["CI"]?.lowercased() ?? "") }

    /// Both in CI (where a missing PostgreSQL is a failure, not a skip); elsewhere PostgreSQL
    /// only when a server was given.
    static var available: [TestDatabase] { postgresURL != nil || isCI ? [.sqlite, .postgres] : [.sqlite] }
}

/// Shared, expensive things built once per test process: the sentence encoder and a model
/// trained on the demo knowledge base (stored into each test's fresh database).
enum Shared {
    static let modelDirectory = EncoderLoader.defaultDirectory(environment: ProcessInfo.processInfo.environment)

    static let encoder: any SentenceEncoder = {
        if let encoder = try? TransformerEncoder(directory: modelDirectory) { return encoder }
        precondition(!TestDatabase.isCI, "CI=true: the MiniLM model must be installed at \(modelDirectory) (make model)")
        return LexicalEncoder()
    }()

    static var hasModel: Bool { !(encoder is LexicalEncoder) }

    private static let cache = NIOLockedValueBox<(version: String, files: ModelArtifact.Files)?>(nil)

    /// The demo model's artifact files, trained on first use.
    static func demoModel() throws -> (version: String, files: ModelArtifact.Files) {
        try cache.withLockedValue { cached in
            if let cached { return cached }
        let document = try DemoWorkspace.document
        var texts: [String] = [], labels: [String] = []
        for intent in document.intents { for example in intent.examples { texts.append(example); labels.append(intent.key) } }
            let (artifact, files) = try ModelLifecycle.fit(texts: texts, labels: labels, settings: document.settings ?? WorkspaceSettings(),
                                                           encoder: encoder, threads: ProcessInfo.processInfo.activeProcessorCount,
                                                           clock: SystemClock())
            cached = (artifact.version, files)
            return cached!
        }
    }
}

/// The API contract every response of every test is held to: the document the server
/// serves at /api/v1/openapi.json, parsed once per test process.
enum Contract {
    static let specURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Sources/TandemServer/Resources/openapi.json")

    static let document: OpenAPIContract = {
        do {
            return try OpenAPIContract(specData: Data(contentsOf: specURL))
        } catch {
            preconditionFailure("\(specURL.path) is not a valid OpenAPI 3.0 document: \(error)")
        }
    }()
}

/// One application as `tandem serve` builds it, on a fresh database, with the demo workspace.
struct TestApp {
    let app: Application
    let database: TestDatabase
    private let cleanup: @Sendable () async -> Void

    /// Runs `body` with a configured application and always shuts it down.
    static func with<T>(_ database: TestDatabase, demo: Bool = true, model: Bool = true, clock: any WallClock = SystemClock(),
                        adjust: (inout TandemEnvironment) -> Void = { _ in },
                        _ body: (TestApp) async throws -> T) async throws -> T {
        let testApp = try await make(database, demo: demo, model: model, clock: clock, adjust: adjust)
        do {
            let result = try await body(testApp)
            await testApp.shutdown()
            return result
        } catch {
            await testApp.shutdown()
            throw error
        }
    }

    static func make(_ database: TestDatabase, demo: Bool = true, model: Bool = true, clock: any WallClock = SystemClock(),
                     adjust: (inout TandemEnvironment) -> Void = { _ in }) async throws -> TestApp {
        var environment = TandemEnvironment([:])
        environment.modelDirectory = Shared.modelDirectory
        environment.loadDemo = demo
        environment.trainOnStart = false
        environment.bcryptCost = 4
        // Every request of a test comes from one address; the rate-limit tests turn them on.
        environment.limits.enabled = false
        environment.nodeID = "test-\(UUID().uuidString.prefix(8))"
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-test-\(UUID().uuidString)")
        environment.dataDirectory = directory.path
        var dropSchema: String?
        switch database {
        case .sqlite: break
        case .postgres:
            guard let url = TestDatabase.postgresURL else {
                throw TestSetupError("CI=true requires PostgreSQL: set TANDEM_TEST_POSTGRES_URL (make test starts one)")
            }
            environment.databaseURL = url
            let schema = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
            environment.databaseSchema = schema
            dropSchema = schema
        }
        adjust(&environment)

        let app = try await Application.make(.testing)
        app.logger.logLevel = .warning
        do {
            try await configure(app, environment: environment, encoder: Shared.encoder, clock: clock)
            try await app.asyncBoot()
            if model {
                let files = try Shared.demoModel()
                try await ModelLifecycle.install(version: files.version, summary: nil, files: files.files,
                                                 examples: 0, app: app)
            }
        } catch {
            try? await app.asyncShutdown()
            throw error
        }
        let schema = dropSchema
        return TestApp(app: app, database: database, cleanup: {
            if let schema, let url = TestDatabase.postgresURL {
                // Drop through a fresh short-lived application: the tested one is shut down.
                if let admin = try? await Application.make(.testing) {
                    if let configuration = try? SQLPostgresConfiguration(url: url) {
                        admin.databases.use(.postgres(configuration: configuration), as: .psql)
                        try? await (admin.db as? SQLDatabase)?.raw("DROP SCHEMA IF EXISTS \(ident: schema) CASCADE").run()
                    }
                    try? await admin.asyncShutdown()
                }
            }
            try? FileManager.default.removeItem(at: directory)
        })
    }

    /// Starts a real HTTP server on a free local port (for browsers and other processes) and
    /// returns its base URL; `shutdown()` stops it.
    func listen() async throws -> String {
        try await app.server.start(address: .hostname("127.0.0.1", port: 0))
        let port = try #require(app.http.server.shared.localAddress?.port)
        return "http://127.0.0.1:\(port)"
    }

    /// Serves the app on a free port and runs `flow` with a browser pointed at it. A failure is
    /// printed before it is rethrown, so the log shows it next to the browser's own output.
    func browse(_ name: String, _ flow: (_ base: String, _ driver: WebDriver) async throws -> Void) async throws {
        let base = try await listen()
        do {
            try await WebDriver.with { driver in try await flow(base, driver) }
        } catch {
            print("\(name) failed: \(error)")
            throw error
        }
    }

    func shutdown() async {
        app.tandem.events.finish()  // ends open event streams so the server can stop at once
        await app.server.shutdown()
        try? await app.asyncShutdown()
        await cleanup()
    }

    // MARK: Requests

    /// Sends a request in-process and returns the response.
    @discardableResult
    func send(_ method: HTTPMethod, _ path: String, json: (any Encodable & Sendable)? = nil, body: String? = nil,
              contentType: String = "application/json", token: String? = nil, headers: HTTPHeaders = [:]) async throws -> TestingHTTPResponse {
        var headers = headers
        if let token { headers.replaceOrAdd(name: .authorization, value: "Bearer \(token)") }
        var buffer: ByteBuffer?
        if let json {
            let data = try JSONEncoder().encode(json)
            buffer = ByteBuffer(data: data)
            headers.replaceOrAdd(name: .contentType, value: "application/json")
        } else if let body {
            buffer = ByteBuffer(string: body)
            headers.replaceOrAdd(name: .contentType, value: contentType)
        }
        let response = try await app.testing().sendRequest(method, path, headers: headers, body: buffer)
        for violation in Contract.document.violations(method: method.rawValue, path: path, status: Int(response.status.code),
                                                      contentType: response.headers.first(name: .contentType),
                                                      body: Data(response.body.readableBytesView)) {
            Issue.record("the response breaks the API contract: \(violation)")
        }
        return response
    }

    /// Logs a demo agent in through the API and returns the bearer token.
    func login(_ email: String = "agent@demo.tandem", password: String = "tandem-demo") async throws -> String {
        let response = try await send(.POST, "/api/v1/auth/login", json: ["email": email, "password": password])
        try #require(response.status == .ok, "login as \(email) failed: \(response.status) \(response.body.string)")
        return try #require(response.json["token"] as? String)
    }

    /// Starts a customer conversation; returns its id and customer token.
    func startConversation(name: String = "Ana") async throws -> (id: String, token: String) {
        let response = try await send(.POST, "/api/v1/conversations", json: ["name": name])
        try #require(response.status == .created, "start conversation: \(response.status) \(response.body.string)")
        let json = response.json
        let conversation = try #require(json["conversation"] as? [String: Any])
        return (try #require(conversation["id"] as? String), try #require(json["token"] as? String))
    }

    /// Posts a customer message and returns the decoded response.
    @discardableResult
    /// A first delivery is 201; a retry with an idempotency key already stored is 200.
    func say(_ text: String, in conversation: (id: String, token: String), key: String? = nil,
             expect status: HTTPStatus = .created) async throws -> [String: Any] {
        var headers = HTTPHeaders()
        if let key { headers.add(name: "Idempotency-Key", value: key) }
        let response = try await send(.POST, "/api/v1/conversations/\(conversation.id)/messages", json: ["text": text],
                                      token: conversation.token, headers: headers)
        try #require(response.status == status, "message '\(text)': \(response.status) \(response.body.string)")
        return response.json
    }

    func sql() throws -> SQLDatabase { try #require(app.db as? SQLDatabase) }

    /// Sets the workspace's burst window to 0, for tests about something else that need each
    /// message decided as it comes (a message the model cannot place otherwise waits for the
    /// rest of its burst: `TurnsFlowTests`).
    func decideEachMessageAlone() async throws {
        let workspace = try await app.tandem.workspace(on: app.db)
        var settings = try workspace.settings
        settings.burstWindowSeconds = 0
        workspace.store(settings)
        try await workspace.save(on: app.db)
    }
}

struct TestSetupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension TestingHTTPResponse {
    /// The body as a JSON object (empty when it is not one).
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any] ?? [:]
    }
    var jsonArray: [[String: Any]] {
        (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [[String: Any]] ?? []
    }
}
