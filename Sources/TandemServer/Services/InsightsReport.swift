import Fluent
import Foundation
import TandemOffline
import TandemCore
import Vapor

/// Quality, speed and cost over the last days, side by side: the figures behind the insights
/// page (`/console/insights`) and `GET /api/v1/insights/series`.
///
/// The conversation figures are TandemCore's `QualityMetrics` (`overview`) over the
/// conversations whose customer wrote first in the period, each counted on the UTC day of that
/// first message (conversations nobody wrote in, such as chat windows opened and left, are not
/// conversations here). To them this adds every day of the period (`daily`, empty days
/// included), the audited accuracy of the AI's answers with its interval (counted on the day an
/// audit was reviewed), and the cost–quality frontier of the serving model.
struct InsightsSeries: Content {
    /// One UTC day.
    struct Day: Content {
        /// `YYYY-MM-DD`.
        var date: String
        /// Conversations started that day.
        var conversations: Int
        /// Of those, handled by the AI alone.
        var automated: Int
        var automatedShare: Double?
        /// Of those, handed to a person.
        var handoffs: Int
        /// Of those, resolved.
        var resolved: Int
        /// What that day's conversations cost (AI messages and human contacts).
        var cost: Double
        /// `cost / resolved`, as `CostSummary.costPerResolved`.
        var costPerResolved: Double?
        /// AI answers reviewed that day, and how many were right.
        var audited: Int
        var auditedCorrect: Int
        var accuracy: Double?
        /// Two-sided Wilson interval [lower, upper] of the accuracy at the workspace's confidence level.
        var accuracyInterval: [Double]?
        /// The same over every audit reviewed in the period up to and including this day.
        var cumulativeAccuracy: Double?
        var cumulativeInterval: [Double]?
    }

    /// The AI's answers as the audits judged them.
    struct Accuracy: Content {
        var audited: Int
        var correct: Int
        var wrong: Int
        var accuracy: Double?
        /// Two-sided Wilson interval at `level`.
        var interval: [Double]?
        /// One-sided Clopper–Pearson: with confidence `level`, the accuracy is at least this.
        var lowerBound: Double?
        var level: Double
        /// 1 − the workspace's target risk.
        var target: Double
        /// Sampled answers still waiting for a verdict.
        var pending: Int
    }

    /// What the serving model may automate at one accuracy target.
    struct FrontierPoint: Content {
        var targetAccuracy: Double
        /// The workspace's own target.
        var current: Bool
        /// The certified confidence threshold (nil: none could be certified, nothing is automated).
        var threshold: Double?
        /// Share the AI may answer: calibration messages at or above the threshold.
        var automatedShare: Double
        /// Share left to people.
        var humanShare: Double
        /// Clopper–Pearson bound on the error among the calibration messages answered.
        var errorUpperBound: Double?
        /// Conversations a day left to people, at the period's daily volume.
        var humanConversationsPerDay: Double
        /// Cost of 1,000 conversations at that share (`QualityMetrics.frontier`).
        var costPerThousand: Double
    }

    /// The risk–coverage curve of the calibration data: accuracy among the most confident share.
    struct CurvePoint: Content {
        var threshold: Double
        var coverage: Double
        var accuracy: Double
    }

    struct Frontier: Content {
        var modelVersion: String
        var calibrationSize: Int
        /// Confidence of each certification (the model's 1 − δ).
        var confidenceLevel: Double
        var conversationsPerDay: Double
        var aiMessagesPerConversation: Double
        var points: [FrontierPoint]
        var curve: [CurvePoint]
    }

    var generatedAt: Date
    /// 00:00 UTC of the first day.
    var from: Date
    var days: Int
    var currency: String
    var aiCostPerMessage: Double
    var humanCostPerContact: Double
    var overview: TandemCore.InsightsReport
    var daily: [Day]
    var accuracy: Accuracy
    var frontier: Frontier?

    static let targetAccuracies = [0.95, 0.98, 0.99, 0.995]

