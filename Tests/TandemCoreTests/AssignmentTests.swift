import Foundation
import TandemCore
import Testing

@Suite("Automatic assignment")
struct AssignmentTests {
    private let a = UUID(uuidString: "00000000-0000-0000-0000-00000000000A")!
    private let b = UUID(uuidString: "00000000-0000-0000-0000-00000000000B")!
    private let cards = UUID()
    private let disputes = UUID()

    private func queue(_ teams: [UUID?]) -> [Assignment.Waiting] { teams.map { Assignment.Waiting(id: UUID(), team: $0) } }

    @Test("least busy first, turns among equals, never past a limit")
    func leastBusyWithinLimits() {
        let waiting = queue(Array(repeating: nil, count: 20))
        let picks = Assignment.plan(queue: waiting, agents: [
            .init(id: a, teams: [], open: 2, limit: 8), .init(id: b, teams: [], open: 0, limit: 8),
        ])
        // b starts 2 behind, so takes the first two; then they alternate until both are full.
        #expect(picks.prefix(4).map(\.agent) == [b, b, a, b])
        #expect(picks.count == 14, "8 + 8 places, 2 taken already")
        #expect(picks.filter { $0.agent == a }.count == 6)
        #expect(picks.filter { $0.agent == b }.count == 8)
        #expect(Set(picks.map(\.conversation)).count == picks.count, "no conversation twice")
        #expect(picks.map(\.conversation) == waiting.prefix(14).map(\.id), "in queue order")
    }

    @Test("a team's conversation goes only to its members; one nobody can take does not block the rest")
    func teams() {
        let waiting = queue([disputes, cards, nil, cards])
        let picks = Assignment.plan(queue: waiting, agents: [
            .init(id: a, teams: [cards], open: 0, limit: 1), .init(id: b, teams: [], open: 0, limit: 5),
        ])
        #expect(picks == [.init(conversation: waiting[1].id, agent: a), .init(conversation: waiting[2].id, agent: b)],
                "disputes has nobody; cards' second waits for a's place; b takes only the teamless one")
    }

    @Test("among equally busy agents, the one who waited longest since their last conversation")
    func longestIdle() {
        let now = Date(timeIntervalSince1970: 1_000_000)
        let picks = Assignment.plan(queue: queue([nil]), agents: [
            .init(id: a, teams: [], open: 1, limit: 3, lastAssignedAt: now),
            .init(id: b, teams: [], open: 1, limit: 3, lastAssignedAt: now - 600),
        ])
        #expect(picks.map(\.agent) == [b])
        #expect(Assignment.plan(queue: queue([nil]), agents: [.init(id: a, teams: [], open: 3, limit: 3)]).isEmpty)
        #expect(Assignment.plan(queue: [], agents: [.init(id: a, teams: [], open: 0, limit: 3)]).isEmpty)
    }

    @Test("presence: online only while the console's heartbeat is fresh")
    func presence() {
        let now = Date(timeIntervalSince1970: 1_000_000)
        #expect(Presence.effective(.online, lastSeen: now - 30, now: now) == .online)
        #expect(Presence.effective(.online, lastSeen: now - 91, now: now) == .offline)
        #expect(Presence.effective(.away, lastSeen: now - 10, now: now) == .away)
        #expect(Presence.effective(.online, lastSeen: nil, now: now) == .offline)
        #expect(Presence.effective(.offline, lastSeen: now, now: now) == .offline)
    }
}
