import Fluent
import Foundation
import TandemCore
import TandemOffline
import TandemTensor
import Vapor

/// A working day on the demo workspace (Fernpay), end to end, in a scratch server on a manual
/// clock: customers arrive around the clock (more in the day), by chat and by e-mail, with the
/// demo's phrasings, things it does not know, requests for a person and frustration; the AI
/// answers what it is certified for; hand-offs go to teams by intent; agents work two shifts
/// in business hours, online in the console (heartbeat), take what the automatic assignment
/// gives them, reply and resolve after a sampled handling time. Reports the day's figures:
/// conversations by channel, answered by the AI, assigned automatically, waits, SLA met.
public struct DaySimulation {
    public struct Figures: Codable, Sendable {
        public var conversations: Int
        public var byChannel: [String: Int]
        public var resolvedByAI: Int
        public var handedOff: Int
        public var handedOffOutOfHours: Int
        public var assignedAutomatically: Int
        public var claimedByHand: Int
        public var stillWaitingAtEnd: Int
        /// Wait from hand-off to an agent, seconds of wall-clock time (p50, p90, max).
        public var waitToAgent: [Double]
        public var agentReplies: Int
        public var resolvedByAgents: Int
        /// Per team (name, or "no team"): hand-offs routed there.
        public var byTeam: [String: Int]
        public var peakOpenPerAgent: Int
        public var agentLimit: Int
        /// Service-level targets met of those decided, by kind (first_response, next_response, resolution).
        public var slaMet: [String: [Int]]
        public var slaBreaches: Int
        /// Replies queued to go out by e-mail (AI answers and agents' replies in e-mail conversations).
        public var emailReplies: Int

        public var text: String {
            func share(_ a: Int, _ b: Int) -> String { b == 0 ? "–" : String(format: "%.1f%%", Double(a) / Double(b) * 100) }
            func minutes(_ s: Double) -> String { s < 90 ? String(format: "%.0f s", s) : String(format: "%.1f min", s / 60) }
            var lines = ["A day on the demo workspace: \(conversations) conversations", "", "| | |", "|---|---|"]
            for (channel, n) in byChannel.sorted(by: { $0.key < $1.key }) { lines.append("| by \(channel) | \(n) (\(share(n, conversations))) |") }
            lines.append("| resolved by the AI alone | \(resolvedByAI) (\(share(resolvedByAI, conversations))) |")
            lines.append("| handed to a person | \(handedOff) (\(share(handedOff, conversations))), \(handedOffOutOfHours) outside business hours |")
            for (team, n) in byTeam.sorted(by: { $0.key < $1.key }) { lines.append("| hand-offs to \(team) | \(n) |") }
            lines.append("| assigned automatically / claimed by hand | \(assignedAutomatically) / \(claimedByHand) |")
            lines.append("| wait from hand-off to an agent, p50 / p90 / max | \(minutes(waitToAgent[0])) / \(minutes(waitToAgent[1])) / \(minutes(waitToAgent[2])) |")
            lines.append("| agents' replies, conversations they resolved | \(agentReplies), \(resolvedByAgents) |")
            lines.append("| most open at once for one agent (limit) | \(peakOpenPerAgent) (\(agentLimit)) |")
            lines.append("| still waiting at midnight | \(stillWaitingAtEnd) |")
            for (kind, pair) in slaMet.sorted(by: { $0.key < $1.key }) {
                lines.append("| SLA \(kind.replacingOccurrences(of: "_", with: " ")) met | \(pair[0]) of \(pair[1]) (\(share(pair[0], pair[1]))) |")
            }
            lines.append("| SLA breaches flagged and escalated | \(slaBreaches) |")
            lines.append("| replies sent by e-mail | \(emailReplies) |")
            return lines.joined(separator: "\n")
        }
    }

    public var conversations = 600
    public var seed: UInt64 = 11
    public var environment: TandemEnvironment
    public var log: @Sendable (String) -> Void

