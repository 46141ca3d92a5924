import ArgumentParser
import Foundation
import TandemOffline
import TandemCore

struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Turn a conversation forecast into agents per interval, agent-hours and cost, with and without the AI.",
        discussion: """
            The forecast is a CSV with the columns interval_start and conversations. Queues are modelled \
            with Erlang C, or with Erlang A when --patience is given. Try it with a sample day:
              tandem plan --sample-forecast 2000 > day.csv
              tandem plan --forecast day.csv --automated-share 0.72 --ai-error-rate 0.06
            """)

    @ArgumentParser.Option(help: ArgumentHelp("Forecast CSV (columns interval_start, conversations).", valueName: "file"))
    var forecast: String?

    @ArgumentParser.Option(help: ArgumentHelp("Print a sample CSV of a typical day's 48 half-hour intervals totalling N conversations, and exit.",
                                              valueName: "n"))
    var sampleForecast: Int?

    @ArgumentParser.Option(help: "Interval length in minutes (default: inferred from consecutive starts).")
    var intervalMinutes: Double?

    @ArgumentParser.Option(help: "Share of conversations the AI answers at the chosen target, 0...1 (required with --forecast).")
    var automatedShare: Double?

    @ArgumentParser.Option(help: ArgumentHelp("Average handle time of a conversation handled by a person.", valueName: "seconds"))
    var handleTime = StaffingParameters.standard.handleTimeSeconds

    @ArgumentParser.Option(help: "Share of people-handled conversations to answer within --answer-within.")
    var serviceLevel = StaffingParameters.standard.serviceLevelTarget

    @ArgumentParser.Option(help: ArgumentHelp("Answer-time threshold of the service level.", valueName: "seconds"))
    var answerWithin = StaffingParameters.standard.answerWithinSeconds

    @ArgumentParser.Option(help: "Highest acceptable agent occupancy.")
    var maxOccupancy = StaffingParameters.standard.maxOccupancy

    @ArgumentParser.Option(help: "Share of paid time agents are unavailable (breaks, training, absence).")
    var shrinkage = StaffingParameters.standard.shrinkage

    @ArgumentParser.Option(help: ArgumentHelp("Mean customer patience; when given, queues are modelled with Erlang A.", valueName: "seconds"))
    var patience: Double?

    @ArgumentParser.Option(help: "Highest acceptable share of customers abandoning (needs --patience).")
    var maxAbandonment: Double?

    @ArgumentParser.Option(help: "Cost of one scheduled agent-hour.")
    var hourlyCost = StaffingParameters.standard.costPerAgentHour

    @ArgumentParser.Option(help: "Error rate of the AI when it answers every conversation.")
    var aiErrorRate: Double?

    @ArgumentParser.Flag(help: "Print one JSON object instead of the table.")
    var json = false

    func validate() throws {
        if let sampleForecast {
            guard sampleForecast >= 0 else { throw ValidationError("--sample-forecast must be at least 0, got \(sampleForecast)") }
            guard forecast == nil else { throw ValidationError("--sample-forecast prints a forecast; it cannot be combined with --forecast") }
        } else if forecast == nil {
            throw ValidationError("give a forecast with --forecast FILE.csv (or print a sample with --sample-forecast N)")
        } else if automatedShare == nil {
            throw ValidationError("give the share of conversations the AI answers with --automated-share (0 for none)")
        }
        if patience == nil && maxAbandonment != nil { throw ValidationError("--max-abandonment needs --patience (Erlang A)") }
    }

    func run() throws {
        if let sampleForecast {
            print(Forecast.sample(totalConversations: sampleForecast).csv(), terminator: "")
            return
        }
        do {
            let forecast = try Forecast.read(path: forecast!)
            let interval = try forecast.intervalMinutes(given: intervalMinutes)
            let parameters = StaffingParameters(
                handleTimeSeconds: handleTime, serviceLevelTarget: serviceLevel, answerWithinSeconds: answerWithin,
                maxOccupancy: maxOccupancy, shrinkage: shrinkage, patienceSeconds: patience, maxAbandonment: maxAbandonment,
                costPerAgentHour: hourlyCost)
            let input = StaffingInput(intervals: forecast.intervals, intervalMinutes: interval.minutes, automatedShare: automatedShare!,
                                      parameters: parameters, fullAutomationErrorRate: aiErrorRate)
            let report = try StaffingReport(input: input, intervalMinutesInferred: interval.inferred)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
            } else {
                print(report.table(), terminator: "")
            }
        } catch let error as StaffingError {
            throw PlanFailure(message: message(for: error))
        }
    }

    /// The flag each planner field comes from, so errors name what the user typed.
    private static let flags = [
        "intervalMinutes": "--interval-minutes", "automatedShare": "--automated-share", "handleTimeSeconds": "--handle-time",
        "serviceLevelTarget": "--service-level", "answerWithinSeconds": "--answer-within", "maxOccupancy": "--max-occupancy",
        "shrinkage": "--shrinkage", "patienceSeconds": "--patience", "maxAbandonment": "--max-abandonment",
        "costPerAgentHour": "--hourly-cost", "fullAutomationErrorRate": "--ai-error-rate",
    ]

    /// Parameter errors name the flag; errors about the forecast's content name the file.
    private func message(for error: StaffingError) -> String {
        switch error {
        case .invalidParameter(let field, let value, let allowed):
            return "\(Self.flags[field] ?? field) \(String(format: "%g", value)): must be \(allowed)"
        case .unreadableFile, .targetUnreachable:
            return error.description
        case .intervalNotInferable, .intervalMismatch, .invalidConversations, .noIntervals, .csv, .invalidNumber,
             .negativeOrNonFinite, .emptyField, .invalidStart, .startNotAfterPrevious, .irregularStart:
            return "\(forecast ?? "forecast"): \(error.description)"
        }
    }
}

/// A planning error, printed as "Error: <message>" without the usage text (the arguments parsed fine).
struct PlanFailure: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
