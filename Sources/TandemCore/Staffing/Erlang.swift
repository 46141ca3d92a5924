import Foundation

/// Queueing formulas for staffing a live-chat or phone queue: Erlang B, Erlang C (M/M/c) and
/// Erlang A (M/M/c+M, Palm's queue with exponential patience).
///
/// Units: arrival rates are per second, every time (handle time, patience, answer-within
/// threshold, speed of answer) is in seconds, offered load is in Erlangs (arrival rate × handle time).
///
/// Everything is computed with recursions or in log space, never with factorials or powers of the
/// load, so that hundreds or thousands of agents stay accurate and finite.
public enum Erlang {
    /// Tolerance used when comparing a computed measure with a target, so that a measure equal to
    /// the target up to rounding (for example an occupancy of exactly 0.85) counts as meeting it:
    /// absolute for the service level, relative for the occupancy and abandonment caps.
    static let targetTolerance = 1e-9

    /// Erlang B: the probability that an arrival finds all `servers` busy in a loss system
    /// (M/M/c/c) offered `offeredLoad` Erlangs.
    ///
    /// Uses the recursion B(n) = A·B(n−1) / (n + A·B(n−1)), B(0) = 1, which only ever divides
    /// numbers of similar size and is stable for any number of servers.
    /// - Precondition: `servers >= 0`, `offeredLoad >= 0` and finite.
    public static func erlangB(servers: Int, offeredLoad: Double) -> Double {
        var blocking = 1.0
        for n in stride(from: 1, through: servers, by: 1) {
            let carried = offeredLoad * blocking
            blocking = carried / (Double(n) + carried)
        }
        return blocking
    }

    /// Erlang C: the probability that an arrival has to wait in an M/M/c queue with `servers`
    /// agents and `offeredLoad` Erlangs. 1 when `servers <= offeredLoad` (the queue grows without
    /// bound, so in the long run everybody waits).
    ///
    /// Derived from Erlang B as C = c·B / (c − A·(1 − B)), which inherits B's stability.
    /// - Precondition: `servers >= 0`, `offeredLoad >= 0` and finite.
    public static func erlangC(servers: Int, offeredLoad: Double) -> Double {
        let c = Double(servers)
        guard c > offeredLoad else { return 1 }
        let blocking = erlangB(servers: servers, offeredLoad: offeredLoad)
        return c * blocking / (c - offeredLoad * (1 - blocking))
    }

    /// Erlang C service level: the fraction of arrivals answered within `answerWithin` seconds,
    /// P(W ≤ t) = 1 − C·e^{−(cμ − λ)t}. Every arrival is eventually answered in this model, so this
    /// is also the fraction of all arrivals. 0 when the queue is unstable (`agents <= load`).
    /// - Precondition: `agents >= 0`, `arrivalRate >= 0`, `handleTime > 0`, `answerWithin >= 0`.
    public static func serviceLevel(agents: Int, arrivalRate: Double, handleTime: Double, answerWithin: Double) -> Double {
        let load = arrivalRate * handleTime
        guard Double(agents) > load else { return 0 }
        let waiting = erlangC(servers: agents, offeredLoad: load)
        let drain = (Double(agents) - load) / handleTime  // cμ − λ, the rate at which the queue empties
        return 1 - waiting * exp(-drain * answerWithin)
    }

    /// Erlang C average speed of answer in seconds (mean wait over all arrivals, those answered at
    /// once counting 0): C / (cμ − λ). Infinite when the queue is unstable.
    /// - Precondition: `agents >= 0`, `arrivalRate >= 0`, `handleTime > 0`.
    public static func averageSpeedOfAnswer(agents: Int, arrivalRate: Double, handleTime: Double) -> Double {
        let load = arrivalRate * handleTime
        guard Double(agents) > load else { return .infinity }
        let waiting = erlangC(servers: agents, offeredLoad: load)
        return waiting * handleTime / (Double(agents) - load)
    }

    /// Erlang C occupancy: the share of the agents' time spent handling conversations, A / c,
    /// capped at 1 (an unstable queue keeps everybody busy). 0 when there are no agents.
    /// - Precondition: `agents >= 0`, `arrivalRate >= 0`, `handleTime > 0`.
    public static func occupancy(agents: Int, arrivalRate: Double, handleTime: Double) -> Double {
        guard agents > 0 else { return 0 }
        return min(1, arrivalRate * handleTime / Double(agents))
    }
}

