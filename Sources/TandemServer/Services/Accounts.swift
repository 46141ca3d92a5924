import Fluent
import Foundation
import TandemEmbedding
import TandemOffline
import Vapor

/// Agents' accounts: creation (from the API and from `tandem admin create`), passwords,
/// deactivation and sessions. Whatever ends an account's access ends its sessions at once.
public enum Accounts {
    static let minimumPassword = 10

    /// The same rules for the API and the command line; each names the field.
    static func validate(email: String, name: String, password: String) throws {
        guard email.contains("@"), email.count <= 254, !email.contains(where: \.isWhitespace) else {
            throw AppError.invalidField("email", "not an e-mail address")
        }
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty, name.count <= 120 else { throw AppError.invalidField("name", "1–120 characters") }
        try validate(password: password, field: "password")
    }

    static func validate(password: String, field: String) throws {
        guard password.count >= minimumPassword, password.count <= 1000 else {
            throw AppError.invalidField(field, "\(minimumPassword)–1000 characters")
        }
    }

    static func create(email: String, name: String, role: AgentRole, password: String, maxConcurrent: Int? = nil,
                       hash: (String) async throws -> String, on db: Database) async throws -> AgentRecord {
        try validate(email: email, name: name, password: password)
        if let maxConcurrent, !(1...50).contains(maxConcurrent) { throw AppError.invalidField("maxConcurrent", "1–50") }
        if try await AgentRecord.find(email: email, on: db) != nil { throw AppError.conflict("An agent with that e-mail exists already.") }
        let agent = AgentRecord(email: email.trimmingCharacters(in: .whitespaces), name: name, role: role, passwordHash: try await hash(password))
        agent.maxConcurrent = maxConcurrent
        try await agent.create(on: db)
        return agent
    }

    /// Ends every session of `agent`, or every one but `keeping`.
    static func revokeSessions(of agent: AgentRecord, keeping token: String? = nil, on db: Database) async throws {
        var query = AgentTokenRecord.query(on: db).filter(\.$agent.$id == (try agent.requireID()))
        if let token { query = query.filter(\.$tokenHash != Secrets.digest(token)) }
        try await query.delete()
    }

    /// Whether another active admin would remain if `agent` stopped being one.
    static func anotherAdminRemains(besides agent: AgentRecord, on db: Database) async throws -> Bool {
        let id = try agent.requireID()
        return try await AgentRecord.query(on: db).filter(\.$role == .admin).filter(\.$active == true).filter(\.$id != id).count() > 0
    }

    /// `tandem admin create`: an agent straight into the database the environment names
    /// (migrated first), for the first admin of an empty install and for automation.
    public static func createFromCommandLine(email: String, name: String, role: String, password: String,
                                             environment: TandemEnvironment) async throws -> String {
        guard let role = AgentRole(rawValue: role) else {
            throw AppError.invalidField("role", "one of \(AgentRole.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var environment = environment
        environment.loadDemo = false
        environment.trainOnStart = false
        let app = try await Application.make(.production)
        app.logger.logLevel = .warning
        do {
            try await configure(app, environment: environment, encoder: LexicalEncoder())
            let hasher = app.password.async
            let agent = try await create(email: email, name: name, role: role, password: password,
                                         hash: { try await hasher.hash($0) }, on: app.db)
            try await app.asyncShutdown()
            return "created \(agent.role.rawValue) \(agent.email)"
        } catch {
            try? await app.asyncShutdown()
            throw error
        }
    }
}

extension AppError: LocalizedError {
    var errorDescription: String? { message }
}

/// Agents' sessions end at their expiry (12 h after sign-in) or after `TANDEM_SESSION_IDLE_MINUTES`
/// unused, whichever comes first; each use renews the idle window (recorded at most once a
/// minute, so reads do not all become writes). Ended sessions are purged in the background.
enum Sessions {
    static let renewEvery: TimeInterval = 60

    static func isLive(_ session: AgentTokenRecord, now: Date, idle: TimeInterval) -> Bool {
        let lastUsed = session.lastUsedAt ?? session.createdAt ?? now
        return session.expiresAt > now && now.timeIntervalSince(lastUsed) < idle
    }

    static func needsRenewal(_ session: AgentTokenRecord, now: Date) -> Bool {
        now.timeIntervalSince(session.lastUsedAt ?? session.createdAt ?? .distantPast) >= renewEvery
    }

    /// Deletes sessions past their expiry or idle for longer than `idle`. Returns how many.
    @discardableResult
    static func purge(now: Date, idle: TimeInterval, on db: Database) async throws -> Int {
        let idleSince = now.addingTimeInterval(-idle)
        let ended = try await AgentTokenRecord.query(on: db).group(.or) { or in
            or.filter(\.$expiresAt <= now)
            or.filter(\.$lastUsedAt < idleSince)
            or.group(.and) { $0.filter(\.$lastUsedAt == nil).filter(\.$createdAt < idleSince) }
        }
        let count = try await ended.count()
        if count > 0 { try await ended.delete() }
        return count
    }
}