    public init(environment: TandemEnvironment, log: @escaping @Sendable (String) -> Void) {
        self.environment = environment
        self.log = log
    }

    /// Tuesday 1 December 2026, 00:00 in London (UTC then), the day's start.
    static let dayStart = Date(timeIntervalSince1970: 1_796_083_200)
    static let tick: TimeInterval = 15

    public func run() async throws -> Figures {
        var environment = self.environment
        environment.databaseURL = nil
        environment.loadDemo = true
        environment.trainOnStart = false
        let clock = ManualClock(Self.dayStart)
        return try await TandemApp.withScratch(environment, clock: clock) { app, _ in
            try await simulate(app: app, clock: clock)
        }
    }

    private struct Agent {
        var record: AgentRecord
        /// Hours of the day (local) the agent is on shift.
        var shift: Range<Int>
    }

    private struct Work {
        var conversation: UUID
        var agent: Int
        var replyAt: Date
        var resolveAt: Date
        var replied = false
    }

    private func simulate(app: Application, clock: ManualClock) async throws -> Figures {
        let db = app.db
        let services = app.tandem
        // E-mail replies are queued as jobs with no relay to send them through here: their
        // retries are expected, not news.
        app.logger.logLevel = .error
        var random = SeededGenerator(seed: seed)

        // The demo's model, trained on its own examples.
        log("training the demo workspace's model …")
        let set = try await ModelLifecycle.trainingSet(on: db)
        let (artifact, files) = try ModelLifecycle.fit(texts: set.texts, labels: set.labels, settings: try await services.settings(on: db),
                                                       encoder: services.intelligence.encoder, threads: services.environment.threads,
                                                       clock: clock, progress: log)
        try await ModelLifecycle.install(version: artifact.version, summary: artifact.summary, files: files, examples: set.texts.count, app: app)

        // Teams by intent, and six agents on two shifts inside business hours (08:00–20:00).
        let intents = try await IntentRecord.query(on: db).all()
        let care = intents.filter(\.sensitive).map(\.key)
        let payments = intents.map(\.key).filter { ["payment", "refund", "fee", "card", "declined", "limit", "order"].contains(where: $0.contains) }
            .filter { !care.contains($0) }
        guard let supervisor = try await AgentRecord.find(email: "supervisor@demo.tandem", on: db) else {
            throw AppError.unavailable("the demo workspace has no supervisor@demo.tandem")
        }
        var agents: [Agent] = []
        for (name, shift) in [("Priya", 8..<14), ("Tom", 8..<14), ("Mei", 11..<17), ("Jonas", 14..<20), ("Aisha", 14..<20), ("Luca", 8..<20)] {
            let record = AgentRecord(email: "\(name.lowercased())@day.fernpay.test", name: "\(name) (day)", role: .agent, passwordHash: "-")
            record.maxConcurrent = 3
            try await record.create(on: db)
            agents.append(Agent(record: record, shift: shift))
        }
        let teams = Teams(db: db, services: services)
        let ids = agents.map { $0.record.id! }
        _ = try await teams.create(TeamBody(name: "Payments", memberIDs: [ids[0], ids[2], ids[3], ids[5]], intents: payments, tags: nil), by: supervisor)
        _ = try await teams.create(TeamBody(name: "Care", memberIDs: [ids[1], ids[4], ids[5]], intents: care, tags: ["vulnerable"]), by: supervisor)

        // What customers say: the demo's phrasings (most), things it does not know, asking
        // for a person, frustration.
        let examples = try await ExampleRecord.query(on: db).all().map(\.text)
        let unknown = ["what's the weather like in London tomorrow", "can you recommend a good laptop", "my cat ate my receipt, what now",
                       "is the shop on the high street open on sunday", "do you sell gift cards for restaurants"]
        let person = ["can I talk to a real person please", "I want to speak to a human", "agent please"]
        let angry = ["this is the third time I'm writing, nobody helps, my payment failed AGAIN", "I'm furious, you charged me twice and nobody answers"]
        func text() -> String {
            let r = Double.random(in: 0..<1, using: &random)
            if r < 0.80 { return examples[Int.random(in: 0..<examples.count, using: &random)] }
            if r < 0.90 { return unknown[Int.random(in: 0..<unknown.count, using: &random)] }
            if r < 0.95 { return person[Int.random(in: 0..<person.count, using: &random)] }
            return angry[Int.random(in: 0..<angry.count, using: &random)]
        }

        // Arrival times over the day: a night trickle, a morning and an afternoon peak.
        let weights: [Double] = [1, 1, 0.5, 0.5, 0.5, 1, 2, 4, 7, 9, 10, 9, 7, 8, 9, 9, 8, 7, 6, 5, 4, 3, 2, 1]
        let total = weights.reduce(0, +)
        var arrivals: [Date] = []
        for (hour, weight) in weights.enumerated() {
            let count = Int((Double(conversations) * weight / total).rounded())
            for _ in 0..<count { arrivals.append(Self.dayStart.addingTimeInterval(Double(hour) * 3600 + Double.random(in: 0..<1, using: &random) * 3600)) }
        }
        arrivals.sort()

        let conversationsService = Conversations(db: db, services: services, logger: app.logger)
        let assignment = AutoAssignment(db: db, services: services, logger: app.logger)
        let email = EmailChannel(db: db, services: services, logger: app.logger)
        var breaches = 0
        var work: [UUID: Work] = [:]
        var channels: [String: Int] = [:]
        var peak = 0
        var next = 0
        let end = Self.dayStart.addingTimeInterval(86_400)
        var lastHeartbeat = Date.distantPast
        log("simulating \(arrivals.count) conversations over one day …")
        while clock.now < end {
            // Customers who arrived by now.
            while next < arrivals.count, arrivals[next] <= clock.now {
                let channel = Double.random(in: 0..<1, using: &random) < 0.2 ? "email" : "web"
                channels[channel, default: 0] += 1
                if channel == EmailChannel.channel {
                    // Through the same path as mail the MTA delivers.
                    let mail = "From: Customer \(next) <customer\(next)@day.example.test>\r\nTo: support@fernpay.test\r\nSubject: Help\r\n"
                        + "Message-ID: <day-\(next)@day.example.test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\(text())\r\n"
                    _ = try await email.receive(Array(mail.utf8))
                } else {
                    let (conversation, _, _) = try await conversationsService.create(name: "Customer \(next)", email: nil, channel: channel, address: "day-\(next)")
                    _ = try await conversationsService.customerMessage(conversation, text: text(), idempotencyKey: nil)
                }
                next += 1
            }
            try await conversationsService.decideDueHolds()

            // Agents on shift keep their console's heartbeat; those off shift are offline.
            let hour = Calendar.london.component(.hour, from: clock.now)
            if clock.now.timeIntervalSince(lastHeartbeat) >= 30 {
                for agent in agents {
                    let status: Presence = agent.shift.contains(hour) ? .online : .offline
                    if status == .online || agent.record.presence != .offline { _ = try await teams.setPresence(status, of: agent.record) }
                }
                lastHeartbeat = clock.now
            }

            // The automatic assignment (this loop's pass, or the server's own background one),
            // then each agent's work on what they have.
            try await assignment.run()
            let open = try await ConversationRecord.query(on: db).filter(\.$status == .assigned).all()
            for c in open where work[c.id!] == nil {
                guard let index = agents.firstIndex(where: { $0.record.id == c.assignedAgentID }) else { continue }
                let reply = clock.now.addingTimeInterval(60 + Double.random(in: 0..<1, using: &random) * 180)
                work[c.id!] = Work(conversation: c.id!, agent: index, replyAt: reply,
                                   resolveAt: reply.addingTimeInterval(120 + Double.random(in: 0..<1, using: &random) * 480))
            }
            peak = max(peak, Dictionary(grouping: open.compactMap(\.assignedAgentID), by: { $0 }).values.map(\.count).max() ?? 0)
            for (id, item) in work {
                let agent = agents[item.agent].record
                if !item.replied, clock.now >= item.replyAt {
                    _ = try await conversationsService.agentReply(id, text: "Thanks for waiting, I've looked into it: here is what happens next.",
                                                                  intent: nil, by: agent, idempotencyKey: nil)
                    work[id]?.replied = true
                } else if item.replied, clock.now >= item.resolveAt {
                    _ = try await conversationsService.agentResolve(id, by: agent)
                    work[id] = nil
                }
            }
            if Int(clock.now.timeIntervalSince(Self.dayStart)) % 60 == 0 {
                breaches += try await ServiceLevels.check(db: db, services: services, logger: app.logger)
            }
            clock.advance(by: Self.tick)
        }

        let all = try await ConversationRecord.query(on: db).filter(\.$channel ~~ ["web", "email"]).all()
        let assignedEvents = try await EventRecord.query(on: db).filter(\.$kind == .conversationAssigned).all()
        let claimedEvents = try await EventRecord.query(on: db).filter(\.$kind == .conversationClaimed).count()
        let assignedAt = Dictionary(assignedEvents.compactMap { e in e.conversationID.map { ($0, e.createdAt ?? .distantPast) } }, uniquingKeysWith: min)
        var waits: [Double] = []
        var outOfHours = 0
        for c in all where c.queuedAt != nil {
            if let queued = c.queuedAt, let assigned = assignedAt[c.id!] { waits.append(assigned.timeIntervalSince(queued)) }
            let hour = Calendar.london.component(.hour, from: c.queuedAt!)
            if !(8..<20).contains(hour) { outOfHours += 1 }
        }
        waits.sort()
        func quantile(_ q: Double) -> Double { waits.isEmpty ? 0 : waits[min(waits.count - 1, Int(Double(waits.count) * q))] }
        let teamNames = Dictionary(uniqueKeysWithValues: try await TeamRecord.query(on: db).all().map { ($0.id!, $0.name) })
        var byTeam: [String: Int] = [:]
        for c in all where c.queuedAt != nil { byTeam[c.teamID.flatMap { teamNames[$0] } ?? "no team", default: 0] += 1 }
        let agentMessages = try await MessageRecord.query(on: db).filter(\.$role == .agent).count()
        let attainment = try await ServiceLevels.attainment(since: Self.dayStart, now: end, settings: try await services.settings(on: db), on: db)
        let emailJobs = try await JobRecord.query(on: db).filter(\.$kind == .email).count()
        return Figures(
            conversations: all.count, byChannel: channels,
            resolvedByAI: all.filter { !$0.humanInvolved }.count, handedOff: all.filter { $0.queuedAt != nil }.count,
            handedOffOutOfHours: outOfHours, assignedAutomatically: assignedEvents.count, claimedByHand: claimedEvents,
            stillWaitingAtEnd: all.filter { $0.status == .queued }.count,
            waitToAgent: [quantile(0.5), quantile(0.9), waits.last ?? 0], agentReplies: agentMessages,
            resolvedByAgents: all.filter { $0.status == .resolved && $0.humanInvolved }.count,
            byTeam: byTeam, peakOpenPerAgent: peak, agentLimit: 3,
            slaMet: Dictionary(uniqueKeysWithValues: attainment.map { ($0.key.rawValue, [$0.value.met, $0.value.total]) }),
            slaBreaches: breaches, emailReplies: emailJobs)
    }
}

extension Calendar {
    /// The demo workspace's time zone.
    static let london: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Europe/London")!
        return calendar
    }()
}
