import Fluent
import Foundation
import TandemCore
@testable import TandemServer
import Testing
import Vapor
import VaporTesting

/// Service levels on business hours: breaches flagged and escalated once, in business time only;
/// out of hours the hand-off says when people are back; the customer sees an expected wait.
@Suite("Service levels", .serialized)
struct ServiceLevelTests {
    static func at(_ iso: String) -> Date { try! Date(iso, strategy: .iso8601) }

    /// London, Mon–Fri 09:00–17:00; a first reply within 10 minutes of business time at every priority.
    static func configure(_ t: TestApp) async throws {
        let workspace = try await t.app.tandem.workspace(on: t.app.db)
        var settings = try workspace.settings
        settings.businessHours = BusinessHours()
        settings.holidays = ["2026-12-25"]
        settings.slaPolicies = [SLATargets(firstResponseSeconds: 600, nextResponseSeconds: 600, resolutionSeconds: nil)]
        settings.autoAssign = false
        settings.maxConcurrentPerAgent = 1
        #expect(settings.problems.isEmpty, "\(settings.problems)")
        workspace.store(settings)
        try await workspace.save(on: t.app.db)
    }

    static func check(_ t: TestApp) async throws {
        try await ServiceLevels.check(db: t.app.db, services: t.app.tandem, logger: t.app.logger)
    }

    static func record(_ t: TestApp, _ id: String) async throws -> TandemServer.ConversationRecord {
        try #require(try await TandemServer.ConversationRecord.find(UUID(uuidString: id), on: t.app.db))
    }

