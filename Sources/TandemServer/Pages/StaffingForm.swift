import Foundation
import Vapor

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