    static func dateKey(_ date: Date) -> String {
        let c = utc.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0)
    }

    static var utc: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = QualityMetrics.utc
        return calendar
    }

    static func pathLabel(_ path: TandemCore.ConversationRecord.Path) -> String {
        switch path {
        case .aiOnly: return "AI only"
        case .aiThenHuman: return "AI, then a person"
        case .humanOnly: return "Person only"
        }
    }

    static func reasonLabel(_ rule: RoutingDecision.Rule) -> String {
        switch rule {
        case .killSwitch: return "Kill switch on"
        case .humanOwns: return "A person owns it"
        case .askedForHuman: return "Asked for a person"
        case .frustration: return "Frustrated customer"
        case .notHelpful: return "Answer did not help"
        case .noModel: return "No model loaded"
        case .unknownRequest: return "Unknown request"
        case .sensitive: return "Sensitive topic"
        case .automationOff: return "Automation off"
        case .draftOnly: return "Draft-only intent"
        case .guardrail: return "Quality guardrail"
        case .shadowMode: return "New intent in shadow mode"
        case .notCertified: return "No certified threshold"
        case .lowConfidence: return "Low confidence"
        case .repeatedUnresolved: return "Came back unresolved"
        case .confident: return "Confident"
        }
    }

    // MARK: Building

    /// The conversations started in the period as `QualityMetrics` sees them.
    static func records(on db: Database, from: Date, until now: Date) async throws -> [TandemCore.ConversationRecord] {
        // A conversation starts with the customer's first message, never before it was created.
        let margin = from.addingTimeInterval(-86_400)
        let conversations = try await ConversationRecord.query(on: db).filter(\.$createdAt >= margin).all()
        guard !conversations.isEmpty else { return [] }
        var started: [UUID: (seq: Int, at: Date)] = [:]
        for m in try await MessageRecord.query(on: db).filter(\.$createdAt >= margin)
            .filter(\.$role == .customer).all() {
            guard let at = m.createdAt else { continue }
            let id = m.$conversation.id
            if let known = started[id], known.seq < m.seq { continue }
            started[id] = (m.seq, at)
        }
        // Every answer and draft the AI wrote costs a message.
        var aiMessages: [UUID: Int] = [:]
        for d in try await DecisionRecord.query(on: db).filter(\.$createdAt >= margin).all() where !(d.draft ?? "").isEmpty {
            aiMessages[d.$conversation.id, default: 0] += 1
        }
        return conversations.compactMap { c -> TandemCore.ConversationRecord? in
            guard let id = c.id, let start = started[id]?.at, start >= from, start <= now else { return nil }
            let path: TandemCore.ConversationRecord.Path = c.humanInvolved ? (c.aiAnswers > 0 ? .aiThenHuman : .humanOnly) : .aiOnly
            let firstResponse = c.firstResponseAt.map { $0.timeIntervalSince(start) }.flatMap { $0 >= 0 ? $0 : nil }
            return TandemCore.ConversationRecord(
                id: id.uuidString, customerKey: c.customerKey, intent: c.lastIntent, startedAt: start,
                resolvedAt: c.status == .resolved ? c.resolvedAt : nil, path: path, firstResponseSeconds: firstResponse,
                handoffReason: c.handoffRule, rating: c.rating,
                aiMessages: max(aiMessages[id] ?? 0, c.aiAnswers))
        }
    }

    static func build(on db: Database, settings: WorkspaceSettings, artifact: ModelArtifact?, days requested: Int = 14,
                      now: Date) async throws -> InsightsSeries {
        let days = min(max(requested, 1), 90)
        let calendar = utc
        let from = calendar.date(byAdding: .day, value: -(days - 1), to: calendar.startOfDay(for: now))!
        func day(_ date: Date?) -> Int? {
            guard let date, date >= from else { return nil }
            let index = Int(date.timeIntervalSince(from) / 86_400)
            return index < days ? index : nil
        }
        let costs = CostModel(aiCostPerMessage: settings.aiCostPerMessage, humanCostPerContact: settings.humanCostPerContact)
        let records = try await records(on: db, from: from, until: now)
        let overview = TandemCore.InsightsReport(records: records, costs: costs, asOf: now, timeZone: QualityMetrics.utc,
                                                 durableWindowDays: settings.recontactDays)

        var byDay = [[TandemCore.ConversationRecord]](repeating: [], count: days)
        for record in records { if let i = day(record.startedAt) { byDay[i].append(record) } }
        var audits = [AuditCounts](repeating: .zero, count: days)
        var allAudits = AuditCounts.zero
        for audit in try await AuditRecord.query(on: db).filter(\.$status == .reviewed).filter(\.$reviewedAt >= from).all() {
            guard let correct = audit.correct, let i = day(audit.reviewedAt) else { continue }
            let verdict = AuditCounts(correct: correct ? 1 : 0, wrong: correct ? 0 : 1)
            audits[i] = audits[i] + verdict
            allAudits = allAudits + verdict
        }
        func wilson(_ e: ErrorEstimate) -> [Double]? { e.errorRate == nil ? nil : [1 - e.wilson.upper, 1 - e.wilson.lower] }
        var running = AuditCounts.zero
        let daily = (0..<days).map { i -> Day in
            let members = byDay[i]
            running = running + audits[i]
            let cumulative = ErrorEstimate(running, level: settings.confidenceLevel)
            let automated = members.filter { $0.path == .aiOnly }.count
            let cost = QualityMetrics.cost(members, costs: costs)
            let estimate = ErrorEstimate(audits[i], level: settings.confidenceLevel)
            return Day(date: dateKey(calendar.date(byAdding: .day, value: i, to: from)!),
                       conversations: members.count, automated: automated,
                       automatedShare: members.isEmpty ? nil : Double(automated) / Double(members.count),
                       handoffs: members.filter { $0.handoffReason != nil }.count, resolved: cost.resolved,
                       cost: cost.totalCost, costPerResolved: cost.costPerResolved,
                       audited: audits[i].audited, auditedCorrect: audits[i].correct,
                       accuracy: estimate.errorRate.map { 1 - $0 }, accuracyInterval: wilson(estimate),
                       cumulativeAccuracy: cumulative.errorRate.map { 1 - $0 }, cumulativeInterval: wilson(cumulative))
        }
        let estimate = ErrorEstimate(allAudits, level: settings.confidenceLevel)
        let pending = try await AuditRecord.query(on: db).filter(\.$status == .pending).count()
        let accuracy = Accuracy(audited: allAudits.audited, correct: allAudits.correct, wrong: allAudits.wrong,
                                accuracy: estimate.errorRate.map { 1 - $0 }, interval: wilson(estimate),
                                lowerBound: estimate.errorRate == nil ? nil : 1 - estimate.upperBound,
                                level: settings.confidenceLevel, target: 1 - settings.targetRisk, pending: pending)

        // The frontier at the period's volume; an automated conversation costs as many AI
        // messages as the AI-only conversations of the period did (at least one).
        let aiOnly = records.filter { $0.path == .aiOnly }
        let perConversation = aiOnly.isEmpty ? 1 : max(1, Double(aiOnly.reduce(0) { $0 + $1.aiMessages }) / Double(aiOnly.count))
        let frontier = artifact.flatMap {
            Self.frontier(of: $0, settings: settings, conversationsPerDay: Double(records.count) / Double(days),
                          aiMessagesPerConversation: perConversation)
        }
        return InsightsSeries(generatedAt: now, from: from, days: days, currency: settings.currency,
                              aiCostPerMessage: settings.aiCostPerMessage, humanCostPerContact: settings.humanCostPerContact,
                              overview: overview, daily: daily, accuracy: accuracy, frontier: frontier)
    }

    // MARK: The cost–quality frontier

    /// Re-runs the model's risk control at other targets on its own calibration counts.
    ///
    /// The certificate keeps, for every threshold of its grid, how many calibration messages
    /// reached it and how many of those were wrong. Those counts are all that certification
    /// uses, so messages rebuilt from them (each at the first grid threshold it reached)
    /// certify exactly as the originals would: at the model's own target this gives back the
    /// model's threshold.
    static func frontier(of artifact: ModelArtifact, settings: WorkspaceSettings, conversationsPerDay: Double,
                         aiMessagesPerConversation: Double, targets: [Double] = targetAccuracies) -> Frontier? {
        let certificate = artifact.report.certificate
        let tests = certificate.tests.sorted { $0.threshold > $1.threshold }
        guard !tests.isEmpty, certificate.calibrationSize > 0 else { return nil }
        var confidences: [Double] = [], correct: [Bool] = []
        var seen = 0, wrong = 0
        for test in tests {
            let n = test.automated - seen, k = test.errors - wrong
            guard n >= 0, k >= 0, k <= n else { return nil }
            confidences += repeatElement(test.threshold, count: n)
            correct += repeatElement(false, count: k)
            correct += repeatElement(true, count: n - k)
            seen = test.automated
            wrong = test.errors
        }
        if certificate.calibrationSize > seen {  // below every threshold: never answered
            confidences += repeatElement(-1, count: certificate.calibrationSize - seen)
            correct += repeatElement(true, count: certificate.calibrationSize - seen)
        }
        let grid = tests.map(\.threshold)
        let own = 1 - settings.targetRisk
        var wanted = targets
        if !wanted.contains(where: { abs($0 - own) < 1e-9 }) { wanted.append(own) }
        let certified = wanted.sorted().compactMap { target -> (target: Double, certificate: RiskControl.Certificate)? in
            let risk = 1 - target
            guard risk > 0 && risk < 1 else { return nil }
            return (target, RiskControl(targetRisk: risk, delta: certificate.delta, grid: grid).certify(confidences: confidences, correct: correct))
        }
        let rows = QualityMetrics.frontier(
            certified.map { TandemCore.FrontierPoint(targetAccuracy: $0.target, automatedShare: $0.certificate.threshold == nil ? 0 : min(1, $0.certificate.coverage)) },
            conversationsPerDay: conversationsPerDay, aiMessagesPerConversation: aiMessagesPerConversation,
            costs: CostModel(aiCostPerMessage: settings.aiCostPerMessage, humanCostPerContact: settings.humanCostPerContact))
        let points = zip(certified, rows).map { c, row in
            FrontierPoint(targetAccuracy: row.targetAccuracy, current: abs(row.targetAccuracy - own) < 1e-9, threshold: c.certificate.threshold,
                          automatedShare: row.automatedShare, humanShare: 1 - row.automatedShare,
                          errorUpperBound: c.certificate.threshold == nil ? nil : c.certificate.upperBound,
                          humanConversationsPerDay: row.humanConversationsPerDay, costPerThousand: row.costPerThousand)
        }
        var curve: [CurvePoint] = []
        for test in tests where test.automated > 0 {
            let coverage = Double(test.automated) / Double(certificate.calibrationSize)
            if curve.last?.coverage == coverage { continue }
            curve.append(CurvePoint(threshold: test.threshold, coverage: coverage, accuracy: 1 - Double(test.errors) / Double(test.automated)))
        }
        return Frontier(modelVersion: artifact.version, calibrationSize: certificate.calibrationSize, confidenceLevel: 1 - certificate.delta,
                        conversationsPerDay: conversationsPerDay, aiMessagesPerConversation: aiMessagesPerConversation,
                        points: points, curve: curve)
    }
}

