import Foundation
import Testing
@testable import TandemCore

// Tests for what `tandem plan` does with a forecast: reading it, the interval length, the
// sample day, and the report's totals and comparison.

/// `tandem plan`'s defaults on `forecast`.
private func planInput(_ forecast: Forecast, share: Double = 0.72, patience: Double? = nil, intervalMinutes: Double = 30) -> StaffingInput {
    StaffingInput(intervals: forecast.intervals, intervalMinutes: intervalMinutes, automatedShare: share, handleTimeSeconds: 360,
                  serviceLevelTarget: 0.8, answerWithinSeconds: 60, maxOccupancy: 0.85, shrinkage: 0.3, patienceSeconds: patience,
                  costPerAgentHour: 30, fullAutomationErrorRate: 0.06)
}

@Suite("Plan: forecast CSV")
struct PlanForecastTests {
    private let header = "interval_start,conversations\n"

    @Test("bad rows are reported with their line", arguments: [
        ("09:00,12\n09:30,abc\n", StaffingError.invalidNumber(line: 3, column: "conversations", text: "abc")),
        ("09:00,12\n09:30,-1\n", .negativeOrNonFinite(line: 3, column: "conversations", text: "-1")),
        ("09:00,12\n09:30,\n", .invalidNumber(line: 3, column: "conversations", text: "")),
        ("09:00,12\n\"\",4\n", .emptyField(line: 3, column: "interval_start")),
        ("09:00,12\n09:30,4,5\n", .csv(.wrongFieldCount(line: 3, expected: 2, found: 3))),
        ("09:00,12\n\"09:30,4\n", .csv(.unterminatedQuote(line: 3))),
    ])
    func badRows(_ body: String, _ error: StaffingError) {
        #expect(throws: error) { try Forecast.parse(csv: header + body) }
        #expect(error.description.hasPrefix("line 3: "))
    }

    @Test("line numbers count the lines of the file, blank lines included")
    func lineNumbersSkipBlankLines() throws {
        let forecast = try Forecast.parse(csv: header + "09:00,1\n\n09:30,2\n")
        #expect(forecast.lineNumbers == [2, 4])
        #expect(throws: StaffingError.invalidNumber(line: 5, column: "conversations", text: "x")) {
            try Forecast.parse(csv: header + "09:00,1\n\n09:30,2\n10:00,x\n")
        }
    }

    @Test("headers are matched loosely; a missing column is named with what is there")
    func headers() throws {
        let forecast = try Forecast.parse(csv: "Interval Start, Conversations ,Channel\n09:00,3,chat\n")
        #expect(forecast.intervals == [.init(start: "09:00", conversations: 3)])
        #expect(throws: StaffingError.csv(.missingColumn("conversations", available: ["start", "volume"]))) {
            try Forecast.parse(csv: "start,volume\n09:00,3\n")
        }
        #expect(throws: StaffingError.noIntervals) { try Forecast.parse(csv: header) }
    }

    static let inferenceCases: [(starts: [String], minutes: Double)] = [
        (["09:00", "09:30", "10:00"], 30.0),
        (["23:00", "23:30", "00:00", "00:30"], 30),               // times of day wrap past midnight
        (["08:00", "08:15", "12:00"], 15),                         // a gap of whole intervals is allowed
        (["2025-03-03 09:00", "2025-03-03 10:00"], 60),
        (["2025-03-03T09:00:00+01:00", "2025-03-03T08:30:00Z"], 30),  // offsets are honoured
        (["2024-02-28", "2024-02-29", "2024-03-01"], 1440),         // daily, across a leap day
        (["9:00:00", "9:07:30"], 7.5),
    ]

    @Test("the interval length is inferred from consecutive starts", arguments: inferenceCases)
    func inference(_ starts: [String], _ minutes: Double) throws {
        let forecast = Forecast(intervals: starts.map { .init(start: $0, conversations: 1) })
        #expect(try forecast.inferredIntervalMinutes() == minutes)
        let inferred = try forecast.intervalMinutes(given: nil)
        #expect(inferred.minutes == minutes && inferred.inferred)
        let given = try forecast.intervalMinutes(given: minutes)
        #expect(given.minutes == minutes && !given.inferred)
    }

    @Test("starts that do not give one interval length name the line", arguments: [
        (["09:00", "09:30", "09:30"] as [String], StaffingError.startNotAfterPrevious(line: 4, start: "09:30", previous: "09:30")),
        (["2025-03-03 10:00", "2025-03-03 09:30"], .startNotAfterPrevious(line: 3, start: "2025-03-03 09:30", previous: "2025-03-03 10:00")),
        (["09:00", "09:30", "10:15"], .irregularStart(line: 4, start: "10:15", minutesAfterPrevious: 45, intervalMinutes: 30)),
        (["09:00", "nine thirty"], .invalidStart(line: 3, text: "nine thirty")),
        (["09:00", "25:00"], .invalidStart(line: 3, text: "25:00")),
        (["2025-02-29 09:00", "2025-02-29 09:30"], .invalidStart(line: 2, text: "2025-02-29 09:00")),
        (["09:00", "2025-03-03 09:30"], .invalidStart(line: 3, text: "2025-03-03 09:30")),  // forms mixed
        (["09:00"], .intervalNotInferable("the forecast has a single interval")),
    ])
    func inferenceErrors(_ starts: [String], _ error: StaffingError) {
        let forecast = Forecast(intervals: starts.map { .init(start: $0, conversations: 1) })
        #expect(throws: error) { try forecast.inferredIntervalMinutes() }
    }

    @Test("a given interval length must agree with time starts; labels are taken as they are")
    func givenLength() throws {
        let times = Forecast(intervals: ["09:00", "09:30"].map { .init(start: $0, conversations: 1) })
        #expect(throws: StaffingError.intervalMismatch(given: 60, inferred: 30)) { try times.intervalMinutes(given: 60) }
        #expect(throws: StaffingError.invalidParameter(field: "intervalMinutes", value: 0, allowed: "a finite number above 0")) {
            try times.intervalMinutes(given: 0)
        }
        let labels = Forecast(intervals: ["Mon AM", "Mon PM"].map { .init(start: $0, conversations: 1) })
        #expect(try labels.intervalMinutes(given: 240).minutes == 240)
        #expect(throws: StaffingError.invalidStart(line: 2, text: "Mon AM")) { try labels.intervalMinutes(given: nil) }
        // One interval: nothing to check the given length against.
        #expect(try Forecast(intervals: [.init(start: "09:00", conversations: 1)]).intervalMinutes(given: 30).minutes == 30)
    }
}

