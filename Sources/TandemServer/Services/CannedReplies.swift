import Fluent
import Foundation
import Vapor

/// Canned replies for the reply box: every intent's approved answer and the team's snippets,
/// searched by words, with their variables filled for one conversation and one agent.
struct CannedReplies {
    let db: Database
    let services: TandemServices

    static let maximumTitle = 100

    /// Replies matching every word of `query` (in the title or the text), best first: title
    /// matches before text matches, snippets before answers, then by title. An empty query
    /// lists the snippets, then the answers.
    func search(_ query: String, for conversationID: UUID, agent: AgentRecord, limit: Int) async throws -> [CannedReplyDTO] {
        guard let conversation = try await ConversationRecord.find(conversationID, on: db) else {
            throw AppError.notFound("Conversation \(conversationID)")
        }
        let words = query.lowercased().split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map(String.init)
        let snippets = try await SnippetRecord.query(on: db).all().map { s in
            (kind: CannedReplyDTO.Kind.snippet, key: s.id?.uuidString ?? "", title: s.title, text: s.text)
        }
        let answers = try await IntentRecord.query(on: db).all().map { i in
            (kind: CannedReplyDTO.Kind.answer, key: i.key, title: i.title, text: i.answer)
        }
        let ranked = (snippets + answers).compactMap { reply -> (Int, CannedReplyDTO)? in
            let title = reply.title.lowercased(), text = reply.text.lowercased()
            guard words.allSatisfy({ title.contains($0) || text.contains($0) }) else { return nil }
            let score = words.filter { title.contains($0) }.count * 2 + (reply.kind == .snippet ? 1 : 0)
            let filled = Assistance.fill(reply.text, customerName: conversation.customerName, agentName: agent.name)
            return (score, CannedReplyDTO(kind: reply.kind, key: reply.key, title: reply.title, text: filled))
        }
        return ranked.sorted { ($0.0, $1.1.title) > ($1.0, $0.1.title) }.prefix(limit).map(\.1)
    }

    func list() async throws -> [SnippetDTO] {
        try await SnippetRecord.query(on: db).sort(\.$title).all().map(SnippetDTO.init)
    }

    func create(title: String, text: String, by agent: AgentRecord) async throws -> SnippetDTO {
        let (title, text) = try Self.validated(title: title, text: text, limit: services.environment.maxMessageCharacters)
        guard try await SnippetRecord.query(on: db).filter(\.$title == title).count() == 0 else {
            throw AppError.conflict("A snippet titled “\(title)” exists already.")
        }
        let snippet = SnippetRecord(title: title, text: text, agentID: try agent.requireID())
        try await snippet.create(on: db)
        return SnippetDTO(snippet)
    }

    /// Its author or a supervisor changes a snippet.
    func update(_ id: UUID, title: String, text: String, by agent: AgentRecord) async throws -> SnippetDTO {
        let snippet = try await editable(id, by: agent)
        let (title, text) = try Self.validated(title: title, text: text, limit: services.environment.maxMessageCharacters)
        if title != snippet.title, try await SnippetRecord.query(on: db).filter(\.$title == title).count() > 0 {
            throw AppError.conflict("A snippet titled “\(title)” exists already.")
        }
        snippet.title = title
        snippet.text = text
        try await snippet.save(on: db)
        return SnippetDTO(snippet)
    }

    func delete(_ id: UUID, by agent: AgentRecord) async throws {
        try await editable(id, by: agent).delete(on: db)
    }

    private func editable(_ id: UUID, by agent: AgentRecord) async throws -> SnippetRecord {
        guard let snippet = try await SnippetRecord.find(id, on: db) else { throw AppError.notFound("Snippet \(id)") }
        guard snippet.agentID == agent.id || agent.role >= .supervisor else { throw AppError.forbidden(required: "supervisor (or the snippet's author)") }
        return snippet
    }

    static func validated(title raw: String, text rawText: String, limit: Int) throws -> (String, String) {
        let title = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        let text = rawText.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !title.isEmpty else { throw AppError.invalidField("title", "must not be empty") }
        guard title.unicodeScalars.count <= maximumTitle else { throw AppError.invalidField("title", "at most \(maximumTitle) characters") }
        guard !text.isEmpty else { throw AppError.invalidField("text", "must not be empty") }
        guard text.count <= limit else { throw AppError.tooLarge(limit: limit, what: "The snippet (\(text.count) characters)") }
        let unknown = Assistance.unknownVariables(in: text)
        guard unknown.isEmpty else {
            let known = Assistance.variables.sorted().map { "{{\($0)}}" }.joined(separator: ", ")
            throw AppError.invalidField("text", "unknown variable \(unknown.map { "{{\($0)}}" }.joined(separator: ", ")); known: \(known)")
        }
        return (title, text)
    }
}

struct CannedReplyDTO: Content {
    enum Kind: String, Codable, Sendable { case answer, snippet }
    var kind: Kind
    /// The intent's key, or the snippet's id.
    var key: String
    var title: String
    /// Filled for the conversation and the agent.
    var text: String
}

struct SnippetDTO: Content {
    var id: UUID
    var title: String
    var text: String
    var agentID: UUID
    var createdAt: Date?
    var updatedAt: Date?

    init(_ s: SnippetRecord) {
        id = s.id!
        title = s.title
        text = s.text
        agentID = s.agentID
        createdAt = s.createdAt
        updatedAt = s.updatedAt
    }
}
