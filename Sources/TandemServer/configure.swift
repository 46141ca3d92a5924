import Fluent
import FluentPostgresDriver
import FluentSQLiteDriver
import Foundation
import Leaf
import LeafKit
import NIOConcurrencyHelpers
import SQLKit
import TandemCore
import TandemOffline
import TandemEmbedding
import Vapor

/// Builds the application: storage, services, middleware, routes. Tests call this with their
/// own environment and encoder; `tandem serve` calls it with the process's.
public func configure(_ app: Application, environment: TandemEnvironment, encoder: (any SentenceEncoder)? = nil,
                      clock: any WallClock = SystemClock()) async throws {
    let encoder = encoder ?? loadEncoder(environment, logger: app.logger)
    let events = EventBus(interval: .milliseconds(Int((environment.eventPollInterval * 1000).rounded())),
                          settings: .init(safetyWindow: environment.eventSafetyWindow), clock: clock,
                          limiter: StreamLimiter(perToken: environment.streamsPerToken, total: environment.streamsTotal))
    app.tandem = TandemServices(environment: environment, clock: clock, intelligence: Intelligence(encoder: encoder, queueCapacity: environment.inferenceQueue), events: events)

    app.http.server.configuration.hostname = environment.host
    app.http.server.configuration.port = environment.port
    // Customers' messages are small; larger bodies are refused before they are read in full.
    app.routes.defaultMaxBodySize = "64kb"
    app.http.client.configuration.timeout = .init(connect: .seconds(5), read: .seconds(10))
    app.passwords.use(.bcrypt(cost: environment.bcryptCost))

    try configureDatabase(app, environment: environment)
    app.databases.middleware.use(ClockTimestamps(clock: clock))
    app.databases.middleware.use(WorkspaceChanges(cache: app.tandem.workspaceCache))
    app.migrations.add(Migrations.all)

    // Views and static files from the target's resources.
    let resources = try resourcesDirectory()
    let views = resources.appendingPathComponent("Views").path + "/"
    app.views.use(.leaf)
    app.leaf.configuration.rootDirectory = views
    // The build folder is `.build`: Leaf's default limits refuse paths with hidden folders.
    app.leaf.sources = .singleSource(NIOLeafFiles(fileio: app.fileio, limits: [.toSandbox, .requireExtensions],
                                                   sandboxDirectory: views, viewDirectory: views))
    app.leaf.cache.isEnabled = app.environment.isRelease

    app.middleware = .init()
    app.middleware.use(RequestIDMiddleware())
    app.middleware.use(RouteLoggingMiddleware(logLevel: .debug))
    // Outside the error middleware, so error responses carry the security headers too.
    app.middleware.use(SecurityHeadersMiddleware(environment: environment))
    app.middleware.use(TandemErrorMiddleware())
    app.middleware.use(SameOriginMiddleware())
    app.middleware.use(FileMiddleware(publicDirectory: resources.appendingPathComponent("Public").path + "/"))

    // The customer's API authenticates by its conversation token alone: its requests (the
    // busiest ones) skip the agent-token lookup every other route makes.
    try app.register(collection: CustomerController())
    let signedIn = app.grouped(AgentAuthenticator())
    try signedIn.register(collection: PageController())
    try signedIn.register(collection: AuthController())
    try signedIn.register(collection: AgentController())
    try signedIn.register(collection: KnowledgeBaseController())
    try signedIn.register(collection: AdminController())
    try signedIn.register(collection: QualityController())
    try signedIn.register(collection: StaffingController())
    try signedIn.register(collection: OperationsController())
    try signedIn.register(collection: PrivacyController())
    try signedIn.register(collection: NotesController())
    try signedIn.register(collection: TeamsController())

    try await withStartupLock(app, environment: environment) {
        if let schema = environment.databaseSchema, let sql = app.db as? SQLDatabase {
            // A separate schema per deployment (or per test) in a shared PostgreSQL database.
            try await sql.raw("CREATE SCHEMA IF NOT EXISTS \(ident: schema)").run()
        }
        try await app.autoMigrate()
        let customerKeys = try await CustomerKeys.load(environment: environment, on: app.db)
        app.tandem.useCustomerKeys(customerKeys)
        if environment.secretKey == nil, !environment.isLoopback {
            app.logger.notice("TANDEM_SECRET_KEY is not set: customer keys use a secret kept in the database")
        }
        let upgraded = try await customerKeys.upgradeLegacyKeys(on: app.db)
        if upgraded > 0 { app.logger.info("customer keys of \(upgraded) conversations rewritten under the server secret") }
        // Demo content into an empty database.
        _ = try await app.tandem.workspace(on: app.db)
        if environment.loadDemo {
            let hasher = app.password
            if try await DemoWorkspace.loadIfEmpty(on: app.db, password: environment.demoPassword,
                                                   maxExample: environment.maxMessageCharacters, hash: { try hasher.hash($0) }) {
                app.logger.info("loaded the demo workspace")
            }
        }
        _ = try await app.tandem.workspace(on: app.db)
        if !environment.isLoopback {
            try await DemoWorkspace.lockPublishedPasswords(on: app.db, verify: { try app.password.verify($0, created: $1) }, logger: app.logger)
        }
        if environment.trainOnStart, try await ModelLifecycle.requestInitialTraining(at: clock.now, on: app.db) {
            app.logger.info("no model yet: training one from the knowledge base in the background")
        }
    }

    app.jobs = JobRunner(handlers: [
        .train: (ModelLifecycle.train, 2),
        .webhook: (Webhooks.deliver, 6),
        .email: (EmailChannel.send, 8),
    ])
    app.lifecycle.use(BackgroundTasks())
}

