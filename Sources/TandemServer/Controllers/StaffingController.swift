import Foundation
import TandemCore
import Vapor

/// The staffing planner: `/console/staffing` (a form posted back to the server, which renders
/// the plan and its chart) and `POST /api/v1/staffing/plan` (the same plan as JSON).
struct StaffingController: RouteCollection {
    func boot(routes: RoutesBuilder) throws {
        let pages = routes.grouped("console").grouped(RoleGuard(role: .supervisor))
        pages.get("staffing", use: page)
        pages.on(.POST, "staffing", body: .collect(maxSize: "2mb"), use: submit)
        routes.grouped("api", "v1").grouped(RoleGuard(role: .supervisor))
            .on(.POST, "staffing", "plan", body: .collect(maxSize: "2mb"), use: plan)
    }

    /// `POST /api/v1/staffing/plan`: any subset of `StaffingRequest` (`{}` plans a sample day on the defaults).
    func plan(_ req: Request) async throws -> StaffingResult {
        let request = try req.decoded(StaffingRequest.self)
        return try await plan(request, req, settings: try await req.tandem.workspace(on: req.db).settings)
    }

    func page(_ req: Request) async throws -> View {
        let settings = try await req.tandem.workspace(on: req.db).settings
        let result = try await plan(StaffingRequest(), req, settings: settings)
        return try await render(req, settings: settings, form: StaffingForm(result.request), result: result)
    }

    /// The form posted back: the plan for its values, or the form again with what was wrong.
    func submit(_ req: Request) async throws -> Response {
        let form = try req.content.decode(StaffingForm.self)
        let settings = try await req.tandem.workspace(on: req.db).settings
        do {
            let result = try await plan(try form.request(), req, settings: settings)
            return try await render(req, settings: settings, form: form, result: result).encodeResponse(for: req)
        } catch let error as AppError {
            let response = try await render(req, settings: settings, form: form, result: nil, error: StaffingForm.message(for: error))
                .encodeResponse(for: req)
            response.status = error.status
            return response
        }
    }

    /// The request's gaps filled from the workspace and the serving model, then planned.
    private func plan(_ request: StaffingRequest, _ req: Request, settings: WorkspaceSettings) async throws -> StaffingResult {
        let (filled, sources) = try await StaffingService.defaults(for: request, settings: settings,
                                                                   artifact: req.tandem.intelligence.active?.artifact, on: req.db,
                                                                   now: req.tandem.clock.now)
        return try StaffingService.plan(filled, sources: sources)
    }

    private func render(_ req: Request, settings: WorkspaceSettings, form: StaffingForm, result: StaffingResult?, error: String? = nil) async throws -> View {
        try await req.view.render("staffing", StaffingContext(
            agent: PageController.context(try req.agent), form: form, error: error,
            plan: result.map { StaffingPage($0, currency: settings.currency) }))
    }
}

struct StaffingContext: Encodable {
    var title = "Staffing"
    var agent: PageController.AgentContext
    var form: StaffingForm
    var error: String?
    var plan: StaffingPage?
}

/// The planner's form as typed: shares in percent, empty fields left to the defaults.
struct StaffingForm: Content {
    var forecast: String?
    var sampleConversations: String?
    var intervalMinutes: String?
    var automatedSharePercent: String?
    var handleTimeSeconds: String?
    var serviceLevelPercent: String?
    var answerWithinSeconds: String?
    var maxOccupancyPercent: String?
    var shrinkagePercent: String?
    var patienceSeconds: String?
    var maxAbandonmentPercent: String?
    var costPerAgentHour: String?
    var aiErrorPercent: String?
    var fullAutomationErrorPercent: String?

    /// Labels of the form's fields, by the `StaffingRequest` field they fill: errors name what the user sees.
    static let labels = [
        "forecast": "Forecast", "sampleConversations": "Conversations in the sample day", "intervalMinutes": "Interval length",
        "automatedShare": "AI share", "handleTimeSeconds": "Handle time", "serviceLevelTarget": "Service level",
        "answerWithinSeconds": "Answered within", "maxOccupancy": "Maximum occupancy", "shrinkage": "Shrinkage",
        "patienceSeconds": "Customer patience", "maxAbandonment": "Maximum abandonment", "costPerAgentHour": "Cost per agent-hour", "aiErrorRate": "AI error rate at the target",
        "fullAutomationErrorRate": "AI error rate when answering everything",
    ]

