import Foundation

/// What `tandem plan` prints: the plan at the chosen automated share, interval by interval, and
/// how it compares with no AI and with the AI answering everything. Encodes as one JSON object.
public struct StaffingReport: Codable, Hashable, Sendable {
    /// The settings the plan was computed with, so a saved report can be reproduced. Fields
    /// without a comment mean what the `StaffingInput` field of the same name means; the
    /// parameters are encoded flat beside them.
    public struct Settings: Codable, Hashable, Sendable {
        public var model: StaffingPlan.Model
        /// Intervals in the forecast.
        public var intervals: Int
        public var intervalMinutes: Double
        /// Whether the interval length was inferred from the starts rather than given.
        public var intervalMinutesInferred: Bool
        public var automatedShare: Double
        public var parameters: StaffingParameters
        /// Error rate of the AI when it answers every conversation.
        public var fullAutomationErrorRate: Double?

        private enum CodingKeys: String, CodingKey {
            case model, intervals, intervalMinutes, intervalMinutesInferred, automatedShare, fullAutomationErrorRate
        }

        init(model: StaffingPlan.Model, intervals: Int, intervalMinutes: Double, intervalMinutesInferred: Bool,
             automatedShare: Double, parameters: StaffingParameters, fullAutomationErrorRate: Double?) {
            self.model = model
            self.intervals = intervals
            self.intervalMinutes = intervalMinutes
            self.intervalMinutesInferred = intervalMinutesInferred
            self.automatedShare = automatedShare
            self.parameters = parameters
            self.fullAutomationErrorRate = fullAutomationErrorRate
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            model = try c.decode(StaffingPlan.Model.self, forKey: .model)
            intervals = try c.decode(Int.self, forKey: .intervals)
            intervalMinutes = try c.decode(Double.self, forKey: .intervalMinutes)
            intervalMinutesInferred = try c.decode(Bool.self, forKey: .intervalMinutesInferred)
            automatedShare = try c.decode(Double.self, forKey: .automatedShare)
            parameters = try StaffingParameters(from: decoder)
            fullAutomationErrorRate = try c.decodeIfPresent(Double.self, forKey: .fullAutomationErrorRate)
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(model, forKey: .model)
            try c.encode(intervals, forKey: .intervals)
            try c.encode(intervalMinutes, forKey: .intervalMinutes)
            try c.encode(intervalMinutesInferred, forKey: .intervalMinutesInferred)
            try c.encode(automatedShare, forKey: .automatedShare)
            try c.encodeIfPresent(fullAutomationErrorRate, forKey: .fullAutomationErrorRate)
            try parameters.encode(to: encoder)
        }
    }

    /// One line of the comparison: the totals of a plan, without its intervals. Fields without
    /// a comment mean what the `StaffingPlan` field of the same name means.
    public struct Scenario: Codable, Hashable, Sendable {
        /// "no AI", "AI at target" or "AI answers everything".
        public var name: String
        public var automatedShare: Double
        public var conversationsForPeople: Double
        public var conversationsForAI: Double
        public var agentHoursNeeded: Double
        public var agentHoursScheduled: Double
        public var peakAgentsScheduled: Int
        public var cost: Double
        /// Cost of the no-AI plan minus this one's: what this much automation saves on staff.
        public var savingsVersusNoAI: Double
        /// Wrong AI answers to expect; `nil` when the AI's error rate at this share is unknown.
        public var expectedWrongAIAnswers: Double?
    }

    public var settings: Settings
    /// The plan at the chosen share, with every interval.
    public var plan: StaffingPlan
    /// No AI, the chosen share, and the AI answering everything, in that order.
    public var comparison: [Scenario]

    /// Plans `input` at its share and at shares 0 and 1.
    /// - Throws: `StaffingError` as `StaffingPlanner.compare(_:)`.
    public init(input: StaffingInput, intervalMinutesInferred: Bool = false) throws {
        self.init(input: input, plans: try StaffingPlanner.compare(input), intervalMinutesInferred: intervalMinutesInferred)
    }

    /// The report of plans already made from `input` (`StaffingPlanner.compare(input)`).
    public init(input: StaffingInput, plans: StaffingComparison, intervalMinutesInferred: Bool = false) {
        settings = Settings(
            model: plans.chosen.model, intervals: input.intervals.count, intervalMinutes: input.intervalMinutes,
            intervalMinutesInferred: intervalMinutesInferred, automatedShare: input.automatedShare,
            parameters: input.parameters, fullAutomationErrorRate: input.fullAutomationErrorRate)
        plan = plans.chosen
        let baseline = plans.withoutAI.cost
        comparison = [("no AI", plans.withoutAI), ("AI at target", plans.chosen), ("AI answers everything", plans.fullAutomation)]
            .map { name, plan in
                Scenario(name: name, automatedShare: plan.automatedShare, conversationsForPeople: plan.conversationsForPeople,
                         conversationsForAI: plan.conversationsForAI, agentHoursNeeded: plan.agentHoursNeeded,
                         agentHoursScheduled: plan.agentHoursScheduled, peakAgentsScheduled: plan.peakAgentsScheduled,
                         cost: plan.cost, savingsVersusNoAI: baseline - plan.cost, expectedWrongAIAnswers: plan.expectedWrongAIAnswers)
            }
    }