// MARK: - The page

extension InsightsSeries {
    /// What the insights template shows: formatted figures, and charts as SVG markup built
    /// here with every label escaped (inserted with `#unsafeHTML`).
    struct Page: Encodable {
        struct Stat: Encodable {
            var id: String
            var label: String
            var value: String
            var note: String
        }
        struct TimeRow: Encodable {
            var label: String
            var median: String
            var p90: String
            var count: Int
        }
        struct FrontierRow: Encodable {
            var target: String
            var current: Bool
            var threshold: String
            var automated: String
            var human: String
            var perDay: String
            var cost: String
        }
        /// One intent's "that did not help" hand-offs after an AI answer.
        struct NotHelpfulRow: Encodable {
            var intent: String
            var title: String
            var notHelpful: Int
            var conversations: Int
            var share: String
        }
        struct Charts: Encodable {
            var automated: String
            var handoffs: String
            var accuracy: String
            var ratings: String
            var durable: String
            var cost: String
            var frontier: String
        }

        var period: String
        var stats: [Stat]
        var charts: Charts
        var hasConversations: Bool
        var hasHandoffs: Bool
        var hasAudits: Bool
        var hasRatings: Bool
        var hasDurable: Bool
        var accuracyNote: String
        var durableNote: String
        var times: [TimeRow]
        var notHelpful: [NotHelpfulRow]
        var costNote: String
        var hasFrontier: Bool
        var frontier: [FrontierRow]
        var frontierNote: String
    }

