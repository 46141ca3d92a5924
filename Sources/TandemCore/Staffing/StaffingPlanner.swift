import Foundation

/// What went wrong while planning staff, with the field or line it concerns.
public enum StaffingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A planning parameter is out of its range; `allowed` completes "must be …".
    case invalidParameter(field: String, value: Double, allowed: String)
    /// An interval given in code has a negative or non-finite conversation count
    /// (`position` is 1-based).
    case invalidConversations(interval: String, position: Int, value: Double)
    /// The forecast has no intervals.
    case noIntervals
    /// The CSV text itself is malformed, or lacks a required column.
    case csv(CSVTable.ParseError)
    /// A CSV field that should hold a number does not.
    case invalidNumber(line: Int, column: String, text: String)
    /// A CSV number is negative, infinite or NaN.
    case negativeOrNonFinite(line: Int, column: String, text: String)
    /// A CSV field that must not be empty is.
    case emptyField(line: Int, column: String)
    /// No staffing up to `agentsTried` agents meets the target (a target within rounding of 100%).
    case targetUnreachable(interval: String?, agentsTried: Int)
    /// An interval start that should be a time (to infer or check the interval length) is not one.
    case invalidStart(line: Int, text: String)
    /// An interval start is not after the previous one (a duplicate, or rows out of order).
    case startNotAfterPrevious(line: Int, start: String, previous: String)
    /// The gap from the previous start is not a whole number of intervals.
    case irregularStart(line: Int, start: String, minutesAfterPrevious: Double, intervalMinutes: Double)
    /// The interval length cannot be inferred (a single interval) and was not given.
    case intervalNotInferable(String)
    /// The given interval length disagrees with the one the starts show.
    case intervalMismatch(given: Double, inferred: Double)
    /// The forecast file cannot be read; `reason` completes "<path> …".
    case unreadableFile(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidParameter(let field, let value, let allowed):
            return "\(field) = \(value): must be \(allowed)"
        case .invalidConversations(let interval, let position, let value):
            return "interval \(position) ('\(interval)'): conversations = \(value): must be a finite number of at least 0"
        case .noIntervals:
            return "the forecast has no intervals"
        case .csv(let error):
            return "\(error)"
        case .invalidNumber(let line, let column, let text):
            return "line \(line): \(column) '\(text)' is not a number"
        case .negativeOrNonFinite(let line, let column, let text):
            return "line \(line): \(column) '\(text)' must be a finite number of at least 0"
        case .emptyField(let line, let column):
            return "line \(line): \(column) is empty"
        case .targetUnreachable(let interval, let agents):
            let place = interval.map { "interval '\($0)': " } ?? ""
            return "\(place)no staffing up to \(agents) agents meets the target; lower the service level or lengthen the answer time"
        case .invalidStart(let line, let text):
            return "line \(line): interval start '\(text)' is not a time (use HH:mm, YYYY-MM-DD HH:mm or ISO 8601 such as "
                + "2025-03-03T09:00:00Z)"
        case .startNotAfterPrevious(let line, let start, let previous):
            return "line \(line): interval start '\(start)' is not after the previous one ('\(previous)'); "
                + "rows must be in time order without duplicates"
        case .irregularStart(let line, let start, let gap, let interval):
            return "line \(line): interval start '\(start)' is \(minutes(gap)) minutes after the previous one, "
                + "not a whole number of \(minutes(interval))-minute intervals"
        case .intervalNotInferable(let reason):
            return "cannot infer the interval length: \(reason); give it with --interval-minutes"
        case .unreadableFile(let path, let reason):
            return "\(path) \(reason)"
        case .intervalMismatch(let given, let inferred):
            return "the interval length is \(minutes(given)) minutes, but the forecast's starts are \(minutes(inferred)) minutes apart"
        }
    }
}

/// A number of minutes without a needless ".0".
private func minutes(_ value: Double) -> String {
    value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(format: "%g", value)
}

/// Everything a staffing plan is computed from: the forecast, the automated share, the service
/// targets and costs (`parameters`) and the AI's error rates. Shares and rates are fractions in 0...1.
/// Encodes as one flat object (the parameters' fields beside the others).
public struct StaffingInput: Codable, Hashable, Sendable {
    /// One forecast interval: its label (e.g. "2025-03-03 09:00") and the conversations expected in it.
    public struct Interval: Codable, Hashable, Sendable {
        public var start: String
        public var conversations: Double

        public init(start: String, conversations: Double) {
            self.start = start
            self.conversations = conversations
        }
    }