@Suite("Plan: sample forecast")
struct SampleForecastTests {
    @Test("48 half-hour intervals adding up to exactly the total", arguments: [0, 1, 47, 2000, 12_345])
    func totals(_ total: Int) throws {
        let sample = Forecast.sample(totalConversations: total)
        #expect(sample.intervals.count == 48)
        #expect(sample.intervals.first?.start == "00:00" && sample.intervals[19].start == "09:30" && sample.intervals.last?.start == "23:30")
        #expect(sample.intervals.reduce(0) { $0 + $1.conversations } == Double(total))
        #expect(sample.intervals.allSatisfy { $0.conversations >= 0 && $0.conversations == $0.conversations.rounded() })
        // Through CSV and back, the interval length is inferred as 30 minutes.
        let parsed = try Forecast.parse(csv: sample.csv())
        #expect(parsed.intervals == sample.intervals)
        #expect(try parsed.inferredIntervalMinutes() == 30)
    }

    @Test("a daytime curve: quiet night, busiest mid-morning, most of the day's work in office hours")
    func shape() throws {
        let counts = Forecast.sample(totalConversations: 2000).intervals.map(\.conversations)
        let busiest = try #require(counts.indices.max { counts[$0] < counts[$1] })
        #expect((18...23).contains(busiest), "busiest half hour starts at \(busiest / 2):\(busiest % 2 * 30)")  // 09:00–11:30
        let night = counts[0..<12].reduce(0, +)        // 00:00–06:00
        let office = counts[16..<36].reduce(0, +)      // 08:00–18:00
        #expect(night < 0.03 * 2000 && night > 0)
        #expect(office > 0.7 * 2000)
        #expect(counts[25] < counts[21] && counts[25] < counts[29])  // a lunch dip (12:30) between the peaks
    }
}

