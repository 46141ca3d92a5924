import Fluent
import Foundation
import TandemCore

/// A team of agents ("Cards", "Disputes"). Conversations routed to it (by intent or tag) are
/// seen and taken by its members; conversations routed to no team by every agent.
final class TeamRecord: Model, @unchecked Sendable {
    static let schema = "teams"

    @ID(key: .id) var id: UUID?
    @Field(key: "name") var name: String
    @OptionalField(key: "created_at") var createdAt: Date?

    init() {}

    init(name: String) { self.name = name }
}

/// An agent's membership of a team (unique per pair).
final class TeamMemberRecord: Model, @unchecked Sendable {
    static let schema = "team_members"

    @ID(key: .id) var id: UUID?
    @Field(key: "team_id") var teamID: UUID
    @Field(key: "agent_id") var agentID: UUID

    init() {}

    init(teamID: UUID, agentID: UUID) {
        self.teamID = teamID
        self.agentID = agentID
    }
}

/// What routes to a team: an intent's key or a tag. Unique per kind and key, so an intent or
/// a tag routes to at most one team.
final class TeamRouteRecord: Model, @unchecked Sendable {
    static let schema = "team_routes"

    enum Kind: String, Codable, Sendable, CaseIterable { case intent, tag }

    @ID(key: .id) var id: UUID?
    @Field(key: "team_id") var teamID: UUID
    @Field(key: "kind") var kind: Kind
    @Field(key: "key") var key: String

    init() {}

    init(teamID: UUID, kind: Kind, key: String) {
        self.teamID = teamID
        self.kind = kind
        self.key = key
    }
}

extension TeamRecord {
    /// Listed, not reflected (see `ModelProperties`).
    var properties: [any AnyProperty] { [_id, _name, _createdAt] }
}

extension TeamMemberRecord {
    /// Listed, not reflected (see `ModelProperties`).
    var properties: [any AnyProperty] { [_id, _teamID, _agentID] }
}

extension TeamRouteRecord {
    /// Listed, not reflected (see `ModelProperties`).
    var properties: [any AnyProperty] { [_id, _teamID, _kind, _key] }
}