    static func message(for error: AppError) -> String {
        if case .invalidField(let field, let problem) = error { return "\(labels[field] ?? field): \(problem)" }
        return error.message
    }

    init(_ r: StaffingRequest) {
        func number(_ v: Double?, scale: Double = 1) -> String? {
            v.map { String(format: "%g", ($0 * scale * 1_000).rounded() / 1_000) }
        }
        forecast = r.forecast
        sampleConversations = r.sampleConversations.map(String.init)
        intervalMinutes = number(r.intervalMinutes)
        automatedSharePercent = number(r.automatedShare, scale: 100)
        handleTimeSeconds = number(r.handleTimeSeconds)
        serviceLevelPercent = number(r.serviceLevelTarget, scale: 100)
        answerWithinSeconds = number(r.answerWithinSeconds)
        maxOccupancyPercent = number(r.maxOccupancy, scale: 100)
        shrinkagePercent = number(r.shrinkage, scale: 100)
        patienceSeconds = number(r.patienceSeconds)
        maxAbandonmentPercent = number(r.maxAbandonment, scale: 100)
        costPerAgentHour = number(r.costPerAgentHour)
        aiErrorPercent = number(r.aiErrorRate, scale: 100)
        fullAutomationErrorPercent = number(r.fullAutomationErrorRate, scale: 100)
    }

    /// The request the form describes; a field that is not a number is named.
    func request() throws -> StaffingRequest {
        func number(_ text: String?, _ field: String, scale: Double = 1) throws -> Double? {
            guard let text = text?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
            guard let value = Double(text.replacingOccurrences(of: ",", with: "").replacingOccurrences(of: "%", with: "")), value.isFinite else {
                throw AppError.invalidField(field, "'\(text.prefix(40))' is not a number")
            }
            return (value / scale * 1e9).rounded() / 1e9  // 17.68% is 0.1768, not 0.17679999999999998
        }
        let sample = try number(sampleConversations, "sampleConversations")
        if let sample, sample != sample.rounded() || sample < 0 || sample > 10_000_000 {
            throw AppError.invalidField("sampleConversations", "a whole number from 0 to 10,000,000")
        }
        return StaffingRequest(
            forecast: forecast, sampleConversations: sample.map { Int($0) }, intervalMinutes: try number(intervalMinutes, "intervalMinutes"),
            automatedShare: try number(automatedSharePercent, "automatedShare", scale: 100),
            handleTimeSeconds: try number(handleTimeSeconds, "handleTimeSeconds"),
            serviceLevelTarget: try number(serviceLevelPercent, "serviceLevelTarget", scale: 100),
            answerWithinSeconds: try number(answerWithinSeconds, "answerWithinSeconds"),
            maxOccupancy: try number(maxOccupancyPercent, "maxOccupancy", scale: 100),
            shrinkage: try number(shrinkagePercent, "shrinkage", scale: 100),
            patienceSeconds: try number(patienceSeconds, "patienceSeconds"),
            maxAbandonment: try number(maxAbandonmentPercent, "maxAbandonment", scale: 100),
            costPerAgentHour: try number(costPerAgentHour, "costPerAgentHour"),
            aiErrorRate: try number(aiErrorPercent, "aiErrorRate", scale: 100),
            fullAutomationErrorRate: try number(fullAutomationErrorPercent, "fullAutomationErrorRate", scale: 100))
    }
}

