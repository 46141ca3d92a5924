import Fluent
import Foundation
import TandemCore
import Vapor

/// What the staffing planner is asked: the same inputs as `tandem plan`, named as the
/// `StaffingInput` and `StaffingParameters` fields they become. Every field is optional;
/// `StaffingService.defaults` fills the gaps from the workspace, the serving model and
/// `StaffingParameters.standard`.
struct StaffingRequest: Content, Equatable {
    /// Forecast CSV (interval_start, conversations). Without it, a typical day of
    /// `sampleConversations` conversations in 48 half-hour intervals is planned.
    var forecast: String?
    var sampleConversations: Int?
    var intervalMinutes: Double?
    var automatedShare: Double?
    var handleTimeSeconds: Double?
    var serviceLevelTarget: Double?
    var answerWithinSeconds: Double?
    var maxOccupancy: Double?
    var shrinkage: Double?
    var patienceSeconds: Double?
    var maxAbandonment: Double?
    var costPerAgentHour: Double?
    /// Share of the AI's answers expected to be wrong at `automatedShare`.
    var aiErrorRate: Double?
    var fullAutomationErrorRate: Double?
}

extension StaffingRequest {
    /// The request's service targets and costs, each one it leaves out taken from `defaults`.
    func parameters(defaults d: StaffingParameters = .standard) -> StaffingParameters {
        StaffingParameters(handleTimeSeconds: handleTimeSeconds ?? d.handleTimeSeconds,
                           serviceLevelTarget: serviceLevelTarget ?? d.serviceLevelTarget,
                           answerWithinSeconds: answerWithinSeconds ?? d.answerWithinSeconds,
                           maxOccupancy: maxOccupancy ?? d.maxOccupancy, shrinkage: shrinkage ?? d.shrinkage,
                           patienceSeconds: patienceSeconds ?? d.patienceSeconds, maxAbandonment: maxAbandonment ?? d.maxAbandonment,
                           costPerAgentHour: costPerAgentHour ?? d.costPerAgentHour)
    }

    /// Sets every parameter field to `parameters`' value.
    mutating func set(_ parameters: StaffingParameters) {
        handleTimeSeconds = parameters.handleTimeSeconds
        serviceLevelTarget = parameters.serviceLevelTarget
        answerWithinSeconds = parameters.answerWithinSeconds
        maxOccupancy = parameters.maxOccupancy
        shrinkage = parameters.shrinkage
        patienceSeconds = parameters.patienceSeconds
        maxAbandonment = parameters.maxAbandonment
        costPerAgentHour = parameters.costPerAgentHour
    }
}

/// A plan and the numbers its charts need: the report `tandem plan --json` prints, the people
/// each interval needs with no AI (for the chart), and where the defaults came from.
struct StaffingResult: Content {
    var request: StaffingRequest
    var report: StaffingReport
    /// Agents scheduled per interval with no AI, aligned with `report.plan.intervals`.
    var scheduledWithoutAI: [Int]
    /// Sentences on where the defaults came from (the serving model, recent traffic).
    var sources: [String]
}

/// The staffing planner behind `/console/staffing` and `POST /api/v1/staffing/plan`: the
/// planner of `tandem plan` (TandemCore's `StaffingReport`), with defaults from the workspace.
enum StaffingService {
    static let defaultSampleConversations = 2_000
    /// Below this many conversations a day, recent traffic is too thin to be a useful sample day.
    static let minimumObservedPerDay = 50.0

