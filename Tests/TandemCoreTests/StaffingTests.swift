import Foundation
import Testing
@testable import TandemCore

private func isClose(_ value: Double, _ expected: Double, within tolerance: Double) -> Bool {
    abs(value - expected) <= tolerance
}

private func isRelativelyClose(_ value: Double, _ expected: Double, within tolerance: Double) -> Bool {
    abs(value - expected) <= tolerance * abs(expected)
}

/// log Σ e^{x_i}, for the independent reference computations below.
private func logSumExp(_ values: [Double]) -> Double {
    let high = values.max() ?? -.infinity
    return high + log(values.reduce(0) { $0 + exp($1 - high) })
}

// MARK: - Erlang B and C

@Test func erlangBSmallCasesByHand() {
    // B(c, A) = (A^c / c!) / Σ_{k≤c} A^k / k!, worked by hand: B(1, 1) = 1/2, B(2, 1) = (1/2) / (5/2).
    #expect(Erlang.erlangB(servers: 0, offeredLoad: 3) == 1)
    #expect(isClose(Erlang.erlangB(servers: 1, offeredLoad: 1), 0.5, within: 1e-15))
    #expect(isClose(Erlang.erlangB(servers: 2, offeredLoad: 1), 0.2, within: 1e-15))
    // C(3, 2) = (8/6 · 3) / (1 + 2 + 2 + 8/6 · 3) = 4/9, worked by hand.
    #expect(isClose(Erlang.erlangC(servers: 3, offeredLoad: 2), 4.0 / 9.0, within: 1e-15))
}

/// The inputs of Call Centre Helper's Erlang C worked example (100 calls in 30 minutes, handle
/// time 180 s, 20 s answer target: 10 Erlangs); the values are the outputs printed in the README of
/// the CRAN package ErlangC 0.1.0 (https://cran.r-project.org/package=ErlangC): for 14 agents wait probability
/// 0.1741319, service level 0.88835, ASA "7.83593701177724s", occupancy 0.7142857; for 11 agents
/// wait probability 0.6821182 and service level 0.3896138. R prints 7 significant digits (0.88835
/// is 0.8883500 with trailing zeros dropped), so those are checked to ±5e-8; the ASA is printed to
/// 15 digits and checked to 1e-12 relative.
@Test func erlangCMatchesPublishedCallCentreHelperExample() {
    let arrivalRate = 100.0 / 1800, handleTime = 180.0
    #expect(isClose(Erlang.erlangC(servers: 14, offeredLoad: 10), 0.1741319, within: 5e-8))
    #expect(isClose(Erlang.serviceLevel(agents: 14, arrivalRate: arrivalRate, handleTime: handleTime, answerWithin: 20), 0.88835, within: 5e-8))
    #expect(isRelativelyClose(Erlang.averageSpeedOfAnswer(agents: 14, arrivalRate: arrivalRate, handleTime: handleTime), 7.83593701177724, within: 1e-12))
    #expect(isClose(Erlang.occupancy(agents: 14, arrivalRate: arrivalRate, handleTime: handleTime), 0.7142857, within: 5e-8))
    #expect(isClose(Erlang.erlangC(servers: 11, offeredLoad: 10), 0.6821182, within: 5e-8))
    #expect(isClose(Erlang.serviceLevel(agents: 11, arrivalRate: arrivalRate, handleTime: handleTime, answerWithin: 20), 0.3896138, within: 5e-8))
}

/// Same source: `calculate_agents` with an 80 % / 20 s target and 85 % maximum occupancy returns 14.
@Test func agentsNeededMatchesPublishedExample() throws {
    let workload = Erlang.Workload(arrivalRate: 100.0 / 1800, handleTime: 180)
    let staffing = try Erlang.agentsNeeded(for: workload, target: .init(serviceLevel: 0.8, answerWithin: 20, maxOccupancy: 0.85))
    #expect(staffing.agents == 14)
    #expect(isClose(staffing.serviceLevel, 0.88835, within: 5e-8))
    #expect(staffing.probabilityOfAbandonment == 0)
}

