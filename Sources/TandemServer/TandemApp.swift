import Foundation
import TandemCore
import TandemOffline
import NIOCore
import NIOPosix
import Vapor

/// Runs the server as `tandem serve` does: the same `configure` the tests use.
public enum TandemApp {
    /// Process-wide set-up for `tandem`, first thing in `main`, from the main thread, before any
    /// task runs. NIO's event loops become Swift's global executor, so a request's task resumes
    /// on the loop that completed its database or HTTP future instead of hopping to a separate
    /// pool and back (a tenth of a message's CPU was switching threads, `perf`). Heavy work has
    /// threads of its own (inference, training), so nothing long runs on a loop.
    public static func prepareProcess() {
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
    }

    public static func serve(environment: TandemEnvironment) async throws {
        // Vapor reads its own command line; give it only the default `serve` command.
        var vaporEnvironment = try Environment.detect(arguments: ["tandem"])
        try LoggingSystem.bootstrap(from: &vaporEnvironment)
        let app = try await Application.make(vaporEnvironment)
        do {
            try await configure(app, environment: environment)
            app.logger.notice("\(banner(environment))")
            try await app.execute()
        } catch {
            // `String(reflecting:)`: PostgreSQL's errors describe themselves generically, and only the
            // reflection names the server's message.
            app.logger.critical("\((error as? LocalizedError)?.errorDescription ?? String(reflecting: error))")
            try? await app.asyncShutdown()
            throw error
        }
        try await app.asyncShutdown()
    }

    /// Runs `body` with the application `tandem serve` would build, on scratch storage (a
    /// temporary SQLite folder, or a scratch PostgreSQL schema when `DATABASE_URL` is set),
    /// serving HTTP on a free local port; everything is shut down and removed afterwards.
    /// For benchmarks and replays.
    public static func withScratch<T>(_ environment: TandemEnvironment, clock: any WallClock = SystemClock(),
                                      _ body: (Application, _ baseURL: String) async throws -> T) async throws -> T {
        var environment = environment
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-scratch-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        environment.dataDirectory = scratch.path
        if environment.databaseURL != nil {
            environment.databaseSchema = "scratch_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        }
        let app = try await Application.make(.production)
        app.logger.logLevel = .warning
        do {
            try await configure(app, environment: environment, clock: clock)
            try await app.asyncBoot()
            try await app.server.start(address: .hostname("127.0.0.1", port: 0))
            let result = try await body(app, "http://127.0.0.1:\(app.http.server.shared.localAddress?.port ?? 0)")
            try? await app.dropDatabaseSchema(environment)
            await app.server.shutdown()
            try await app.asyncShutdown()
            return result
        } catch {
            try? await app.dropDatabaseSchema(environment)
            await app.server.shutdown()
            try? await app.asyncShutdown()
            throw error
        }
    }

    /// Drops the scratch PostgreSQL schema `environment` names, from outside the server that
    /// used it (a benchmark's server process, stopped); nothing to do on SQLite.
    public static func dropScratchSchema(_ environment: TandemEnvironment) async throws {
        guard environment.databaseURL != nil, environment.databaseSchema != nil else { return }
        let app = try await Application.make(.production)
        do {
            try configureDatabase(app, environment: environment)
            try await app.dropDatabaseSchema(environment)
        } catch {
            try? await app.asyncShutdown()
            throw error
        }
        try await app.asyncShutdown()
    }

    static func banner(_ environment: TandemEnvironment) -> String {
        let base = environment.publicURL
        var lines = [
            "Tandem is running.",
            "  Customer chat:  \(base)/chat",
            "  Agent console:  \(base)/console",
            "  Storage:        \(environment.databaseURL == nil ? "SQLite at \(environment.sqlitePath)" : "PostgreSQL")",
        ]
        if environment.loadDemo {
            lines.append("  Demo logins:    agent@demo.tandem, supervisor@demo.tandem, admin@demo.tandem — password \(environment.demoPassword)"
                         + (environment.demoPasswordIsDocumented ? "" : " (random, shown only now; set TANDEM_DEMO_PASSWORD to choose one)"))
        } else if !environment.isLoopback {
            lines.append("  Accounts:       no demo accounts off loopback; create the first admin with `tandem admin create`")
        }
        return lines.joined(separator: "\n")
    }
}
