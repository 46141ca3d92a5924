import Fluent
import Foundation
import Vapor

/// Private notes on conversations, and @mentions that notify the agents they name. Notes are
/// their own records, not messages, so nothing that serves the customer can read them; their
/// events are of kinds the customer's stream never carries (`EventKind.isCustomerVisible`).
struct Notes {
    let db: Database
    let services: TandemServices

    /// Adds a note by `agent`. Each `@handle` must name one active agent: the part of their
    /// e-mail before the @ (`@ana`), or the whole e-mail (`@ana@example.com`) when several
    /// share it. An unknown or ambiguous handle refuses the note, naming it, so nobody
    /// believes a colleague was told when they were not.
    func add(to conversationID: UUID, text raw: String, by agent: AgentRecord) async throws -> NoteDTO {
        let text = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { throw AppError.invalidField("text", "must not be empty") }
        let limit = services.environment.maxMessageCharacters
        guard text.count <= limit else { throw AppError.tooLarge(limit: limit, what: "The note (\(text.count) characters)") }
        let agents = try await AgentRecord.query(on: db).filter(\.$active == true).all()
        let mentioned = try Self.resolve(Self.handles(in: text), among: agents)
        let authorID = try agent.requireID()
        let note = try await db.writeTransaction { db -> NoteDTO in
            guard try await ConversationRecord.find(conversationID, on: db) != nil else { throw AppError.notFound("Conversation \(conversationID)") }
            let note = NoteRecord(conversationID: conversationID, agentID: authorID, text: text)
            try await note.create(on: db)
            let noteID = try note.requireID()
            for person in mentioned where person.id != authorID {
                let mention = MentionRecord(noteID: noteID, conversationID: conversationID, agentID: try person.requireID())
                try await mention.create(on: db)
                try await EventBus.record(.mention, conversationID: conversationID,
                                          payload: MentionDTO(mention, note: note, by: agent), on: db)
            }
            let dto = NoteDTO(note, author: agent, mentions: mentioned)
            try await EventBus.record(.note, conversationID: conversationID, payload: dto, on: db)
            return dto
        }
        services.events.poke()
        return note
    }

    func list(_ conversationID: UUID) async throws -> [NoteDTO] {
        guard try await ConversationRecord.find(conversationID, on: db) != nil else { throw AppError.notFound("Conversation \(conversationID)") }
        let notes = try await NoteRecord.query(on: db).filter(\.$conversationID == conversationID).sort(\.$createdAt).sort(\.$id).all()
        let mentions = try await MentionRecord.query(on: db).filter(\.$conversationID == conversationID).all()
        let agents = try await AgentRecord.byID(notes.map(\.agentID) + mentions.map(\.agentID), on: db)
        let byNote = Dictionary(grouping: mentions, by: \.noteID)
        return notes.map { note in
            NoteDTO(note, author: agents[note.agentID], mentions: (byNote[note.id ?? UUID()] ?? []).compactMap { agents[$0.agentID] })
        }
    }

    /// The agent's mentions, newest first (unread only when asked).
    func mentions(of agent: AgentRecord, unreadOnly: Bool, limit: Int) async throws -> [MentionDTO] {
        let query = MentionRecord.query(on: db).filter(\.$agentID == (try agent.requireID()))
        if unreadOnly { query.filter(\.$readAt == nil) }
        let mentions = try await query.sort(\.$createdAt, .descending).limit(limit).all()
        let notes = Dictionary(uniqueKeysWithValues: try await NoteRecord.query(on: db).filter(\.$id ~~ mentions.map(\.noteID)).all()
            .compactMap { n in n.id.map { ($0, n) } })
        let authors = try await AgentRecord.byID(notes.values.map(\.agentID), on: db)
        return mentions.compactMap { m in
            guard let note = notes[m.noteID] else { return nil }
            return MentionDTO(m, note: note, by: authors[note.agentID])
        }
    }