/// Hundreds of agents: the recursion agrees with the defining sum evaluated independently in log
/// space (lgamma), where factorials and powers would overflow a Double.
@Test(arguments: [(500, 480.0), (1000, 950.0), (2000, 2100.0)])
func erlangBStaysAccurateForHundredsOfAgents(servers: Int, load: Double) {
    let logTerms = (0...servers).map { k in Double(k) * log(load) - lgamma(Double(k) + 1) }
    let expected = exp(logTerms[servers] - logSumExp(logTerms))
    let blocking = Erlang.erlangB(servers: servers, offeredLoad: load)
    #expect(isRelativelyClose(blocking, expected, within: 1e-10))
    let waiting = Erlang.erlangC(servers: servers, offeredLoad: load)
    #expect(waiting.isFinite && waiting > 0 && waiting <= 1)
}

@Test func erlangCWithTooFewAgentsNeverClears() {
    #expect(Erlang.erlangC(servers: 10, offeredLoad: 10) == 1)
    #expect(Erlang.serviceLevel(agents: 9, arrivalRate: 0.1, handleTime: 100, answerWithin: 60) == 0)
    #expect(Erlang.averageSpeedOfAnswer(agents: 9, arrivalRate: 0.1, handleTime: 100) == .infinity)
    #expect(Erlang.occupancy(agents: 9, arrivalRate: 0.1, handleTime: 100) == 1)
}

// MARK: - Erlang A

struct ErlangAReference: Sendable, CustomTestStringConvertible {
    let agents: Int
    let arrivalRate: Double
    let handleTime: Double
    let patience: Double
    let answerWithin: Double
    let waiting: Double
    let abandonment: Double
    let serviceLevel: Double
    let averageSpeedOfAnswer: Double
    let occupancy: Double

    var testDescription: String { "c=\(agents) λ=\(arrivalRate) AHT=\(handleTime) patience=\(patience)" }
}

/// No published Erlang A table could be found in the searchable sources (the Mandelbaum–Zeltyn and
/// 4CallCenters documents are only indexed by their abstracts), so these reference values come from
/// an independent computation in Python (numpy/scipy 1.17), by two methods that agree to 1e-12:
/// 1. P(W>0) and P(Ab) from Mandelbaum & Zeltyn's closed form ("The Palm/Erlang-A queue, with
///    applications to call centers", 2005): with A(x, y) = x·e^y·y^−x·γ(x, y) (lower incomplete
///    gamma), E = ErlangB(c, λ/μ), ρ = λ/(cμ): P(W>0) = A(cμ/θ, λ/θ)·E / (1 + (A − 1)·E) and
///    P(Ab | W>0) = 1/(ρA) + 1 − 1/ρ.
/// 2. The stationary law of the birth–death chain solved directly, service level from the matrix
///    exponential of the queue-position chain with absorbing "answered" and "abandoned" states, and
///    the ASA of answered customers and occupancy from its fundamental matrix.
/// The Swift code uses neither (it sums incomplete-beta series along the chain), so agreement to
/// 1e-9 checks the derivation as well as the arithmetic.
private let erlangAReferences = [
    // Call Centre Helper's 10-Erlang example with 2-minute patience, and under- and overstaffed.
    ErlangAReference(agents: 14, arrivalRate: 100.0 / 1800, handleTime: 180, patience: 120, answerWithin: 20,
                     waiting: 0.126976340079795, abandonment: 0.0228392865318187, serviceLevel: 0.93272958069806,
                     averageSpeedOfAnswer: 2.34537523415216, occupancy: 0.697971938191558),
    ErlangAReference(agents: 10, arrivalRate: 100.0 / 1800, handleTime: 180, patience: 120, answerWithin: 20,
                     waiting: 0.496852747630142, abandonment: 0.13746382627645, serviceLevel: 0.639941307035989,
                     averageSpeedOfAnswer: 14.5542296553823, occupancy: 0.86253617372355),
    ErlangAReference(agents: 8, arrivalRate: 100.0 / 1800, handleTime: 180, patience: 60, answerWithin: 60,
                     waiting: 0.625179065739531, abandonment: 0.278352861583435, serviceLevel: 0.682617961655583,
                     averageSpeedOfAnswer: 14.0745390659431, occupancy: 0.902058923020707),
    // 48 calls a minute, 1-minute handle time, 2-minute patience, 50 agents.
    ErlangAReference(agents: 50, arrivalRate: 0.8, handleTime: 60, patience: 120, answerWithin: 20,
                     waiting: 0.467774068553781, abandonment: 0.0309122491621946, serviceLevel: 0.94301895474698,
                     averageSpeedOfAnswer: 3.61590023955314, occupancy: 0.930324240804294),
    ErlangAReference(agents: 100, arrivalRate: 1, handleTime: 100, patience: 300, answerWithin: 30,
                     waiting: 0.643582442784559, abandonment: 0.0291907212487987, serviceLevel: 0.919250018138385,
                     averageSpeedOfAnswer: 8.69426245660627, occupancy: 0.970809278751201),
    // 600 Erlangs on 600 agents: unstable under Erlang C, balanced by abandonment under Erlang A.
    ErlangAReference(agents: 600, arrivalRate: 5, handleTime: 120, patience: 180, answerWithin: 30,
                     waiting: 0.55537934835595, abandonment: 0.0146397977359758, serviceLevel: 0.985359641159249,
                     averageSpeedOfAnswer: 2.61845768071582, occupancy: 0.985360202264004),
]