/// The copied `Resources` folder: Foundation on Linux puts the bundle's resources at
/// `resourceURL` itself, Apple platforms one level down.
func resourcesDirectory() throws -> URL {
    let candidates = [Bundle.module.resourceURL?.appendingPathComponent("Resources"), Bundle.module.resourceURL,
                      Bundle.module.bundleURL.appendingPathComponent("Resources")].compactMap { $0 }
    guard let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0.appendingPathComponent("Views").path) }) else {
        throw AppError.unavailable("the server's resources are missing from the build (looked in \(candidates.map(\.path)))")
    }
    return found
}

/// The sentence encoder the environment asks for, or the lexical stand-in (with a warning).
func loadEncoder(_ environment: TandemEnvironment, logger: Logger) -> any SentenceEncoder {
    if environment.encoder == "lexical" { return LexicalEncoder() }
    return EncoderLoader.loadOrFallback(directory: environment.modelDirectory, threads: environment.threads,
                                        nice: InferenceExecutor.nice) { logger.warning("\($0)") }
}

extension Application {
    /// Drops the PostgreSQL schema the environment names (benchmarks' and tests' scratch data).
    public func dropDatabaseSchema(_ environment: TandemEnvironment) async throws {
        guard environment.databaseURL != nil, let schema = environment.databaseSchema, let sql = db as? SQLDatabase else { return }
        try await sql.raw("DROP SCHEMA IF EXISTS \(ident: schema) CASCADE").run()
    }
}

/// Runs the start-up steps that read and then write shared state (creating the schema,
/// migrating, loading the demo, asking for the first model) while holding a PostgreSQL
/// advisory lock named after the schema. Nodes started together on an empty database would
/// otherwise race: both run the same migrations and one fails ("already exists"), or both load
/// the demo or queue the first training. The lock belongs to one connection's session, held for
/// the duration while the steps use the pool's other connections. SQLite has a single node.
func withStartupLock(_ app: Application, environment: TandemEnvironment, _ body: @escaping @Sendable () async throws -> Void) async throws {
    guard environment.databaseURL != nil, let sql = app.db as? SQLDatabase, sql.dialect.name == "postgresql" else {
        return try await body()
    }
    let key = "tandem-startup:" + (environment.databaseSchema ?? "public")
    try await app.db.withConnection { connection in
        guard let session = connection as? SQLDatabase else { return try await body() }
        try await session.raw("SELECT pg_advisory_lock(hashtext(\(bind: key)))").run()
        do {
            try await body()
        } catch {
            try? await session.raw("SELECT pg_advisory_unlock(hashtext(\(bind: key)))").run()
            throw error
        }
        try await session.raw("SELECT pg_advisory_unlock(hashtext(\(bind: key)))").run()
    }
}

func configureDatabase(_ app: Application, environment: TandemEnvironment) throws {
    if let url = environment.databaseURL {
        var configuration = try SQLPostgresConfiguration(url: url)
        configuration.searchPath = environment.databaseSchema.map { [$0] }
        app.databases.use(.postgres(configuration: configuration, maxConnectionsPerEventLoop: 4), as: .psql)
    } else {
        try FileManager.default.createDirectory(atPath: environment.dataDirectory, withIntermediateDirectories: true)
        app.databases.use(.sqlite(.file(environment.sqlitePath)), as: .sqlite)
    }
}

/// Pollers and workers that run while the server runs: the event log, background jobs, and
/// the active-model watcher, the LMTP listener. Started after boot, cancelled at shutdown.
struct BackgroundTasks: LifecycleHandler {
    private final class Box: Sendable {
        let tasks = NIOLockedValueBox<[Task<Void, Never>]>([])
        /// Listening sockets besides HTTP (LMTP), closed first at shutdown.
        let listeners = NIOLockedValueBox<[any Channel]>([])
    }
    private let box = Box()

