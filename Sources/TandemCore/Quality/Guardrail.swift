import Foundation

/// A supervisor's decision to put (or keep) an intent on automatic answers against the
/// guardrail. It only counts with a reason: the reason is what a later reader of the audit
/// trail needs to judge the decision.
public struct SupervisorOverride: Codable, Sendable, Equatable {
    /// Who decided, so the audit trail names a person.
    public var supervisor: String
    /// Why: required, because an unexplained override cannot be reviewed.
    public var reason: String

    public init(supervisor: String, reason: String) {
        self.supervisor = supervisor
        self.reason = reason
    }

    /// False for an empty or blank reason; such an override is ignored.
    public var hasReason: Bool { !reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
}

/// What the guardrail knows about one intent.
public struct GuardrailInput: Codable, Sendable, Equatable {
    /// The intent's key, as in `IntentSettings.key`.
    public var intent: String
    /// Verdicts of the audits of the intent's automated answers (true: the answer was right),
    /// in the order the answers were given, since the intent last returned to automatic answers.
    /// Evidence from before a return judged answers that have since been found good enough (or a
    /// model that no longer serves), so it must not be passed.
    public var verdicts: [Bool]
    /// While guarded: people's verdicts since the switch to draft-only on answers the AI would
    /// have sent (agents' intent labels on its drafts, and audits reviewed since). The evidence
    /// that can bring the intent back on its own.
    public var sinceSwitch: AuditCounts
    /// The intent's automation mode as the admins set it (`IntentSettings.automation`).
    public var mode: AutomationMode
    /// The guardrail has switched the intent to draft-only (it is in
    /// `WorkspaceState.guardrailDraftOnly`).
    public var guarded: Bool
    /// A supervisor override in force, if any.
    public var override: SupervisorOverride?
    /// A retrained model has passed the promotion check since the guardrail switched the intent.
    public var promotedSinceSwitch: Bool

    public init(intent: String, verdicts: [Bool] = [], sinceSwitch: AuditCounts = .zero, mode: AutomationMode = .auto,
                guarded: Bool = false, override: SupervisorOverride? = nil, promotedSinceSwitch: Bool = false) {
        self.intent = intent
        self.verdicts = verdicts
        self.sinceSwitch = sinceSwitch
        self.mode = mode
        self.guarded = guarded
        self.override = override
        self.promotedSinceSwitch = promotedSinceSwitch
    }

    /// The verdicts' counts.
    public var audits: AuditCounts {
        let wrong = verdicts.lazy.filter { !$0 }.count
        return AuditCounts(correct: verdicts.count - wrong, wrong: wrong)
    }
}

/// How far a guarded intent's fresh evidence is from bringing it back.
public struct RestoreProgress: Codable, Sendable, Equatable {
    /// People's verdicts since the switch (right: agreeing, wrong: disagreeing).
    public var verdicts: ErrorEstimate
    /// Further agreeing verdicts (with no further disagreement) needed to certify error ≤ α; 0
    /// when certified.
    public var agreeingNeeded: Int
    /// The one-sided Clopper–Pearson bound at 1−δ is at most α: the intent may answer again.
    public var certified: Bool
}

/// What the guardrail does to one intent, with the evidence.
public struct GuardrailAction: Codable, Sendable, Equatable {
    /// What the guardrail does; raw values are stored in the event log, so never rename them.
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// Put the intent in the guardrail's draft-only set: the AI drafts, a person sends.
        case switchToDraft = "switch-to-draft"
        /// Take the intent out of the guardrail's draft-only set: it returns to the admins' mode.
        case restoreAuto = "restore-auto"
        /// Leave the intent as it is.
        case none
    }