@Test(arguments: erlangAReferences)
func erlangAMatchesIndependentComputation(_ reference: ErlangAReference) throws {
    let workload = Erlang.Workload(arrivalRate: reference.arrivalRate, handleTime: reference.handleTime, patience: reference.patience)
    let result = try Erlang.performance(agents: reference.agents, workload: workload, answerWithin: reference.answerWithin)
    #expect(isClose(result.probabilityOfWaiting, reference.waiting, within: 1e-9))
    #expect(isClose(result.probabilityOfAbandonment, reference.abandonment, within: 1e-9))
    #expect(isClose(result.serviceLevel, reference.serviceLevel, within: 1e-9))
    #expect(isRelativelyClose(result.averageSpeedOfAnswer, reference.averageSpeedOfAnswer, within: 1e-8))
    #expect(isClose(result.occupancy, reference.occupancy, within: 1e-9))
}

/// When patience and handle time have the same mean (θ = μ) every customer in the system leaves at
/// the same rate whether queued or served, so the number in system is that of an M/M/∞ queue,
/// Poisson(A) (noted by Garnett, Mandelbaum & Reiman 2002). Then P(W>0) = P(N ≥ c) and
/// P(Ab) = θ·E[(N − c)⁺] / λ = E[(N − c)⁺] / A, computed here from the Poisson law directly.
@Test(arguments: [(12, 10.0), (30, 35.0), (400, 390.0)])
func erlangAWithPatienceEqualToHandleTimeIsInfiniteServerQueue(agents: Int, load: Double) throws {
    let handleTime = 180.0
    let workload = Erlang.Workload(arrivalRate: load / handleTime, handleTime: handleTime, patience: handleTime)
    let result = try Erlang.performance(agents: agents, workload: workload, answerWithin: 20)
    let states = 0...(agents + 2000)
    let logPoisson = states.map { n in -load + Double(n) * log(load) - lgamma(Double(n) + 1) }
    let waiting = states.filter { $0 >= agents }.reduce(0) { $0 + exp(logPoisson[$1]) }
    let queued = states.filter { $0 > agents }.reduce(0) { $0 + Double($1 - agents) * exp(logPoisson[$1]) }
    #expect(isClose(result.probabilityOfWaiting, waiting, within: 1e-10))
    #expect(isClose(result.probabilityOfAbandonment, queued / load, within: 1e-10))
}

