import Fluent
import Foundation
import SQLKit
import TandemCore
import Vapor

/// Service levels on business hours: the targets each conversation is measured against
/// (`WorkspaceSettings.slaPolicies`, in business seconds of `WorkspaceSettings.calendar`), the
/// check that flags and escalates a breach once, and the expected wait of a queued customer.
enum ServiceLevels {
    /// Open around the clock: used while stored business hours do not validate.
    static let always = try! BusinessCalendar(timezone: "UTC", days: BusinessCalendar.dayNames, open: "00:00", close: "24:00")

    static func calendar(_ settings: WorkspaceSettings) -> BusinessCalendar { settings.calendar ?? always }

    /// The most pressing target of a conversation with people; nil otherwise.
    static func status(_ c: ConversationRecord, now: Date, settings: WorkspaceSettings) -> ServiceLevel.Status? {
        guard c.status == .queued || c.status == .assigned, c.queuedAt != nil else { return nil }
        return ServiceLevel.status(targets: settings.slaTargets(priority: c.priority), calendar: calendar(settings), now: now,
                                   queuedAt: c.queuedAt, waitingSince: c.slaWaitingSince, replied: c.firstAgentReplyAt != nil)
    }

    /// A person replied: ends the customer's wait, counting a next reply within target or not.
    static func agentReplied(_ c: ConversationRecord, now: Date, settings: WorkspaceSettings) {
        if c.firstAgentReplyAt == nil {
            c.firstAgentReplyAt = now
        } else if let since = c.slaWaitingSince {
            c.nextReplies += 1
            let target = settings.slaTargets(priority: c.priority).nextResponseSeconds
            if target.map({ calendar(settings).businessSeconds(from: since, to: now) <= Double($0) }) ?? true { c.nextRepliesMet += 1 }
        }
        c.slaWaitingSince = nil
    }

    /// Flags every conversation past a target: breach time and kind, priority up by one, the
    /// agent-only event `conversation.sla_breached` and its webhooks, all in one write
    /// transaction that holds the conversation (FOR UPDATE on PostgreSQL, the single writer on
    /// SQLite) and flags only a conversation not flagged yet: with several nodes checking, each
    /// breach is escalated once. Returns how many this call flagged.
    @discardableResult
    static func check(db: Database, services: TandemServices, logger: Logger) async throws -> Int {
        let settings = try await services.settings(on: db)
        let now = services.clock.now
        let open = try await ConversationRecord.query(on: db).filter(\.$status ~~ [.queued, .assigned])
            .filter(\.$slaBreachedAt == nil).all()
        let due = open.filter { status($0, now: now, settings: settings)?.breached == true }
        guard !due.isEmpty else { return 0 }
        let conversations = Conversations(db: db, services: services, logger: logger)
        var flagged = 0
        for candidate in due {
            let id = try candidate.requireID()
            let done = try await db.writeTransaction { db -> Bool in
                let c = try await conversations.reload(id, on: db)
                guard c.slaBreachedAt == nil, let level = status(c, now: now, settings: settings), level.breached else { return false }
                c.slaBreachedAt = now
                c.slaBreachKind = level.kind
                c.priority += 1
                try await c.save(on: db)
                let dto = conversations.dto(c, agents: true)
                try await EventBus.record(.conversationSLABreached, conversationID: id, payload: dto, on: db)
                try await Webhooks.enqueue(event: .conversationSLABreached, conversation: dto, at: now, on: db)
                return true
            }
            if done {
                flagged += 1
                logger.info("service level breached", metadata: ["conversation-id": .string(id.uuidString)])
            }
        }
        if flagged > 0 { services.events.poke() }
        return flagged
    }

    /// Handle time when too few conversations were handled to measure one (the staffing
    /// planner's standard: 6 minutes).
    static let defaultHandleTime = StaffingParameters.standard.handleTimeSeconds
    static let handleTimeSample = 200
    static let handleTimeMinimum = 10

