import Foundation
import TandemCore
import TandemOffline

/// `/console/staffing` (staffing.leaf): the planner's form and, once it plans, the plan.
struct StaffingPage: Encodable {
    var title = "Staffing"
    var agent: PageAgent
    var form: StaffingForm
    /// What was wrong with the form, naming the field as the form labels it.
    var error: String?
    var plan: StaffingPlanView?

    init(agent: AgentRecord, form: StaffingForm, result: StaffingResult?, currency: String, error: String? = nil) {
        self.agent = PageAgent(agent)
        self.form = form
        self.error = error
        plan = result.map { StaffingPlanView($0, currency: currency) }
    }
}

/// A plan as the page shows it: formatted figures and the chart's SVG.
struct StaffingPlanView: Encodable {
    struct Scenario: Encodable {
        var name: String
        var share: String
        var toPeople: String
        var agentHours: String
        var peak: Int
        var cost: String
        var saving: String
        var wrong: String
        var chosen: Bool
    }
    struct Row: Encodable {
        var start: String
        var conversations: String
        var toPeople: String
        var needed: Int
        var scheduled: Int
        var withoutAI: Int
        var serviceLevel: String
        var wait: String
        var occupancy: String
        var abandonment: String?
    }

    var summary: String
    var sources: [String]
    var scenarios: [Scenario]
    var headline: String
    var chart: String
    var rows: [Row]
    var erlangA: Bool
    var json: String

    init(_ result: StaffingResult, currency: String) {
        let report = result.report, plan = report.plan, s = report.settings, p = s.parameters
        let money = { (v: Double) in DisplayFormat.money(v, currency: currency, digits: 0) }
        func count(_ v: Double) -> String { DisplayFormat.number(v, decimals: v < 100 && v != v.rounded() ? 1 : 0) }
        let model = plan.model == .erlangA ? "Erlang A (mean patience \(DisplayFormat.duration(p.patienceSeconds ?? 0)))" : "Erlang C"
        summary = "\(count(plan.conversations)) conversations in \(s.intervals) intervals of \(count(s.intervalMinutes)) minutes; "
            + "\(DisplayFormat.percent(p.serviceLevelTarget)) answered within \(DisplayFormat.duration(p.answerWithinSeconds)), "
            + "handle time \(DisplayFormat.duration(p.handleTimeSeconds)), occupancy at most \(DisplayFormat.percent(p.maxOccupancy)), "
            + "shrinkage \(DisplayFormat.percent(p.shrinkage)), \(money(p.costPerAgentHour)) per agent-hour; \(model)."
        sources = result.sources
        scenarios = report.comparison.enumerated().map { i, c in
            Scenario(name: ["No AI", "AI at the target", "AI answers everything"][min(i, 2)],
                     share: DisplayFormat.percent(c.automatedShare, 1), toPeople: count(c.conversationsForPeople),
                     agentHours: DisplayFormat.number(c.agentHoursScheduled, decimals: 1), peak: c.peakAgentsScheduled,
                     cost: money(c.cost), saving: money(c.savingsVersusNoAI),
                     wrong: c.expectedWrongAIAnswers.map { DisplayFormat.number($0, decimals: 1) } ?? (c.conversationsForAI == 0 ? "0" : "—"),
                     chosen: i == 1)
        }
        let none = report.comparison.first
        headline = none.map { none in
            none.agentHoursScheduled > 0
                ? "With the AI at the target, people need \(DisplayFormat.number(plan.agentHoursScheduled, decimals: 1)) agent-hours instead of "
                    + "\(DisplayFormat.number(none.agentHoursScheduled, decimals: 1)) (\(String(format: "%.2f", plan.agentHoursScheduled / none.agentHoursScheduled))×), "
                    + "peak \(plan.peakAgentsScheduled) agents instead of \(none.peakAgentsScheduled)."
                : "No conversations to staff."
        } ?? ""
        chart = StaffingChart.agents(plan, withoutAI: result.scheduledWithoutAI)
        erlangA = plan.model == .erlangA
        rows = plan.intervals.enumerated().map { i, r in
            Row(start: r.start, conversations: count(r.conversations), toPeople: DisplayFormat.number(r.conversationsForPeople, decimals: 1),
                needed: r.agentsNeeded, scheduled: r.agentsScheduled,
                withoutAI: i < result.scheduledWithoutAI.count ? result.scheduledWithoutAI[i] : 0,
                serviceLevel: DisplayFormat.percent(r.serviceLevel, 1),
                wait: r.averageSpeedOfAnswer.isFinite ? DisplayFormat.duration(r.averageSpeedOfAnswer) : "∞",
                occupancy: DisplayFormat.percent(r.occupancy), abandonment: r.abandonment.map { DisplayFormat.percent($0, 1) })
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        json = (try? encoder.encode(result.request)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}