/// Erlang A with patience → ∞ is Erlang C; the gap shrinks with the patience and is below 1e-6
/// at 10⁹ s. Checked on the published 10-Erlang example and on 600 Erlangs with 620 agents.
@Test(arguments: [(14, 100.0 / 1800, 180.0), (620, 5.0, 120.0)])
func erlangAConvergesToErlangCAsPatienceGrows(agents: Int, arrivalRate: Double, handleTime: Double) throws {
    let erlangC = try Erlang.performance(agents: agents, workload: .init(arrivalRate: arrivalRate, handleTime: handleTime), answerWithin: 20)
    var previousGap = Double.infinity
    for patience in [1e3, 1e5, 1e7, 1e9] {
        let erlangA = try Erlang.performance(agents: agents, workload: .init(arrivalRate: arrivalRate, handleTime: handleTime, patience: patience), answerWithin: 20)
        let gap = [
            abs(erlangA.probabilityOfWaiting - erlangC.probabilityOfWaiting),
            abs(erlangA.serviceLevel - erlangC.serviceLevel),
            abs(erlangA.averageSpeedOfAnswer - erlangC.averageSpeedOfAnswer) / erlangC.averageSpeedOfAnswer,
            abs(erlangA.occupancy - erlangC.occupancy),
            erlangA.probabilityOfAbandonment,
        ].max() ?? .infinity
        #expect(gap < previousGap)
        previousGap = gap
    }
    #expect(previousGap < 1e-6)
}

@Test func erlangAAbandonmentFallsAsPatienceGrows() throws {
    var previous = 1.0
    for patience in [5.0, 30, 120, 600, 3600] {
        let result = try Erlang.performance(agents: 10, workload: .init(arrivalRate: 100.0 / 1800, handleTime: 180, patience: patience), answerWithin: 20)
        #expect(result.probabilityOfAbandonment < previous)
        previous = result.probabilityOfAbandonment
    }
}

/// An agent-free queue answers nobody; with no arrivals nobody waits.
@Test func erlangAEdgeCases() throws {
    let nobody = try Erlang.performance(agents: 0, workload: .init(arrivalRate: 0.1, handleTime: 60, patience: 30), answerWithin: 20)
    #expect(isClose(nobody.probabilityOfWaiting, 1, within: 1e-12))
    #expect(isClose(nobody.probabilityOfAbandonment, 1, within: 1e-12))
    #expect(nobody.serviceLevel == 0)
    let idle = try Erlang.performance(agents: 3, workload: .init(arrivalRate: 0, handleTime: 60, patience: 30), answerWithin: 20)
    #expect(idle.serviceLevel == 1 && idle.probabilityOfWaiting == 0 && idle.occupancy == 0)
    // A load that is a sliver of the agents: Erlang B underflows and nobody waits.
    let quiet = try Erlang.performance(agents: 2000, workload: .init(arrivalRate: 0.001, handleTime: 60, patience: 30), answerWithin: 0)
    #expect(quiet.serviceLevel == 1 && quiet.probabilityOfAbandonment == 0)
}

// MARK: - Monotonicity and the staffing search

private let monotonicityWorkloads: [Erlang.Workload] = [
    .init(arrivalRate: 100.0 / 1800, handleTime: 180),
    .init(arrivalRate: 100.0 / 1800, handleTime: 180, patience: 120),
    .init(arrivalRate: 5, handleTime: 120, patience: 180),
    .init(arrivalRate: 2, handleTime: 300, patience: 30),
]