    public var intervals: [Interval]
    /// Length of every interval in minutes (typically 15, 30 or 60).
    public var intervalMinutes: Double
    /// Share of conversations the AI answers on its own; people handle conversations × (1 − share).
    public var automatedShare: Double
    public var parameters: StaffingParameters
    /// Expected share of wrong answers among those the AI gives at `automatedShare`.
    public var aiErrorRate: Double?
    /// Expected share of wrong answers if the AI answered every conversation (share 1).
    public var fullAutomationErrorRate: Double?

    public init(intervals: [Interval], intervalMinutes: Double, automatedShare: Double, parameters: StaffingParameters = .standard,
                aiErrorRate: Double? = nil, fullAutomationErrorRate: Double? = nil) {
        self.intervals = intervals
        self.intervalMinutes = intervalMinutes
        self.automatedShare = automatedShare
        self.parameters = parameters
        self.aiErrorRate = aiErrorRate
        self.fullAutomationErrorRate = fullAutomationErrorRate
    }

    /// Every parameter spelled out (`StaffingParameters` has the meanings).
    public init(intervals: [Interval], intervalMinutes: Double, automatedShare: Double, handleTimeSeconds: Double,
                serviceLevelTarget: Double, answerWithinSeconds: Double, maxOccupancy: Double, shrinkage: Double,
                patienceSeconds: Double? = nil, maxAbandonment: Double? = nil, costPerAgentHour: Double,
                aiErrorRate: Double? = nil, fullAutomationErrorRate: Double? = nil) {
        self.init(intervals: intervals, intervalMinutes: intervalMinutes, automatedShare: automatedShare,
                  parameters: StaffingParameters(handleTimeSeconds: handleTimeSeconds, serviceLevelTarget: serviceLevelTarget,
                                                 answerWithinSeconds: answerWithinSeconds, maxOccupancy: maxOccupancy,
                                                 shrinkage: shrinkage, patienceSeconds: patienceSeconds,
                                                 maxAbandonment: maxAbandonment, costPerAgentHour: costPerAgentHour),
                  aiErrorRate: aiErrorRate, fullAutomationErrorRate: fullAutomationErrorRate)
    }

    private enum CodingKeys: String, CodingKey {
        case intervals, intervalMinutes, automatedShare, aiErrorRate, fullAutomationErrorRate
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        intervals = try c.decode([Interval].self, forKey: .intervals)
        intervalMinutes = try c.decode(Double.self, forKey: .intervalMinutes)
        automatedShare = try c.decode(Double.self, forKey: .automatedShare)
        parameters = try StaffingParameters(from: decoder)
        aiErrorRate = try c.decodeIfPresent(Double.self, forKey: .aiErrorRate)
        fullAutomationErrorRate = try c.decodeIfPresent(Double.self, forKey: .fullAutomationErrorRate)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(intervals, forKey: .intervals)
        try c.encode(intervalMinutes, forKey: .intervalMinutes)
        try c.encode(automatedShare, forKey: .automatedShare)
        try c.encodeIfPresent(aiErrorRate, forKey: .aiErrorRate)
        try c.encodeIfPresent(fullAutomationErrorRate, forKey: .fullAutomationErrorRate)
        try parameters.encode(to: encoder)
    }
}

/// The staffing for one automated share: per interval and in total.
public struct StaffingPlan: Codable, Hashable, Sendable {
    public enum Model: String, Codable, Sendable {
        /// Infinite patience (no patience given).
        case erlangC
        /// Exponential patience with the given mean.
        case erlangA
    }

    public struct Interval: Codable, Hashable, Sendable {
        /// The forecast's label for the interval.
        public var start: String
        /// All conversations forecast for the interval.
        public var conversations: Double
        /// Arrivals to people: conversations × (1 − automated share).
        public var conversationsForPeople: Double
        /// Agents handling conversations (before shrinkage).
        public var agentsNeeded: Int
        /// Agents to put on the schedule (after shrinkage).
        public var agentsScheduled: Int
        /// Expected fraction of people-handled conversations answered within the threshold.
        public var serviceLevel: Double
        /// Mean wait in seconds of the conversations that are answered.
        public var averageSpeedOfAnswer: Double
        public var occupancy: Double
        /// Fraction of people-handled conversations abandoned; `nil` under Erlang C.
        public var abandonment: Double?
    }

