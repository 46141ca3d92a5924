import Fluent
import Foundation
import TandemCore

/// `/console/audit-log` (audit-log.leaf): admin and supervisor actions, newest first, filtered
/// by actor and action, 50 a page. Rendered on the server; before/after states are shown as
/// text (Leaf escapes them).
struct AuditLogPage: Encodable {
    struct Entry: Encodable {
        var id: Int
        var when: String
        var actor: String
        var action: String
        var target: String
        var before: String?
        var after: String?
    }
    struct Option: Encodable {
        var value: String
        var selected: Bool
    }

    var title = "Audit log"
    var agent: PageAgent
    var entries: [Entry]
    var actors: [Option]
    var actions: [Option]
    /// The link to older entries (same filters), when there are any.
    var olderLink: String?
    var filtered: Bool

    static let pageSize = 50

    /// Unknown filter values are ignored (a hand-edited URL shows everything rather than an error).
    static func load(agent: AgentRecord, actor: String?, action: String?, before: Int?, on db: Database) async throws -> AuditLogPage {
        let actor = actor.flatMap { $0.isEmpty || $0.count > 254 || $0.contains("\0") ? nil : $0.lowercased() }
        let action = action.flatMap(AuditAction.init(rawValue:))
        let before = before.flatMap { $0 > 0 ? $0 : nil }
        let rows = try await AuditLogRecord.page(actor: actor, action: action, before: before, limit: pageSize + 1, on: db)
        let entries = rows.prefix(pageSize).map { r in
            Entry(id: r.id ?? 0, when: r.createdAt.map { "\(DisplayFormat.dateKey($0)) \(DisplayFormat.clockTime($0))" } ?? "",
                  actor: r.actor, action: r.action.rawValue, target: r.target,
                  before: r.before.flatMap(JSONValue.parse)?.pretty, after: r.after.flatMap(JSONValue.parse)?.pretty)
        }
        var older: String?
        if rows.count > pageSize, let last = entries.last?.id {
            var query = URLComponents()
            query.queryItems = [actor.map { URLQueryItem(name: "actor", value: $0) }, action.map { URLQueryItem(name: "action", value: $0.rawValue) },
                                URLQueryItem(name: "before", value: String(last))].compactMap { $0 }
            older = "/console/audit-log?" + (query.percentEncodedQuery ?? "")
        }
        return AuditLogPage(
            agent: PageAgent(agent), entries: Array(entries),
            actors: try await AuditLogRecord.actors(on: db).map { Option(value: $0, selected: $0 == actor) },
            actions: AuditAction.allCases.map { Option(value: $0.rawValue, selected: $0 == action) },
            olderLink: older, filtered: actor != nil || action != nil)
    }
}