/// More agents never hurt: service level rises; waiting, abandonment, ASA and occupancy fall.
@Test(arguments: monotonicityWorkloads)
func measuresImproveWithEveryAgent(_ workload: Erlang.Workload) throws {
    let load = workload.offeredLoad
    let agentsRange = Int(load * 0.6)...Int(load * 1.4 + 10)
    let results = try agentsRange.map { try Erlang.performance(agents: $0, workload: workload, answerWithin: 20) }
    for (fewer, more) in zip(results, results.dropFirst()) {
        #expect(more.serviceLevel >= fewer.serviceLevel - 1e-12)
        #expect(more.probabilityOfWaiting <= fewer.probabilityOfWaiting + 1e-12)
        #expect(more.probabilityOfAbandonment <= fewer.probabilityOfAbandonment + 1e-12)
        #expect(more.averageSpeedOfAnswer <= fewer.averageSpeedOfAnswer + 1e-9)
        #expect(more.occupancy <= fewer.occupancy + 1e-12)
    }
}

@Test(arguments: monotonicityWorkloads)
func serviceLevelRisesWithTheAnswerTime(_ workload: Erlang.Workload) throws {
    let agents = Int(workload.offeredLoad) + 2
    let levels = try [0.0, 5, 20, 60, 300, 1e6].map { try Erlang.performance(agents: agents, workload: workload, answerWithin: $0).serviceLevel }
    #expect(zip(levels, levels.dropFirst()).allSatisfy { $0 <= $1 })
    #expect(levels[0] < levels[1] && levels[1] < levels[2])
    // Given long enough, everybody who does not abandon is answered.
    let eventually = try Erlang.performance(agents: agents, workload: workload, answerWithin: 1e6)
    #expect(isClose(eventually.serviceLevel, 1 - eventually.probabilityOfAbandonment, within: 1e-12))
    // Within 0 s only the arrivals answered at once count.
    let immediate = try Erlang.performance(agents: agents, workload: workload, answerWithin: 0)
    #expect(isClose(immediate.serviceLevel, 1 - immediate.probabilityOfWaiting, within: 1e-12))
}

/// The galloping-and-bisecting search returns what a plain upward walk from one agent finds.
@Test(arguments: [nil, 120.0, 30.0])
func agentsNeededEqualsAnUpwardWalk(patience: Double?) throws {
    let targets: [Erlang.Target] = [
        .init(serviceLevel: 0.8, answerWithin: 20, maxOccupancy: 0.85),
        .init(serviceLevel: 0.9, answerWithin: 60, maxOccupancy: 0.9, maxAbandonment: patience == nil ? nil : 0.02),
        .init(serviceLevel: 0.5, answerWithin: 0, maxOccupancy: 1),
    ]
    for conversationsPerHalfHour in [1.0, 5, 17, 50, 123, 400, 1000] {
        let workload = Erlang.Workload(arrivalRate: conversationsPerHalfHour / 1800, handleTime: 240, patience: patience)
        for target in targets {
            let found = try Erlang.agentsNeeded(for: workload, target: target)
            var walked = 1
            while try !Erlang.performance(agents: walked, workload: workload, answerWithin: target.answerWithin).meets(target) {
                walked += 1
            }
            #expect(found.agents == walked, "\(conversationsPerHalfHour) conversations, \(target)")
        }
    }
}

@Test func agentsNeededGrowsWithTheLoad() throws {
    let target = Erlang.Target(serviceLevel: 0.8, answerWithin: 20, maxOccupancy: 0.85, maxAbandonment: 0.05)
    for patience in [nil, 90.0] {
        let staffing = try [10.0, 50, 100, 200, 400, 800].map {
            try Erlang.agentsNeeded(for: .init(arrivalRate: $0 / 1800, handleTime: 180, patience: patience), target: target).agents
        }
        #expect(zip(staffing, staffing.dropFirst()).allSatisfy { $0 < $1 })
    }
}