    @Test("10 business minutes without a reply: flagged once and escalated (priority, event, webhook); 15 wall-clock hours overnight are not a breach",
          arguments: TestDatabase.available)
    func breachInBusinessTimeOnly(database: TestDatabase) async throws {
        let clock = ManualClock(Self.at("2026-12-02T10:00:00Z"))  // a Wednesday, 10:00 in London
        try await TestApp.with(database, model: false, clock: clock) { t in
            // setup
            try await Self.configure(t)
            try await WebhookRecord(url: "http://127.0.0.1:9/hook", secret: "s", events: [.conversationSLABreached]).create(on: t.app.db)
            let day = try await t.startConversation(name: "Day")
            let handedOff = try await t.send(.POST, "/api/v1/conversations/\(day.id)/handoff", token: day.token)
            #expect(handedOff.status == .ok)
            #expect(handedOff.json["slaKind"] == nil && handedOff.json["slaSecondsLeft"] == nil, "service levels are agents' data")
            let priority = try await Self.record(t, day.id).priority

            // act: 9 minutes, then 11 (the node's own check may run too: it must not flag twice)
            clock.advance(by: 540)
            try await Self.check(t)
            #expect(try await Self.record(t, day.id).slaBreachedAt == nil, "9 minutes are within the target")
            clock.advance(by: 120)
            try await Self.check(t)
            try await Self.check(t)

            // validate: flagged once, escalated once, the event and the webhook recorded once
            let flagged = try await Self.record(t, day.id)
            #expect(flagged.slaBreachedAt == Self.at("2026-12-02T10:11:00Z"))
            #expect(flagged.slaBreachKind == .firstResponse)
            #expect(flagged.priority == priority + 1)
            let events = try await EventRecord.query(on: t.app.db).filter(\.$conversationID == flagged.id).filter(\.$kind == .conversationSLABreached).count()
            #expect(events == 1)
            let jobs = try await JobRecord.query(on: t.app.db).filter(\.$kind == .webhook).all().filter { $0.payload.contains("conversation.sla_breached") }
            #expect(jobs.count == 1, "one webhook delivery queued")
            // the agents' queue shows it; the customer's view and stream do not
            let agent = try await t.login()
            let queue = try await t.send(.GET, "/api/v1/agent/queue", token: agent).jsonArray
            let item = try #require(queue.first { ($0["id"] as? String)?.lowercased() == day.id.lowercased() })
            #expect(item["slaBreachKind"] as? String == "first_response" && item["slaBreachedAt"] as? String != nil && item["late"] as? Bool == true)
            #expect((item["slaSecondsLeft"] as? Double ?? 0) < 0, "time over shown as negative seconds left")
            let console = try await t.send(.GET, "/console", token: agent)
            #expect(console.body.string.contains("SLA breached"), "the console's queue flags it")
            let customer = try await t.send(.GET, "/api/v1/conversations/\(day.id)", token: day.token)
            #expect(!customer.body.string.contains("sla"), "no service-level fields for the customer: \(customer.body.string)")
            let stream = try await t.send(.GET, "/api/v1/conversations/\(day.id)/events?once=true", token: day.token, headers: ["Last-Event-ID": "0"])
            #expect(!stream.body.string.contains("sla_breached"))

            // The same wall-clock wait out of hours: handed off at 17:30, checked at 09:05 next morning.
            clock.advance(by: Self.at("2026-12-02T17:30:00Z").timeIntervalSince(clock.now))
            let night = try await t.startConversation(name: "Night")
            #expect(try await t.send(.POST, "/api/v1/conversations/\(night.id)/handoff", token: night.token).status == .ok)
            clock.advance(by: Self.at("2026-12-03T09:05:00Z").timeIntervalSince(clock.now))
            try await Self.check(t)
            let waiting = try await Self.record(t, night.id)
            #expect(waiting.slaBreachedAt == nil, "15 h 35 min of wall clock, 5 min of business time")
            #expect(waiting.priority == 1)
            let level = try #require(ServiceLevels.status(waiting, now: clock.now, settings: try await t.app.tandem.settings(on: t.app.db)))
            #expect(level.secondsLeft == 300)

            // Insights: the first response of the day conversation missed, the night one met once a person replies.
            let morning = try await t.login()  // the evening's session has ended
            #expect(try await t.send(.POST, "/api/v1/agent/conversations/\(night.id)/claim", token: morning).status == .ok)
            clock.advance(by: 60)
            let reply = try await t.send(.POST, "/api/v1/agent/conversations/\(night.id)/messages", json: ["text": "Good morning!"], token: morning)
            #expect(reply.status == .created, "\(reply.body.string)")
            #expect(try await Self.record(t, night.id).firstAgentReplyAt == clock.now)
            let supervisor = try await t.login("supervisor@demo.tandem")
            let insights = try await t.send(.GET, "/console/insights", token: supervisor).body.string
            let row = try #require(insights.range(of: #"<tr id="sla-first_response">"#).map { String(insights[$0.lowerBound...].prefix(200)) })
            #expect(row.contains("50%") && row.contains("1 / 2"), "\(row)")
        }
    }

    @Test("a hand-off at night says when people are back and offers e-mail; the customer leaves an address; the expected wait counts to the opening",
          arguments: TestDatabase.available)
    func outOfHours(database: TestDatabase) async throws {
        let clock = ManualClock(Self.at("2026-12-04T20:00:00Z"))  // Friday evening
        try await TestApp.with(database, model: false, clock: clock) { t in
            try await Self.configure(t)
            let c = try await t.startConversation(name: "Sam")
            #expect(try await t.send(.POST, "/api/v1/conversations/\(c.id)/handoff", token: c.token).status == .ok)

            let view = try await t.send(.GET, "/api/v1/conversations/\(c.id)", token: c.token)
            let messages = try #require(view.json["messages"] as? [[String: Any]])
            let notice = try #require(messages.last?["text"] as? String)
            #expect(notice.contains("back Monday at 09:00 (Europe/London time)"), "\(notice)")
            #expect(notice.contains("e-mail"))
            #expect(view.json["hasEmail"] as? Bool == false)
            let wait = try #require(view.json["expectedWaitSeconds"] as? Double)
            #expect(wait == Self.at("2026-12-07T09:00:00Z").timeIntervalSince(clock.now), "first in the queue: until the opening")

            // the e-mail address: validated, normalised, the customer key as at creation
            #expect(try await t.send(.PUT, "/api/v1/conversations/\(c.id)/email", json: ["email": "not an address"], token: c.token).status == .badRequest)
            #expect(try await t.send(.PUT, "/api/v1/conversations/\(c.id)/email", json: ["email": "Sam@Example.com"]).status == .notFound, "no token: no such conversation")
            let stored = try await t.send(.PUT, "/api/v1/conversations/\(c.id)/email", json: ["email": " Sam@Example.COM "], token: c.token)
            #expect(stored.status == .ok, "\(stored.body.string)")
            let record = try await Self.record(t, c.id)
            #expect(record.customerEmail == "sam@example.com")
            #expect(record.customerKey == (try t.app.tandem.customerKeys).key(email: "sam@example.com"))
            #expect(try await t.send(.PUT, "/api/v1/conversations/\(c.id)/email", json: ["email": "other@example.com"], token: c.token).status == .conflict)
            #expect(try await t.send(.GET, "/api/v1/conversations/\(c.id)", token: c.token).json["hasEmail"] as? Bool == true)
        }
    }