    /// SQLite as a server database. WAL (once, it is kept in the file): readers never block the
    /// writer. The rest holds per connection, so it is set on each one (one per event loop):
    /// - `synchronous=NORMAL`: in WAL mode a commit is written to the log but the log is synced
    ///   only at checkpoints. A killed process loses nothing (the log is in the OS's page cache,
    ///   the SIGKILL tests prove it); a power cut can lose the last commits before a
    ///   checkpoint, never corrupt the file. `FULL` would fsync every message: several times
    ///   the cost per message on this machine's disk. PostgreSQL is the choice when power-cut
    ///   durability matters (its default `synchronous_commit=on`).
    /// - `busy_timeout=5000`: a connection that finds the file locked (another process: a CLI
    ///   command, a backup) waits up to 5 s instead of failing at once; in this process
    ///   writers already queue on `AsyncMutex.sqliteWriters`.
    /// - `temp_store=MEMORY`: sorts and temporary indexes of the inbox queries stay off disk.
    static func tuneSQLite(_ app: Application) async throws {
        guard let sql = app.db as? SQLDatabase, sql.dialect.name == "sqlite" else { return }
        try await sql.raw("PRAGMA journal_mode=WAL").run()
        for eventLoop in app.eventLoopGroup.makeIterator() {
            guard let connection = app.databases.database(logger: app.logger, on: eventLoop) as? SQLDatabase else { continue }
            for pragma in ["synchronous=NORMAL", "busy_timeout=5000", "temp_store=MEMORY"] {
                try await connection.raw("PRAGMA \(unsafeRaw: pragma)").run()
            }
        }
    }

    func didBootAsync(_ app: Application) async throws {
        try await Self.tuneSQLite(app)
        let services = app.tandem
        let logger = app.logger
        let db = app.db
        var tasks = [Task { await services.events.run(on: db, logger: logger) }]
        if let url = services.environment.databaseURL {
            let configuration = try SQLPostgresConfiguration(url: url).coreConfiguration
            let events = services.events
            let eventLoop = app.eventLoopGroup.any()
            tasks.append(Task { await EventNotifications.listen(configuration: configuration, eventLoop: eventLoop, logger: logger) { events.poke() } })
        }
        if let jobs = app.jobs { tasks.append(Task { await jobs.run(app: app) }) }
        // The first model, when none exists, was queued under the start-up lock (`configure`).
        try await ModelLifecycle.sync(app: app)
        app.jobs?.poke()
        tasks.append(Task { await ModelLifecycle.watch(app: app) })
        tasks.append(Task { await services.workspaceCache.watch(services.events, on: db, logger: logger) })
        tasks.append(Task { await Self.housekeeping(app: app) })
        tasks.append(Task { await Self.sweepHolds(app: app) })
        tasks.append(Task { await Self.assign(app: app) })
        tasks.append(Task { await Self.checkServiceLevels(app: app) })
        if let address = services.environment.lmtpAddress {
            let receiver = EmailChannel(db: db, services: services, logger: logger)
            let server = try LMTPServer(address: address, maxBytes: services.environment.maxMailBytes, logger: logger) { bytes in
                try await receiver.receive(bytes)
            }
            let listener = try await server.start(group: app.eventLoopGroup)
            box.listeners.withLockedValue { $0.append(listener.channel) }
            logger.info("taking e-mail by LMTP on \(address)")
            tasks.append(Task { await server.serve(listener) })
        }
        box.tasks.withLockedValue { $0 = tasks }
    }

    /// Decides the bursts whose window has ended (`Conversations.decideDueHolds`): wakes when
    /// the earliest hold falls due, or when this node holds a message, and every 5 s besides.
    /// Every node sweeps, so a burst held by a node that stopped is still decided (within 5 s
    /// of its due time); the decision's own lock keeps two nodes from deciding one burst twice.
    /// An idle server reads the (indexed) holds once every 5 s, not twice a second.
    static func sweepHolds(app: Application) async {
        let conversations = Conversations(db: app.db, services: app.tandem, logger: app.logger)
        let services = app.tandem
        while !Task.isCancelled {
            var wait = Duration.seconds(5)
            do {
                try await conversations.decideDueHolds()
                if let next = try await MessageRecord.query(on: app.db).filter(\.$heldUntil != nil).sort(\.$heldUntil).first()?.heldUntil {
                    let seconds = min(max(next.timeIntervalSince(services.clock.now), 0.05), 5)
                    wait = .milliseconds(Int(seconds * 1000))
                }
            } catch {
                if Task.isCancelled { return }
                app.logger.warning("deciding held messages: \(error)")
                wait = .milliseconds(500)
            }
            await services.holds.wait(timeout: wait)
        }
    }