    /// Which queueing model the figures come from.
    public var model: Model
    /// Share of conversations the AI answers in this plan.
    public var automatedShare: Double
    public var intervals: [Interval]
    /// Totals over all intervals.
    public var conversations: Double
    public var conversationsForPeople: Double
    public var conversationsForAI: Double
    /// Agent-hours handling conversations (Σ agents needed × interval length), before shrinkage.
    public var agentHoursNeeded: Double
    /// Agent-hours to schedule and pay for (Σ agents scheduled × interval length), after shrinkage.
    public var agentHoursScheduled: Double
    /// The most agents scheduled in any one interval: the headcount the busiest interval needs.
    public var peakAgentsScheduled: Int
    /// Fraction of all people-handled conversations answered within the threshold (intervals
    /// weighted by arrivals to people); `nil` when people handle nothing.
    public var serviceLevel: Double?
    /// Mean wait in seconds over all answered people-handled conversations; `nil` when people handle nothing.
    public var averageSpeedOfAnswer: Double?
    /// agentHoursScheduled × cost per agent-hour.
    public var cost: Double
    /// conversationsForAI × the AI's error rate at this share; 0 when the AI answers nothing, else
    /// `nil` when that rate was not given.
    public var expectedWrongAIAnswers: Double?
}

/// Three plans from one forecast, for deciding how much to automate.
public struct StaffingComparison: Codable, Hashable, Sendable {
    /// Share 0: people answer everything.
    public var withoutAI: StaffingPlan
    /// The share in the input.
    public var chosen: StaffingPlan
    /// Share 1: the AI answers everything and nobody is scheduled.
    public var fullAutomation: StaffingPlan
}

/// Turns a conversation forecast into agents per interval, agent-hours and cost.
public enum StaffingPlanner {
    /// Column names of the forecast CSV (`Forecast.parse(csv:)` also accepts a few variants).
    public static let startColumn = "interval_start"
    public static let conversationsColumn = "conversations"

    /// Plans staffing at the input's automated share.
    /// - Throws: `StaffingError` naming the first invalid field or interval, or an unreachable target.
    public static func plan(_ input: StaffingInput) throws -> StaffingPlan {
        try validate(input)
        return try plan(input, share: input.automatedShare, errorRate: input.aiErrorRate)
    }

    /// Plans the same forecast without AI, at the chosen share, and with the AI answering everything.
    /// - Throws: `StaffingError` as `plan(_:)`.
    public static func compare(_ input: StaffingInput) throws -> StaffingComparison {
        try validate(input)
        return StaffingComparison(
            withoutAI: try plan(input, share: 0, errorRate: 0),
            chosen: try plan(input, share: input.automatedShare, errorRate: input.aiErrorRate),
            fullAutomation: try plan(input, share: 1, errorRate: input.fullAutomationErrorRate))
    }

    /// Reads a forecast's intervals from CSV (see `Forecast.parse(csv:)`, which also keeps the line numbers).
    /// - Throws: as `Forecast.parse(csv:)`.
    public static func parseForecast(csv text: String) throws -> [StaffingInput.Interval] {
        try Forecast.parse(csv: text).intervals
    }

    /// Agents to schedule so that `needed` are available after `shrinkage`: ⌈needed / (1 − shrinkage)⌉.
    /// A relative tolerance of 10⁻⁹ keeps rounding error (7 / 0.7 = 10.000000000000002) from adding
    /// an agent.
    public static func scheduledAgents(needed: Int, shrinkage: Double) -> Int {
        guard needed > 0 else { return 0 }
        return Int((Double(needed) / (1 - shrinkage) * (1 - 1e-9)).rounded(.up))
    }

