import Fluent
import Foundation
import SQLKit
import TandemCore
import Vapor

/// A piece of a result's text: `match` where the search's words are.
struct SearchSegment: Content, Equatable {
    var text: String
    var match: Bool
}

struct SearchHit: Content {
    enum Kind: String, Codable, Sendable { case message, note }
    var kind: Kind
    /// The message's or the note's id.
    var id: UUID
    var conversationID: UUID
    /// For a message: who wrote it.
    var role: MessageRole?
    var customerName: String?
    var status: ConversationStatus
    var createdAt: Date?
    /// The matching passage, with the matches marked (plain text: pages render it as text).
    var snippet: [SearchSegment]
}

/// Full-text search over messages and notes, for agents, behind one API on both databases:
/// SQLite's FTS5 (Porter stemming, bm25 ranking, `snippet()`) and PostgreSQL's English text
/// search (`ts_rank`, `ts_headline`) over the indexes of `CreateSearchIndexes`. Both get the
/// same query: the words of what was typed, all required, the last one also as a prefix
/// ("refund pend" finds "refund pending"), so punctuation or operators in the input can
/// never be query syntax. Only conversations the agent may see are searched (`Teams.canSee`).
struct Search {
    let db: Database

    /// Markers the databases put around matches; split out before anything leaves.
    static let open = "\u{E000}", close = "\u{E001}"
    static let maximumWords = 8

    /// The words of a query: letters and digits, lower-cased, at most `maximumWords`.
    static func words(_ query: String) -> [String] {
        Array(query.lowercased().split { !$0.isLetter && !$0.isNumber }.map(String.init).filter { $0.count <= 64 }.prefix(maximumWords))
    }

    func search(_ query: String, for agent: AgentRecord, limit: Int) async throws -> [SearchHit] {
        let words = Self.words(query)
        guard !words.isEmpty else { throw AppError.invalidField("q", "must contain a word (letters or digits)") }
        guard let sql = db as? any SQLDatabase else { throw AppError.unavailable("search needs an SQL database") }
        let teams = try await Teams.visibleTeams(of: agent, on: db)
        var visibility: SQLQueryString = ""
        if let teams {
            let me = try agent.requireID()
            visibility = teams.isEmpty ? "AND (c.team_id IS NULL OR c.assigned_agent_id = \(bind: me))"
                : "AND (c.team_id IS NULL OR c.assigned_agent_id = \(bind: me) OR c.team_id IN (\(binds: Array(teams))))"
        }
        var hits: [(score: Double, hit: SearchHit)] = []
        for kind in [SearchHit.Kind.message, .note] {
            let rows = sql.dialect.name == "postgresql"
                ? try await postgres(sql, kind: kind, words: words, visibility: visibility, limit: limit)
                : try await sqlite(sql, kind: kind, words: words, visibility: visibility, limit: limit)
            for row in rows {
                let snippet = try row.decode(column: "snippet", as: String.self)
                hits.append((try row.decode(column: "score", as: Double.self), SearchHit(
                    kind: kind, id: try row.decode(column: "id", as: UUID.self),
                    conversationID: try row.decode(column: "conversation_id", as: UUID.self),
                    role: kind == .message ? try row.decode(column: "role", as: MessageRole.self) : nil,
                    customerName: try row.decode(column: "customer_name", as: String?.self),
                    status: try row.decode(column: "status", as: ConversationStatus.self),
                    createdAt: try row.decode(column: "created_at", as: Date?.self),
                    snippet: Self.segments(snippet))))
            }
        }
        // Best first; among equals, the newest.
        return hits.sorted { a, b in
            a.score != b.score ? a.score > b.score : (a.hit.createdAt ?? .distantPast) > (b.hit.createdAt ?? .distantPast)
        }.prefix(limit).map(\.hit)
    }

    /// `"word" "word" "last"*`: each word a quoted FTS5 string, so nothing typed is syntax.
    private func sqlite(_ sql: any SQLDatabase, kind: SearchHit.Kind, words: [String], visibility: SQLQueryString, limit: Int) async throws -> [any SQLRow] {
        let match = words.enumerated().map { i, w in "\"\(w)\"" + (i == words.count - 1 ? "*" : "") }.joined(separator: " ")
        let (table, fts, role): (String, String, SQLQueryString) = kind == .message
            ? ("messages", "messages_fts", "t.role AS role,") : ("notes", "notes_fts", "")
        return try await sql.raw("""
            SELECT t.id AS id, t.conversation_id AS conversation_id, \(role) t.created_at AS created_at,
                   c.customer_name AS customer_name, c.status AS status,
                   snippet(\(ident: fts), 0, \(bind: Self.open), \(bind: Self.close), '…', 16) AS snippet,
                   -bm25(\(ident: fts)) AS score
            FROM \(ident: fts) JOIN \(ident: table) t ON t.rowid = \(ident: fts).rowid JOIN conversations c ON c.id = t.conversation_id
            WHERE \(ident: fts) MATCH \(bind: match) \(unsafeRaw: kind == .message ? "AND t.role <> 'system'" : "") \(visibility)
            ORDER BY score DESC LIMIT \(bind: limit)
            """).all()
    }

    /// `word & word & last:*` from the same words (letters and digits only, so never syntax).
    private func postgres(_ sql: any SQLDatabase, kind: SearchHit.Kind, words: [String], visibility: SQLQueryString, limit: Int) async throws -> [any SQLRow] {
        let query = words.enumerated().map { i, w in w + (i == words.count - 1 ? ":*" : "") }.joined(separator: " & ")
        let (table, role): (String, SQLQueryString) = kind == .message ? ("messages", "t.role AS role,") : ("notes", "")
        let options = "StartSel=\(Self.open), StopSel=\(Self.close), MaxWords=24, MinWords=10, MaxFragments=2, FragmentDelimiter=…"
        return try await sql.raw("""
            SELECT t.id AS id, t.conversation_id AS conversation_id, \(role) t.created_at AS created_at,
                   c.customer_name AS customer_name, c.status AS status,
                   ts_headline('english', t.text, q, \(bind: options)) AS snippet,
                   ts_rank(to_tsvector('english', t.text), q)::float8 AS score
            FROM \(ident: table) t JOIN conversations c ON c.id = t.conversation_id, to_tsquery('english', \(bind: query)) q
            WHERE to_tsvector('english', t.text) @@ q \(unsafeRaw: kind == .message ? "AND t.role <> 'system'" : "") \(visibility)
            ORDER BY score DESC LIMIT \(bind: limit)
            """).all()
    }

    /// Splits a marked passage into plain and matching pieces.
    static func segments(_ marked: String) -> [SearchSegment] {
        var segments: [SearchSegment] = []
        var rest = Substring(marked)
        while !rest.isEmpty {
            guard let start = rest.range(of: open) else { segments.append(.init(text: String(rest), match: false)); break }
            if start.lowerBound > rest.startIndex { segments.append(.init(text: String(rest[..<start.lowerBound]), match: false)) }
            let after = rest[start.upperBound...]
            let end = after.range(of: close)?.lowerBound ?? after.endIndex
            if end > after.startIndex { segments.append(.init(text: String(after[..<end]), match: true)) }
            rest = end == after.endIndex ? "" : after[after.index(after: end)...]
        }
        return segments.map { SearchSegment(text: $0.text.replacingOccurrences(of: open, with: "").replacingOccurrences(of: close, with: ""), match: $0.match) }
    }
}
