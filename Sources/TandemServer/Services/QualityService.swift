import Fluent
import Foundation
import TandemCore
import Vapor

/// Audits of AI answers and the guardrail that acts on them: sampling happens inside the
/// decision's transaction, every verdict becomes a label and re-evaluates the intent, and
/// every switch is logged with its evidence.
enum QualityService {

    /// Samples an AI answer for review (more often while an intent has few audits).
    static func sampleAudit(decision: DecisionRecord, intent: String, settings: WorkspaceSettings, on db: Database) async throws {
        let audits = try await AuditRecord.query(on: db).filter(\.$intent == intent).filter(\.$status == .reviewed).count()
        let messageID = decision.$message.id
        let choice = AuditSampling(baseRate: settings.auditRate).decide(audits: audits, seed: AuditSampling.stableHash(messageID.uuidString))
        guard choice.audit else { return }
        let audit = AuditRecord()
        audit.conversationID = decision.$conversation.id
        audit.messageID = messageID
        audit.decisionID = try decision.requireID()
        audit.intent = intent
        audit.status = .pending
        audit.sampleRate = choice.rate
        audit.sampleReason = choice.explanation
        try await audit.create(on: db)
    }

    /// Records a reviewer's verdict as a label and lets the guardrail re-judge the intent.
    static func review(_ auditID: UUID, correct: Bool, correctedIntent: String?, reviewer: AgentRecord,
                       settings: WorkspaceSettings, at now: Date, on db: Database) async throws -> (AuditRecord, GuardrailAction) {
        let audit = try await db.writeTransaction { db -> AuditRecord in
            guard let audit = try await AuditRecord.find(auditID, on: db) else { throw AppError.notFound("Audit") }
            guard audit.status == .pending else { throw AppError.conflict("This answer has been reviewed already.") }
            let label: String
            if correct {
                label = audit.intent
            } else {
                guard let corrected = correctedIntent, !corrected.isEmpty else { throw AppError.missingField("intent") }
                guard try await IntentRecord.query(on: db).filter(\.$key == corrected).count() > 0 || corrected == "unknown" else {
                    throw AppError.invalidField("intent", "no intent '\(corrected)' (use 'unknown' for requests the knowledge base does not cover)")
                }
                label = corrected
            }
            audit.status = .reviewed
            audit.correct = correct
            audit.correctedIntent = correct ? nil : label
            audit.reviewerID = reviewer.id
            audit.reviewedAt = now
            try await audit.save(on: db)
            if label != "unknown" {
                try await LabelRecord(messageID: audit.messageID, conversationID: audit.conversationID, intent: label,
                                      predicted: audit.intent, source: .audit, agentID: reviewer.id).create(on: db)
            }
            return audit
        }
        let action = try await evaluate(intent: audit.intent, settings: settings, actor: reviewer.email, on: db)
        return (audit, action)
    }

    /// Audit counts for an intent since it was last restored to automatic answers (evidence
    /// from before a restore judged a different model or answer).
    static func counts(intent: String, on db: Database) async throws -> AuditCounts {
        let restored = try await GuardrailEventRecord.query(on: db).filter(\.$intent == intent)
            .filter(\.$kind == .restoreAuto).sort(\.$createdAt, .descending).first()?.createdAt
        var query = AuditRecord.query(on: db).filter(\.$intent == intent).filter(\.$status == .reviewed)
        if let restored { query = query.filter(\.$reviewedAt > restored) }
        return try await verdicts(query)
    }

    /// Runs the guardrail for one intent and applies and logs what it decides. A supervisor's
    /// override (`recordedBy`) goes into the audit log in the same transaction.
    @discardableResult
    static func evaluate(intent key: String, settings: WorkspaceSettings, actor: String?, override: SupervisorOverride? = nil,
                         recordedBy supervisor: AgentRecord? = nil, promoted: Bool = false, on db: Database) async throws -> GuardrailAction {
        try await db.writeTransaction { db in
            guard let intent = try await IntentRecord.query(on: db).filter(\.$key == key).first() else { throw AppError.notFound("Intent '\(key)'") }
            let input = GuardrailInput(intent: key, audits: try await counts(intent: key, on: db), mode: intent.automation,
                                       guarded: intent.guarded, override: override, promotedSinceSwitch: promoted)
            let action = guardrail(settings).evaluate(input, killSwitch: settings.killSwitch)
            if let supervisor, let override {
                struct Guard: Encodable { var guarded: Bool; var reason: String?; var action: GuardrailAction? }
                try await AuditLog.record(.guardrailOverride, by: supervisor, target: "intent:\(key)", before: Guard(guarded: intent.guarded),
                                          after: Guard(guarded: action.kind == .none ? intent.guarded : action.guarded, reason: override.reason,
                                                       action: action), on: db)
            }
            if action.kind != .none {
                intent.guarded = action.guarded
                try await intent.save(on: db)
                if let kind = GuardrailEventKind(action.kind) {
                    try await GuardrailEventRecord(intent: key, kind: kind, evidence: action.evidence, actor: actor).create(on: db)
                }
                try await EventBus.record(.guardrail, conversationID: nil, payload: ["intent": key, "kind": action.kind.rawValue], on: db)
            }
            return action
        }
    }