    /// The intent's key.
    public var intent: String
    /// What changed; only `switchToDraft` and `restoreAuto` need recording as events.
    public var kind: Kind
    /// Whether the intent is in the guardrail's draft-only set after the action.
    public var guarded: Bool
    /// How routing treats the intent after the action: `.off` under the kill switch, else the
    /// admins' mode, narrowed to `.draftOnly` while guarded.
    public var routing: AutomationMode
    /// The audits' error estimate at the guardrail's confidence level (shown, not the rule).
    public var estimate: ErrorEstimate
    /// The change detector over the audits: the rule that switches.
    public var detector: DetectorPath
    /// For an intent that was guarded: its fresh evidence, the rule that restores.
    public var restore: RestoreProgress?
    /// Sentences with the numbers: counts, the detector's evidence against its threshold, and
    /// the rule that decided.
    public var evidence: [String]

    /// The detector has found evidence that the error rate rose to κ·α.
    public var breached: Bool { detector.alarmAt != nil }
}

/// The guardrail's verdict on a workspace.
public struct GuardrailReport: Codable, Sendable, Equatable {
    /// Whether the kill switch was on: it overrides every routing below.
    public var killSwitch: Bool
    /// α the audits were judged against.
    public var targetRisk: Double
    /// δ: the chance of a false demotion within the horizon, and the certification's 1 − confidence.
    public var delta: Double
    /// One action per intent, in input order.
    public var actions: [GuardrailAction]
    /// One decision per intent in shadow mode, in input order.
    public var shadow: [ShadowDecision]
    /// The workspace state after the actions, ready for `RoutingPolicy`: the intents the guardrail
    /// switched and the intents still in shadow mode, in separate sets so a decision names which
    /// of the two held the intent.
    public var workspace: WorkspaceState
}

/// Watches every automated intent's audits and takes the AI off automatic answers on evidence
/// that its error rate has risen above the target, and puts it back on evidence that it is
/// within it again.
///
/// Rules, for target risk α, confidence 1−δ (the workspace's certification settings), and the
/// detector's κ and horizon (workspace settings, 3 and 700 audits by default):
///
/// 1. **Switch to draft-only** an automated intent (mode `auto`, not yet guarded) when its
///    `ChangeDetector` alarms on the audits since it last returned to automatic answers: a
///    CUSUM testing H0 error ≤ α against H1 error ≥ κ·α. It demotes on evidence that quality
///    is worse than the target, not on failing to prove that it is better: one wrong answer
///    never demotes (at α = 1%, κ = 3 it takes 4 wrong answers close together, more if there
///    are correct ones in between), and an intent whose error rate stays at or below α is
///    demoted within its first `horizon` audits with probability at most δ (see
///    `ChangeDetector` for the exact statement).
/// 2. A guarded intent is **restored** when its fresh evidence certifies the target: people's
///    verdicts since the switch, on answers the AI would have sent (agents confirm or correct
///    the intent of each draft they send; audits still reviewed), have a one-sided
///    Clopper–Pearson upper bound at 1−δ of at most α, the standard shadow mode uses (at α = 1%,
///    δ = 5%: 299 agreeing verdicts with no disagreement, 473 with one). It is also restored when
///    a retrained model has passed the promotion check since the switch, or by a supervisor
///    override with a non-blank reason. The passing of time alone never brings it back.
/// 3. While a supervisor override with a reason is in force on an automated intent, rule 1
///    does not switch it (otherwise override and guardrail would undo each other on every
///    run); the evidence still shows the alarm, so it stays visible until the supervisor lifts
///    the override. Overrides without a reason are ignored.
/// 4. Intents the admins set to `draft-only` or `off` answer nothing automatically, so rule 1
///    does not apply to them.
/// 5. The workspace **kill switch** sends every message to a person (routing `.off` for
///    every intent). It does not pause the bookkeeping: switches and restores are still
///    decided on the evidence, so lifting the kill switch returns to the state the evidence
///    supports.
public struct Guardrail: Codable, Sendable, Equatable {
    /// α: the highest acceptable error rate of automated answers.
    public var targetRisk: Double
    /// δ: the false-demotion chance within the horizon, and the restore certification's 1 − confidence.
    public var delta: Double
    /// The change detector of rule 1.
    public var detector: ChangeDetector