/// A plan as the page shows it: formatted figures and the chart's SVG.
struct StaffingPage: Encodable {
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
        let money = { (v: Double) in InsightsFormat.money(v, currency: currency, digits: 0) }
        func count(_ v: Double) -> String { InsightsFormat.number(v, decimals: v < 100 && v != v.rounded() ? 1 : 0) }
        let model = plan.model == .erlangA ? "Erlang A (mean patience \(InsightsFormat.duration(p.patienceSeconds ?? 0)))" : "Erlang C"
        summary = "\(count(plan.conversations)) conversations in \(s.intervals) intervals of \(count(s.intervalMinutes)) minutes; "
            + "\(InsightsFormat.percent(p.serviceLevelTarget)) answered within \(InsightsFormat.duration(p.answerWithinSeconds)), "
            + "handle time \(InsightsFormat.duration(p.handleTimeSeconds)), occupancy at most \(InsightsFormat.percent(p.maxOccupancy)), "
            + "shrinkage \(InsightsFormat.percent(p.shrinkage)), \(money(p.costPerAgentHour)) per agent-hour; \(model)."
        sources = result.sources
        scenarios = report.comparison.enumerated().map { i, c in
            Scenario(name: ["No AI", "AI at the target", "AI answers everything"][min(i, 2)],
                     share: InsightsFormat.percent(c.automatedShare, 1), toPeople: count(c.conversationsForPeople),
                     agentHours: InsightsFormat.number(c.agentHoursScheduled, decimals: 1), peak: c.peakAgentsScheduled,
                     cost: money(c.cost), saving: money(c.savingsVersusNoAI),
                     wrong: c.expectedWrongAIAnswers.map { InsightsFormat.number($0, decimals: 1) } ?? (c.conversationsForAI == 0 ? "0" : "—"),
                     chosen: i == 1)
        }
        let none = report.comparison.first
        headline = none.map { none in
            none.agentHoursScheduled > 0
                ? "With the AI at the target, people need \(InsightsFormat.number(plan.agentHoursScheduled, decimals: 1)) agent-hours instead of "
                    + "\(InsightsFormat.number(none.agentHoursScheduled, decimals: 1)) (\(String(format: "%.2f", plan.agentHoursScheduled / none.agentHoursScheduled))×), "
                    + "peak \(plan.peakAgentsScheduled) agents instead of \(none.peakAgentsScheduled)."
                : "No conversations to staff."
        } ?? ""
        chart = InsightsCharts.staffing(plan, withoutAI: result.scheduledWithoutAI)
        erlangA = plan.model == .erlangA
        rows = plan.intervals.enumerated().map { i, r in
            Row(start: r.start, conversations: count(r.conversations), toPeople: InsightsFormat.number(r.conversationsForPeople, decimals: 1),
                needed: r.agentsNeeded, scheduled: r.agentsScheduled,
                withoutAI: i < result.scheduledWithoutAI.count ? result.scheduledWithoutAI[i] : 0,
                serviceLevel: InsightsFormat.percent(r.serviceLevel, 1),
                wait: r.averageSpeedOfAnswer.isFinite ? InsightsFormat.duration(r.averageSpeedOfAnswer) : "∞",
                occupancy: InsightsFormat.percent(r.occupancy), abandonment: r.abandonment.map { InsightsFormat.percent($0, 1) })
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        json = (try? encoder.encode(result.request)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}

extension InsightsCharts {
    /// Agents scheduled per interval: with no AI (behind) and with the AI at the target (in front).
    static func staffing(_ plan: StaffingPlan, withoutAI: [Int]) -> String {
        let width = 1160.0, height = 300.0, left = 44.0, right = 12.0, top = 34.0, bottom = 30.0
        let plotW = width - left - right, plotH = height - top - bottom
        let count = max(plan.intervals.count, 1)
        let slot = plotW / Double(count)
        let maxY = niceMax(Double(max(withoutAI.max() ?? 0, plan.intervals.map(\.agentsScheduled).max() ?? 0)))
        var svg = open(width, height, title: "Agents scheduled per interval, with and without the AI",
                       description: "For each interval of the forecast: the agents to schedule if people answered everything, and in front of it, the agents to schedule with the AI answering its share.",
                       id: "chart-staffing")
        svg += yGrid(left: left, right: width - right, top: top, height: plotH, ticks: 4) { i in String(Int(maxY * Double(i) / 4)) }
        let every = max(1, Int((Double(count) / 12).rounded(.up)))
        for (i, interval) in plan.intervals.enumerated() {
            let base = top + plotH, bw = max(slot * 0.72, 1), bx = left + slot * Double(i) + (slot - bw) / 2
            let none = i < withoutAI.count ? withoutAI[i] : 0
            svg += "<g class=\"ichart__group\"><title>\(x("\(interval.start): \(interval.agentsScheduled) agents with the AI, \(none) without"))</title>"
            if none > 0 { svg += rect(bx, base - Double(none) / maxY * plotH, bw, Double(none) / maxY * plotH, className: "ichart__bar ichart__bar--human", radius: 1) }
            if interval.agentsScheduled > 0 {
                let h = Double(interval.agentsScheduled) / maxY * plotH
                svg += rect(bx, base - h, bw, h, className: "ichart__bar ichart__bar--ai", radius: 1)
            }
            svg += "</g>"
            if i % every == 0 { svg += text(interval.start, x: bx + bw / 2, y: height - 10, anchor: "middle", className: "ichart__tick") }
        }
        svg += legend([("With the AI at the target", "ichart__bar--ai"), ("No AI", "ichart__bar--human")], right: width - right, y: 14)
        return svg + "</svg>"
    }
}