// MARK: - Workloads, targets and performance

extension Erlang {
    /// What arrives at the queue.
    public struct Workload: Codable, Hashable, Sendable {
        /// λ, arrivals per second.
        public var arrivalRate: Double
        /// Mean handle time 1/μ in seconds (exponentially distributed in the model).
        public var handleTime: Double
        /// Mean patience 1/θ in seconds (exponentially distributed): with it the queue is Erlang A,
        /// without it (`nil`, infinite patience) it is Erlang C.
        public var patience: Double?

        public init(arrivalRate: Double, handleTime: Double, patience: Double? = nil) {
            self.arrivalRate = arrivalRate
            self.handleTime = handleTime
            self.patience = patience
        }

        /// Offered load A = λ / μ in Erlangs: the average number of agents the work would keep busy.
        public var offeredLoad: Double { arrivalRate * handleTime }
    }

    /// What the staffing must achieve.
    public struct Target: Codable, Hashable, Sendable {
        /// Required fraction of all arrivals answered within `answerWithin` seconds, in (0, 1).
        public var serviceLevel: Double
        /// The answer-time threshold t in seconds.
        public var answerWithin: Double
        /// Highest acceptable occupancy, in (0, 1]: agents kept busier than this burn out.
        public var maxOccupancy: Double
        /// Highest acceptable fraction of arrivals that abandon, in (0, 1]; only meaningful with
        /// finite patience (Erlang C never abandons).
        public var maxAbandonment: Double?

        public init(serviceLevel: Double, answerWithin: Double, maxOccupancy: Double = 1, maxAbandonment: Double? = nil) {
            self.serviceLevel = serviceLevel
            self.answerWithin = answerWithin
            self.maxOccupancy = maxOccupancy
            self.maxAbandonment = maxAbandonment
        }
    }

    /// Steady-state performance of a queue staffed with `agents` agents.
    public struct Performance: Codable, Hashable, Sendable {
        public var agents: Int
        /// P(W > 0): the fraction of arrivals that find every agent busy and queue.
        public var probabilityOfWaiting: Double
        /// The fraction of arrivals that give up before being answered (0 in Erlang C).
        public var probabilityOfAbandonment: Double
        /// The fraction of *all* arrivals answered within the threshold: P(answered and W ≤ t).
        /// Arrivals who abandon, whenever they do, count as not answered within t. In Erlang C this
        /// is P(W ≤ t).
        public var serviceLevel: Double
        /// Mean wait in seconds of the arrivals that are answered (those answered at once count 0).
        /// Infinite for an unstable Erlang C queue.
        public var averageSpeedOfAnswer: Double
        /// Share of the agents' time spent handling conversations: carried load / agents.
        public var occupancy: Double

        public init(agents: Int, probabilityOfWaiting: Double, probabilityOfAbandonment: Double, serviceLevel: Double, averageSpeedOfAnswer: Double, occupancy: Double) {
            self.agents = agents
            self.probabilityOfWaiting = probabilityOfWaiting
            self.probabilityOfAbandonment = probabilityOfAbandonment
            self.serviceLevel = serviceLevel
            self.averageSpeedOfAnswer = averageSpeedOfAnswer
            self.occupancy = occupancy
        }

        /// Whether this staffing meets every part of `target`. The caps are compared relatively, so
        /// that a tiny cap is not swamped by the tolerance.
        public func meets(_ target: Target) -> Bool {
            let tolerance = Erlang.targetTolerance
            guard serviceLevel >= target.serviceLevel - tolerance,
                  occupancy <= target.maxOccupancy * (1 + tolerance) else { return false }
            guard let maxAbandonment = target.maxAbandonment else { return true }
            return probabilityOfAbandonment <= maxAbandonment * (1 + tolerance)
        }
    }

