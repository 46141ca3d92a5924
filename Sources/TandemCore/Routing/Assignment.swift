import Foundation

/// Who takes which waiting conversation: the automatic assignment of the human queue to the
/// agents who are online, of the right team, with room under their limit. Values in, values
/// out; the server runs it inside one database transaction that holds the rows it reads, so
/// two nodes never assign one conversation twice or push an agent past their limit.
public enum Assignment {
    /// An agent who could take conversations now.
    public struct Agent: Sendable, Equatable {
        public var id: UUID
        /// Teams the agent belongs to.
        public var teams: Set<UUID>
        /// Conversations the agent has open now.
        public var open: Int
        /// The most the agent may have open at once.
        public var limit: Int
        /// When the agent last got a conversation (claimed or assigned); nil if never.
        public var lastAssignedAt: Date?

        public init(id: UUID, teams: Set<UUID>, open: Int, limit: Int, lastAssignedAt: Date? = nil) {
            self.id = id
            self.teams = teams
            self.open = open
            self.limit = limit
            self.lastAssignedAt = lastAssignedAt
        }
    }

    /// A conversation waiting in the queue, in the order it is served.
    public struct Waiting: Sendable, Equatable {
        public var id: UUID
        /// The team it is routed to; nil: anyone may take it.
        public var team: UUID?

        public init(id: UUID, team: UUID?) {
            self.id = id
            self.team = team
        }
    }

    public struct Pick: Sendable, Equatable {
        public var conversation: UUID
        public var agent: UUID

        public init(conversation: UUID, agent: UUID) {
            self.conversation = conversation
            self.agent = agent
        }
    }

    /// Walks the queue in order and gives each conversation to the least busy eligible agent
    /// (fewest open; then the one who waited longest since their last conversation; then by
    /// id, so the choice is deterministic). A conversation no eligible agent can take stays
    /// waiting and does not hold up the ones behind it for other teams.
    public static func plan(queue: [Waiting], agents: [Agent]) -> [Pick] {
        var agents = agents
        var picks: [Pick] = []
        for waiting in queue {
            let eligible = agents.indices.filter { i in
                agents[i].open < agents[i].limit && (waiting.team.map { agents[i].teams.contains($0) } ?? true)
            }
            guard let best = eligible.min(by: { less(agents[$0], agents[$1]) }) else { continue }
            picks.append(Pick(conversation: waiting.id, agent: agents[best].id))
            agents[best].open += 1
            agents[best].lastAssignedAt = .distantFuture  // just got one: last among equals
        }
        return picks
    }

    private static func less(_ a: Agent, _ b: Agent) -> Bool {
        if a.open != b.open { return a.open < b.open }
        let (x, y) = (a.lastAssignedAt ?? .distantPast, b.lastAssignedAt ?? .distantPast)
        if x != y { return x < y }
        return a.id.uuidString < b.id.uuidString
    }
}

/// Whether an agent is there: what they set in the console, kept fresh by its heartbeat.
public enum Presence: String, Codable, Sendable, CaseIterable {
    case online, away, offline

    /// A console that has not been heard from for this long counts as offline (it sends a
    /// heartbeat every 30 seconds while open).
    public static let timeoutSeconds: TimeInterval = 90

    /// What the agent's presence is at `now`: the stored one while its heartbeat is fresh,
    /// else offline (a closed laptop does not keep someone "online" and getting conversations).
    public static func effective(_ stored: Presence, lastSeen: Date?, now: Date) -> Presence {
        guard stored != .offline, let lastSeen, now.timeIntervalSince(lastSeen) <= timeoutSeconds else { return .offline }
        return stored
    }
}
