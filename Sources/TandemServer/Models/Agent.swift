import Fluent
import Foundation
import TandemCore

enum AgentRole: String, Codable, Sendable, CaseIterable, Comparable {
    case agent, supervisor, admin

    /// Supervisors can do what agents do, admins what supervisors do.
    private var rank: Int { [.agent: 0, .supervisor: 1, .admin: 2][self]! }
    static func < (a: AgentRole, b: AgentRole) -> Bool { a.rank < b.rank }
}

final class AgentRecord: Model, @unchecked Sendable {
    static let schema = "agents"

    @ID(key: .id) var id: UUID?
    @Field(key: "email") var email: String
    @Field(key: "name") var name: String
    @Field(key: "role") var role: AgentRole
    @Field(key: "password_hash") var passwordHash: String
    @OptionalField(key: "max_concurrent") var maxConcurrent: Int?
    @Field(key: "active") var active: Bool
    /// What the agent set in the console (`Presence`), and when its console was last heard from.
    @Field(key: "presence") var presence: Presence
    @OptionalField(key: "presence_at") var presenceAt: Date?
    @OptionalField(key: "created_at") var createdAt: Date?

    init() {}

    init(email: String, name: String, role: AgentRole, passwordHash: String) {
        self.email = email.lowercased()
        self.name = name
        self.role = role
        self.passwordHash = passwordHash
        active = true
        presence = .offline
    }
}

/// A login: the bearer token's SHA-256 (the token is only ever shown to the agent).
final class AgentTokenRecord: Model, @unchecked Sendable {
    static let schema = "agent_tokens"

    @ID(key: .id) var id: UUID?
    @Parent(key: "agent_id") var agent: AgentRecord
    @Field(key: "token_hash") var tokenHash: String
    @Field(key: "expires_at") var expiresAt: Date
    /// When the session was last used (renewed at most once a minute); idle ones expire.
    @OptionalField(key: "last_used_at") var lastUsedAt: Date?
    @OptionalField(key: "created_at") var createdAt: Date?

    init() {}

    init(agentID: UUID, tokenHash: String, expiresAt: Date) {
        $agent.id = agentID
        self.tokenHash = tokenHash
        self.expiresAt = expiresAt
    }
}

extension AgentRecord {
    /// Listed, not reflected (see `ModelProperties`).
    var properties: [any AnyProperty] { [_id, _email, _name, _role, _passwordHash, _maxConcurrent, _active, _presence, _presenceAt, _createdAt] }
}

extension AgentTokenRecord {
    /// Listed, not reflected (see `ModelProperties`).
    var properties: [any AnyProperty] { [_id, _agent, _tokenHash, _expiresAt, _lastUsedAt, _createdAt] }
}