    /// Performance of `agents` agents facing `workload`, with the service level measured against
    /// `answerWithin` seconds. Erlang C when the workload has no patience, Erlang A otherwise.
    /// With no arrivals nobody waits: service level 1, everything else 0.
    /// - Throws: `StaffingError.invalidParameter` for a negative agent count or an out-of-range workload.
    public static func performance(agents: Int, workload: Workload, answerWithin: Double) throws -> Performance {
        guard agents >= 0 else {
            throw StaffingError.invalidParameter(field: "agents", value: Double(agents), allowed: "at least 0")
        }
        try validate(workload)
        try requireNonNegative(answerWithin, field: "answerWithin")
        return evaluate(agents: agents, workload: workload, answerWithin: answerWithin)
    }

    /// Largest staffing `agentsNeeded` considers; past it the target counts as unreachable.
    public static let maximumAgents = 10_000_000

    /// The smallest number of agents (on the phones, before shrinkage) whose performance meets
    /// `target`, together with that performance. 0 when nothing arrives.
    ///
    /// No staffing below a simple bound can work: answering a fraction s of the load A keeps at
    /// least s·A agents busy (all of A in Erlang C, where everybody is answered), so occupancy at
    /// most ρ needs c ≥ s·A/ρ; Erlang C also needs c > A to be stable. From there the search doubles
    /// its step until the target is met, then bisects, so large loads take a few dozen evaluations.
    /// That relies on every measure improving as agents are added (service level up; waiting,
    /// abandonment and occupancy down): true of the Erlang C formulas, and checked for Erlang A by
    /// the tests, which also compare the result with a plain upward walk.
    /// - Throws: `StaffingError.invalidParameter` for out-of-range inputs;
    ///   `StaffingError.targetUnreachable` when even `maximumAgents` agents miss the target (an
    ///   occupancy cap far below the load's needs, say).
    public static func agentsNeeded(for workload: Workload, target: Target) throws -> Performance {
        try validate(workload)
        try validate(target)
        guard workload.arrivalRate > 0 else {
            return evaluate(agents: 0, workload: workload, answerWithin: target.answerWithin)
        }
        let load = workload.offeredLoad
        // The bound allows for the tolerance in `meets`, and its last factor for rounding, so that
        // it never passes the answer.
        let busyAtLeast = workload.patience == nil ? load : (target.serviceLevel - targetTolerance) * load
        var bound = (busyAtLeast / (target.maxOccupancy * (1 + targetTolerance)) * (1 - 1e-12)).rounded(.down)
        if workload.patience == nil { bound = max(bound, load.rounded(.down) + 1) }
        guard bound <= Double(maximumAgents) else {
            throw StaffingError.targetUnreachable(interval: nil, agentsTried: maximumAgents)
        }
        let lowerBound = max(1, Int(bound))
        func staffed(_ agents: Int) -> Performance {
            evaluate(agents: agents, workload: workload, answerWithin: target.answerWithin)
        }
        // Gallop: every staffing up to `failing` misses the target; find one that meets it. The
        // first probe is at the load itself (or the bound, if higher): below the load an Erlang A
        // chain is as long as patience / handle time, and when that ratio is large the answer lies
        // above the load anyway.
        var failing = lowerBound - 1
        var meeting = try {
            var candidate = Int(min(max(Double(lowerBound), load.rounded(.up)), Double(maximumAgents)))
            var step = 1
            while true {
                let performance = staffed(candidate)
                if performance.meets(target) { return performance }
                guard candidate < maximumAgents else {
                    throw StaffingError.targetUnreachable(interval: nil, agentsTried: maximumAgents)
                }
                failing = candidate
                candidate = min(failing + step, maximumAgents)
                step *= 2
            }
        }()
        // Bisect between the last miss and the first hit.
        while meeting.agents - failing > 1 {
            let performance = staffed(failing + (meeting.agents - failing) / 2)
            if performance.meets(target) { meeting = performance } else { failing = performance.agents }
        }
        return meeting
    }