    /// Marks one of the agent's own mentions read (another agent's is "not found").
    func markRead(_ id: UUID, by agent: AgentRecord) async throws -> MentionDTO {
        guard let mention = try await MentionRecord.find(id, on: db), mention.agentID == (try agent.requireID()) else {
            throw AppError.notFound("Mention \(id)")
        }
        if mention.readAt == nil {
            mention.readAt = services.clock.now
            try await mention.save(on: db)
        }
        guard let note = try await NoteRecord.find(mention.noteID, on: db) else { throw AppError.notFound("Mention \(id)") }
        return MentionDTO(mention, note: note, by: try await AgentRecord.find(note.agentID, on: db))
    }

    // MARK: Handles

    /// The `@handles` in a note, lowercased, in order, each once. A handle starts a word ("write
    /// to bob@example.com" mentions nobody) and may be a whole e-mail address.
    static func handles(in text: String) -> [String] {
        var found: [String] = []
        let scalars = Array(text.unicodeScalars)
        var i = 0
        while i < scalars.count {
            defer { i += 1 }
            guard scalars[i] == "@", i == 0 || handleStarts.contains(scalars[i - 1]) else { continue }
            var j = i + 1
            while j < scalars.count, handleCharacters.contains(scalars[j]) { j += 1 }
            var handle = String(String.UnicodeScalarView(scalars[(i + 1)..<j]))
            while let last = handle.last, ".-_".contains(last) { handle.removeLast() }  // "@ana." ends a sentence
            if !handle.isEmpty, !found.contains(handle.lowercased()) { found.append(handle.lowercased()) }
            i = j - 1
        }
        return found
    }

    private static let handleStarts = CharacterSet.whitespacesAndNewlines.union(CharacterSet(charactersIn: "([{,;:\"'"))
    private static let handleCharacters = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "._%+-@"))

    /// The agents the handles name; throws naming the first handle that names nobody or several.
    static func resolve(_ handles: [String], among agents: [AgentRecord]) throws -> [AgentRecord] {
        try handles.map { handle in
            let matches = handle.contains("@")
                ? agents.filter { $0.email.lowercased() == handle }
                : agents.filter { $0.email.lowercased().split(separator: "@").first.map(String.init) == handle }
            guard !matches.isEmpty else { throw AppError.invalidField("text", "@\(handle) names no active agent") }
            guard matches.count == 1 else {
                throw AppError.invalidField("text", "@\(handle) names \(matches.count) agents; write their whole e-mail address after the @")
            }
            return matches[0]
        }
    }
}

struct NoteDTO: Content {
    var id: UUID
    var conversationID: UUID
    var agentID: UUID
    var agentName: String?
    var text: String
    /// The agents the note notified.
    var mentions: [MentionedAgentDTO]
    var createdAt: Date?

    init(_ note: NoteRecord, author: AgentRecord?, mentions: [AgentRecord]) {
        id = note.id!
        conversationID = note.conversationID
        agentID = note.agentID
        agentName = author?.name
        text = note.text
        self.mentions = mentions.compactMap { a in a.id.map { MentionedAgentDTO(id: $0, name: a.name, email: a.email) } }
        createdAt = note.createdAt
    }
}

struct MentionedAgentDTO: Content {
    var id: UUID
    var name: String
    var email: String
}

struct MentionDTO: Content {
    var id: UUID
    var conversationID: UUID
    var noteID: UUID
    /// The mentioned agent.
    var agentID: UUID
    /// Who wrote the note.
    var byName: String?
    var text: String
    var createdAt: Date?
    var readAt: Date?

    init(_ mention: MentionRecord, note: NoteRecord, by author: AgentRecord?) {
        id = mention.id!
        conversationID = mention.conversationID
        noteID = mention.noteID
        agentID = mention.agentID
        byName = author?.name
        text = note.text
        createdAt = mention.createdAt
        readAt = mention.readAt
    }
}