    /// The page, with intents shown by their titles (`titles`: key → title).
    func page(titles: [String: String]) -> Page {
        let money = { (v: Double) in InsightsFormat.money(v, currency: currency) }
        let last = Self.utc.date(byAdding: .day, value: days - 1, to: from)!
        let o = overview
        let automated = daily.reduce(0) { $0 + $1.automated }
        let rated = o.ratings.reduce(0) { $0 + $1.count }
        let ratingSum = o.ratings.reduce(0.0) { $0 + ($1.mean ?? 0) * Double($1.count) }
        let durable = o.durableResolution
        let stats = [
            Page.Stat(id: "stat-conversations", label: "Conversations", value: "\(o.conversations)",
                      note: "\(o.cost.resolved) resolved, \(o.handoffsByReason.reduce(0) { $0 + $1.count }) handed to a person"),
            Page.Stat(id: "stat-automated", label: "Automated share",
                      value: o.conversations == 0 ? "—" : InsightsFormat.percent(Double(automated) / Double(o.conversations)),
                      note: "\(automated) of \(o.conversations) handled by the AI alone"),
            Page.Stat(id: "stat-accuracy", label: "Audited AI accuracy", value: accuracy.accuracy.map { InsightsFormat.percent($0, 1) } ?? "—",
                      note: accuracy.interval.map {
                          "\(InsightsFormat.percent($0[0], 1))–\(InsightsFormat.percent($0[1], 1)) (\(InsightsFormat.percent(accuracy.level)) interval), \(accuracy.audited) audits"
                      } ?? "no audits reviewed yet"),
            Page.Stat(id: "stat-rating", label: "Average rating", value: rated == 0 ? "—" : String(format: "%.1f / 5", ratingSum / Double(rated)),
                      note: "\(rated) rating\(rated == 1 ? "" : "s")"),
            Page.Stat(id: "stat-durable", label: "Durable resolution", value: durable.overall.durableShare.map { InsightsFormat.percent($0) } ?? "—",
                      note: "\(durable.overall.recontacted) of \(durable.overall.resolved) came back within \(durable.windowDays) days"),
            Page.Stat(id: "stat-cost", label: "Cost per resolved", value: o.cost.costPerResolved.map(money) ?? "—",
                      note: "\(money(humanCostPerContact)) when a person handles one"),
        ]
        var times: [Page.TimeRow] = []
        for timing in o.timings {
            let who = timing.handler == .ai ? "the AI alone" : "with a person"
            for (label, p) in [("First response, \(who)", timing.firstResponse), ("Resolution, \(who)", timing.resolution)] {
                times.append(Page.TimeRow(label: label, median: p.p50.map(InsightsFormat.duration) ?? "—",
                                          p90: p.p90.map(InsightsFormat.duration) ?? "—", count: p.count))
            }
        }
        times.sort { ($0.label.hasPrefix("First") ? 0 : 1) < ($1.label.hasPrefix("First") ? 0 : 1) }
        let frontierRows = (frontier?.points ?? []).map { p in
            Page.FrontierRow(target: InsightsFormat.percent(p.targetAccuracy, 1), current: p.current,
                             threshold: p.threshold.map { String(format: "%.3f", $0) } ?? "none",
                             automated: InsightsFormat.percent(p.automatedShare, 1), human: InsightsFormat.percent(p.humanShare, 1),
                             perDay: String(format: "%.1f", p.humanConversationsPerDay),
                             cost: InsightsFormat.money(p.costPerThousand, currency: currency, digits: 0))
        }
        let frontierNote = frontier.map {
            "Model \($0.modelVersion): each target certified on its \($0.calibrationSize) calibration messages with \(InsightsFormat.percent($0.confidenceLevel)) confidence. Messages the unknown-request gate keeps from the AI are counted as left to people; per-intent thresholds keep a little more from the AI in practice. People per day and cost use this period's \(String(format: "%.1f", $0.conversationsPerDay)) conversations a day and \(String(format: "%.1f", $0.aiMessagesPerConversation)) AI messages per automated conversation."
        } ?? "No model is serving, so every message goes to a person."
        return Page(
            period: "\(InsightsFormat.longDay(from)) – \(InsightsFormat.longDay(last)) (UTC)", stats: stats,
            charts: .init(automated: InsightsCharts.automated(self), handoffs: InsightsCharts.handoffs(self),
                          accuracy: InsightsCharts.accuracy(self), ratings: InsightsCharts.ratings(self),
                          durable: InsightsCharts.durable(self), cost: InsightsCharts.cost(self),
                          frontier: frontier.map { InsightsCharts.frontier($0) } ?? ""),
            hasConversations: o.conversations > 0, hasHandoffs: !o.handoffsByReason.isEmpty, hasAudits: accuracy.audited > 0,
            hasRatings: rated > 0, hasDurable: durable.overall.resolved > 0,
            accuracyNote: accuracy.lowerBound.map {
                "With \(InsightsFormat.percent(accuracy.level)) confidence the audited accuracy is at least \(InsightsFormat.percent($0, 1)) (target \(InsightsFormat.percent(accuracy.target, 1))). The band is the \(InsightsFormat.percent(accuracy.level)) Wilson interval of every review so far; each dot is a day's reviews (larger for more). \(accuracy.pending) answer\(accuracy.pending == 1 ? "" : "s") wait for review."
            } ?? "No AI answers have been reviewed in this period; \(accuracy.pending) wait on the Audits page.",
            durableNote: "Resolved conversations whose customer did not come back on the same topic within \(durable.windowDays) days. \(durable.pending) resolved in the last \(durable.windowDays) days are not counted yet.",
            times: times,
            notHelpful: o.notHelpfulByIntent.map {
                Page.NotHelpfulRow(intent: $0.intent ?? "—", title: $0.intent.map { titles[$0] ?? $0 } ?? "No recognised intent",
                                   notHelpful: $0.notHelpful, conversations: $0.conversations,
                                   share: InsightsFormat.percent(Double($0.notHelpful) / Double(max($0.conversations, 1))))
            },
            costNote: "AI messages at \(money(aiCostPerMessage)) each, plus \(money(humanCostPerContact)) for each conversation a person takes part in, over the conversations resolved. Each day counts the conversations that started on it.",
            hasFrontier: frontier != nil, frontier: frontierRows, frontierNote: frontierNote)
    }
}

