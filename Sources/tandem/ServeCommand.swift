import ArgumentParser
import TandemOffline
import TandemServer

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the Tandem server (chat, console, API).")

    @ArgumentParser.Option(help: "Address to listen on (default: TANDEM_HOST or 127.0.0.1).")
    var host: String?

    @ArgumentParser.Option(help: "Port (default: TANDEM_PORT or 8080).")
    var port: Int?

    @ArgumentParser.Option(help: "PostgreSQL URL (default: DATABASE_URL; SQLite when unset).")
    var databaseURL: String?

    @Flag(help: "Do not load the demo workspace into an empty database.")
    var noDemo = false

    func run() async throws {
        var environment = TandemEnvironment()
        if let host { environment.host = host }
        if let port { environment.port = port }
        if let databaseURL { environment.databaseURL = databaseURL }
        if noDemo { environment.loadDemo = false }
        try await TandemApp.serve(environment: environment)
    }
}
