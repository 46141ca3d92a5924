import Fluent
import Foundation
import TandemCore

/// `/console/audits` (audits.leaf): the review queue of sampled AI answers; audits.js loads
/// and reviews them through the API. Supervisors also see what the guardrail's settings mean in
/// practice, computed by simulating it (`GuardrailCharacteristics`).
struct AuditsPage: Encodable {
    var title = "Audits"
    var agent: PageAgent
    /// Sampled answers waiting for a verdict.
    var pending: Int
    /// The guardrail's settings in one sentence, for supervisors.
    var guardrailRule: String?
    /// Its operating characteristics at this workspace's audit volume, one sentence each.
    var guardrailFigures: [String]

    static func load(agent: AgentRecord, settings: WorkspaceSettings, now: Date, on db: Database) async throws -> AuditsPage {
        let pending = try await AuditRecord.count(.pending, on: db)
        guard agent.role >= .supervisor else { return AuditsPage(agent: PageAgent(agent), pending: pending, guardrailRule: nil, guardrailFigures: []) }
        // A year of audits at the pace of the busiest intent (the most exposed to a false
        // switch) over the last 90 days; 2,000 until there is a pace to go by.
        let recent = try await AuditRecord.reviewedPerIntent(since: now.addingTimeInterval(-90 * 86_400), on: db)
        let busiest = recent.values.max() ?? 0
        let yearly = busiest == 0 ? 2_000 : Int((Double(busiest) * 365 / 90).rounded())
        let figures = QualityService.characteristics(settings, yearlyAudits: yearly)
        let rule = QualityService.guardrail(settings)
        let pct = { (v: Double) in String(format: "%g%%", v * 100) }
        let sentence = "An intent returns to drafts for people when its audits show evidence that its error rate is "
            + "\(pct(rule.detector.kappa * rule.targetRisk)) or more (\(String(format: "%g", rule.detector.kappa)) times the "
            + "\(pct(rule.targetRisk)) target); at or below the target, the chance of that happening by mistake within its first "
            + "\(rule.detector.horizon) audits is at most \(pct(rule.delta)). It answers again on its own once people's verdicts on its "
            + "drafts show the target is met with \(pct(1 - rule.delta)) confidence."
        let pace = busiest == 0 ? "No audits were reviewed in the last 90 days, so a year is taken as 2,000 audits."
            : "A year is \(figures.yearlyAudits) audits: the busiest intent's \(busiest) in the last 90 days, scaled to a year."
        return AuditsPage(agent: PageAgent(agent), pending: pending, guardrailRule: sentence,
                          guardrailFigures: figures.sentences + [pace + " Simulated, \(figures.atTarget.runs) runs each."])
    }
}
