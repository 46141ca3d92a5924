import Fluent
import Foundation
import TandemCore
import Vapor

/// Audits of AI answers, the guardrail's state and log, and quality/cost insights.
struct QualityController: RouteCollection {
    func boot(routes: RoutesBuilder) throws {
        let api = routes.grouped("api", "v1")
        let agents = api.grouped(RoleGuard(role: .agent))
        agents.get("audits", use: audits)
        agents.post("audits", ":id", use: review)
        let supervisors = api.grouped(RoleGuard(role: .supervisor))
        supervisors.get("guardrail", use: guardrail)
        supervisors.post("intents", ":key", "guardrail", "override", use: override)
        supervisors.post("intents", ":key", "shadow", "end", use: endShadow)
        supervisors.get("insights", use: insights)
    }

    struct AuditDTO: Content {
        var id: UUID
        var conversationID: UUID
        var intent: String
        var intentTitle: String?
        var status: AuditStatus
        var question: String?
        var answer: String?
        var correct: Bool?
        var correctedIntent: String?
        var sampleRate: Double
        var sampleReason: String
        var createdAt: Date?
        var reviewedAt: Date?
    }

    func audits(_ req: Request) async throws -> [AuditDTO] {
        let status = try AuditStatus.parse((try? req.query.get(String.self, at: "status")) ?? AuditStatus.pending.rawValue, field: "status")
        let audits = try await AuditRecord.list(status, limit: 200, on: req.db)
        let titles = try await req.tandem.intentTitles(on: req.db)
        var result: [AuditDTO] = []
        for audit in audits {
            // The question and the AI's answer right after it.
            let question = try await MessageRecord.find(audit.messageID, on: req.db)
            let answer: MessageRecord? = if let question { try await MessageRecord.aiAnswer(after: question, on: req.db) } else { nil }
            result.append(AuditDTO(id: try audit.requireID(), conversationID: audit.conversationID, intent: audit.intent,
                                   intentTitle: titles[audit.intent], status: audit.status, question: question?.text, answer: answer?.text,
                                   correct: audit.correct, correctedIntent: audit.correctedIntent, sampleRate: audit.sampleRate,
                                   sampleReason: audit.sampleReason, createdAt: audit.createdAt, reviewedAt: audit.reviewedAt))
        }
        return result
    }

    struct ReviewBody: Decodable {
        var correct: Bool
        var intent: String?
    }

    struct ReviewResponse: Content {
        var id: UUID
        var correct: Bool
        var label: String
        var guardrail: GuardrailAction
    }

    func review(_ req: Request) async throws -> ReviewResponse {
        let id = try req.idParameter("Audit")
        let body = try req.decoded(ReviewBody.self)
        let settings = try await req.tandem.settings(on: req.db)
        let (audit, action) = try await QualityService.review(id, correct: body.correct, correctedIntent: body.intent,
                                                              reviewer: req.agent, settings: settings, at: req.tandem.clock.now, on: req.db)
        return ReviewResponse(id: try audit.requireID(), correct: body.correct, label: audit.correctedIntent ?? audit.intent, guardrail: action)
    }

    struct IntentQuality: Content {
        var intent: String
        var title: String
        var automation: AutomationMode
        var guarded: Bool
        var estimate: ErrorEstimate
        /// The change detector has reached its threshold.
        var breached: Bool
        var detector: DetectorPath
        /// While guarded: the fresh evidence that can bring it back.
        var restore: RestoreProgress?
        /// New and in shadow mode; `shadowEvidence` says how far it is from leaving it.
        var shadow: Bool
        var shadowEvidence: [String]?
        var agreeingLabelsNeeded: Int?
    }

    struct EventDTO: Content {
        var intent: String?
        var kind: GuardrailEventKind
        var evidence: [String]
        var actor: String?
        var createdAt: Date?
    }

    struct GuardrailDTO: Content {
        var killSwitch: Bool
        var targetRisk: Double
        var confidenceLevel: Double
        var workspace: ErrorEstimate
        var intents: [IntentQuality]
        var events: [EventDTO]
    }

    func guardrail(_ req: Request) async throws -> GuardrailDTO {
        let settings = try await req.tandem.settings(on: req.db)
        let rule = QualityService.guardrail(settings)
        var intents: [IntentQuality] = []
        var total = AuditCounts.zero
        for intent in try await IntentRecord.allByTitle(on: req.db) {
            // What the guardrail would decide now, without applying it: the detector and restore progress.
            let judged = rule.evaluate(try await QualityService.input(intent, on: req.db), killSwitch: settings.killSwitch)
            total = total + judged.estimate.counts
            let shadow = intent.shadow ? try await QualityService.shadowDecision(intent.settings, settings: settings, on: req.db) : nil
            intents.append(IntentQuality(intent: intent.key, title: intent.title, automation: intent.automation, guarded: intent.guarded,
                                         estimate: ErrorEstimate(judged.estimate.counts, level: settings.confidenceLevel),
                                         breached: judged.breached, detector: judged.detector, restore: judged.restore,
                                         shadow: intent.shadow, shadowEvidence: shadow?.evidence, agreeingLabelsNeeded: shadow?.agreeingLabelsNeeded))
        }
        let events = try await GuardrailEventRecord.recent(limit: 100, on: req.db).map {
            EventDTO(intent: $0.intent, kind: $0.kind, evidence: $0.evidence.split(separator: "\n").map(String.init), actor: $0.actor, createdAt: $0.createdAt)
        }
        return GuardrailDTO(killSwitch: settings.killSwitch, targetRisk: settings.targetRisk, confidenceLevel: settings.confidenceLevel,
                            workspace: ErrorEstimate(total, level: settings.confidenceLevel), intents: intents, events: events)
    }