@Test func agentsNeededRejectsBadTargetsAndReportsUnreachableOnes() {
    let workload = Erlang.Workload(arrivalRate: 100.0 / 1800, handleTime: 180)
    #expect(throws: StaffingError.invalidParameter(field: "serviceLevel", value: 1, allowed: "above 0 and below 1")) {
        try Erlang.agentsNeeded(for: workload, target: .init(serviceLevel: 1, answerWithin: 20))
    }
    #expect(throws: StaffingError.invalidParameter(field: "handleTime", value: 0, allowed: "a finite number above 0")) {
        try Erlang.agentsNeeded(for: .init(arrivalRate: 1, handleTime: 0), target: .init(serviceLevel: 0.8, answerWithin: 20))
    }
    // 10 Erlangs at no more than 0.00001 % occupancy would take a hundred million agents.
    #expect(throws: StaffingError.targetUnreachable(interval: nil, agentsTried: Erlang.maximumAgents)) {
        try Erlang.agentsNeeded(for: workload, target: .init(serviceLevel: 0.8, answerWithin: 20, maxOccupancy: 1e-7))
    }
    // An absurd load is reported, not converted into an overflowing agent count.
    for patience in [nil, 60.0] {
        #expect(throws: StaffingError.targetUnreachable(interval: nil, agentsTried: Erlang.maximumAgents)) {
            try Erlang.agentsNeeded(for: .init(arrivalRate: 1e300, handleTime: 180, patience: patience), target: .init(serviceLevel: 0.8, answerWithin: 20))
        }
    }
    // A tiny cap is met exactly, not within an absolute tolerance: 10 / 0.0001 = 100,000 agents.
    let capped = try? Erlang.agentsNeeded(for: workload, target: .init(serviceLevel: 0.8, answerWithin: 20, maxOccupancy: 1e-4))
    #expect(capped?.agents == 100_000)
}

// MARK: - Planner

/// Four half-hour intervals, Call Centre Helper's parameters (180 s, 80 % in 20 s, 85 % occupancy),
/// 30 % shrinkage, 30 per agent-hour, AI answering half.
private func sampleInput(patience: Double? = nil, maxAbandonment: Double? = nil) -> StaffingInput {
    StaffingInput(
        intervals: [.init(start: "09:00", conversations: 100), .init(start: "09:30", conversations: 200),
                    .init(start: "10:00", conversations: 0), .init(start: "10:30", conversations: 300)],
        intervalMinutes: 30, automatedShare: 0.5, handleTimeSeconds: 180,
        serviceLevelTarget: 0.8, answerWithinSeconds: 20, maxOccupancy: 0.85, shrinkage: 0.3,
        patienceSeconds: patience, maxAbandonment: maxAbandonment, costPerAgentHour: 30,
        aiErrorRate: 0.02, fullAutomationErrorRate: 0.1)
}

/// Expected staffing per interval from an upward walk in Python (Erlang C), cross-checked for
/// 100 conversations (10 Erlangs → 14) against the published example above. 300 conversations
/// (30 Erlangs) meet 80 % in 20 s with 35 agents but need 36 for occupancy ≤ 85 %.
@Test func planPerIntervalAndTotals() throws {
    let plan = try StaffingPlanner.plan(sampleInput())
    #expect(plan.model == .erlangC)
    #expect(plan.intervals.map(\.conversationsForPeople) == [50, 100, 0, 150])
    #expect(plan.intervals.map(\.agentsNeeded) == [8, 14, 0, 19])
    // ⌈8/0.7⌉ = 12, 14/0.7 = 20, 0, ⌈19/0.7⌉ = 28
    #expect(plan.intervals.map(\.agentsScheduled) == [12, 20, 0, 28])
    #expect(plan.agentHoursScheduled == 30)
    #expect(plan.cost == 900)
    #expect(plan.conversations == 600 && plan.conversationsForPeople == 300 && plan.conversationsForAI == 300)
    #expect(plan.expectedWrongAIAnswers == 6)
    #expect(plan.intervals.allSatisfy { $0.abandonment == nil })
    #expect(isClose(plan.intervals[1].serviceLevel, 0.88835, within: 5e-8))
    #expect(plan.intervals[2].serviceLevel == 1 && plan.intervals[2].averageSpeedOfAnswer == 0)
    #expect(plan.intervals.allSatisfy { $0.serviceLevel >= 0.8 && $0.occupancy <= 0.85 })
}