    /// The report as aligned text: settings, one row per interval, totals, then the comparison.
    public func table() -> String {
        let s = settings, p = settings.parameters
        let abandonment = plan.model == .erlangA
        var lines: [String] = []
        let modelName = abandonment ? "Erlang A, mean patience \(number(p.patienceSeconds ?? 0)) s" : "Erlang C"
        lines.append("Staffing plan (\(modelName)): \(number(plan.conversations)) conversations in \(s.intervals) intervals of "
            + "\(number(s.intervalMinutes)) minutes\(s.intervalMinutesInferred ? " (inferred from the starts)" : "")")
        lines.append("AI answers \(percent(s.automatedShare)), people \(number(plan.conversationsForPeople, decimals: 1)) conversations; "
            + "handle time \(number(p.handleTimeSeconds)) s; target \(percent(p.serviceLevelTarget)) answered within "
            + "\(number(p.answerWithinSeconds)) s, occupancy at most \(percent(p.maxOccupancy))"
            + (p.maxAbandonment.map { ", abandonment at most \(percent($0))" } ?? "")
            + "; shrinkage \(percent(p.shrinkage)); \(money(p.costPerAgentHour)) per agent-hour")
        lines.append("")

        var header = ["start", "conversations", "to people", "agents needed", "with shrinkage", "service level", "avg wait", "occupancy"]
        if abandonment { header.append("abandon") }
        var rows = plan.intervals.map { interval -> [String] in
            var row = [interval.start, number(interval.conversations, decimals: 1), number(interval.conversationsForPeople, decimals: 1, fixed: true),
                       String(interval.agentsNeeded), String(interval.agentsScheduled), percent(interval.serviceLevel),
                       seconds(interval.averageSpeedOfAnswer), percent(interval.occupancy)]
            if abandonment { row.append(percent(interval.abandonment ?? 0)) }
            return row
        }
        var total = ["total", number(plan.conversations, decimals: 1), number(plan.conversationsForPeople, decimals: 1, fixed: true),
                     "\(number(plan.agentHoursNeeded, decimals: 1)) h", "\(number(plan.agentHoursScheduled, decimals: 1)) h",
                     plan.serviceLevel.map(percent) ?? "-", plan.averageSpeedOfAnswer.map(seconds) ?? "-", ""]
        if abandonment { total.append("") }
        rows.append(total)
        lines += aligned([header] + rows, leftColumns: [0])
        lines.append("")
        lines.append("Agent-hours: \(number(plan.agentHoursNeeded, decimals: 1)) handling conversations, "
            + "\(number(plan.agentHoursScheduled, decimals: 1)) scheduled after shrinkage (peak \(plan.peakAgentsScheduled) agents); "
            + "cost \(money(plan.cost))")
        lines.append("")

        lines.append("Comparison")
        let comparisonRows = comparison.map { scenario -> [String] in
            [scenario.name, percent(scenario.automatedShare), number(scenario.conversationsForPeople, decimals: 1),
             number(scenario.agentHoursScheduled, decimals: 1), String(scenario.peakAgentsScheduled), money(scenario.cost),
             money(scenario.savingsVersusNoAI), scenario.expectedWrongAIAnswers.map { number($0, decimals: 1) } ?? "-"]
        }
        lines += aligned([["scenario", "AI share", "to people", "agent-hours", "peak agents", "cost", "saving", "wrong AI answers"]]
                         + comparisonRows, leftColumns: [0])
        if let rate = s.fullAutomationErrorRate {
            let atTarget = plan.expectedWrongAIAnswers == nil
                ? " At the target share they depend on the certified error bound, not given here."
                : " At the target share: \(number(plan.conversationsForAI, decimals: 1)) AI answers × the error rate given for them."
            lines.append("Wrong AI answers when the AI answers everything: \(number(plan.conversations)) conversations × "
                + "\(percent(rate)) error rate." + atTarget)
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// Pads every column to its widest cell: `leftColumns` flush left, the rest flush right.
private func aligned(_ rows: [[String]], leftColumns: Set<Int>) -> [String] {
    let widths = rows.reduce(into: [Int]()) { widths, row in
        for (index, cell) in row.enumerated() {
            if index >= widths.count { widths.append(0) }
            widths[index] = max(widths[index], cell.count)
        }
    }
    return rows.map { row in
        row.enumerated().map { index, cell in
            let padding = String(repeating: " ", count: widths[index] - cell.count)
            return leftColumns.contains(index) ? cell + padding : padding + cell
        }
        .joined(separator: "  ")
        .replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
    }
}

/// The table's figures through `DisplayFormat`: at most `decimals` decimals (exactly that many
/// when `fixed`), "-" for what is not a number.
private func number(_ value: Double, decimals: Int = 0, fixed: Bool = false) -> String {
    DisplayFormat.number(value, decimals: decimals, trimmingZeros: !fixed, notANumber: "-")
}

/// An amount of money: two decimals, thousands separated (the currency is the reader's).
private func money(_ value: Double) -> String {
    number(value, decimals: 2, fixed: true)
}

private func percent(_ share: Double) -> String {
    DisplayFormat.percent(share, 1, fixed: true)
}

private func seconds(_ value: Double) -> String {
    value.isFinite ? String(format: "%.1f s", value) : "∞"
}