    /// Correct and wrong verdicts among the reviewed audits the query selects.
    static func verdicts(_ query: QueryBuilder<AuditRecord>) async throws -> AuditCounts {
        let verdicts = try await query.filter(\.$status == .reviewed).all().compactMap(\.correct)
        return AuditCounts(correct: verdicts.filter { $0 }.count, wrong: verdicts.filter { !$0 }.count)
    }

    // MARK: Shadow mode

    /// Event kind logged when an intent leaves shadow mode.
    static let leaveShadow = "leave-shadow"

    /// People's verdicts on the AI's predictions of `intent` that it would have answered on its
    /// own (confidence at or above the threshold certified when it predicted): a label naming
    /// the same intent agrees, any other disagrees. One verdict per message, the latest label's.
    /// Predictions of earlier model versions count too: each was served only after passing the
    /// promotion check, and each tests an answer the AI would have sent.
    static func shadowCounts(intent: String, on db: Database) async throws -> AuditCounts {
        let labels = try await LabelRecord.query(on: db).filter(\.$predicted == intent).sort(\.$createdAt).all()
        guard !labels.isEmpty else { return .zero }
        let decisions = try await DecisionRecord.query(on: db).filter(\.$message.$id ~~ Set(labels.map(\.$message.id))).filter(\.$intent == intent).all()
        let wouldAnswer = Set(decisions.filter { d in d.confidence.map { c in d.threshold.map { c >= $0 } ?? false } ?? false }.map(\.$message.id))
        var verdicts: [UUID: Bool] = [:]
        for label in labels where wouldAnswer.contains(label.$message.id) { verdicts[label.$message.id] = label.intent == intent }
        return AuditCounts(correct: verdicts.values.filter { $0 }.count, wrong: verdicts.values.filter { !$0 }.count)
    }

    /// Shadow mode's verdict on an intent still in it, from the labels so far.
    static func shadowDecision(_ intent: IntentRecord, settings: WorkspaceSettings, on db: Database) async throws -> ShadowDecision {
        ShadowMode(targetRisk: settings.targetRisk, delta: 1 - settings.confidenceLevel).evaluate(
            ShadowInput(intent: intent.key, labels: try await shadowCounts(intent: intent.key, on: db), mode: intent.automation),
            killSwitch: settings.killSwitch)
    }

    /// Re-judges an intent in shadow mode after a new label and lets it leave shadow mode once
    /// the labels prove the target; the graduation is logged with its evidence. Nil when the
    /// intent is not in shadow mode.
    @discardableResult
    static func evaluateShadow(intent key: String, settings: WorkspaceSettings, actor: String?, on db: Database) async throws -> ShadowDecision? {
        try await db.writeTransaction { db in
            guard let intent = try await IntentRecord.query(on: db).filter(\.$key == key).first(), intent.shadow else { return nil }
            let decision = try await shadowDecision(intent, settings: settings, on: db)
            if decision.graduate { try await endShadow(intent, evidence: decision.evidence, actor: actor, on: db) }
            return decision
        }
    }

    /// Takes an intent out of shadow mode and logs why.
    static func endShadow(_ intent: IntentRecord, evidence: [String], actor: String?, on db: Database) async throws {
        intent.shadow = false
        try await intent.save(on: db)
        try await GuardrailEventRecord(intent: intent.key, kind: .leaveShadow, evidence: evidence, actor: actor).create(on: db)
        try await EventBus.record(.guardrail, conversationID: nil, payload: ["intent": intent.key, "kind": leaveShadow], on: db)
    }

    static func guardrail(_ settings: WorkspaceSettings) -> Guardrail {
        Guardrail(targetRisk: settings.targetRisk, delta: 1 - settings.confidenceLevel)
    }

    /// The evidence of the latest switch to draft-only, for decision records.
    static func latestEvidence(intent: String, on db: Database) async throws -> [String] {
        guard let event = try await GuardrailEventRecord.query(on: db).filter(\.$intent == intent)
            .filter(\.$kind == .switchToDraft).sort(\.$createdAt, .descending).first() else { return [] }
        return event.evidence.split(separator: "\n").map(String.init)
    }
}