    /// The request with every missing field filled: the automated share at the workspace's
    /// target from the serving model's frontier, its error rate when answering everything from
    /// its cross-validated accuracy, a sample day at the recent volume (or 2,000), and the
    /// planner's usual service targets.
    static func defaults(for request: StaffingRequest, settings: WorkspaceSettings, artifact: ModelArtifact?,
                         on db: Database, now: Date) async throws -> (StaffingRequest, sources: [String]) {
        var r = request
        var sources: [String] = []
        if r.forecast?.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ?? true {
            r.forecast = nil
            if r.sampleConversations == nil {
                let days = 14.0
                let from = now.addingTimeInterval(-days * 86_400)
                let recent = Double(try await ConversationRecord.query(on: db).filter(\.$createdAt >= from).count()) / days
                if recent >= minimumObservedPerDay {
                    r.sampleConversations = Int(recent.rounded())
                    sources.append("Sample day at the last 14 days' volume: \(Int(recent.rounded())) conversations a day.")
                } else {
                    r.sampleConversations = defaultSampleConversations
                    sources.append("Sample day of \(defaultSampleConversations) conversations (the last 14 days averaged "
                        + String(format: "%.1f", recent) + " a day, too few to plan from).")
                }
            }
        }
        let certified = artifact.flatMap {
            InsightsSeries.frontier(of: $0, targetRisk: settings.targetRisk, costs: InsightsSeries.Settings(settings).costs,
                                    conversationsPerDay: 0, aiMessagesPerConversation: 1)?.points.first(where: \.current)
        }
        if r.automatedShare == nil {
            if let artifact, let certified {
                r.automatedShare = (certified.automatedShare * 1_000).rounded() / 1_000
                sources.append("AI share \(DisplayFormat.percent(certified.automatedShare, 1)): what model \(artifact.version) is certified "
                    + "to answer at the \(DisplayFormat.percent(1 - settings.targetRisk, 1)) target accuracy.")
            } else {
                r.automatedShare = 0
                sources.append("AI share 0%: no model is serving.")
            }
        }
        // Up to the certified share, the guarantee bounds the AI's error rate by the target.
        if r.aiErrorRate == nil, let certified, certified.threshold != nil, (r.automatedShare ?? 0) <= certified.automatedShare + 1e-9 {
            r.aiErrorRate = settings.targetRisk
            sources.append("Wrong AI answers at the target: at most \(DisplayFormat.percent(settings.targetRisk, 1)) of the AI's answers, "
                + "the workspace target its threshold is certified for.")
        }
        if r.fullAutomationErrorRate == nil, let artifact {
            let rate = max(0, 1 - artifact.report.crossValidatedAccuracy)
            r.fullAutomationErrorRate = (rate * 10_000).rounded() / 10_000
            sources.append("If the AI answered everything, about \(DisplayFormat.percent(rate, 1)) of its answers would be wrong "
                + "(model \(artifact.version), cross-validated).")
        }
        r.set(r.parameters(defaults: .standard))
        return (r, sources)
    }

    /// Plans a request whose defaults are filled (`defaults(for:…)`; parameters still missing
    /// take `StaffingParameters.standard`). Errors name the field
    /// (or the forecast's line) that is wrong.
    static func plan(_ r: StaffingRequest, sources: [String] = []) throws -> StaffingResult {
        do {
            let forecast: Forecast
            if let csv = r.forecast {
                guard csv.utf8.count <= 1_000_000 else { throw AppError.tooLarge(limit: 1_000_000, what: "forecast") }
                forecast = try Forecast.parse(csv: csv)
            } else {
                let total = r.sampleConversations ?? defaultSampleConversations
                guard (0...10_000_000).contains(total) else { throw AppError.invalidField("sampleConversations", "0–10,000,000 conversations a day") }
                forecast = Forecast.sample(totalConversations: total)
            }
            if r.maxAbandonment != nil && r.patienceSeconds == nil {
                throw AppError.invalidField("maxAbandonment", "needs patienceSeconds (abandonment is modelled with Erlang A)")
            }
            let interval = try forecast.intervalMinutes(given: r.intervalMinutes)
            guard let share = r.automatedShare else { throw AppError.missingField("automatedShare") }
            let input = StaffingInput(intervals: forecast.intervals, intervalMinutes: interval.minutes, automatedShare: share,
                                      parameters: r.parameters(), aiErrorRate: r.aiErrorRate, fullAutomationErrorRate: r.fullAutomationErrorRate)
            let plans = try StaffingPlanner.compare(input)
            return StaffingResult(request: r, report: StaffingReport(input: input, plans: plans, intervalMinutesInferred: interval.inferred),
                                  scheduledWithoutAI: plans.withoutAI.intervals.map(\.agentsScheduled), sources: sources)
        } catch let error as StaffingError {
            throw appError(error)
        }
    }

    /// A planner error as a field error: parameters by their field, the forecast's content by
    /// the forecast (its description names the line).
    static func appError(_ error: StaffingError) -> AppError {
        switch error {
        case .invalidParameter(let field, let value, let allowed):
            return .invalidField(field, "\(String(format: "%g", value)) is not allowed: must be \(allowed)")
        case .targetUnreachable:
            return .invalidField("serviceLevelTarget", error.description)
        case .intervalNotInferable, .intervalMismatch:
            return .invalidField("intervalMinutes", error.description)
        case .invalidConversations, .noIntervals, .csv, .invalidNumber, .negativeOrNonFinite, .emptyField, .invalidStart,
             .startNotAfterPrevious, .irregularStart, .unreadableFile:
            return .invalidField("forecast", error.description)
        }
    }
}