    struct OverrideBody: Decodable { var reason: String }

    /// The supervisor's reason for an override: required, and logged with it.
    private func overrideReason(_ req: Request) throws -> String {
        let reason = try req.decoded(OverrideBody.self).reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !reason.isEmpty, reason.count <= 1000 else { throw AppError.invalidField("reason", "1–1000 characters explaining the override") }
        return reason
    }

    /// A supervisor returns a guarded intent to automatic answers; the reason is required and logged.
    func override(_ req: Request) async throws -> GuardrailAction {
        guard let key = req.parameters.get("key") else { throw AppError.notFound("Intent") }
        let reason = try overrideReason(req)
        let settings = try await req.tandem.settings(on: req.db)
        let agent = try req.agent
        return try await QualityService.evaluate(intent: key, settings: settings, actor: agent.email,
                                                 override: SupervisorOverride(supervisor: agent.email, reason: reason), recordedBy: agent, on: req.db)
    }

    /// A supervisor takes a new intent out of shadow mode before its labels prove the target;
    /// the reason and the evidence so far are logged. Returns the logged event.
    func endShadow(_ req: Request) async throws -> EventDTO {
        guard let key = req.parameters.get("key") else { throw AppError.notFound("Intent") }
        let reason = try overrideReason(req)
        let settings = try await req.tandem.settings(on: req.db)
        let agent = try req.agent
        return try await req.db.writeTransaction { db in
            let intent = try await IntentRecord.require(key: key, on: db)
            guard intent.shadow else { throw AppError.conflict("\(key) is not in shadow mode.") }
            let evidence = ["\(agent.email) ended shadow mode: \(reason)"] + (try await QualityService.shadowDecision(intent.settings, settings: settings, on: db).evidence)
            try await QualityService.endShadow(intent, evidence: evidence, actor: agent.email, on: db)
            struct Shadow: Encodable { var shadow: Bool; var reason: String? }
            try await AuditLog.record(.shadowEnd, by: agent, target: "intent:\(key)", before: Shadow(shadow: true),
                                      after: Shadow(shadow: false, reason: reason), on: db)
            return EventDTO(intent: key, kind: .leaveShadow, evidence: evidence, actor: agent.email, createdAt: req.tandem.clock.now)
        }
    }

    struct Insights: Content {
        var conversations: Int
        var resolved: Int
        var automatedShare: Double?
        var handoffsByReason: [String: Int]
        var auditedAccuracy: Double?
        var auditedAccuracyInterval: [Double]?
        var audits: Int
        var ratingsByPath: [String: RatingSummary]
        var costPerResolved: Double?
        var currency: String
    }

    struct RatingSummary: Content {
        var count: Int
        var average: Double?
    }

    /// Quality and cost side by side over the last 90 days: the headline figures of the
    /// insights page (`InsightsSeries`, from TandemCore's `QualityMetrics`), in one object.
    func insights(_ req: Request) async throws -> Insights {
        let settings = try await req.tandem.settings(on: req.db)
        let series = try await InsightsSeries.build(on: req.db, settings: settings, artifact: nil, days: 90, now: req.tandem.clock.now)
        let overview = series.overview
        let automated = overview.automatedByDay.reduce(0) { $0 + $1.automated }
        return Insights(
            conversations: overview.conversations, resolved: overview.cost.resolved,
            automatedShare: overview.conversations == 0 ? nil : Double(automated) / Double(overview.conversations),
            handoffsByReason: Dictionary(overview.handoffsByReason.map { ($0.reason.rawValue, $0.count) }, uniquingKeysWith: +),
            auditedAccuracy: series.accuracy.accuracy, auditedAccuracyInterval: series.accuracy.interval,
            audits: series.accuracy.audited,
            ratingsByPath: Dictionary(overview.ratings.map { ($0.path.rawValue, RatingSummary(count: $0.count, average: $0.mean)) },
                                      uniquingKeysWith: { a, _ in a }),
            costPerResolved: overview.cost.costPerResolved, currency: settings.currency)
    }
}

extension GuardrailAction: Content {}
extension DetectorPath: Content {}
extension RestoreProgress: Content {}
extension ErrorEstimate: Content {}
