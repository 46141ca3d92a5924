/// The planner's service targets and costs: everything a staffing plan is computed from besides
/// the forecast, the automated share and the AI's error rates. Times are in seconds; shares are
/// fractions in 0...1.
///
/// The one declaration of these parameters and of their defaults: `tandem plan`'s options, the
/// staffing page's form, `POST /api/v1/staffing/plan` and the replay all start from `standard`.
/// Encoded flat (no `parameters` object) inside `StaffingInput` and `StaffingReport.Settings`.
public struct StaffingParameters: Codable, Hashable, Sendable {
    /// Mean handle time of a conversation handled by a person.
    public var handleTimeSeconds: Double
    /// Required fraction of people-handled conversations answered within `answerWithinSeconds`.
    public var serviceLevelTarget: Double
    public var answerWithinSeconds: Double
    /// Highest acceptable agent occupancy.
    public var maxOccupancy: Double
    /// Share of paid time agents are not available (breaks, training, absence):
    /// scheduled = ⌈needed / (1 − shrinkage)⌉.
    public var shrinkage: Double
    /// Mean customer patience; when given, queues are modelled with Erlang A, otherwise Erlang C.
    public var patienceSeconds: Double?
    /// Highest acceptable fraction of abandoning customers (Erlang A only).
    public var maxAbandonment: Double?
    public var costPerAgentHour: Double

    /// Any parameter left out takes its usual value: 360 s handle time, 80% answered within 60 s,
    /// occupancy at most 85%, 30% shrinkage, infinite patience (Erlang C), 30 per agent-hour.
    public init(handleTimeSeconds: Double = 360, serviceLevelTarget: Double = 0.8, answerWithinSeconds: Double = 60,
                maxOccupancy: Double = 0.85, shrinkage: Double = 0.3, patienceSeconds: Double? = nil,
                maxAbandonment: Double? = nil, costPerAgentHour: Double = 30) {
        self.handleTimeSeconds = handleTimeSeconds
        self.serviceLevelTarget = serviceLevelTarget
        self.answerWithinSeconds = answerWithinSeconds
        self.maxOccupancy = maxOccupancy
        self.shrinkage = shrinkage
        self.patienceSeconds = patienceSeconds
        self.maxAbandonment = maxAbandonment
        self.costPerAgentHour = costPerAgentHour
    }

    /// The usual service targets and costs.
    public static let standard = StaffingParameters()
}