    @Test("in hours: the expected wait from the queue position, the online agents' places and the handling time", arguments: TestDatabase.available)
    func expectedWaitInHours(database: TestDatabase) async throws {
        let clock = ManualClock(Self.at("2026-12-02T10:00:00Z"))
        try await TestApp.with(database, model: false, clock: clock) { t in
            try await Self.configure(t)
            var queued: [(id: String, token: String)] = []
            for name in ["A", "B", "C"] {
                let c = try await t.startConversation(name: name)
                #expect(try await t.send(.POST, "/api/v1/conversations/\(c.id)/handoff", token: c.token).status == .ok)
                queued.append(c)
                clock.advance(by: 1)
            }
            // nobody online: no figure
            #expect(try await t.send(.GET, "/api/v1/conversations/\(queued[2].id)", token: queued[2].token).json["expectedWaitSeconds"] == nil)
            let agent = try #require(try await AgentRecord.query(on: t.app.db).filter(\.$email == "agent@demo.tandem").first())
            agent.presence = .online
            agent.presenceAt = clock.now
            try await agent.save(on: t.app.db)
            // one online agent with one place: the third waits for two handling times (6 minutes each, the default)
            let third = try await t.send(.GET, "/api/v1/conversations/\(queued[2].id)", token: queued[2].token)
            #expect(third.json["queuePosition"] as? Int == 3)
            #expect(third.json["expectedWaitSeconds"] as? Double == 2 * ServiceLevels.defaultHandleTime)
            #expect(try await t.send(.GET, "/api/v1/conversations/\(queued[0].id)", token: queued[0].token).json["expectedWaitSeconds"] as? Double == 0)
        }
    }


    @Test("settings stored before service levels decode: slaSeconds becomes the first-response target; bad hours and holidays are named")
    func oldSettings() throws {
        let old = try JSONDecoder().decode(WorkspaceSettings.self, from: Data(#"{"targetRisk": 0.05, "slaSeconds": 300}"#.utf8))
        #expect(old.slaPolicies.first?.firstResponseSeconds == 300)
        #expect(old.slaTargets(priority: 7) == old.slaPolicies.last, "a higher priority uses the last policy")
        #expect(old.holidays.isEmpty && old.problems.isEmpty)
        var bad = old
        bad.holidays = ["25/12/2026"]
        bad.businessHours.timezone = "Nowhere/Else"
        bad.slaPolicies = [SLATargets(firstResponseSeconds: 0)]
        #expect(bad.problems.contains { $0.contains("holidays") } && bad.problems.contains { $0.contains("timezone") }
                && bad.problems.contains { $0.contains("slaPolicies[0].firstResponseSeconds") }, "\(bad.problems)")
        let round = try JSONDecoder().decode(WorkspaceSettings.self, from: JSONEncoder().encode(old))
        #expect(round == old)
    }
}
