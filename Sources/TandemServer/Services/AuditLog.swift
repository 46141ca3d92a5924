import Fluent
import Foundation
import Vapor

/// Writes the audit log of admin and supervisor actions (`AuditLogRecord`). Callers record
/// inside the transaction of the change where there is one, so a change and its entry
/// commit together. `before` and `after` are the states people can read back (no password
/// hashes, no secrets, no customer texts: the log is never erased).
enum AuditLog {
    static let systemActor = "system"

    static func record(_ action: AuditAction, by actor: AgentRecord?, target: String,
                       before: (any Encodable)? = nil, after: (any Encodable)? = nil, on db: Database) async throws {
        try await AuditLogRecord(actorID: actor?.id, actor: actor?.email ?? systemActor, action: action, target: target,
                                 before: try before.map(json), after: try after.map(json)).create(on: db)
    }

    static func json(_ value: any Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// One entry as the API returns it.
    struct EntryDTO: Content {
        var id: Int
        var actorID: UUID?
        var actor: String
        var action: AuditAction
        var target: String
        var before: JSONValue?
        var after: JSONValue?
        var createdAt: Date?

        init(_ r: AuditLogRecord) {
            id = r.id ?? 0
            actorID = r.actorID
            actor = r.actor
            action = r.action
            target = r.target
            before = r.before.flatMap(JSONValue.parse)
            after = r.after.flatMap(JSONValue.parse)
            createdAt = r.createdAt
        }
    }

    struct PageDTO: Content {
        var entries: [EntryDTO]
        /// Pass as `before` for the next (older) page; nil on the last page.
        var next: Int?
    }

    /// A page of the log, newest first; `actor` is an e-mail (or "system").
    static func page(actor: String?, action: String?, before: Int?, limit: Int, on db: Database) async throws -> PageDTO {
        let action = try action.map { try AuditAction.parse($0, field: "action") }
        guard (1...200).contains(limit) else { throw AppError.invalidField("limit", "1–200") }
        if let before, before < 1 { throw AppError.invalidField("before", "a positive entry id") }
        let actor = actor.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        if let actor, actor.isEmpty || actor.count > 254 || actor.contains("\0") { throw AppError.invalidField("actor", "an e-mail address or \"system\"") }
        // One more than asked for says whether there is a next page.
        let rows = try await AuditLogRecord.page(actor: actor, action: action, before: before, limit: limit + 1, on: db)
        let entries = rows.prefix(limit).map(EntryDTO.init)
        return PageDTO(entries: entries, next: rows.count > limit ? entries.last?.id : nil)
    }
}

/// Any JSON value, for the audit log's before/after states.
indirect enum JSONValue: Codable, Sendable, Equatable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    static func parse(_ text: String) -> JSONValue? { try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) }

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let n): try c.encode(n)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    /// Indented text with sorted keys, for the console page.
    var pretty: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }
}