    /// Every 10 s: flags and escalates the conversations past a service-level target
    /// (`ServiceLevels.check`). Every node checks; the conversation's lock flags each breach once.
    static func checkServiceLevels(app: Application) async {
        while !Task.isCancelled {
            do {
                try await ServiceLevels.check(db: app.db, services: app.tandem, logger: app.logger)
            } catch {
                if Task.isCancelled { return }
                app.logger.warning("service-level check: \(error)")
            }
            try? await Task.sleep(for: .seconds(10))
        }
    }

    /// Gives waiting conversations to online agents (`AutoAssignment`) when rung (a hand-off,
    /// a release, an agent coming online) and every 5 s besides: a place freed on another
    /// node, or a console gone quiet, changes who can take what without ringing here.
    static func assign(app: Application) async {
        let assignment = AutoAssignment(db: app.db, services: app.tandem, logger: app.logger)
        while !Task.isCancelled {
            do {
                try await assignment.run()
            } catch {
                if Task.isCancelled { return }
                app.logger.warning("automatic assignment: \(error)")
            }
            await app.tandem.assignments.wait(timeout: .seconds(5))
        }
    }

    /// At start and then hourly.
    static func housekeeping(app: Application) async {
        while !Task.isCancelled {
            await housekeepingPass(app: app)
            try? await Task.sleep(for: .seconds(3600))
        }
    }

    /// One round: deletes events past their retention (`TANDEM_EVENT_RETENTION_DAYS`) and
    /// agents' sessions that have ended, and anonymises conversations past the workspace's
    /// retention (`retentionDays`), retraining when that took training labels away. Every
    /// time comes from the services' clock.
    static func housekeepingPass(app: Application) async {
        let services = app.tandem
        let cutoff = services.clock.now.addingTimeInterval(-services.environment.eventRetentionDays * 86_400)
        do {
            let removed = try await EventBus.prune(before: cutoff, on: app.db)
            if removed > 0 { app.logger.info("pruned \(removed) events older than \(services.environment.eventRetentionDays) days") }
        } catch {
            app.logger.warning("event pruning: \(error)")
        }
        do {
            try await Sessions.purge(now: services.clock.now, idle: services.environment.sessionIdleTimeout, on: app.db)
        } catch {
            app.logger.warning("session purge: \(error)")
        }
        do {
            // Settings that do not decode keep everything: deleting by a guessed policy is worse.
            if let days = try await services.settings(on: app.db).retentionDays {
                let report = try await Privacy.applyRetention(days: days, now: services.clock.now, on: app.db)
                if report.anonymised > 0 {
                    app.logger.info("retention: anonymised \(report.anonymised) conversations untouched for \(days) days")
                }
                if report.labelsRemoved > 0 {
                    if try await ModelLifecycle.requestTraining(reason: "retention removed \(report.labelsRemoved) labels", at: services.clock.now, on: app.db) {
                        app.jobs?.poke()
                    }
                    try await ModelLifecycle.sync(app: app)
                }
            }
        } catch {
            app.logger.warning("retention: \(error)")
        }
    }

    func shutdownAsync(_ app: Application) async {
        app.tandem.events.finish()
        app.tandem.intelligence.executor.shutdown()
        for listener in box.listeners.withLockedValue({ $0 }) { try? await listener.close() }
        let tasks = box.tasks.withLockedValue { $0 }
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
    }
}

/// Every request has an id, in its log lines (`request-id`) and in the `X-Request-ID` response
/// header, so a client's report can be matched with the server's logs. A caller's own id (a
/// proxy's, say) is kept when it is short and plain; anything else is replaced.
struct RequestIDMiddleware: AsyncMiddleware {
    static let header = "X-Request-ID"

    func respond(to request: Request, chainingTo next: AsyncResponder) async throws -> Response {
        // Vapor takes `request.id` from this header verbatim when a caller sends one.
        var id = request.headers.first(name: Self.header) ?? request.id
        if !Self.isPlain(id) { id = UUID().uuidString }
        request.logger[metadataKey: "request-id"] = .string(id)
        // Errors are responses by now: TandemErrorMiddleware sits further in.
        let response = try await next.respond(to: request)
        response.headers.replaceOrAdd(name: Self.header, value: id)
        return response
    }

    static func isPlain(_ id: String) -> Bool {
        (1...128).contains(id.utf8.count) && id.utf8.allSatisfy { $0 < 128 && (isalnum(Int32($0)) != 0 || "-_.:".utf8.contains($0)) }
    }
}