    /// Dispatches to Erlang C or Erlang A; inputs are already validated.
    static func evaluate(agents: Int, workload: Workload, answerWithin: Double) -> Performance {
        guard workload.arrivalRate > 0 else {
            return Performance(agents: agents, probabilityOfWaiting: 0, probabilityOfAbandonment: 0,
                               serviceLevel: 1, averageSpeedOfAnswer: 0, occupancy: 0)
        }
        if let patience = workload.patience {
            return PalmQueue(agents: agents, arrivalRate: workload.arrivalRate,
                             handleTime: workload.handleTime, patience: patience).performance(answerWithin: answerWithin)
        }
        let (λ, h) = (workload.arrivalRate, workload.handleTime)
        return Performance(
            agents: agents,
            probabilityOfWaiting: erlangC(servers: agents, offeredLoad: λ * h),
            probabilityOfAbandonment: 0,
            serviceLevel: serviceLevel(agents: agents, arrivalRate: λ, handleTime: h, answerWithin: answerWithin),
            averageSpeedOfAnswer: averageSpeedOfAnswer(agents: agents, arrivalRate: λ, handleTime: h),
            occupancy: occupancy(agents: agents, arrivalRate: λ, handleTime: h))
    }

    static func validate(_ workload: Workload) throws {
        try requireNonNegative(workload.arrivalRate, field: "arrivalRate")
        try requirePositive(workload.handleTime, field: "handleTime")
        if let patience = workload.patience { try requirePositive(patience, field: "patience") }
    }

    static func validate(_ target: Target) throws {
        if !(target.serviceLevel > 0 && target.serviceLevel < 1) {
            throw StaffingError.invalidParameter(field: "serviceLevel", value: target.serviceLevel, allowed: "above 0 and below 1")
        }
        try requireNonNegative(target.answerWithin, field: "answerWithin")
        try requireFraction(target.maxOccupancy, field: "maxOccupancy")
        if let maxAbandonment = target.maxAbandonment { try requireFraction(maxAbandonment, field: "maxAbandonment") }
    }

    static func requireNonNegative(_ value: Double, field: String) throws {
        guard value.isFinite && value >= 0 else {
            throw StaffingError.invalidParameter(field: field, value: value, allowed: "a finite number of at least 0")
        }
    }

    static func requirePositive(_ value: Double, field: String) throws {
        guard value.isFinite && value > 0 else {
            throw StaffingError.invalidParameter(field: field, value: value, allowed: "a finite number above 0")
        }
    }

    /// A fraction in (0, 1].
    static func requireFraction(_ value: Double, field: String) throws {
        guard value > 0 && value <= 1 else {
            throw StaffingError.invalidParameter(field: field, value: value, allowed: "above 0 and at most 1")
        }
    }
}

// MARK: - Erlang A

/// The Erlang A queue (M/M/c+M): Poisson arrivals at rate λ, c agents with exponential handle
/// times (rate μ), and customers who abandon after an exponential patience (rate θ) if not yet
/// answered. Solved exactly on its birth–death chain.
///
/// The number in system n moves up at rate λ and down at rate min(n, c)·μ + max(n − c, 0)·θ. Below
/// c the stationary weights are Erlang B's, so Σ_{n≤c} π_n / π_c = 1/B(c, A); above c,
/// π_{c+k} / π_c = Π_{j=1..k} λ / (cμ + jθ). The chain is always stable and is truncated where the
/// remaining tail mass is below 10⁻¹².
///
/// By PASTA an arrival sees the stationary distribution. One that finds c + k in the system starts
/// at queue position m = k + 1; while at position i it moves up at rate cμ + (i−1)θ (a service
/// completion or an abandonment ahead of it) and leaves at rate θ. Its offered wait V (the wait if
/// it never gave up) is a sum of independent exponentials of rates cμ, cμ+θ, …, cμ+(m−1)θ, and
/// e^{−θV} ~ Beta(α, m) with α = cμ/θ. Since its own patience τ ~ Exp(θ) is independent of V:
/// - P(answered) = E[e^{−θV}] = cμ / (cμ + mθ);
/// - P(answered within t) = E[e^{−θV}; V ≤ t] = cμ/(cμ + mθ) · (1 − I_{e^{−θt}}(α + 1, m)), with I the
///   regularized incomplete beta function, which for integer m is the finite sum of positive terms
///   I_x(a, m) = x^a Σ_{j<m} (a)_j / j! · (1 − x)^j, accumulated across m in log space;
/// - E[wait; answered] = cμ/(cμ + mθ) · Σ_{i=1..m} 1/(cμ + iθ).
///
/// As θ → 0 these tend to the Erlang C expressions (the incomplete beta becomes the Poisson sum of
/// the Erlang-m wait), which the tests check.
struct PalmQueue {
    let agents: Int
    let arrivalRate: Double
    let handleTime: Double
    let patience: Double

