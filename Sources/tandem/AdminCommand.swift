import ArgumentParser
import Foundation
import TandemOffline
import TandemServer
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct AdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin", abstract: "Manage accounts from the command line.", subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an account, e.g. the first admin of an empty install.",
            discussion: """
                The password comes from --password-file (first line), else TANDEM_ADMIN_PASSWORD, else \
                it is asked for (not echoed). The database is the one `tandem serve` would use \
                (DATABASE_URL, or SQLite in TANDEM_DATA_DIR).
                """)

        @ArgumentParser.Option(help: "E-mail address to sign in with.")
        var email: String

        @ArgumentParser.Option(help: "Name shown to colleagues and customers.")
        var name: String = "Administrator"

        @ArgumentParser.Option(help: "agent, supervisor or admin.")
        var role: String = "admin"

        @ArgumentParser.Option(help: "File whose first line is the password.")
        var passwordFile: String?

        @ArgumentParser.Option(help: "PostgreSQL URL (default: DATABASE_URL; SQLite when unset).")
        var databaseURL: String?

        func run() async throws {
            var environment = TandemEnvironment()
            if let databaseURL { environment.databaseURL = databaseURL }
            let password = try readPassword()
            do {
                print(try await Accounts.createFromCommandLine(email: email, name: name, role: role, password: password,
                                                               environment: environment))
            } catch {
                throw ValidationError((error as? LocalizedError)?.errorDescription ?? "\(error)")
            }
        }

        private func readPassword() throws -> String {
            if let passwordFile {
                guard let text = try? String(contentsOfFile: passwordFile, encoding: .utf8) else {
                    throw ValidationError("cannot read the password file \(passwordFile)")
                }
                return String(text.split(separator: "\n", omittingEmptySubsequences: false).first ?? "")
            }
            if let password = ProcessInfo.processInfo.environment["TANDEM_ADMIN_PASSWORD"] { return password }
            guard isatty(STDIN_FILENO) != 0, let first = getpass("Password for \(email): ").map({ String(cString: $0) }) else {
                throw ValidationError("no password: use --password-file, set TANDEM_ADMIN_PASSWORD, or run in a terminal")
            }
            guard let again = getpass("Again: ").map({ String(cString: $0) }), again == first else {
                throw ValidationError("the two passwords differ")
            }
            return first
        }
    }
}
