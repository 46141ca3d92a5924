import Fluent
import Foundation
import TandemCore

/// `/console` (console.leaf): the queue of conversations waiting for a person, and the agent's own.
struct ConsolePage: Encodable {
    struct Item: Encodable {
        var id: String
        var customerName: String
        var status: String
        var handoffReason: String
        var waiting: String
        /// Past its most pressing service-level target, in business time.
        var late: Bool
        /// Flagged by the service-level check (and escalated).
        var breached: Bool
        /// "First response: 12 min left" (business time).
        var sla: String
        var urgent: Bool
        var assignedTo: String?
        var lastMessage: String
        var tags: [String]
        var team: String?
        var verified: Bool
    }
    typealias Option = PageOption

    var title = "Queue"
    var agent: PageAgent
    var queue: [Item]
    var mine: [Item]
    /// The agent's presence as they set it (online, away, offline), for the console's control.
    var presence: [Option]
    var presenceStatus: String

    static func describe(_ level: ServiceLevel.Status) -> String {
        let names: [SLAKind: String] = [.firstResponse: "First response", .nextResponse: "Next response", .resolution: "Resolution"]
        return "\(names[level.kind]!): \(DisplayFormat.waited(abs(level.secondsLeft)))" + (level.breached ? " over" : " left")
    }

    /// The page for `agent`, with `queue` the conversations waiting (in queue order).
    static func load(agent: AgentRecord, queue: [ConversationRecord], settings: WorkspaceSettings, now: Date,
                     on db: Database) async throws -> ConsolePage {
        let mine = try await ConversationRecord.query(on: db).filter(\.$assignedAgentID == agent.id)
            .filter(\.$status == .assigned).sort(\.$claimedAt).all()
        let names = try await AgentRecord.names(of: Set((queue + mine).compactMap(\.assignedAgentID)), on: db)
        let tags = try await ConversationTagRecord.tags(of: (queue + mine).compactMap(\.id), on: db)
        let teams = Dictionary(uniqueKeysWithValues: try await TeamRecord.query(on: db).all().compactMap { t in t.id.map { ($0, t.name) } })
        func items(_ conversations: [ConversationRecord]) async throws -> [Item] {
            var items: [Item] = []
            for c in conversations {
                let last = try await MessageRecord.query(on: db).filter(\.$conversation.$id == c.requireID())
                    .filter(\.$role == .customer).sort(\.$seq, .descending).first()
                let waited = c.queuedAt.map { now.timeIntervalSince($0) } ?? 0
                let level = ServiceLevels.status(c, now: now, settings: settings)
                items.append(Item(id: try c.requireID().uuidString, customerName: c.customerName ?? "Customer", status: c.status.rawValue,
                                  handoffReason: c.handoffReason ?? "", waiting: DisplayFormat.waited(waited),
                                  late: level?.breached ?? false, breached: c.slaBreachedAt != nil, sla: level.map(Self.describe) ?? "",
                                  urgent: c.priority > 0,
                                  assignedTo: c.assignedAgentID.flatMap { names[$0] }, lastMessage: last.map { String($0.text.prefix(140)) } ?? "",
                                  tags: c.id.flatMap { tags[$0] } ?? [], team: c.teamID.flatMap { teams[$0] }, verified: c.customerVerified))
            }
            return items
        }
        let status = Presence.effective(agent.presence, lastSeen: agent.presenceAt, now: now)
        let labels: [Presence: String] = [.online: "Online: give me conversations", .away: "Away", .offline: "Offline"]
        return ConsolePage(agent: PageAgent(agent), queue: try await items(queue), mine: try await items(mine),
                           presence: Presence.allCases.map { Option(value: $0.rawValue, label: labels[$0]!, selected: $0 == status) },
                           presenceStatus: status.rawValue)
    }
}
