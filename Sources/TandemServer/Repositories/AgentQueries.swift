import Fluent
import Foundation

extension AgentRecord {
    static func allByName(on db: Database) async throws -> [AgentRecord] {
        try await query(on: db).sort(\.$name).all()
    }

    /// E-mails are stored lower-case; the lookup ignores case and surrounding spaces.
    static func find(email: String, on db: Database) async throws -> AgentRecord? {
        try await query(on: db).filter(\.$email == email.lowercased().trimmingCharacters(in: .whitespaces)).first()
    }

    /// The given agents by id (one query; none for an empty set).
    static func byID(_ ids: some Sequence<UUID>, on db: Database) async throws -> [UUID: AgentRecord] {
        let ids = Set(ids)
        guard !ids.isEmpty else { return [:] }
        let agents = try await query(on: db).filter(\.$id ~~ ids).all()
        return Dictionary(uniqueKeysWithValues: agents.compactMap { a in a.id.map { ($0, a) } })
    }

    /// Display names of the given agents.
    static func names(of ids: Set<UUID>, on db: Database) async throws -> [UUID: String] {
        try await byID(ids, on: db).mapValues(\.name)
    }
}

extension AgentTokenRecord {
    /// The session a token opens, with its agent (tokens are stored as their SHA-256).
    static func find(token: String, on db: Database) async throws -> AgentTokenRecord? {
        try await query(on: db).filter(\.$tokenHash == Secrets.digest(token)).with(\.$agent).first()
    }

    static func revoke(token: String, on db: Database) async throws {
        try await query(on: db).filter(\.$tokenHash == Secrets.digest(token)).delete()
    }
}
