import Fluent
import Foundation
import TandemCore
import TandemOffline
@testable import TandemServer
import Testing
import VaporTesting

/// The insights page (charts drawn on the server as SVG, figures from the database), its JSON
/// twin `GET /api/v1/insights/series`, and the audits review queue — in-process and in Chromium.
@Suite("InsightsPage", .serialized)
struct InsightsPageTests {
    static let modelRequired = Shared.hasModel || TestDatabase.isCI

    /// Demo phrasings of non-sensitive, automatic intents: the AI answers these.
    static let answerable = [
        "how do I reset my password", "when is my next payment due", "how do I cancel my order", "what are your opening hours",
        "does fernpay charge interest", "how do I change my email address", "can I use fernpay abroad", "which shops accept fernpay",
        "where can I get a statement", "the app keeps crashing",
    ]
    /// Messages that go to a person: sensitive topics, automation off, draft-only, asking for a person.
    static let forPeople = [
        "there's a purchase on my account I didn't make", "I want to make a complaint",
        "I'm a journalist writing about buy now pay later", "I want to close my account", "my mum passed away and had a fernpay account",
    ]
    static let askForPerson = "I want to talk to a human please"

    /// What the seeding did, as the API answered.
    struct Seeded {
        var started = 0
        var handedOff = 0
        var resolvedByAI = 0
        /// Conversations the AI handled alone (resolved or left open).
        var aiOnly = 0
        var resolvedWithPerson = 0
        var ratings: [Int] = []
        var reviewed = 0
        var reviewedWrong = 0
        /// Customers who said the AI's answer did not help, by the intent it answered.
        var notHelped: [String: Int] = [:]
        /// Conversation ids with how many days ago they happened, and how much later in that day.
        var days: [(id: UUID, daysAgo: Int, later: TimeInterval)] = []
        var resolved: Int { resolvedByAI + resolvedWithPerson }
    }

    // MARK: Seeding through the API

