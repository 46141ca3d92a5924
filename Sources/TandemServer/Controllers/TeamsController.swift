import Fluent
import Foundation
import TandemCore
import Vapor

/// Teams and what routes to them (supervisors change them, every agent reads them), and the
/// agents' presence (each agent sets their own from the console).
struct TeamsController: RouteCollection {
    func boot(routes: RoutesBuilder) throws {
        let api = routes.grouped("api", "v1")
        let agents = api.grouped(RoleGuard(role: .agent))
        agents.get("teams", use: list)
        let supervisors = api.grouped(RoleGuard(role: .supervisor))
        supervisors.post("teams", use: create)
        supervisors.put("teams", ":id", use: update)
        supervisors.delete("teams", ":id", use: delete)
        agents.get("agent", "presence", use: presence)
        agents.put("agent", "presence", use: setPresence)
    }

    func list(_ req: Request) async throws -> [TeamDTO] { try await req.teams.list() }

    func create(_ req: Request) async throws -> Response {
        let team = try await req.teams.create(try req.decoded(TeamBody.self), by: try req.agent)
        return try await team.encodeResponse(status: .created, for: req)
    }

    func update(_ req: Request) async throws -> TeamDTO {
        try await req.teams.update(try req.idParameter("Team"), try req.decoded(TeamBody.self), by: try req.agent)
    }

    func delete(_ req: Request) async throws -> HTTPStatus {
        try await req.teams.delete(try req.idParameter("Team"), by: try req.agent)
        return .noContent
    }

    /// Every active agent: presence, open conversations, teams.
    func presence(_ req: Request) async throws -> [PresenceDTO] { try await req.teams.presence() }

    /// The console sets it, and repeats it every 30 s while open (the heartbeat).
    func setPresence(_ req: Request) async throws -> PresenceDTO {
        try await req.teams.setPresence(try req.decoded(PresenceBody.self).status, of: try req.agent)
    }
}
