import Foundation
import TandemCore
import TandemOffline

/// `/console/insights` (insights.leaf): quality, speed and cost over the last days, as
/// formatted figures and charts. The charts are SVG markup drawn by `InsightsCharts` with every
/// label escaped (inserted with `#unsafeHTML`).
struct InsightsPage: Encodable {
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
    /// A service-level target: how many of the decided ones were met over the period.
    struct SLARow: Encodable {
        var id: String
        var label: String
        var met: Int
        var total: Int
        var share: String
    }
    /// A tag and how many conversations carry it (all time, not the period).
    struct TagRow: Encodable {
        var tag: String
        var conversations: Int
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

    var title = "Insights"
    var agent: PageAgent
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
    var tags: [TagRow] = []
    var sla: [SLARow] = []
    var notHelpful: [NotHelpfulRow]
    var costNote: String
    var hasFrontier: Bool
    var frontier: [FrontierRow]
    var frontierNote: String
}

extension InsightsPage {
    /// The page of `series`, with intents shown by their titles (`titles`: key → title).
    /// `automaticAnswers`: the AI's automatic answers over the series' period.
    init(agent: AgentRecord, series: InsightsSeries, titles: [String: String], automaticAnswers: Int) {
        let currency = series.currency, daily = series.daily, accuracy = series.accuracy, frontier = series.frontier
        let aiCostPerMessage = series.aiCostPerMessage, humanCostPerContact = series.humanCostPerContact
        let money = { (v: Double) in DisplayFormat.money(v, currency: currency) }
        let last = DisplayFormat.utc.date(byAdding: .day, value: series.days - 1, to: series.from)!
        let o = series.overview
        let automated = daily.reduce(0) { $0 + $1.automated }
        let rated = o.ratings.reduce(0) { $0 + $1.count }
        let ratingSum = o.ratings.reduce(0.0) { $0 + ($1.mean ?? 0) * Double($1.count) }
        let durable = o.durableResolution
        let stats = [
            Stat(id: "stat-conversations", label: "Conversations", value: "\(o.conversations)",
                 note: "\(o.cost.resolved) resolved, \(o.handoffsByReason.reduce(0) { $0 + $1.count }) handed to a person"),
            Stat(id: "stat-automated", label: "Automated share",
                 value: o.conversations == 0 ? "—" : DisplayFormat.percent(Double(automated) / Double(o.conversations)),
                 note: "\(automated) of \(o.conversations) handled by the AI alone"),
            Stat(id: "stat-accuracy", label: "Audited AI accuracy", value: accuracy.accuracy.map { DisplayFormat.percent($0, 1) } ?? "—",
                 note: accuracy.interval.map {
                     "\(DisplayFormat.percent($0[0], 1))–\(DisplayFormat.percent($0[1], 1)) (\(DisplayFormat.percent(accuracy.level)) interval), \(accuracy.audited) audits"
                 } ?? "no audits reviewed yet"),
            Self.wrongPerWeek(series, automaticAnswers: automaticAnswers),
            Stat(id: "stat-rating", label: "Average rating", value: rated == 0 ? "—" : String(format: "%.1f / 5", ratingSum / Double(rated)),
                 note: "\(rated) rating\(rated == 1 ? "" : "s")"),
            Stat(id: "stat-durable", label: "Durable resolution", value: durable.overall.durableShare.map { DisplayFormat.percent($0) } ?? "—",
                 note: "\(durable.overall.recontacted) of \(durable.overall.resolved) came back within \(durable.windowDays) days"),
            Stat(id: "stat-cost", label: "Cost per resolved", value: o.cost.costPerResolved.map(money) ?? "—",
                 note: "\(money(humanCostPerContact)) when a person handles one"),
        ]
        var times: [TimeRow] = []
        for timing in o.timings {
            let who = timing.handler == .ai ? "the AI alone" : "with a person"
            for (label, p) in [("First response, \(who)", timing.firstResponse), ("Resolution, \(who)", timing.resolution)] {
                times.append(TimeRow(label: label, median: p.p50.map(DisplayFormat.duration) ?? "—",
                                     p90: p.p90.map(DisplayFormat.duration) ?? "—", count: p.count))
            }
        }
        times.sort { ($0.label.hasPrefix("First") ? 0 : 1) < ($1.label.hasPrefix("First") ? 0 : 1) }
        let frontierRows = (frontier?.points ?? []).map { p in
            FrontierRow(target: DisplayFormat.percent(p.targetAccuracy, 1), current: p.current,
                        threshold: p.threshold.map { String(format: "%.3f", $0) } ?? "none",
                        automated: DisplayFormat.percent(p.automatedShare, 1), human: DisplayFormat.percent(p.humanShare, 1),
                        perDay: String(format: "%.1f", p.humanConversationsPerDay),
                        cost: DisplayFormat.money(p.costPerThousand, currency: currency, digits: 0))
        }
        let frontierNote = frontier.map {
            "Model \($0.modelVersion): each target certified on its \($0.calibrationSize) calibration messages with \(DisplayFormat.percent($0.confidenceLevel)) confidence. Messages the unknown-request gate keeps from the AI are counted as left to people; per-intent thresholds keep a little more from the AI in practice. People per day and cost use this period's \(String(format: "%.1f", $0.conversationsPerDay)) conversations a day and \(String(format: "%.1f", $0.aiMessagesPerConversation)) AI messages per automated conversation."
        } ?? "No model is serving, so every message goes to a person."
        self.init(
            agent: PageAgent(agent), period: "\(DisplayFormat.longDay(series.from)) – \(DisplayFormat.longDay(last)) (UTC)", stats: stats,
            charts: .init(automated: InsightsCharts.automated(series), handoffs: InsightsCharts.handoffs(series),
                          accuracy: InsightsCharts.accuracy(series), ratings: InsightsCharts.ratings(series),
                          durable: InsightsCharts.durable(series), cost: InsightsCharts.cost(series),
                          frontier: frontier.map { InsightsCharts.frontier($0) } ?? ""),
            hasConversations: o.conversations > 0, hasHandoffs: !o.handoffsByReason.isEmpty, hasAudits: accuracy.audited > 0,
            hasRatings: rated > 0, hasDurable: durable.overall.resolved > 0,
            accuracyNote: accuracy.lowerBound.map {
                "With \(DisplayFormat.percent(accuracy.level)) confidence the audited accuracy is at least \(DisplayFormat.percent($0, 1)) (target \(DisplayFormat.percent(accuracy.target, 1))). The band is the \(DisplayFormat.percent(accuracy.level)) Wilson interval of every review so far; each dot is a day's reviews (larger for more). \(accuracy.pending) answer\(accuracy.pending == 1 ? "" : "s") wait for review."
            } ?? "No AI answers have been reviewed in this period; \(accuracy.pending) wait on the Audits page.",
            durableNote: "Resolved conversations whose customer did not come back on the same topic within \(durable.windowDays) days. \(durable.pending) resolved in the last \(durable.windowDays) days are not counted yet.",
            times: times,
            notHelpful: o.notHelpfulByIntent.map {
                NotHelpfulRow(intent: $0.intent ?? "—", title: $0.intent.map { titles[$0] ?? $0 } ?? "No recognised intent",
                              notHelpful: $0.notHelpful, conversations: $0.conversations,
                              share: DisplayFormat.percent(Double($0.notHelpful) / Double(max($0.conversations, 1))))
            },
            costNote: "AI messages at \(money(aiCostPerMessage)) each, plus \(money(humanCostPerContact)) for each conversation a person takes part in, over the conversations resolved. Each day counts the conversations that started on it.",
            hasFrontier: frontier != nil, frontier: frontierRows, frontierNote: frontierNote)
    }