enum InsightsFormat {
    static func percent(_ value: Double, _ digits: Int = 0) -> String {
        var text = String(format: "%.\(digits)f", value * 100)
        if digits > 0, text.hasSuffix(String(repeating: "0", count: digits)) { text = String(text.dropLast(digits + 1)) }
        return text + "%"
    }

    static func money(_ value: Double, currency: String, digits: Int = 2) -> String {
        let symbols = ["GBP": "£", "USD": "$", "EUR": "€", "JPY": "¥", "INR": "₹"]
        let amount = number(abs(value), decimals: digits)
        let sign = value < 0 && amount.contains(where: { $0 != "0" && $0 != "." && $0 != "," }) ? "-" : ""
        if let symbol = symbols[currency.uppercased()] { return sign + symbol + amount }
        return sign + amount + " " + currency
    }

    /// A number with thousands separated by commas and exactly `decimals` decimals.
    static func number(_ value: Double, decimals: Int = 0) -> String {
        guard value.isFinite else { return value.isNaN ? "—" : (value > 0 ? "∞" : "-∞") }
        let plain = String(format: "%.\(max(0, decimals))f", abs(value))
        let parts = plain.split(separator: ".", maxSplits: 1)
        var whole = String(parts[0])
        var grouped = ""
        while whole.count > 3 {
            grouped = "," + whole.suffix(3) + grouped
            whole = String(whole.dropLast(3))
        }
        let sign = value < 0 && plain.contains(where: { $0 != "0" && $0 != "." }) ? "-" : ""
        return sign + whole + grouped + (parts.count > 1 ? "." + parts[1] : "")
    }

    static func duration(_ seconds: Double) -> String {
        if seconds < 1 { return String(format: "%.0f ms", seconds * 1000) }
        if seconds < 60 { return String(format: "%.0f s", seconds) }
        let s = Int(seconds.rounded())
        if s < 3600 { return "\(s / 60) min\(s % 60 == 0 || s >= 600 ? "" : " \(s % 60) s")" }
        if s < 86_400 { return "\(s / 3600) h\(s % 3600 / 60 == 0 ? "" : " \(s % 3600 / 60) min")" }
        return "\(s / 86_400) d\(s % 86_400 / 3600 == 0 ? "" : " \(s % 86_400 / 3600) h")"
    }

    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// "3 Mar" from "YYYY-MM-DD".
    static func shortDay(_ key: String) -> String {
        let parts = key.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3, (1...12).contains(parts[1]) else { return key }
        return "\(parts[2]) \(months[parts[1] - 1])"
    }

    static func longDay(_ date: Date) -> String {
        let key = InsightsSeries.dateKey(date)
        return "\(shortDay(key)) \(key.prefix(4))"
    }
}

/// Inline SVG charts for the insights page. Styling is by class (tandem.css), never inline,
/// because the pages' Content-Security-Policy allows only the stylesheet; every piece of text
/// is XML-escaped.
enum InsightsCharts {
    static func x(_ text: String) -> String { escapeHTML(text) }
    static func n(_ v: Double) -> String { String(format: "%.1f", v) }

    static func open(_ width: Double, _ height: Double, title: String, description: String, id: String) -> String {
        "<svg id=\"\(x(id))\" class=\"ichart\" viewBox=\"0 0 \(n(width)) \(n(height))\" role=\"img\" aria-labelledby=\"\(x(id))-title \(x(id))-desc\" preserveAspectRatio=\"xMidYMid meet\">"
            + "<title id=\"\(x(id))-title\">\(x(title))</title><desc id=\"\(x(id))-desc\">\(x(description))</desc>"
    }

    static func text(_ content: String, x px: Double, y py: Double, anchor: String = "start", className: String) -> String {
        "<text x=\"\(n(px))\" y=\"\(n(py))\" text-anchor=\"\(anchor)\" class=\"\(className)\">\(x(content))</text>"
    }

