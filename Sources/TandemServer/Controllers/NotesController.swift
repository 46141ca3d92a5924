import Fluent
import Foundation
import Vapor

/// The agent's workspace beside the thread: private notes and @mentions (`Notes`), canned
/// replies and the team's snippets (`CannedReplies`).
struct NotesController: RouteCollection {
    func boot(routes: RoutesBuilder) throws {
        let agent = routes.grouped("api", "v1", "agent").grouped(RoleGuard(role: .agent))
        agent.get("conversations", ":id", "notes", use: list)
        agent.post("conversations", ":id", "notes", use: add)
        agent.get("mentions", use: mentions)
        agent.post("mentions", ":id", "read", use: read)
        agent.get("conversations", ":id", "replies", use: replies)
        agent.get("snippets", use: snippets)
        agent.post("snippets", use: createSnippet)
        agent.put("snippets", ":id", use: updateSnippet)
        agent.delete("snippets", ":id", use: deleteSnippet)
    }

    struct SnippetBody: Decodable {
        var title: String
        var text: String
    }

    /// `?q=words` (all of them, in the title or the text); at most `limit` (default 20).
    func replies(_ req: Request) async throws -> [CannedReplyDTO] {
        let query = req.query[String.self, at: "q"] ?? ""
        guard query.unicodeScalars.count <= 200 else { throw AppError.invalidField("q", "at most 200 characters") }
        return try await req.cannedReplies.search(query, for: try await req.visibleConversationID(), agent: try req.agent,
                                                  limit: try Self.limit(req, default: 20))
    }

    func snippets(_ req: Request) async throws -> [SnippetDTO] {
        try await req.cannedReplies.list()
    }

    func createSnippet(_ req: Request) async throws -> Response {
        let body = try req.decoded(SnippetBody.self)
        let snippet = try await req.cannedReplies.create(title: body.title, text: body.text, by: try req.agent)
        return try await snippet.encodeResponse(status: .created, for: req)
    }

    func updateSnippet(_ req: Request) async throws -> SnippetDTO {
        let body = try req.decoded(SnippetBody.self)
        return try await req.cannedReplies.update(try req.idParameter("Snippet"), title: body.title, text: body.text, by: try req.agent)
    }

    func deleteSnippet(_ req: Request) async throws -> HTTPStatus {
        try await req.cannedReplies.delete(try req.idParameter("Snippet"), by: try req.agent)
        return .noContent
    }

    /// `limit`: a whole number from 1 to 500, or the default.
    static func limit(_ req: Request, default value: Int) throws -> Int {
        guard let text = req.query[String.self, at: "limit"] else { return value }
        guard let n = Int(text), (1...500).contains(n) else { throw AppError.invalidField("limit", "must be a whole number from 1 to 500") }
        return n
    }

    struct NoteBody: Decodable {
        var text: String
    }

    func list(_ req: Request) async throws -> [NoteDTO] {
        try await req.notes.list(try await req.visibleConversationID())
    }

    func add(_ req: Request) async throws -> Response {
        let body = try req.decoded(NoteBody.self)
        let note = try await req.notes.add(to: try await req.visibleConversationID(), text: body.text, by: try req.agent)
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
        let limit = try Self.limit(req, default: 50)
        return try await req.notes.mentions(of: try req.agent, unreadOnly: unread, limit: limit)
    }

    func read(_ req: Request) async throws -> MentionDTO {
        try await req.notes.markRead(try req.idParameter("Mention"), by: try req.agent)
    }
}