@Test func comparisonOfThreeScenarios() throws {
    let comparison = try StaffingPlanner.compare(sampleInput())
    // Without AI: 10, 20, 0, 30 Erlangs → 14, 24, 0, 36 agents → 20, 35, 0, 52 scheduled.
    #expect(comparison.withoutAI.automatedShare == 0)
    #expect(comparison.withoutAI.intervals.map(\.agentsNeeded) == [14, 24, 0, 36])
    #expect(comparison.withoutAI.intervals.map(\.agentsScheduled) == [20, 35, 0, 52])
    #expect(comparison.withoutAI.agentHoursScheduled == 53.5)
    #expect(comparison.withoutAI.cost == 1605)
    #expect(comparison.withoutAI.expectedWrongAIAnswers == 0)
    #expect(comparison.chosen == (try StaffingPlanner.plan(sampleInput())))
    // Everything automated: nobody scheduled, 600 × 10 % wrong answers expected.
    #expect(comparison.fullAutomation.intervals.allSatisfy { $0.agentsNeeded == 0 && $0.agentsScheduled == 0 })
    #expect(comparison.fullAutomation.cost == 0)
    #expect(comparison.fullAutomation.conversationsForPeople == 0)
    #expect(comparison.fullAutomation.expectedWrongAIAnswers == 60)
    #expect(comparison.withoutAI.cost > comparison.chosen.cost && comparison.chosen.cost > comparison.fullAutomation.cost)
}

/// Erlang A staffing found by an upward walk on the Python reference model (see above): with
/// 2-minute patience, 5, 10 and 15 Erlangs need 7, 12 and 17 agents; capping abandonment at 1 %
/// raises that to 10, 16 and 22 (service level 0.983606674178241 with 10 agents for 5 Erlangs).
@Test func planWithPatienceUsesErlangA() throws {
    let plan = try StaffingPlanner.plan(sampleInput(patience: 120))
    #expect(plan.model == .erlangA)
    #expect(plan.intervals.map(\.agentsNeeded) == [7, 12, 0, 17])
    #expect(plan.intervals.allSatisfy { $0.abandonment != nil })
    let capped = try StaffingPlanner.plan(sampleInput(patience: 120, maxAbandonment: 0.01))
    #expect(capped.intervals.map(\.agentsNeeded) == [10, 16, 0, 22])
    #expect(isClose(capped.intervals[0].serviceLevel, 0.983606674178241, within: 1e-9))
    #expect(capped.intervals.allSatisfy { ($0.abandonment ?? 1) <= 0.01 })
}

@Test func shrinkageRoundsUpWithoutRoundingNoise() {
    #expect(StaffingPlanner.scheduledAgents(needed: 21, shrinkage: 0.3) == 30)  // 21 / 0.7 = 30.000000000000004 in Double
    #expect(StaffingPlanner.scheduledAgents(needed: 8, shrinkage: 0.3) == 12)
    #expect(StaffingPlanner.scheduledAgents(needed: 5, shrinkage: 0) == 5)
    #expect(StaffingPlanner.scheduledAgents(needed: 0, shrinkage: 0.5) == 0)
}

/// The field named by the `invalidParameter` error that planning `input` throws, if it throws one.
private func rejectedField(_ input: StaffingInput) -> String? {
    do {
        _ = try StaffingPlanner.compare(input)
    } catch let StaffingError.invalidParameter(field, _, _) {
        return field
    } catch {}
    return nil
}

