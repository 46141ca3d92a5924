import Foundation
import Vapor

/// Runs the server as `tandem serve` does: the same `configure` the tests use.
public enum TandemApp {
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
            app.logger.critical("\((error as? LocalizedError)?.errorDescription ?? String(describing: error))")
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
            lines.append("  Demo logins:    agent@demo.tandem, supervisor@demo.tandem, admin@demo.tandem — password \(environment.demoPassword)")
        }
        return lines.joined(separator: "\n")
    }
}
