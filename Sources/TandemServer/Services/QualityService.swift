import Fluent
import Foundation
import NIOConcurrencyHelpers
import TandemCore
import Vapor

/// Audits of AI answers and the guardrail that acts on them: sampling happens inside the
/// decision's transaction, every verdict becomes a label and re-evaluates the intent, and
/// every switch is logged with its evidence.
enum QualityService {

    /// Samples an AI answer for review (more often while an intent has few audits).
    static func sampleAudit(decision: DecisionRecord, intent: String, reviewed: Int, settings: WorkspaceSettings, on db: Database) async throws {
        let messageID = decision.$message.id
        let choice = AuditSampling(baseRate: settings.auditRate).decide(audits: reviewed, seed: AuditSampling.stableHash(messageID.uuidString))
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

    /// The intent's reviewed audits: the fewer, the more of its answers `sampleAudit` samples.
    static func reviewedAudits(intent: String, on db: Database) async throws -> Int {
        try await AuditRecord.query(on: db).filter(\.$intent == intent).filter(\.$status == .reviewed).count()
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

    /// When the intent last returned to automatic answers (nil: never switched): the detector
    /// starts again from there, because evidence from before judged answers that have since been
    /// found good enough (or a model that no longer serves).
    static func restoredAt(intent: String, on db: Database) async throws -> Date? {
        try await GuardrailEventRecord.query(on: db).filter(\.$intent == intent)
            .filter(\.$kind == .restoreAuto).sort(\.$createdAt, .descending).first()?.createdAt
    }

    /// The audit verdicts the change detector reads (true: the answer was right): those reviewed
    /// since the intent last returned to automatic answers, in the order the answers were given
    /// (an audit is sampled when the AI answers). Recomputed from the rows on every evaluation
    /// rather than kept as a running statistic: it is a few thousand booleans at most, it is
    /// right by construction when two verdicts arrive at once on two nodes or a review comes in
    /// late, and a change of α, κ or the horizon applies to the whole stream at once.
    static func detectorVerdicts(intent: String, on db: Database) async throws -> [Bool] {
        var query = AuditRecord.query(on: db).filter(\.$intent == intent).filter(\.$status == .reviewed)
        if let restored = try await restoredAt(intent: intent, on: db) { query = query.filter(\.$reviewedAt > restored) }
        return try await query.sort(\.$createdAt).sort(\.$id).all().compactMap(\.correct)
    }

    /// Audit counts for an intent since it was last restored to automatic answers.
    static func counts(intent: String, on db: Database) async throws -> AuditCounts {
        let verdicts = try await detectorVerdicts(intent: intent, on: db)
        let wrong = verdicts.filter { !$0 }.count
        return AuditCounts(correct: verdicts.count - wrong, wrong: wrong)
    }

    /// The fresh evidence that can restore a guarded intent: people's verdicts since its latest
    /// switch to draft-only on answers the AI would have sent automatically. Audits reviewed
    /// since then count with their verdict; so does each agent reply that confirmed or
    /// corrected the intent of a customer message the AI predicted as this intent with
    /// confidence at or above its threshold (the console pre-selects the AI's intent, so
    /// sending the draft as it is agrees, choosing another intent disagrees). One verdict per
    /// message, an audit's before an agent's, the latest label otherwise; labels written by
    /// audits are not counted twice.
    static func sinceSwitch(intent: String, on db: Database) async throws -> AuditCounts {
        guard let switched = try await GuardrailEventRecord.query(on: db).filter(\.$intent == intent)
            .filter(\.$kind == .switchToDraft).sort(\.$createdAt, .descending).first()?.createdAt else { return .zero }
        var verdicts: [UUID: Bool] = [:]
        let labels = try await LabelRecord.query(on: db).filter(\.$predicted == intent).filter(\.$source == .agentReply)
            .filter(\.$createdAt > switched).sort(\.$createdAt).all()
        if !labels.isEmpty {
            let decisions = try await DecisionRecord.query(on: db).filter(\.$message.$id ~~ Set(labels.map(\.$message.id)))
                .filter(\.$intent == intent).all()
            let wouldAnswer = Set(decisions.filter { d in d.confidence.map { c in d.threshold.map { c >= $0 } ?? false } ?? false }.map(\.$message.id))
            for label in labels where wouldAnswer.contains(label.$message.id) { verdicts[label.$message.id] = label.intent == intent }
        }
        for audit in try await AuditRecord.query(on: db).filter(\.$intent == intent).filter(\.$status == .reviewed)
            .filter(\.$reviewedAt > switched).all() {
            if let correct = audit.correct { verdicts[audit.messageID] = correct }
        }
        let agreeing = verdicts.values.filter { $0 }.count
        return AuditCounts(correct: agreeing, wrong: verdicts.count - agreeing)
    }

    /// What the guardrail knows about an intent now.
    static func input(_ intent: IntentRecord, override: SupervisorOverride? = nil, promoted: Bool = false,
                      on db: Database) async throws -> GuardrailInput {
        GuardrailInput(intent: intent.key, verdicts: try await detectorVerdicts(intent: intent.key, on: db),
                       sinceSwitch: intent.guarded ? try await sinceSwitch(intent: intent.key, on: db) : .zero,
                       mode: intent.automation, guarded: intent.guarded, override: override, promotedSinceSwitch: promoted)
    }

    /// Runs the guardrail for one intent and applies and logs what it decides. A supervisor's
    /// override (`recordedBy`) goes into the audit log in the same transaction.
    @discardableResult
    static func evaluate(intent key: String, settings: WorkspaceSettings, actor: String?, override: SupervisorOverride? = nil,
                         recordedBy supervisor: AgentRecord? = nil, promoted: Bool = false, on db: Database) async throws -> GuardrailAction {
        try await db.writeTransaction { db in
            guard let intent = try await IntentRecord.query(on: db).filter(\.$key == key).first() else { throw AppError.notFound("Intent '\(key)'") }
            let input = try await input(intent, override: override, promoted: promoted, on: db)
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
    static func shadowDecision(_ intent: IntentSettings, settings: WorkspaceSettings, on db: Database) async throws -> ShadowDecision {
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
            let decision = try await shadowDecision(intent.settings, settings: settings, on: db)
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

    /// The guardrail at the workspace's settings. Building one searches for the detector's
    /// threshold (a few dynamic programmes over the horizon: milliseconds at the defaults, up to
    /// about a second for a 10,000-audit horizon at α = 0.1%), so each combination is built once
    /// per process. Settings are validated when saved; a stored κ that no longer fits α falls
    /// back to the largest that does rather than stopping the server.
    static func guardrail(_ settings: WorkspaceSettings) -> Guardrail {
        let alpha = settings.targetRisk, delta = 1 - settings.confidenceLevel
        let kappa = settings.guardrailKappa > 1 && settings.guardrailKappa * alpha < 1 ? settings.guardrailKappa : max(1.01, min(3, 0.99 / alpha))
        let horizon = min(max(settings.guardrailHorizon, 1), ChangeDetector.maximumHorizon)
        let key = GuardrailKey(alpha: alpha, delta: delta, kappa: kappa, horizon: horizon)
        if let built = guardrails.withLockedValue({ $0[key] }) { return built }
        let built = Guardrail(targetRisk: alpha, delta: delta, kappa: kappa, horizon: horizon)
        guardrails.withLockedValue { $0[key] = built }
        return built
    }

    private struct GuardrailKey: Hashable {
        var alpha: Double, delta: Double, kappa: Double, horizon: Int
    }
    private static let guardrails = NIOLockedValueBox<[GuardrailKey: Guardrail]>([:])

    /// The Audits page's operating characteristics (`GuardrailCharacteristics`) at the
    /// workspace's settings and a year of its audits, cached per settings and audit volume
    /// (rounded to two significant figures, so the volume creeping up does not recompute).
    static func characteristics(_ settings: WorkspaceSettings, yearlyAudits: Int) -> GuardrailCharacteristics {
        let rule = guardrail(settings)
        let year = roundedToTwoFigures(max(1, yearlyAudits))
        let key = CharacteristicsKey(alpha: rule.targetRisk, delta: rule.delta, kappa: rule.detector.kappa,
                                     horizon: rule.detector.horizon, year: year)
        if let cached = characteristicsCache.withLockedValue({ $0[key] }) { return cached }
        // About 5 million simulated audits per case (a few tenths of a second once per settings):
        // 1,000 runs up to 5,000 audits a year, fewer (at least 200) beyond.
        let computed = GuardrailCharacteristics(guardrail: rule, yearlyAudits: year, runs: min(1_000, max(200, 5_000_000 / year)))
        characteristicsCache.withLockedValue { $0[key] = computed }
        return computed
    }

    private struct CharacteristicsKey: Hashable {
        var alpha: Double, delta: Double, kappa: Double, horizon: Int, year: Int
    }
    private static let characteristicsCache = NIOLockedValueBox<[CharacteristicsKey: GuardrailCharacteristics]>([:])

    static func roundedToTwoFigures(_ n: Int) -> Int {
        guard n >= 100 else { return n }
        let scale = Int(pow(10, floor(log10(Double(n))) - 1))
        return (n + scale / 2) / scale * scale
    }

    /// The evidence of the latest switch to draft-only, for decision records.
    static func latestEvidence(intent: String, on db: Database) async throws -> [String] {
        guard let event = try await GuardrailEventRecord.query(on: db).filter(\.$intent == intent)
            .filter(\.$kind == .switchToDraft).sort(\.$createdAt, .descending).first() else { return [] }
        return event.evidence.split(separator: "\n").map(String.init)
    }
}