    /// - Precondition: as `ChangeDetector.init`.
    public init(targetRisk: Double, delta: Double, kappa: Double = ChangeDetector.defaultKappa,
                horizon: Int = ChangeDetector.defaultHorizon) {
        self.init(detector: ChangeDetector(targetRisk: targetRisk, delta: delta, kappa: kappa, horizon: horizon))
    }

    /// A guardrail around a detector already built (its threshold search is the costly part).
    public init(detector: ChangeDetector) {
        targetRisk = detector.targetRisk
        delta = detector.delta
        self.detector = detector
    }

    /// Judges every automated intent and every intent in shadow mode (with the same α and δ),
    /// and returns the workspace state routing should use.
    public func evaluate(_ intents: [GuardrailInput], shadow: [ShadowInput] = [], killSwitch: Bool = false) -> GuardrailReport {
        let actions = intents.map { evaluate($0, killSwitch: killSwitch) }
        let shadowMode = ShadowMode(targetRisk: targetRisk, delta: delta)
        let shadowDecisions = shadow.map { shadowMode.evaluate($0, killSwitch: killSwitch) }
        let workspace = WorkspaceState(killSwitch: killSwitch, guardrailDraftOnly: Set(actions.filter(\.guarded).map(\.intent)),
                                       shadowDraftOnly: Set(shadowDecisions.filter { !$0.graduate }.map(\.intent)))
        return GuardrailReport(killSwitch: killSwitch, targetRisk: targetRisk, delta: delta, actions: actions,
                               shadow: shadowDecisions, workspace: workspace)
    }

    /// Judges one automated intent; see the rules above.
    public func evaluate(_ input: GuardrailInput, killSwitch: Bool = false) -> GuardrailAction {
        let estimate = ErrorEstimate(input.audits, level: 1 - delta)
        let path = detector.run(input.verdicts)
        let intent = input.intent
        let override = input.override.flatMap { $0.hasReason ? $0 : nil }
        var evidence = killSwitch ? ["the workspace kill switch is on: every message goes to a person"] : []
        evidence.append(summary(intent, estimate))
        evidence.append(describe(path))

        var restore: RestoreProgress?
        let kind: GuardrailAction.Kind
        if input.guarded {
            let progress = restoreProgress(input.sinceSwitch)
            restore = progress
            evidence.append(describe(progress, intent: intent))
            if let override {
                kind = .restoreAuto
                evidence.append("supervisor \(override.supervisor) overrode the guardrail: \(override.reason)")
            } else if input.promotedSinceSwitch {
                kind = .restoreAuto
                evidence.append("a retrained model passed the promotion check since \(intent) was switched to draft-only")
            } else if progress.certified {
                kind = .restoreAuto
                evidence.append("people's verdicts since the switch certify an error rate of at most α \(percent(targetRisk)) "
                    + "with \(level) confidence: \(intent) returns to automatic answers")
            } else {
                kind = .none
                evidence.append("\(intent) stays draft-only until people's verdicts on its drafts certify α (at least "
                    + "\(progress.agreeingNeeded) more agreeing), a retrained model passes the promotion check, "
                    + "or a supervisor overrides with a reason")
            }
        } else if input.mode != .auto {
            kind = .none
            evidence.append("automation is \(input.mode.rawValue) for \(intent): no automated answers to guard")
        } else if let at = path.alarmAt {
            if let override {
                kind = .none
                evidence.append("the detector alarmed at audit \(at), but supervisor \(override.supervisor) keeps \(intent) automatic: \(override.reason)")
            } else {
                kind = .switchToDraft
                evidence.append("evidence that the error rate rose to \(percent(detector.kappa * targetRisk)) or more reached the "
                    + "threshold at audit \(at): \(intent) switched to draft-only")
            }
        } else {
            kind = .none
            evidence.append("no evidence that the error rate exceeds α \(percent(targetRisk)): automated answers continue")
        }
        if let ignored = input.override, !ignored.hasReason {
            evidence.append("the override by \(ignored.supervisor) has no reason and is ignored")
        }

        let guarded = switch kind {
        case .switchToDraft: true
        case .restoreAuto: false
        case .none: input.guarded
        }
        let routing: AutomationMode = killSwitch ? .off : (input.mode == .auto && guarded ? .draftOnly : input.mode)
        return GuardrailAction(intent: intent, kind: kind, guarded: guarded, routing: routing, estimate: estimate,
                               detector: path, restore: restore, evidence: evidence)
    }