    static func slaRows(_ attainment: [SLAKind: (met: Int, total: Int)]) -> [SLARow] {
        let labels: [SLAKind: String] = [.firstResponse: "First response", .nextResponse: "Next response", .resolution: "Resolution"]
        return SLAKind.allCases.map { kind in
            let a = attainment[kind] ?? (0, 0)
            return SLARow(id: "sla-" + kind.rawValue, label: labels[kind]!, met: a.met, total: a.total,
                          share: a.total == 0 ? "—" : DisplayFormat.percent(Double(a.met) / Double(a.total)))
        }
    }

    /// The target as a count: expected wrong automatic answers a week, with its interval.
    static func wrongPerWeek(_ series: InsightsSeries, automaticAnswers: Int) -> Stat {
        let a = series.accuracy
        let figures = WrongAnswersPerWeek(automaticAnswers: automaticAnswers, days: series.days,
                                          audits: AuditCounts(correct: a.correct, wrong: a.wrong), targetRisk: 1 - a.target, level: a.level)
        let count = { (v: Double) in v < 10 ? String(format: "%.1f", v) : String(format: "%.0f", v) }
        let volume = "\(count(figures.answersPerWeek)) automatic answers a week; the \(DisplayFormat.percent(1 - a.target, 1)) target allows \(count(figures.allowed))"
        guard let expected = figures.expected, let interval = figures.interval else {
            return Stat(id: "stat-wrong-per-week", label: "Expected wrong automatic answers per week", value: "—",
                        note: volume + "; no audits reviewed yet to estimate it")
        }
        return Stat(id: "stat-wrong-per-week", label: "Expected wrong automatic answers per week",
                    value: "\(count(expected)) (\(count(interval[0]))–\(count(interval[1])))",
                    note: "\(DisplayFormat.percent(a.level)) interval from \(a.audited) audits; " + volume)
    }
}