    /// The mean time from a person taking a conversation to its resolution over the latest
    /// `handleTimeSample` resolved by people; the default with fewer than `handleTimeMinimum`.
    static func handleTime(on db: Database) async throws -> Double {
        let recent = try await ConversationRecord.query(on: db).filter(\.$status == .resolved).filter(\.$claimedAt != nil)
            .filter(\.$resolvedAt != nil).sort(\.$resolvedAt, .descending).range(..<handleTimeSample).all()
        let times = recent.compactMap { c in c.claimedAt.flatMap { start in c.resolvedAt.map { $0.timeIntervalSince(start) } } }.filter { $0 > 0 }
        return times.count >= handleTimeMinimum ? times.reduce(0, +) / Double(times.count) : defaultHandleTime
    }

    /// Seconds a customer at `position` in the queue may expect to wait: the online agents'
    /// places (their concurrency limits) working through those ahead (`ExpectedWait`), after the
    /// next opening when out of hours. nil when no one is online in hours (no basis for a figure).
    static func expectedWait(position: Int, db: Database, services: TandemServices) async throws -> Double? {
        let settings = try await services.settings(on: db)
        let now = services.clock.now
        let calendar = calendar(settings)
        let handle = try await handleTime(on: db)
        guard calendar.isOpen(at: now) else {
            // Out of hours nobody is expected online: from the opening, as if the average team
            // were in (one place per conversation a person may hold).
            guard let opening = calendar.nextOpening(atOrAfter: now) else { return nil }
            let places = max(1, settings.maxConcurrentPerAgent)
            return opening.timeIntervalSince(now) + (ExpectedWait.seconds(position: position, servers: places, busy: 0, handleTime: handle) ?? 0)
        }
        let seen = now.addingTimeInterval(-Presence.timeoutSeconds)
        let online = try await AgentRecord.query(on: db).filter(\.$active == true).filter(\.$presence == .online).filter(\.$presenceAt >= seen).all()
        let ids = online.compactMap(\.id)
        guard !ids.isEmpty else { return nil }
        let servers = online.reduce(0) { $0 + ($1.maxConcurrent ?? settings.maxConcurrentPerAgent) }
        let busy = try await ConversationRecord.query(on: db).filter(\.$status == .assigned).filter(\.$assignedAgentID ~~ ids).count()
        return ExpectedWait.seconds(position: position, servers: servers, busy: busy, handleTime: handle)
    }

    /// Targets met and decided, by kind, over the conversations handed off since `from`. A
    /// target is decided once met or missed: a reply or resolution within it, or its time run out.
    static func attainment(since from: Date, now: Date, settings: WorkspaceSettings, on db: Database) async throws -> [SLAKind: (met: Int, total: Int)] {
        let calendar = calendar(settings)
        var result: [SLAKind: (met: Int, total: Int)] = [:]
        func count(_ kind: SLAKind, met: Bool) { result[kind, default: (0, 0)].total += 1; if met { result[kind]!.met += 1 } }
        let conversations = try await ConversationRecord.query(on: db).filter(\.$queuedAt >= from).all()
        for c in conversations {
            guard let queued = c.queuedAt else { continue }
            // The targets of the priority it was handed off at (an escalation raised it by one).
            let targets = settings.slaTargets(priority: c.priority - (c.slaBreachedAt == nil ? 0 : 1))
            if let target = targets.firstResponseSeconds.map(Double.init) {
                if let reply = c.firstAgentReplyAt { count(.firstResponse, met: calendar.businessSeconds(from: queued, to: reply) <= target) }
                else if calendar.businessSeconds(from: queued, to: now) > target { count(.firstResponse, met: false) }
            }
            if targets.nextResponseSeconds != nil {
                for i in 0..<c.nextReplies { count(.nextResponse, met: i < c.nextRepliesMet) }
            }
            if let target = targets.resolutionSeconds.map(Double.init) {
                if let resolved = c.resolvedAt, c.status == .resolved { count(.resolution, met: calendar.businessSeconds(from: queued, to: resolved) <= target) }
                else if calendar.businessSeconds(from: queued, to: now) > target { count(.resolution, met: false) }
            }
        }
        return result
    }
}
