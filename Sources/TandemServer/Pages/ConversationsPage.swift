import Fluent
import Foundation
import TandemCore

/// `/console/conversations` (conversations.leaf): every conversation, newest change first,
/// narrowed by the same filters as `GET /api/v1/agent/conversations` from a plain GET form,
/// so a filtered list is a link (the insights page's tags link here).
struct ConversationsPage: Encodable {
    struct Row: Encodable {
        var id: String
        var customerName: String
        var status: String
        var statusLabel: String
        var assignedTo: String?
        var intent: String?
        var team: String?
        var updated: String
        var tags: [String]
        var verified: Bool
    }
    /// A search result: where it is, who wrote it, and its passage in pieces (`match` marked).
    struct Hit: Encodable {
        var conversationID: String
        var customerName: String
        var kindLabel: String
        var note: Bool
        var when: String
        var snippet: [SearchSegment]
    }
    typealias Option = PageOption

    var title = "Conversations"
    var agent: PageAgent
    var statuses: [Option]
    var tags: [Option]
    var teams: [Option]
    var rows: [Row]
    /// The search typed (`q`), and what it found (nil when nothing was searched).
    var query: String
    var hits: [Hit]?
    /// The filter that could not be read, in words (the list is then empty).
    var error: String?
    var filtered: Bool

    static func statusLabel(_ status: ConversationStatus) -> String {
        switch status {
        case .ai: "With the assistant"
        case .queued: "Waiting in the queue"
        case .assigned: "With a person"
        case .resolved: "Resolved"
        }
    }

    static func roleLabel(_ role: MessageRole) -> String {
        switch role {
        case .customer: "Customer"
        case .agent: "Agent"
        case .ai: "Assistant"
        case .system: "System"
        }
    }

    /// The page for the query `value(name)`; an empty parameter (the form's "All") is no filter.
    static func load(agent: AgentRecord, query value: @escaping (String) -> String?, conversations: Conversations,
                     on db: Database) async throws -> ConversationsPage {
        let given: (String) -> String? = { name in value(name).flatMap { $0.isEmpty ? nil : $0 } }
        var error: String?
        var records: [ConversationRecord] = []
        do {
            records = try await ConversationRecord.list(try AgentController.listFilter(given, me: agent), on: db)
        } catch let problem as AppError {
            error = problem.message
        }
        let query = given("q")?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        var hits: [Hit]?
        if !query.isEmpty {
            do {
                hits = try await Search(db: db).search(String(query.prefix(200)), for: agent, limit: 30).map { hit in
                    Hit(conversationID: hit.conversationID.uuidString, customerName: hit.customerName ?? "Customer",
                        kindLabel: hit.kind == .note ? "Private note" : hit.role.map(roleLabel) ?? "Message", note: hit.kind == .note,
                        when: DisplayFormat.clockTime(hit.createdAt), snippet: hit.snippet)
                }
            } catch let problem as AppError {
                error = problem.message
                hits = []
            }
        }
        let teamRecords = try await TeamRecord.query(on: db).sort(\.$name).all()
        let teamNames = Dictionary(uniqueKeysWithValues: teamRecords.compactMap { t in t.id.map { ($0, t.name) } })
        let items = try await conversations.items(records)
        let names = try await AgentRecord.names(of: Set(records.compactMap(\.assignedAgentID)), on: db)
        let titles = try await conversations.services.intentTitles(on: db)
        let counts = try await ConversationTagRecord.counts(on: db)
        let chosenStatus = given("status"), chosenTag = given("tag").flatMap { try? ConversationTag.normalise($0) }
        return ConversationsPage(
            agent: PageAgent(agent),
            statuses: ConversationStatus.allCases.map { Option(value: $0.rawValue, label: statusLabel($0), selected: $0.rawValue == chosenStatus) },
            tags: counts.map { Option(value: $0.tag, label: "\($0.tag) (\($0.conversations))", selected: $0.tag == chosenTag) },
            teams: teamRecords.map { Option(value: $0.id!.uuidString, label: $0.name, selected: $0.id?.uuidString == given("team")) },
            rows: zip(records, items).map { record, item in
                let c = item.conversation
                return Row(id: c.id.uuidString, customerName: c.customerName ?? "Customer", status: c.status.rawValue,
                           statusLabel: statusLabel(c.status), assignedTo: c.assignedAgentID.flatMap { names[$0] },
                           intent: record.lastIntent.map { titles[$0] ?? $0 }, team: record.teamID.flatMap { teamNames[$0] },
                           updated: DisplayFormat.clockTime(c.updatedAt), tags: item.tags, verified: item.customerVerified)
            },
            query: query, hits: hits,
            error: error, filtered: chosenStatus != nil || given("tag") != nil || given("team") != nil)
    }
}