@Test func planRejectsInvalidInputNamingTheField() {
    var input = sampleInput()
    input.parameters.shrinkage = 1
    #expect(throws: StaffingError.invalidParameter(field: "shrinkage", value: 1, allowed: "at least 0 and below 1")) {
        try StaffingPlanner.plan(input)
    }
    #expect(StaffingError.invalidParameter(field: "shrinkage", value: 1, allowed: "at least 0 and below 1").description
            == "shrinkage = 1.0: must be at least 0 and below 1")
    input = sampleInput()
    input.intervals[1].conversations = -1
    #expect(throws: StaffingError.invalidConversations(interval: "09:30", position: 2, value: -1)) {
        try StaffingPlanner.compare(input)
    }
    #expect(rejectedField(sampleInput(maxAbandonment: 0.05)) == "maxAbandonment")  // abandonment needs a patience
    input = sampleInput()
    input.automatedShare = .nan
    #expect(rejectedField(input) == "automatedShare")
    input = sampleInput()
    input.parameters.handleTimeSeconds = .infinity
    #expect(rejectedField(input) == "handleTimeSeconds")
    input = sampleInput()
    input.fullAutomationErrorRate = 1.5
    #expect(rejectedField(input) == "fullAutomationErrorRate")
    input = sampleInput()
    input.intervals = []
    #expect(throws: StaffingError.noIntervals) { try StaffingPlanner.plan(input) }
    input = sampleInput()
    input.parameters.maxOccupancy = 1e-7
    #expect(throws: StaffingError.targetUnreachable(interval: "09:00", agentsTried: Erlang.maximumAgents)) {
        try StaffingPlanner.plan(input)
    }
}

@Test func plansRoundTripThroughJSON() throws {
    let input = sampleInput(patience: 120)
    let decodedInput = try JSONDecoder().decode(StaffingInput.self, from: JSONEncoder().encode(input))
    #expect(decodedInput == input)
    let comparison = try StaffingPlanner.compare(input)
    let decoded = try JSONDecoder().decode(StaffingComparison.self, from: JSONEncoder().encode(comparison))
    #expect(decoded == comparison)
}

// MARK: - CSV forecasts

@Test func parsesForecastCSV() throws {
    let text = "interval_start,channel,conversations\r\n2025-03-03 09:00,chat, 12\r\n\"2025-03-03 09:30\",chat,0\r\n2025-03-03 10:00,chat,7.5\r\n"
    let intervals = try StaffingPlanner.parseForecast(csv: text)
    #expect(intervals == [
        .init(start: "2025-03-03 09:00", conversations: 12),
        .init(start: "2025-03-03 09:30", conversations: 0),
        .init(start: "2025-03-03 10:00", conversations: 7.5),
    ])
}

@Test func forecastCSVErrorsNameTheLine() {
    let header = "interval_start,conversations\n"
    #expect(throws: StaffingError.invalidNumber(line: 3, column: "conversations", text: "abc")) {
        try StaffingPlanner.parseForecast(csv: header + "09:00,12\n09:30,abc\n")
    }
    #expect(throws: StaffingError.invalidNumber(line: 2, column: "conversations", text: "")) {
        try StaffingPlanner.parseForecast(csv: header + "09:00,\n")
    }
    #expect(StaffingError.invalidNumber(line: 3, column: "conversations", text: "abc").description == "line 3: conversations 'abc' is not a number")
    for bad in ["-4", "nan", "inf", "-inf"] {
        #expect(throws: StaffingError.negativeOrNonFinite(line: 4, column: "conversations", text: bad)) {
            try StaffingPlanner.parseForecast(csv: header + "09:00,1\n09:30,2\n10:00,\(bad)\n")
        }
    }
    #expect(throws: StaffingError.emptyField(line: 2, column: "interval_start")) {
        try StaffingPlanner.parseForecast(csv: header + " ,3\n")
    }
    #expect(throws: StaffingError.csv(.wrongFieldCount(line: 3, expected: 2, found: 3))) {
        try StaffingPlanner.parseForecast(csv: header + "09:00,1\n09:30,2,3\n")
    }
    #expect(throws: StaffingError.csv(.missingColumn("interval_start", available: ["09:00", "12"]))) {
        try StaffingPlanner.parseForecast(csv: "09:00,12\n09:30,14\n")
    }
    #expect(throws: StaffingError.csv(.empty)) { try StaffingPlanner.parseForecast(csv: "") }
    #expect(throws: StaffingError.noIntervals) { try StaffingPlanner.parseForecast(csv: header) }
}