    /// Truncate the chain once the tail beyond it holds less than this share of the total mass.
    static let tailTolerance = 1e-12
    /// Hard cap on queue lengths considered; reached only for patience many orders of magnitude
    /// above the handle time on an overloaded queue, where the tail is cut there.
    static let maximumQueueLength = 50_000_000

    func performance(answerWithin t: Double) -> Erlang.Performance {
        let λ = arrivalRate
        let θ = 1 / patience
        let capacity = Double(agents) / handleTime  // cμ
        let blocking = Erlang.erlangB(servers: agents, offeredLoad: λ * handleTime)
        // Erlang B underflows only when the load is a tiny fraction of the agents: nobody waits.
        guard blocking > 0 else {
            return Erlang.Performance(agents: agents, probabilityOfWaiting: 0, probabilityOfAbandonment: 0, serviceLevel: 1,
                                      averageSpeedOfAnswer: 0, occupancy: λ * handleTime / Double(agents))
        }
        // log of the ratio π_{c+k} / π_{c+k−1}
        func logRatio(_ k: Int) -> Double { log(λ / (capacity + Double(k) * θ)) }

        // Pass 1: where to truncate, and the normalising total Σ_n π_n / π_c in log space.
        var logWeight = 0.0
        var logTotal = -log(blocking)
        var lastQueued = 0
        while lastQueued < Self.maximumQueueLength {
            let ratio = λ / (capacity + Double(lastQueued + 1) * θ)
            // Past the mode the ratios only shrink, so the tail is at most weight · r / (1 − r).
            if ratio < 1 && logWeight + log(ratio / (1 - ratio)) < logTotal + log(Self.tailTolerance) { break }
            lastQueued += 1
            logWeight += log(ratio)
            logTotal = logAddExp(logTotal, logWeight)
        }

        // Pass 2: accumulate each measure over the state an arrival finds, c + k.
        let α = capacity / θ
        let logOneMinusX = log(-expm1(-θ * t))      // log(1 − e^{−θt}); −∞ when t = 0
        var logTerm = -(capacity + θ) * t            // log of the incomplete-beta term j = 0
        var incompleteBeta = 0.0                     // I_{e^{−θt}}(α + 1, m)
        var harmonic = 0.0                           // Σ_{i=1..m} 1/(cμ + iθ)
        var waiting = 0.0, answeredAfterWait = 0.0, answeredWithin = 0.0, answeredWaitSum = 0.0
        logWeight = 0
        for k in 0...lastQueued {
            if k > 0 {
                logWeight += logRatio(k)
                logTerm += log((α + Double(k)) / Double(k)) + logOneMinusX
            }
            let m = Double(k + 1)
            let probability = exp(logWeight - logTotal)
            incompleteBeta += exp(logTerm)
            harmonic += 1 / (capacity + m * θ)
            let answered = probability * capacity / (capacity + m * θ)
            waiting += probability
            answeredAfterWait += answered
            answeredWithin += answered * max(0, 1 - incompleteBeta)
            answeredWaitSum += answered * harmonic
        }
        // States below c, whose weights sum to 1/B − 1 relative to π_c: answered on arrival.
        let answeredAtOnce = exp(log1p(-blocking) - log(blocking) - logTotal)
        let answered = answeredAtOnce + answeredAfterWait
        // The clamps only remove rounding of the last bit.
        return Erlang.Performance(
            agents: agents,
            probabilityOfWaiting: min(1, waiting),
            probabilityOfAbandonment: max(0, waiting - answeredAfterWait),
            serviceLevel: answeredAtOnce + answeredWithin,
            averageSpeedOfAnswer: answeredWaitSum / answered,
            occupancy: agents > 0 ? λ * handleTime * answered / Double(agents) : 0)
    }
}

/// log(e^a + e^b) without overflow.
private func logAddExp(_ a: Double, _ b: Double) -> Double {
    let high = max(a, b)
    return high + log1p(exp(min(a, b) - high))
}