    static func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, className: String) -> String {
        "<line x1=\"\(n(x1))\" y1=\"\(n(y1))\" x2=\"\(n(x2))\" y2=\"\(n(y2))\" class=\"\(className)\"/>"
    }

    static func rect(_ px: Double, _ py: Double, _ w: Double, _ h: Double, className: String, radius: Double = 2) -> String {
        "<rect x=\"\(n(px))\" y=\"\(n(py))\" width=\"\(n(max(w, 0)))\" height=\"\(n(max(h, 0)))\" rx=\"\(n(radius))\" class=\"\(className)\"/>"
    }

    /// A rounded-up axis maximum with a step that divides it into `ticks`.
    static func niceMax(_ value: Double, ticks: Int = 4) -> Double {
        guard value > 0 else { return Double(ticks) }
        let raw = value / Double(ticks)
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
        return step * Double(ticks)
    }

    static func legend(_ items: [(String, String)], right: Double, y: Double) -> String {
        var out = "", cursor = right
        for (label, className) in items.reversed() {
            let width = Double(label.count) * 6.6 + 22
            cursor -= width
            out += rect(cursor, y - 9, 10, 10, className: className, radius: 2)
            out += text(label, x: cursor + 15, y: y, className: "ichart__legend")
            cursor -= 10
        }
        return out
    }

    /// Days along the bottom of a daily chart: every label when they fit, else every other.
    static func dayLabels(_ report: InsightsSeries, left: Double, slot: Double, y: Double) -> String {
        let every = slot >= 38 ? 1 : 2
        var out = ""
        for (i, day) in report.daily.enumerated() where (report.daily.count - 1 - i) % every == 0 {
            out += text(InsightsFormat.shortDay(day.date), x: left + slot * (Double(i) + 0.5), y: y, anchor: "middle", className: "ichart__tick")
        }
        return out
    }

    static func yGrid(left: Double, right: Double, top: Double, height: Double, ticks: Int, label: (Int) -> String) -> String {
        var out = ""
        for i in 0...ticks {
            let py = top + height - Double(i) / Double(ticks) * height
            out += line(left, py, right, py, className: i == 0 ? "ichart__axis" : "ichart__grid")
            out += text(label(i), x: left - 6, y: py + 4, anchor: "end", className: "ichart__tick")
        }
        return out
    }

    // MARK: The charts

    /// Conversations per day, handled by the AI alone and with a person, with the automated share.
    static func automated(_ report: InsightsSeries) -> String {
        let width = 1160.0, height = 290.0, left = 44.0, right = 12.0, top = 34.0, bottom = 30.0
        let plotW = width - left - right, plotH = height - top - bottom
        let slot = plotW / Double(report.daily.count)
        let maxY = niceMax(Double(report.daily.map(\.conversations).max() ?? 0))
        var svg = open(width, height, title: "Conversations per day and the automated share",
                       description: "Bars: conversations started each day, handled by the AI alone or with a person; the percentage above each bar is the share the AI handled alone.",
                       id: "chart-automated")
        svg += yGrid(left: left, right: width - right, top: top, height: plotH, ticks: 4) { i in
            let v = maxY * Double(i) / 4
            return v == v.rounded() ? String(Int(v)) : String(format: "%.1f", v)
        }
        for (i, day) in report.daily.enumerated() {
            let bw = slot * 0.62, bx = left + slot * Double(i) + (slot - bw) / 2
            let hAI = Double(day.automated) / maxY * plotH, hHuman = Double(day.conversations - day.automated) / maxY * plotH
            let base = top + plotH
            let share = day.automatedShare.map { InsightsFormat.percent($0) }
            svg += "<g class=\"ichart__group\"><title>\(x("\(InsightsFormat.shortDay(day.date)): \(day.conversations) conversations, \(day.automated) handled by the AI alone\(share.map { " (\($0))" } ?? "")"))</title>"
            if day.automated > 0 { svg += rect(bx, base - hAI, bw, hAI, className: "ichart__bar ichart__bar--ai", radius: 1) }
            if day.conversations > day.automated { svg += rect(bx, base - hAI - hHuman, bw, hHuman, className: "ichart__bar ichart__bar--human", radius: 1) }
            if let share { svg += text(share, x: bx + bw / 2, y: base - hAI - hHuman - 5, anchor: "middle", className: "ichart__value") }
            svg += "</g>"
        }
        svg += dayLabels(report, left: left, slot: slot, y: height - 10)
        svg += legend([("Handled by the AI alone", "ichart__bar--ai"), ("With a person", "ichart__bar--human")], right: width - right, y: 14)
        return svg + "</svg>"
    }

    /// Horizontal bars with a label on the left and the value on the right.
    static func horizontal(rows: [(label: String, value: Double, text: String, className: String)], maxValue: Double,
                           title: String, description: String, id: String) -> String {
        let width = 560.0, rowH = 32.0, top = 8.0, labelW = 170.0, valueW = 104.0
        let height = top * 2 + rowH * Double(max(rows.count, 1))
        let plotW = width - labelW - valueW
        var svg = open(width, height, title: title, description: description, id: id)
        for (i, row) in rows.enumerated() {
            let y = top + rowH * Double(i)
            let w = maxValue <= 0 ? 0 : row.value / maxValue * plotW
            svg += "<g class=\"ichart__group\"><title>\(x("\(row.label): \(row.text)"))</title>"
            svg += text(row.label, x: labelW - 10, y: y + rowH / 2 + 4, anchor: "end", className: "ichart__label")
            svg += rect(labelW, y + 6, plotW, rowH - 12, className: "ichart__track", radius: 3)
            if w > 0 { svg += rect(labelW, y + 6, w, rowH - 12, className: "ichart__bar \(row.className)", radius: 3) }
            svg += text(row.text, x: labelW + plotW + 8, y: y + rowH / 2 + 4, className: "ichart__value")
            svg += "</g>"
        }
        return svg + "</svg>"
    }

    static func handoffs(_ report: InsightsSeries) -> String {
        let rows = report.overview.handoffsByReason.prefix(10)
        let maxValue = Double(rows.map(\.count).max() ?? 0)
        return horizontal(rows: rows.map { (InsightsSeries.reasonLabel($0.reason), Double($0.count), "\($0.count) (\(InsightsFormat.percent($0.share)))", "ichart__bar--handoff") },
                          maxValue: maxValue, title: "Hand-offs by reason",
                          description: "Conversations handed to a person, by the routing rule that decided, with the share of all hand-offs.", id: "chart-handoffs")
    }

    static func ratings(_ report: InsightsSeries) -> String {
        let rows = report.overview.ratings.map { r in
            (InsightsSeries.pathLabel(r.path), r.mean ?? 0, r.mean.map { String(format: "%.1f (%d)", $0, r.count) } ?? "no ratings", "ichart__bar--\(r.path.rawValue)")
        }
        return horizontal(rows: rows, maxValue: 5, title: "Average rating by path",
                          description: "Customers' average rating out of 5, by whether the AI, a person or both answered; the number of ratings in brackets.", id: "chart-ratings")
    }

    static func durable(_ report: InsightsSeries) -> String {
        let d = report.overview.durableResolution
        let rows = [("AI alone", d.ai, "ichart__bar--ai"), ("With a person", d.people, "ichart__bar--human"), ("All", d.overall, "ichart__bar--all")].map { label, v, className in
            (label, v.durableShare ?? 0, v.durableShare.map { "\(InsightsFormat.percent($0)) of \(v.resolved)" } ?? "none yet", className)
        }
        return horizontal(rows: rows, maxValue: 1, title: "Durable resolution",
                          description: "Share of resolved conversations whose customer did not come back on the same topic within \(d.windowDays) days.",
                          id: "chart-durable")
    }

    /// Audited accuracy per day with its interval, against the target.
    static func accuracy(_ report: InsightsSeries) -> String {
        let width = 560.0, height = 250.0, left = 48.0, right = 12.0, top = 30.0, bottom = 30.0
        let plotW = width - left - right, plotH = height - top - bottom
        let slot = plotW / Double(report.daily.count)
        let lows = report.daily.compactMap(\.accuracy) + [report.accuracy.interval?[0] ?? 1, report.accuracy.target - 0.02]
        // A floor that gives round ticks (4 steps up to 100%).
        let floorY = [0.98, 0.96, 0.9, 0.8, 0.6, 0.2, 0].first { $0 <= lows.min()! } ?? 0
        func px(_ i: Int) -> Double { left + slot * (Double(i) + 0.5) }
        func py(_ v: Double) -> Double { top + plotH - (min(max(v, floorY), 1) - floorY) / (1 - floorY) * plotH }
        var svg = open(width, height, title: "Audited AI accuracy",
                       description: "Line and band: accuracy of all answers reviewed so far in the period, with its Wilson interval. Dots: each day's reviews. Dashed line: the target.",
                       id: "chart-accuracy")
        svg += yGrid(left: left, right: width - right, top: top, height: plotH, ticks: 4) { i in InsightsFormat.percent(floorY + (1 - floorY) * Double(i) / 4, 1) }
        let days = report.daily.enumerated().filter { $0.element.cumulativeInterval != nil }
        if let first = days.first, let last = days.last {
            // The band: upper edge left to right, lower edge back (a single day gets a little width).
            let pad = days.count == 1 ? slot * 0.3 : 0
            var edge = days.map { "\(n(px($0.offset) - ($0.offset == first.offset ? pad : 0))),\(n(py($0.element.cumulativeInterval![1])))" }
            if pad > 0 { edge.append("\(n(px(last.offset) + pad)),\(n(py(last.element.cumulativeInterval![1])))") }
            var lower = days.reversed().map { "\(n(px($0.offset) + ($0.offset == last.offset ? pad : 0))),\(n(py($0.element.cumulativeInterval![0])))" }
            if pad > 0 { lower.append("\(n(px(first.offset) - pad)),\(n(py(first.element.cumulativeInterval![0])))") }
            svg += "<polygon points=\"\((edge + lower).joined(separator: " "))\" class=\"ichart__band\"/>"
            svg += "<polyline points=\"\(days.map { "\(n(px($0.offset))),\(n(py($0.element.cumulativeAccuracy ?? 1)))" }.joined(separator: " "))\" class=\"ichart__curve ichart__curve--accuracy\"/>"
        }
        let target = py(report.accuracy.target)
        svg += line(left, target, width - right, target, className: "ichart__reference")
        svg += text("target \(InsightsFormat.percent(report.accuracy.target, 1))", x: left + 6, y: target + 14, className: "ichart__reference-label")
        for (i, day) in report.daily.enumerated() {
            guard let accuracy = day.accuracy, let interval = day.cumulativeInterval, let cumulative = day.cumulativeAccuracy else { continue }
            svg += "<g class=\"ichart__group\"><title>\(x("\(InsightsFormat.shortDay(day.date)): \(day.auditedCorrect) of \(day.audited) reviewed answers correct (\(InsightsFormat.percent(accuracy, 1))); so far \(InsightsFormat.percent(cumulative, 1)), interval \(InsightsFormat.percent(interval[0], 1))–\(InsightsFormat.percent(interval[1], 1))"))</title>"
            svg += "<circle cx=\"\(n(px(i)))\" cy=\"\(n(py(accuracy)))\" r=\"\(n(min(7, 2.5 + Double(day.audited))))\" class=\"ichart__dot\"/>"
            svg += "</g>"
        }
        svg += dayLabels(report, left: left, slot: slot, y: height - 10)
        svg += legend([("So far, with interval", "ichart__swatch--band"), ("Each day", "ichart__swatch--dot")], right: width - right, y: 14)
        return svg + "</svg>"
    }

    /// Cost per resolved conversation per day, against a person handling every one.
    static func cost(_ report: InsightsSeries) -> String {
        let width = 560.0, height = 250.0, left = 52.0, right = 12.0, top = 16.0, bottom = 30.0
        let plotW = width - left - right, plotH = height - top - bottom
        let slot = plotW / Double(report.daily.count)
        let money = { (v: Double) in InsightsFormat.money(v, currency: report.currency) }
        let maxY = niceMax(max(report.humanCostPerContact, report.daily.compactMap(\.costPerResolved).max() ?? 0) * 1.05)
        func py(_ v: Double) -> Double { top + plotH - v / maxY * plotH }
        var svg = open(width, height, title: "Cost per resolved conversation per day",
                       description: "Bars: average cost of the conversations resolved each day; the dashed line is the cost when a person handles a conversation.",
                       id: "chart-cost")
        svg += yGrid(left: left, right: width - right, top: top, height: plotH, ticks: 4) { i in money(maxY * Double(i) / 4) }
        for (i, day) in report.daily.enumerated() {
            guard let value = day.costPerResolved else { continue }
            let bw = slot * 0.62, bx = left + slot * Double(i) + (slot - bw) / 2
            svg += "<g class=\"ichart__group\"><title>\(x("\(InsightsFormat.shortDay(day.date)): \(money(value)) per resolved conversation (\(day.resolved) of \(day.conversations) resolved)"))</title>"
            svg += rect(bx, py(value), bw, top + plotH - py(value), className: "ichart__bar ichart__bar--cost", radius: 1)
            svg += "</g>"
        }
        let human = py(report.humanCostPerContact)
        svg += line(left, human, width - right, human, className: "ichart__reference")
        svg += text("a person: \(money(report.humanCostPerContact))", x: width - right - 4, y: human - 5, anchor: "end", className: "ichart__reference-label")
        svg += dayLabels(report, left: left, slot: slot, y: height - 10)
        return svg + "</svg>"
    }

    /// Accuracy against the share the AI answers, with the certified points of each target.
    static func frontier(_ frontier: InsightsSeries.Frontier) -> String {
        let width = 540.0, height = 310.0, left = 52.0, right = 16.0, top = 30.0, bottom = 44.0
        let plotW = width - left - right, plotH = height - top - bottom
        let lowest = min(frontier.curve.map(\.accuracy).min() ?? 0.9, frontier.points.map(\.targetAccuracy).min() ?? 0.9)
        let floorY = max(0, min(0.9, (lowest * 20).rounded(.down) / 20))
        func px(_ v: Double) -> Double { left + v * plotW }
        func py(_ v: Double) -> Double { top + plotH - (min(max(v, floorY), 1) - floorY) / (1 - floorY) * plotH }
        var svg = open(width, height, title: "Cost–quality frontier of the serving model",
                       description: "The line is the accuracy among the most confident share of the calibration messages; each point is the share the AI may answer with the accuracy target beside it certified.",
                       id: "chart-frontier")
        svg += yGrid(left: left, right: width - right, top: top, height: plotH, ticks: 4) { i in InsightsFormat.percent(floorY + (1 - floorY) * Double(i) / 4, 1) }
        for i in 0...4 {
            let v = Double(i) / 4
            svg += text(InsightsFormat.percent(v), x: px(v), y: top + plotH + 18, anchor: "middle", className: "ichart__tick")
        }
        svg += text("share of messages the AI answers", x: left + plotW / 2, y: height - 6, anchor: "middle", className: "ichart__axis-label")
        if let reach = frontier.curve.last {
            let points = frontier.curve.map { "\(n(px($0.coverage))),\(n(py($0.accuracy)))" }.joined(separator: " ")
            svg += "<polyline points=\"\(points)\" class=\"ichart__curve\"/>"
            if reach.coverage < 0.97 {
                // Beyond this the unknown-request gate keeps messages from the AI at any threshold.
                svg += "<rect x=\"\(n(px(reach.coverage)))\" y=\"\(n(top))\" width=\"\(n(px(1) - px(reach.coverage)))\" height=\"\(n(plotH))\" class=\"ichart__gated\"/>"
                svg += text("kept from the AI by the", x: (px(reach.coverage) + px(1)) / 2, y: top + 22, anchor: "middle", className: "ichart__gated-label")
                svg += text("unknown-request gate", x: (px(reach.coverage) + px(1)) / 2, y: top + 38, anchor: "middle", className: "ichart__gated-label")
            }
        }
        for point in frontier.points where point.threshold != nil {
            let cx = px(point.automatedShare), cy = py(point.targetAccuracy)
            svg += "<g class=\"ichart__group\"><title>\(x("Target \(InsightsFormat.percent(point.targetAccuracy, 1)): the AI may answer \(InsightsFormat.percent(point.automatedShare, 1)) of messages (threshold \(String(format: "%.3f", point.threshold ?? 0)))"))</title>"
            svg += line(left, cy, cx, cy, className: "ichart__guide")
            svg += "<circle cx=\"\(n(cx))\" cy=\"\(n(cy))\" r=\"\(point.current ? "6.5" : "5")\" class=\"ichart__point\(point.current ? " ichart__point--current" : "")\"/>"
            let label = "\(InsightsFormat.percent(point.targetAccuracy, 1)) → \(InsightsFormat.percent(point.automatedShare))"
            let anchor = cx > left + plotW * 0.8 ? "end" : "start"
            svg += text(label, x: cx + (anchor == "end" ? -10 : 10), y: cy - 8, anchor: anchor, className: "ichart__point-label")
            svg += "</g>"
        }
        svg += legend([("Accuracy on calibration data", "ichart__swatch--curve"), ("Certified target", "ichart__swatch--point")], right: width - right, y: 14)
        return svg + "</svg>"
    }
}