    private static func plan(_ input: StaffingInput, share: Double, errorRate: Double?) throws -> StaffingPlan {
        let p = input.parameters
        let intervalSeconds = input.intervalMinutes * 60
        let target = Erlang.Target(serviceLevel: p.serviceLevelTarget, answerWithin: p.answerWithinSeconds,
                                   maxOccupancy: p.maxOccupancy, maxAbandonment: p.maxAbandonment)
        let intervals = try input.intervals.map { interval in
            let forPeople = interval.conversations * (1 - share)
            let workload = Erlang.Workload(arrivalRate: forPeople / intervalSeconds, handleTime: p.handleTimeSeconds,
                                           patience: p.patienceSeconds)
            let performance: Erlang.Performance
            do {
                performance = try Erlang.agentsNeeded(for: workload, target: target)
            } catch StaffingError.targetUnreachable(_, let tried) {
                throw StaffingError.targetUnreachable(interval: interval.start, agentsTried: tried)
            }
            return StaffingPlan.Interval(
                start: interval.start,
                conversations: interval.conversations,
                conversationsForPeople: forPeople,
                agentsNeeded: performance.agents,
                agentsScheduled: scheduledAgents(needed: performance.agents, shrinkage: p.shrinkage),
                serviceLevel: performance.serviceLevel,
                averageSpeedOfAnswer: performance.averageSpeedOfAnswer,
                occupancy: performance.occupancy,
                abandonment: p.patienceSeconds == nil ? nil : performance.probabilityOfAbandonment)
        }
        let conversations = input.intervals.reduce(0) { $0 + $1.conversations }
        let forPeople = intervals.reduce(0) { $0 + $1.conversationsForPeople }
        let forAI = conversations * share
        let hours = input.intervalMinutes / 60
        let agentHours = Double(intervals.reduce(0) { $0 + $1.agentsScheduled }) * hours
        // Answered conversations weight the waits: in Erlang A those who abandon have no speed of answer.
        let answered = intervals.map { $0.conversationsForPeople * (1 - ($0.abandonment ?? 0)) }
        let answeredTotal = answered.reduce(0, +)
        return StaffingPlan(
            model: p.patienceSeconds == nil ? .erlangC : .erlangA,
            automatedShare: share,
            intervals: intervals,
            conversations: conversations,
            conversationsForPeople: forPeople,
            conversationsForAI: forAI,
            agentHoursNeeded: Double(intervals.reduce(0) { $0 + $1.agentsNeeded }) * hours,
            agentHoursScheduled: agentHours,
            peakAgentsScheduled: intervals.map(\.agentsScheduled).max() ?? 0,
            serviceLevel: forPeople > 0 ? intervals.reduce(0) { $0 + $1.conversationsForPeople * $1.serviceLevel } / forPeople : nil,
            averageSpeedOfAnswer: answeredTotal > 0
                ? zip(intervals, answered).reduce(0) { $0 + $1.1 * $1.0.averageSpeedOfAnswer } / answeredTotal : nil,
            cost: agentHours * p.costPerAgentHour,
            expectedWrongAIAnswers: forAI == 0 ? 0 : errorRate.map { forAI * $0 })
    }

    private static func validate(_ input: StaffingInput) throws {
        let p = input.parameters
        guard !input.intervals.isEmpty else { throw StaffingError.noIntervals }
        for (index, interval) in input.intervals.enumerated() where !(interval.conversations.isFinite && interval.conversations >= 0) {
            throw StaffingError.invalidConversations(interval: interval.start, position: index + 1, value: interval.conversations)
        }
        try Erlang.requirePositive(input.intervalMinutes, field: "intervalMinutes")
        try requireShare(input.automatedShare, field: "automatedShare")
        try Erlang.requirePositive(p.handleTimeSeconds, field: "handleTimeSeconds")
        if !(p.serviceLevelTarget > 0 && p.serviceLevelTarget < 1) {
            throw StaffingError.invalidParameter(field: "serviceLevelTarget", value: p.serviceLevelTarget, allowed: "above 0 and below 1")
        }
        try Erlang.requireNonNegative(p.answerWithinSeconds, field: "answerWithinSeconds")
        try Erlang.requireFraction(p.maxOccupancy, field: "maxOccupancy")
        if !(p.shrinkage >= 0 && p.shrinkage < 1) {
            throw StaffingError.invalidParameter(field: "shrinkage", value: p.shrinkage, allowed: "at least 0 and below 1")
        }
        if let patience = p.patienceSeconds { try Erlang.requirePositive(patience, field: "patienceSeconds") }
        if let maxAbandonment = p.maxAbandonment {
            guard p.patienceSeconds != nil else {
                throw StaffingError.invalidParameter(field: "maxAbandonment", value: maxAbandonment,
                                                     allowed: "left out unless patienceSeconds is given (only Erlang A models abandonment)")
            }
            try Erlang.requireFraction(maxAbandonment, field: "maxAbandonment")
        }
        try Erlang.requireNonNegative(p.costPerAgentHour, field: "costPerAgentHour")
        if let rate = input.aiErrorRate { try requireShare(rate, field: "aiErrorRate") }
        if let rate = input.fullAutomationErrorRate { try requireShare(rate, field: "fullAutomationErrorRate") }
    }

    private static func requireShare(_ value: Double, field: String) throws {
        guard value >= 0 && value <= 1 else {
            throw StaffingError.invalidParameter(field: field, value: value, allowed: "between 0 and 1")
        }
    }
}
