import Fluent
import Foundation
import Vapor

/// Private notes on conversations and the agents' @mentions (`Notes`).
struct NotesController: RouteCollection {
    func boot(routes: RoutesBuilder) throws {
        let agent = routes.grouped("api", "v1", "agent").grouped(RoleGuard(role: .agent))
        agent.get("conversations", ":id", "notes", use: list)
        agent.post("conversations", ":id", "notes", use: add)
        agent.get("mentions", use: mentions)
        agent.post("mentions", ":id", "read", use: read)
    }

    struct NoteBody: Decodable {
        var text: String
    }

    func list(_ req: Request) async throws -> [NoteDTO] {
        try await req.notes.list(try uuid(req, "Conversation"))
    }

    func add(_ req: Request) async throws -> Response {
        let body = try req.decoded(NoteBody.self)
        let note = try await req.notes.add(to: try uuid(req, "Conversation"), text: body.text, by: try req.agent)
        return try await note.encodeResponse(status: .created, for: req)
    }

    /// `?unread=true` for the unread ones only; newest first, at most `limit` (default 50).
    func mentions(_ req: Request) async throws -> [MentionDTO] {
        let unread: Bool
        switch req.query[String.self, at: "unread"] {
        case nil, "false": unread = false
        case "true": unread = true
        default: throw AppError.invalidField("unread", "must be true or false")
        }
        let limit: Int
        if let text = req.query[String.self, at: "limit"] {
            guard let n = Int(text), (1...500).contains(n) else { throw AppError.invalidField("limit", "must be a whole number from 1 to 500") }
            limit = n
        } else {
            limit = 50
        }
        return try await req.notes.mentions(of: try req.agent, unreadOnly: unread, limit: limit)
    }

    func read(_ req: Request) async throws -> MentionDTO {
        try await req.notes.markRead(try uuid(req, "Mention"), by: try req.agent)
    }

    private func uuid(_ req: Request, _ what: String) throws -> UUID {
        guard let id = req.parameters.get("id", as: UUID.self) else { throw AppError.notFound(what) }
        return id
    }
}