    /// Rule 2's certification, on people's verdicts since the switch: shadow mode's standard.
    public func restoreProgress(_ sinceSwitch: AuditCounts) -> RestoreProgress {
        let needed = ShadowMode(targetRisk: targetRisk, delta: delta).agreeingLabelsNeeded(after: sinceSwitch)
        return RestoreProgress(verdicts: ErrorEstimate(sinceSwitch, level: 1 - delta), agreeingNeeded: needed, certified: needed == 0)
    }

    private var level: String { String(format: "%g%%", (1 - delta) * 100) }

    private func summary(_ intent: String, _ estimate: ErrorEstimate) -> String {
        guard let rate = estimate.errorRate else { return "\(intent): no audited answers yet" }
        return "\(intent): \(estimate.wrong) wrong of \(estimate.audited) audited (\(percent(rate))); "
            + "\(level) upper bound \(percent(estimate.upperBound)), α \(percent(targetRisk))"
    }

    private func describe(_ path: DetectorPath) -> String {
        let against = "evidence that the error rate is \(percent(detector.kappa * targetRisk)) or more rather than at most "
            + "\(percent(targetRisk)): \(String(format: "%.2f", path.evidence)) of the \(String(format: "%.2f", path.evidenceNeeded)) "
            + "needed to switch (\(Int((path.progress * 100).rounded(.down)))%)"
        guard path.score > 0 else { return against }
        return against + "; it rests on audits \(path.runStart)–\(path.audits), \(path.runWrong) of \(path.runAudits) wrong"
    }

    private func describe(_ progress: RestoreProgress, intent: String) -> String {
        let v = progress.verdicts
        guard let rate = v.errorRate else { return "no verdicts on \(intent)'s drafts or audits since the switch yet" }
        return "since the switch people found \(v.wrong) of \(v.audited) of \(intent)'s would-be answers wrong (\(percent(rate))); "
            + "\(level) upper bound \(percent(v.upperBound)), α \(percent(targetRisk))"
    }
}

/// The rule the guardrail used before the change detector, kept only to compare the two
/// (`GuardrailSimulation`): switch when the one-sided Clopper–Pearson upper bound at 1−δ on the
/// audited error rate exceeds α and at least one audit was wrong.
public struct LegacyGuardrail: Codable, Sendable, Equatable {
    public var targetRisk: Double
    public var delta: Double

    public init(targetRisk: Double, delta: Double) {
        self.targetRisk = targetRisk
        self.delta = delta
    }

    /// The old rule 1 on pooled counts.
    public func breached(_ audits: AuditCounts) -> Bool {
        audits.wrong >= 1 && Binomial.upperBound(errors: audits.wrong, trials: audits.audited, delta: delta) > targetRisk
    }

    /// The fewest audits with `wrong` wrong ones at which the old rule stops firing (the bound
    /// falls as audits are added, so the rule fires exactly below this count).
    public func auditsToClear(wrong: Int) -> Int {
        wrong + ShadowMode(targetRisk: targetRisk, delta: delta).agreeingLabelsNeeded(after: AuditCounts(correct: 0, wrong: wrong))
    }
}

private func percent(_ share: Double) -> String {
    String(format: "%.2f%%", share * 100)
}