    static func start(_ t: TestApp, name: String, email: String? = nil) async throws -> (id: String, token: String) {
        var body = ["name": name]
        if let email { body["email"] = email }
        let response = try await t.send(.POST, "/api/v1/conversations", json: body)
        try #require(response.status == .created, "start conversation: \(response.status) \(response.body.string)")
        let conversation = try #require(response.json["conversation"] as? [String: Any])
        return (try #require(conversation["id"] as? String), try #require(response.json["token"] as? String))
    }

    static func status(_ response: [String: Any]) -> String? {
        (response["conversation"] as? [String: Any])?["status"] as? String
    }

    /// An agent claims, replies and resolves.
    static func handle(_ t: TestApp, _ c: (id: String, token: String), agent: String) async throws {
        let claim = try await t.send(.POST, "/api/v1/agent/conversations/\(c.id)/claim", token: agent)
        try #require(claim.status == .ok, "claim: \(claim.body.string)")
        let reply = try await t.send(.POST, "/api/v1/agent/conversations/\(c.id)/messages", json: ["text": "Thanks, I've sorted that out for you."], token: agent)
        try #require(reply.status == .created, "reply: \(reply.body.string)")
        let resolve = try await t.send(.POST, "/api/v1/agent/conversations/\(c.id)/resolve", token: agent)
        try #require(resolve.status == .ok, "resolve: \(resolve.body.string)")
    }

    static func rate(_ t: TestApp, _ c: (id: String, token: String), _ score: Int, into seeded: inout Seeded) async throws {
        let rated = try await t.send(.POST, "/api/v1/conversations/\(c.id)/rating", json: ["score": score], token: c.token)
        try #require(rated.status == .ok, "rating: \(rated.body.string)")
        seeded.ratings.append(score)
    }

    /// A workspace with `days` days of traffic: AI answers (some resolved and rated), hand-offs
    /// resolved by an agent, the AI-then-person path, a customer who comes back on the same
    /// topic `returningDaysAgo` days ago, and reviewed audits (all but `leavePending`, one of
    /// them wrong when `wrongVerdict`). `spreadOverDays` moves them to their days.
    static func seed(_ t: TestApp, days: Int, returningDaysAgo: Int, leavePending: Int, wrongVerdict: Bool) async throws -> Seeded {
        let admin = try await t.login("admin@demo.tandem")
        let agent = try await t.login("agent@demo.tandem")
        // Every AI answer is sampled for review.
        let workspace = try await t.send(.GET, "/api/v1/workspace", token: admin).json
        var settings = try #require(workspace["settings"] as? [String: Any])
        settings["auditRate"] = 1.0
        let body = try JSONSerialization.data(withJSONObject: ["name": workspace["name"] ?? "Fernpay", "settings": settings])
        let put = try await t.send(.PUT, "/api/v1/workspace", body: String(decoding: body, as: UTF8.self), token: admin)
        try #require(put.status == .ok, "workspace: \(put.body.string)")

        var seeded = Seeded()
        func track(_ c: (id: String, token: String), _ daysAgo: Int, later: TimeInterval = 0) throws {
            seeded.started += 1
            seeded.days.append((try #require(UUID(uuidString: c.id)), daysAgo, later))
        }
        for daysAgo in stride(from: days - 1, through: 0, by: -1) {
            // Questions the AI answers; most customers confirm, some rate.
            for j in 0..<(2 + daysAgo % 3) {
                let c = try await start(t, name: "Customer \(daysAgo)-\(j)")
                try track(c, daysAgo)
                let answer = try await t.say(answerable[(daysAgo * 3 + j) % answerable.count], in: c)
                if answer["action"] as? String == "answer" {
                    seeded.aiOnly += 1
                    guard !(j == 1 && daysAgo % 4 == 2) else { continue }  // left open
                    let resolved = try await t.send(.POST, "/api/v1/conversations/\(c.id)/resolve", token: c.token)
                    try #require(resolved.status == .ok, "customer resolve: \(resolved.body.string)")
                    seeded.resolvedByAI += 1
                    if (daysAgo + j) % 2 == 0 { try await rate(t, c, [5, 4, 5, 5, 3][(daysAgo + j) % 5], into: &seeded) }
                } else {
                    if status(answer) == "queued" { seeded.handedOff += 1 }
                    try await handle(t, c, agent: agent)
                    seeded.resolvedWithPerson += 1
                }
            }
            // Straight to a person.
            let person = try await start(t, name: "Person \(daysAgo)")
            try track(person, daysAgo)
            let handedOff = try await t.say(forPeople[daysAgo % forPeople.count], in: person)
            try #require(status(handedOff) == "queued", "not handed off: \(handedOff)")
            seeded.handedOff += 1
            try await handle(t, person, agent: agent)
            seeded.resolvedWithPerson += 1
            try await rate(t, person, [4, 5, 3, 4][daysAgo % 4], into: &seeded)
            // The AI answers, then the customer asks for a person.
            if daysAgo % 2 == 0 {
                let both = try await start(t, name: "Both \(daysAgo)")
                try track(both, daysAgo)
                _ = try await t.say(answerable[(daysAgo + 4) % answerable.count], in: both)
                let asked = try await t.say(askForPerson, in: both)
                if status(asked) == "queued" { seeded.handedOff += 1 }
                try #require(["queued", "assigned"].contains(status(asked)), "asking for a person did not queue: \(asked)")
                try await handle(t, both, agent: agent)
                seeded.resolvedWithPerson += 1
                try await rate(t, both, 4, into: &seeded)

                // The AI answers and the customer says it did not help: it counts against the intent.
                let unhelped = try await start(t, name: "Unhelped \(daysAgo)")
                try track(unhelped, daysAgo)
                let answered = try await t.say("when is my next payment due", in: unhelped)
                try #require(answered["action"] as? String == "answer", "\(answered)")
                let said = try await t.say("that didn't help", in: unhelped)
                try #require(status(said) == "queued", "'did not help' did not hand off: \(said)")
                let decision = try #require(try await DecisionRecord.query(on: t.app.db)
                    .filter(\.$conversation.$id == UUID(uuidString: unhelped.id)!).sort(\.$createdAt).first())
                seeded.notHelped[try #require(decision.intent), default: 0] += 1
                seeded.handedOff += 1
                try await handle(t, unhelped, agent: agent)
                seeded.resolvedWithPerson += 1
            }
        }
        // A customer resolves a question and comes back on the same topic: not a durable resolution.
        for visit in 0..<2 {
            let c = try await start(t, name: "Returning", email: "returning@example.com")
            try track(c, returningDaysAgo, later: Double(visit) * 7_200)
            let answer = try await t.say("how do I reset my password", in: c)
            try #require(answer["action"] as? String == "answer", "\(answer)")
            let resolved = try await t.send(.POST, "/api/v1/conversations/\(c.id)/resolve", token: c.token)
            try #require(resolved.status == .ok)
            seeded.resolvedByAI += 1
            seeded.aiOnly += 1
            if visit == 1 { try await rate(t, c, 2, into: &seeded) }
        }

        // Reviews: all but the last `leavePending`. With `wrongVerdict`, the first answers of the
        // most audited intent are wrong, as many in a row as the guardrail needs to switch it
        // (one isolated wrong answer does not).
        let pending = try await t.send(.GET, "/api/v1/audits", token: agent).jsonArray
        try #require(pending.count > leavePending, "too few audits were sampled: \(pending.count)")
        var wrongIDs: Set<String> = []
        if wrongVerdict {
            let toReview = pending.dropLast(leavePending).compactMap { $0["id"] as? String }
            let records = try await AuditRecord.query(on: t.app.db).filter(\.$id ~~ Set(toReview.compactMap(UUID.init(uuidString:))))
                .sort(\.$createdAt).all()
            let byIntent = Dictionary(grouping: records, by: \.intent)
            let detector = QualityService.guardrail(try await t.app.tandem.settings(on: t.app.db)).detector
            let burst = (detector.threshold + detector.wrongStep - 1) / detector.wrongStep
            let busiest = try #require(byIntent.values.max { $0.count < $1.count })
            try #require(busiest.count >= burst, "no intent has the \(burst) audits a burst needs: \(byIntent.mapValues(\.count))")
            wrongIDs = Set(busiest.prefix(burst).compactMap { $0.id?.uuidString })
        }
        for audit in pending.dropLast(leavePending) {
            let id = try #require(audit["id"] as? String)
            let wrong = wrongIDs.contains(id.uppercased()) || wrongIDs.contains(id)
            let json: [String: any Encodable & Sendable] = wrong ? ["correct": false, "intent": "unknown"] : ["correct": true]
            let reviewed = try await t.send(.POST, "/api/v1/audits/\(id)", body: try jsonString(json), token: agent)
            try #require(reviewed.status == .ok, "review: \(reviewed.body.string)")
            seeded.reviewed += 1
            if wrong { seeded.reviewedWrong += 1 }
        }
        return seeded
    }

    static func jsonString(_ object: [String: any Encodable & Sendable]) throws -> String {
        var parts: [String] = []
        for (key, value) in object.sorted(by: { $0.key < $1.key }) {
            parts.append("\"\(key)\":" + String(decoding: try JSONEncoder().encode(value), as: UTF8.self))
        }
        return "{" + parts.joined(separator: ",") + "}"
    }

    /// Moves conversations (their messages, audits and timestamps) to the days they are meant
    /// to have happened on; with `delays`, people take minutes to reply and customers minutes
    /// to confirm an AI answer (never for today's conversations, which would end in the future).
    static func spreadOverDays(_ t: TestApp, _ entries: [(id: UUID, daysAgo: Int, later: TimeInterval)], delays: Bool) async throws {
        let db = t.app.db
        // Past days' conversations start at 10:00 UTC, so that their later events (up to a few
        // hours on) stay on the same day whatever the time the suite runs at.
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(identifier: "UTC")!
        let now = t.app.tandem.clock.now
        let toMorning = utc.startOfDay(for: now).addingTimeInterval(10 * 3_600).timeIntervalSince(now)
        for (index, entry) in entries.enumerated() where entry.daysAgo > 0 {
            let shift = toMorning - Double(entry.daysAgo) * 86_400 + entry.later
            guard let c = try await ConversationRecord.find(entry.id, on: db) else { continue }
            let messages = try await MessageRecord.query(on: db).filter(\.$conversation.$id == entry.id).all()
            let firstAgent = messages.filter { $0.role == .agent }.min { $0.seq < $1.seq }
            let personDelay = delays ? Double(120 + (index * 397) % 2_280) : 0
            let customerDelay = delays ? Double(60 + (index * 131) % 300) : 0
            let agentRepliedFirst = firstAgent.flatMap { agent in c.firstResponseAt.map { $0 >= (agent.createdAt ?? .distantFuture) } } ?? false
            for m in messages {
                var moved = (m.createdAt ?? Date()).addingTimeInterval(shift)
                if let firstAgent, m.seq >= firstAgent.seq { moved.addTimeInterval(personDelay) }
                if firstAgent == nil, m.role == .system, m.seq > 2 { moved.addTimeInterval(customerDelay) }
                m.createdAt = moved
                try await m.save(on: db)
            }
            c.createdAt = c.createdAt?.addingTimeInterval(shift)
            c.queuedAt = c.queuedAt?.addingTimeInterval(shift)
            c.claimedAt = c.claimedAt?.addingTimeInterval(shift + personDelay / 2)
            c.firstResponseAt = c.firstResponseAt?.addingTimeInterval(shift + (agentRepliedFirst ? personDelay : 0))
            c.resolvedAt = c.resolvedAt?.addingTimeInterval(shift + (firstAgent == nil ? customerDelay : personDelay + personDelay / 4))
            try await c.save(on: db)
            for decision in try await DecisionRecord.query(on: db).filter(\.$conversation.$id == entry.id).all() {
                decision.createdAt = decision.createdAt?.addingTimeInterval(shift)
                try await decision.save(on: db)
            }
            for audit in try await AuditRecord.query(on: db).filter(\.$conversationID == entry.id).all() {
                audit.createdAt = audit.createdAt?.addingTimeInterval(shift)
                audit.reviewedAt = audit.reviewedAt?.addingTimeInterval(shift + (delays ? 3_600 : 0))
                try await audit.save(on: db)
            }
        }
    }

    // MARK: In-process

    @Test("supervisors get the insights page with SVG charts and the seeded numbers, and the same data as JSON; agents do not",
          .enabled(if: modelRequired, "needs the MiniLM model for realistic decisions (make model)"),
          arguments: TestDatabase.available)
    func insightsPage(database: TestDatabase) async throws {
        try await TestApp.with(database) { t in
            let seeded = try await Self.seed(t, days: 1, returningDaysAgo: 10, leavePending: 1, wrongVerdict: false)
            // The returning customer's visits ten days ago, so their re-contact window has closed.
            try await Self.spreadOverDays(t, seeded.days, delays: false)
            let supervisor = try await t.login("supervisor@demo.tandem")
            let agent = try await t.login("agent@demo.tandem")

            // The JSON series.
            let series = try await t.send(.GET, "/api/v1/insights/series", token: supervisor)
            #expect(series.status == .ok, "\(series.body.string)")
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            let report = try decoder.decode(InsightsSeries.self, from: Data(series.body.string.utf8))
            #expect(report.days == 14 && report.daily.count == 14)
            let o = report.overview
            #expect(o.conversations == seeded.started, "\(o)")
            #expect(report.daily.last?.conversations == seeded.started - 2)
            #expect(report.daily[report.daily.count - 11].conversations == 2, "the returning customer's day")
            #expect(report.daily.reduce(0) { $0 + $1.automated } == seeded.aiOnly)
            #expect(o.cost.resolved == seeded.resolved)
            #expect(o.handoffsByReason.reduce(0) { $0 + $1.count } == seeded.handedOff)
            #expect(o.ratings.reduce(0) { $0 + $1.count } == seeded.ratings.count)
            #expect(o.ratings.first { $0.path == .humanOnly }?.count ?? 0 >= 1)
            #expect(o.durableResolution.ai.resolved == 2 && o.durableResolution.ai.recontacted == 1,
                    "the returning customer's first resolution is not durable: \(o.durableResolution)")
            #expect(o.durableResolution.pending == seeded.resolved - 2)
            #expect(report.accuracy.audited == seeded.reviewed && report.accuracy.correct == seeded.reviewed)
            #expect(report.accuracy.pending == 1)
            let interval = try #require(report.accuracy.interval)
            #expect(interval[0] < 1 && interval[1] == 1, "\(interval)")
            let ai = try #require(o.timings.first { $0.handler == .ai })
            let people = try #require(o.timings.first { $0.handler == .people })
            #expect(ai.firstResponse.count == seeded.aiOnly && people.resolution.count == seeded.resolvedWithPerson)
            #expect(o.cost.costPerResolved ?? 99 < report.humanCostPerContact, "AI answers make a resolution cheaper")
            #expect(Dictionary(uniqueKeysWithValues: o.notHelpfulByIntent.compactMap { c in c.intent.map { ($0, c.notHelpful) } }) == seeded.notHelped,
                    "\(o.notHelpfulByIntent)")

            // The frontier re-certifies the model's own target exactly, and automates less for stricter targets.
            let artifact = try #require(t.app.tandem.intelligence.active?.artifact)
            let certificate = artifact.report.certificate
            let frontier = try #require(report.frontier)
            #expect(frontier.modelVersion == artifact.version)
            #expect(Set(frontier.points.map(\.targetAccuracy)).isSuperset(of: InsightsSeries.targetAccuracies))
            let own = try #require(frontier.points.first { $0.current })
            #expect(own.threshold == certificate.threshold, "\(own) vs \(certificate.threshold as Any)")
            #expect(abs(own.automatedShare - (certificate.threshold == nil ? 0 : certificate.coverage)) < 1e-9)
            let shares = frontier.points.sorted { $0.targetAccuracy < $1.targetAccuracy }.map(\.automatedShare)
            #expect(zip(shares, shares.dropFirst()).allSatisfy { $0 >= $1 }, "automation must not grow with the target: \(shares)")
            #expect(frontier.points.allSatisfy { abs($0.automatedShare + $0.humanShare - 1) < 1e-9 })
            #expect(abs(frontier.conversationsPerDay - Double(seeded.started) / 14) < 1e-9)
            #expect(!frontier.curve.isEmpty)

            // The page.
            let page = try await t.send(.GET, "/console/insights", token: supervisor)
            #expect(page.status == .ok)
            #expect(page.headers.contentType?.subType == "html")
            let html = page.body.string
            for id in ["chart-automated", "chart-handoffs", "chart-accuracy", "chart-ratings", "chart-durable", "chart-cost", "chart-frontier"] {
                #expect(html.contains("<svg id=\"\(id)\""), "the page lacks the chart \(id)")
            }
            #expect(html.contains("<p class=\"stat__value\">\(seeded.started)</p>"), "conversation count missing")
            let automated = DisplayFormat.percent(Double(seeded.aiOnly) / Double(seeded.started))
            #expect(html.contains("<p class=\"stat__value\">\(automated)</p>"), "automated share \(automated) missing")
            #expect(html.contains("<p class=\"stat__value\">\(DisplayFormat.percent(report.accuracy.accuracy ?? 0, 1))</p>"))
            #expect(html.contains("<p class=\"stat__value\">50%</p>"), "durable resolution (1 of 2 came back) missing")
            // The target as a count: every audit was right, so 0 expected, with an interval above it.
            let answers = try await DecisionRecord.automaticAnswers(since: report.from, on: t.app.db)
            let perWeek = WrongAnswersPerWeek(automaticAnswers: answers, days: report.days, audits: AuditCounts(correct: report.accuracy.correct, wrong: report.accuracy.wrong),
                                              targetRisk: 0.01, level: 0.95)
            let upper = try #require(perWeek.interval?[1])
            #expect(perWeek.expected == 0 && upper > 0)
            #expect(html.contains("Expected wrong automatic answers per week</p>\n      <p class=\"stat__value\">0.0 (0.0–\(upper < 10 ? String(format: "%.1f", upper) : String(format: "%.0f", upper)))</p>"),
                    "the wrong-answers-per-week figure is missing")
            #expect(html.contains(DisplayFormat.money(o.cost.costPerResolved ?? 0, currency: report.currency)))
            #expect(html.contains("id=\"frontier-table\"") && html.contains(">current<"))
            for (intent, count) in seeded.notHelped {
                let title = try await t.app.tandem.intentTitles(on: t.app.db)[intent] ?? intent
                #expect(html.contains("<tr data-intent=\"\(intent)\"><th scope=\"row\">\(title)</th><td class=\"num\">\(count)</td>"),
                        "the 'did not help' row for \(intent) is missing")
            }
            #expect(html.contains("href=\"/console/insights\" aria-current=\"page\""), "the nav marks Insights as the current page")
            #expect(!html.contains("style="), "inline styles would break under the CSP")
            #expect(!html.contains("<style"), "inline styles would break under the CSP")
            #expect(!html.contains("<script>"), "no inline scripts")
            #expect(!html.contains("&lt;svg"), "chart markup was escaped instead of inserted")

            // Who may see it.
            let forAgent = try await t.send(.GET, "/console/insights", token: agent)
            #expect(forAgent.status == .forbidden)
            let anonymous = try await t.send(.GET, "/console/insights")
            #expect(anonymous.status == .seeOther, "\(anonymous.status)")
            #expect(anonymous.headers.first(name: .location)?.hasPrefix("/console/login") == true)
            #expect(try await t.send(.GET, "/api/v1/insights/series", token: agent).status == .forbidden)
            #expect(try await t.send(.GET, "/api/v1/insights/series?days=0", token: supervisor).status == .badRequest)
            let week = try await t.send(.GET, "/api/v1/insights/series?days=7", token: supervisor)
            #expect(week.status == .ok && (week.json["daily"] as? [Any])?.count == 7)

            // The audits page is for every agent; its data comes from the API through audits.js.
            let audits = try await t.send(.GET, "/console/audits", token: agent)
            #expect(audits.status == .ok)
            let auditsHTML = audits.body.string
            #expect(auditsHTML.contains("<script src=\"/audits.js\" defer></script>"))
            #expect(auditsHTML.contains("href=\"/console/audits\" aria-current=\"page\""))
            #expect(!auditsHTML.contains("href=\"/console/insights\""), "agents get no Insights link")
            #expect(!auditsHTML.contains("id=\"guardrail\""), "the guardrail panel is for supervisors")
            #expect(try await t.send(.GET, "/console/audits", token: supervisor).body.string.contains("id=\"guardrail\""))
        }
    }

    @Test("chart labels are escaped and charts carry no inline styles")
    func chartsEscapeLabels() throws {
        let svg = InsightsCharts.horizontal(rows: [("<img src=x onerror=alert(1)> & \"q\"", 2, "2 <b>", "ichart__bar--handoff")], maxValue: 2,
                                            title: "T <script>", description: "D & E", id: "x\"y")
        #expect(!svg.contains("<img") && !svg.contains("<script") && !svg.contains("<b>"))
        #expect(svg.contains("&lt;img src=x onerror=alert(1)&gt; &amp; &quot;q&quot;"))
        #expect(svg.contains("id=\"x&quot;y\""))
        #expect(!svg.contains("style="))
        #expect(DisplayFormat.percent(0.995, 1) == "99.5%" && DisplayFormat.percent(0.99, 1) == "99%" && DisplayFormat.percent(0.5) == "50%")
        #expect(DisplayFormat.money(4.5, currency: "GBP") == "£4.50" && DisplayFormat.money(1, currency: "CHF") == "1.00 CHF")
        #expect(DisplayFormat.money(2425.49, currency: "GBP", digits: 0) == "£2,425" && DisplayFormat.money(1_234_567.891, currency: "USD") == "$1,234,567.89")
        #expect(DisplayFormat.money(-1.572, currency: "EUR") == "-€1.57" && DisplayFormat.money(999.999, currency: "GBP") == "£1,000.00")
        #expect(DisplayFormat.duration(0.042) == "42 ms" && DisplayFormat.duration(95) == "1 min 35 s" && DisplayFormat.duration(7_380) == "2 h 3 min")
    }

    // MARK: In Chromium

    @Test("insights and audits in Chromium: charts render, no console errors, an audit is reviewed through the page",
          .enabled(if: BrowserTests.runnable, "needs /usr/bin/chromedriver and /usr/bin/chromium (apt-get install chromium chromium-driver) and the MiniLM model (make model)"),
          .timeLimit(.minutes(5)))
    func browser() async throws {
        if TestDatabase.isCI {
            if let missing = WebDriver.missingBrowser { throw TestSetupError("CI=true: the browser test cannot run: \(missing)") }
            try #require(Shared.hasModel, "CI=true: the MiniLM model must be installed at \(Shared.modelDirectory) (make model)")
        }
        let shots = BrowserTests.screenshotFolder
        try FileManager.default.createDirectory(at: shots, withIntermediateDirectories: true)
        try await TestApp.with(.sqlite) { t in
            let seeded = try await Self.seed(t, days: 14, returningDaysAgo: 9, leavePending: 4, wrongVerdict: true)
            try await Self.spreadOverDays(t, seeded.days, delays: true)
            try await t.browse("Insights browser test") { base, driver in try await flow(t, base: base, driver: driver, shots: shots) }
        }
    }

    func flow(_ t: TestApp, base: String, driver: WebDriver, shots: URL) async throws {
        let session = try await driver.newSession(name: "supervisor")
        func path() async throws -> String? { URLComponents(string: try await session.currentURL())?.path }

        try await session.navigate(base + "/console/insights")
        try await session.waitUntil("/console/insights redirects to /console/login") { try await path() == "/console/login" }
        try await session.waitFor("#login-form #email")
        try await session.clear("#email")
        try await session.sendKeys("#email", "supervisor@demo.tandem")
        try await session.clear("#password")
        try await session.sendKeys("#password", BrowserTests.password)
        try await session.click("#login")
        try await session.waitUntil("signed in and sent on to /console/insights") { try await path() == "/console/insights" }
        try await session.waitFor("#chart-frontier")

        // Every chart is drawn, with a size, bars and points.
        let charts = try await session.execute("""
            return Array.from(document.querySelectorAll('svg.ichart')).map(s => {
              const r = s.getBoundingClientRect();
              return { id: s.id, width: r.width, height: r.height, shapes: s.querySelectorAll('rect, circle, polyline').length };
            });
            """) as? [[String: Any]] ?? []
        #expect(charts.count == 7, "\(charts)")
        for chart in charts {
            #expect((chart["width"] as? Double ?? 0) > 200 && (chart["height"] as? Double ?? 0) > 60, "chart not laid out: \(chart)")
            #expect((chart["shapes"] as? Int ?? 0) > 0, "chart draws nothing: \(chart)")
        }
        // The stylesheet styles the charts (no inline styles exist for it to lose to the CSP).
        let fill = try await session.execute("return getComputedStyle(document.querySelector('.ichart__bar--ai')).fill;") as? String ?? ""
        #expect(fill.contains("91, 63, 196"), "the AI bars are not styled by tandem.css: \(fill)")
        let days = try await session.execute("return document.querySelectorAll('#chart-automated .ichart__group').length;") as? Int
        #expect(days == 14)
        #expect(try await session.findAll("#frontier-table tbody tr").count >= 4)
        try await fullPageScreenshot(session, shots.appendingPathComponent("insights.png"))

        // The audits page: the pending answers, the guardrail's log (a burst of wrong verdicts
        // switched an intent), its figures in plain words, and an intent in shadow mode with the
        // evidence it still needs.
        let shadow = try #require(try await IntentRecord.query(on: t.app.db).filter(\.$key == "change_payment_date").first())
        shadow.shadow = true
        try await shadow.save(on: t.app.db)
        try await session.navigate(base + "/console/audits")
        try await session.waitForText("#shadow", containing: shadow.title)
        #expect(try await session.text("#shadow").contains("more agreeing labels to answer on its own"))
        #expect(try await session.isDisplayed("#shadow-empty") == false)
        try await session.waitUntil("#audits lists the 4 pending answers") { try await session.findAll("#audits .audit").count == 4 }
        try await session.waitFor("#guardrail-events .guardrail-event--switch-to-draft")
        #expect(try await session.text("#guarded").contains("more agreeing to answer on its own"), "no intent listed as held at draft-only")
        #expect(try await session.text("#guardrail-figures").contains("demoted by mistake within a year of audits"))
        let first = try await session.execute("""
            const a = document.querySelector('#audits .audit');
            return { id: a.dataset.id, question: a.querySelector('.audit__block--question .audit__text').textContent,
                     answer: a.querySelector('.audit__block--answer .audit__text').textContent,
                     options: a.querySelectorAll('.audit__select option').length };
            """) as? [String: Any] ?? [:]
        #expect((first["question"] as? String).map { !$0.isEmpty && $0 != "(not available)" } == true, "\(first)")
        #expect((first["answer"] as? String).map { !$0.isEmpty && $0 != "(not available)" } == true, "\(first)")
        #expect((first["options"] as? Int ?? 0) > 40, "the intent select is not filled from /api/v1/intents: \(first)")
        let auditID = try #require(UUID(uuidString: first["id"] as? String ?? ""))

        // Correct, through the page.
        try await session.click("#audits .audit .audit__correct")
        try await session.waitForText("#audits .audit--correct .audit__result", containing: "Marked correct")
        try await session.waitForText("#audit-count", containing: "3")
        let stored = try await AuditRecord.find(auditID, on: t.app.db)
        #expect(stored?.status == .reviewed && stored?.correct == true, "the verdict was not stored")

        // Wrong, with the right intent chosen from the list.
        let second = try #require(try await session.execute("return document.querySelectorAll('#audits .audit')[1].dataset.id;") as? String)
        let item = "#audits .audit[data-id=\"\(second)\"]"
        try await session.click(item + " .audit__wrong")
        try await session.waitUntil("the intent select is shown") { try await session.isDisplayed(item + " .audit__select") }
        try await session.execute("document.querySelector(arguments[0]).value = 'unknown';", [item + " .audit__select"])
        try await session.click(item + " .audit__save")
        try await session.waitForText(item + " .audit__result", containing: "Marked wrong")
        let wrong = try await AuditRecord.find(UUID(uuidString: second), on: t.app.db)
        #expect(wrong?.correct == false && wrong?.correctedIntent == "unknown")
        try await session.execute("window.scrollTo(0, 0);")
        try await fullPageScreenshot(session, shots.appendingPathComponent("audits.png"))

        // The staffing planner: planned on the defaults, then re-planned with a lower AI share.
        try await session.navigate(base + "/console/staffing")
        try await session.waitFor("#chart-staffing")
        let before = try await session.text("#staffing-headline")
        #expect(try await session.findAll("#chart-staffing .ichart__group").count == 48, "a sample day has 48 half-hour intervals")
        try await session.clear("#automatedSharePercent")
        try await session.sendKeys("#automatedSharePercent", "40")
        try await session.click("#plan")
        try await session.waitUntil("the plan is redrawn for a 40% AI share") {
            let share = try await session.execute("return document.querySelector('#automatedSharePercent').value;") as? String
            let headline = try await session.text("#staffing-headline")
            return share == "40" && headline != before
        }
        let comparison = try await session.text("#staffing-comparison")
        #expect(comparison.contains("40%"), "\(comparison)")
        try await session.execute("window.scrollTo(0, 0);")
        try await fullPageScreenshot(session, shots.appendingPathComponent("staffing.png"))

        let errors = try await session.severeConsoleErrors()
        #expect(errors.isEmpty, "browser console errors:\n\(errors.map { "  \($0)" }.joined(separator: "\n"))")
    }

    /// Grows the window to the page's height for the screenshot, then restores it.
    func fullPageScreenshot(_ session: BrowserSession, _ file: URL) async throws {
        let height = try await session.execute("return Math.ceil(document.documentElement.scrollHeight);") as? Int ?? 900
        try await session.command("POST", "/window/rect", body: ["width": 1280, "height": min(max(height + 140, 900), 4000)])
        try await Task.sleep(nanoseconds: 300_000_000)
        try await session.screenshot(to: file)
        try await session.command("POST", "/window/rect", body: ["width": 1280, "height": 900])
        print("  screenshot \(file.path)")
    }
}