@Suite("Plan: totals and comparison")
struct PlanTotalsTests {
    @Test("totals are the sums of the intervals", arguments: [nil, 90.0])
    func totalsConsistent(_ patience: Double?) throws {
        let input = planInput(.sample(totalConversations: 2000), patience: patience)
        let report = try StaffingReport(input: input)
        let plan = report.plan
        #expect(plan.model == (patience == nil ? .erlangC : .erlangA))
        #expect(abs(plan.conversations - 2000) < 1e-9)
        #expect(abs(plan.conversationsForPeople + plan.conversationsForAI - plan.conversations) < 1e-9)
        #expect(abs(plan.conversationsForPeople - 560) < 1e-9)
        #expect(plan.intervals.allSatisfy { abs($0.conversationsForPeople - $0.conversations * 0.28) < 1e-9 })
        let needed = plan.intervals.reduce(0) { $0 + $1.agentsNeeded }
        let scheduled = plan.intervals.reduce(0) { $0 + $1.agentsScheduled }
        #expect(plan.agentHoursNeeded == Double(needed) / 2)
        #expect(plan.agentHoursScheduled == Double(scheduled) / 2)
        #expect(abs(plan.cost - plan.agentHoursScheduled * 30) < 1e-9)
        #expect(plan.peakAgentsScheduled == plan.intervals.map(\.agentsScheduled).max())
        #expect(plan.intervals.allSatisfy {
            $0.agentsScheduled >= $0.agentsNeeded && $0.agentsScheduled == StaffingPlanner.scheduledAgents(needed: $0.agentsNeeded, shrinkage: 0.3)
        })
        // Every interval with work meets the target, so the day as a whole does too.
        #expect(plan.intervals.allSatisfy { $0.serviceLevel >= 0.8 - 1e-9 && $0.occupancy <= 0.85 + 1e-9 })
        let serviceLevel = try #require(plan.serviceLevel)
        #expect(serviceLevel >= 0.8 && serviceLevel <= 1)
        #expect(try #require(plan.averageSpeedOfAnswer) >= 0)
        // The comparison's middle line is this plan.
        #expect(report.comparison[1].agentHoursScheduled == plan.agentHoursScheduled && report.comparison[1].cost == plan.cost)
    }

    @Test("no AI costs at least as much as the target, which costs at least as much as AI for everything",
          arguments: [0.0, 0.3, 0.72, 0.95, 1.0], [nil, 90.0])
    func ordering(_ share: Double, _ patience: Double?) throws {
        let report = try StaffingReport(input: planInput(.sample(totalConversations: 2000), share: share, patience: patience))
        let (none, target, all) = (report.comparison[0], report.comparison[1], report.comparison[2])
        #expect(report.comparison.map(\.name) == ["no AI", "AI at target", "AI answers everything"])
        #expect(report.comparison.map(\.automatedShare) == [0, share, 1])
        #expect(none.agentHoursScheduled >= target.agentHoursScheduled && target.agentHoursScheduled >= all.agentHoursScheduled)
        #expect(none.agentHoursNeeded >= target.agentHoursNeeded && target.agentHoursNeeded >= all.agentHoursNeeded)
        #expect(none.cost >= target.cost && target.cost >= all.cost)
        #expect(none.peakAgentsScheduled >= target.peakAgentsScheduled && target.peakAgentsScheduled >= all.peakAgentsScheduled)
        #expect(none.savingsVersusNoAI == 0 && target.savingsVersusNoAI == none.cost - target.cost)
        // Everything automated: nobody is scheduled, and conversations × error rate go wrong.
        #expect(all.agentHoursScheduled == 0 && all.cost == 0 && all.conversationsForPeople == 0)
        #expect(abs(try #require(all.expectedWrongAIAnswers) - 2000 * 0.06) < 1e-9)
        #expect(none.expectedWrongAIAnswers == 0)
        #expect(target.expectedWrongAIAnswers == (share == 0 ? 0 : nil))
    }

    @Test("more automation never needs more agents in any interval")
    func perIntervalMonotone() throws {
        let forecast = Forecast.sample(totalConversations: 5000)
        let plans = try [0, 0.25, 0.5, 0.72, 0.9, 1].map { try StaffingPlanner.plan(planInput(forecast, share: $0)) }
        for (fewer, more) in zip(plans, plans.dropFirst()) {
            #expect(zip(fewer.intervals, more.intervals).allSatisfy { $0.agentsNeeded >= $1.agentsNeeded })
        }
    }

    @Test("the report is one JSON object and reads back the same")
    func json() throws {
        let report = try StaffingReport(input: planInput(.sample(totalConversations: 2000)), intervalMinutesInferred: true)
        let data = try JSONEncoder().encode(report)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(Set(object.keys) == ["settings", "plan", "comparison"])
        #expect(try JSONDecoder().decode(StaffingReport.self, from: data) == report)
        #expect(report.settings.intervalMinutesInferred && report.settings.intervals == 48)
        // The parameters sit flat among the settings, as `tandem plan --json` has always printed them.
        let settings = try #require(object["settings"] as? [String: Any])
        #expect(Set(settings.keys) == ["model", "intervals", "intervalMinutes", "intervalMinutesInferred", "automatedShare",
                                       "handleTimeSeconds", "serviceLevelTarget", "answerWithinSeconds", "maxOccupancy", "shrinkage",
                                       "costPerAgentHour", "fullAutomationErrorRate"])
    }

    @Test("tandem plan's defaults are the standard parameters")
    func standardParameters() {
        let standard = StaffingParameters.standard
        #expect(standard == StaffingParameters(handleTimeSeconds: 360, serviceLevelTarget: 0.8, answerWithinSeconds: 60, maxOccupancy: 0.85,
                                               shrinkage: 0.3, costPerAgentHour: 30))
        #expect(standard.patienceSeconds == nil && standard.maxAbandonment == nil)
        let input = planInput(.sample(totalConversations: 10))
        #expect(input.parameters == standard)
    }

    @Test("the table has a row per interval, the totals and the comparison")
    func table() throws {
        let report = try StaffingReport(input: planInput(.sample(totalConversations: 2000)))
        let lines = report.table().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.contains { $0.hasPrefix("start ") && $0.contains("service level") && $0.contains("occupancy") })
        #expect(lines.filter { $0.range(of: #"^\d\d:\d\d "#, options: .regularExpression) != nil }.count == 48)
        #expect(lines.contains { $0.hasPrefix("total ") && $0.contains(" 2,000 ") && $0.contains(" 560.0 ") })
        for name in ["no AI", "AI at target", "AI answers everything"] { #expect(lines.contains { $0.hasPrefix(name + " ") }) }
        #expect(lines.contains { $0.hasPrefix("AI answers everything") && $0.hasSuffix("120") })
        let patient = try StaffingReport(input: planInput(.sample(totalConversations: 2000), patience: 90)).table()
        #expect(patient.contains("Erlang A") && patient.contains("abandon"))
    }
}
