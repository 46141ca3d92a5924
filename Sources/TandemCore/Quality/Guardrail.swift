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
    /// Audits of automated answers given by the model now serving. After a promotion the old
    /// model's audits describe a model that no longer answers, so they must not be passed.
    public var audits: AuditCounts
    /// The intent's automation mode as the admins set it (`IntentSettings.automation`).
    public var mode: AutomationMode
    /// The guardrail has switched the intent to draft-only (it is in
    /// `WorkspaceState.guardrailDraftOnly`).
    public var guarded: Bool
    /// A supervisor override in force, if any.
    public var override: SupervisorOverride?
    /// A retrained model has passed the promotion check since the guardrail switched the intent.
    public var promotedSinceSwitch: Bool

    public init(intent: String, audits: AuditCounts, mode: AutomationMode = .auto, guarded: Bool = false,
                override: SupervisorOverride? = nil, promotedSinceSwitch: Bool = false) {
        self.intent = intent
        self.audits = audits
        self.mode = mode
        self.guarded = guarded
        self.override = override
        self.promotedSinceSwitch = promotedSinceSwitch
    }
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
    /// The audits' error estimate at the guardrail's confidence level.
    public var estimate: ErrorEstimate
    /// Sentences with the numbers: counts, estimate, bound against α, and the rule that decided.
    public var evidence: [String]
}

/// The guardrail's verdict on a workspace.
public struct GuardrailReport: Codable, Sendable, Equatable {
    /// Whether the kill switch was on: it overrides every routing below.
    public var killSwitch: Bool
    /// α the audits were judged against.
    public var targetRisk: Double
    /// δ: bounds hold with confidence 1−δ.
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

/// Watches the audited error rate of every automated intent and takes the AI off automatic
/// answers where the audits no longer support the guarantee.
///
/// Rules, for target risk α and confidence 1−δ (the workspace's certification settings):
///
/// 1. **Switch to draft-only** an automated intent (mode `auto`, not yet guarded) when the
///    one-sided Clopper–Pearson upper bound on its audited error rate at 1−δ exceeds α *and*
///    the audits found at least `minimumWrong` wrong answers (default 1; 0 acts on the bound
///    alone).
///    The minimum matters because of how the bound behaves with little evidence: with no
///    errors at all it only drops to α after n ≥ ln δ / ln(1−α) audits (299 for α = 1%,
///    δ = 5%), so on the bound alone every intent would be switched off while its first
///    audits come in. Failing to *prove* the error rate is low is not evidence that it is high;
///    a wrong answer is. Once a wrong answer is found the rule is strict on purpose: at α = 1%,
///    δ = 5%, one wrong answer trips it until the intent has 473 audits, two until 628.
///    Raise `minimumWrong` to tolerate isolated mistakes at the cost of reacting later. New
///    intents, which have no evidence either way, belong in `ShadowMode`, where the burden of
///    proof is the other way round.
/// 2. A guarded intent is **restored** only when a retrained model has passed the promotion
///    check since the switch, or a supervisor override with a non-blank reason is in force.
///    Nothing else — in particular not the passing of time — brings it back.
/// 3. While a supervisor override with a reason is in force on an automated intent, rule 1
///    does not switch it (otherwise override and guardrail would undo each other on every
///    run); the evidence still says the bound exceeds α, so the breach stays visible until the
///    supervisor lifts the override. Overrides without a reason are ignored.
/// 4. Intents the admins set to `draft-only` or `off` answer nothing automatically, so rule 1
///    does not apply to them.
/// 5. The workspace **kill switch** sends every message to a person (routing `.off` for
///    every intent). It does not pause the bookkeeping: switches and restores are still
///    decided on the evidence, so lifting the kill switch returns to the state the evidence
///    supports.
public struct Guardrail: Codable, Sendable, Equatable {
    /// α: the highest acceptable error rate of automated answers.
    public var targetRisk: Double
    /// δ: the bound holds with confidence 1−δ.
    public var delta: Double
    /// Wrong answers needed, together with a bound above α, before switching; 0 switches on the
    /// bound alone, which holds every intent at draft-only until its audits prove the bound.
    public var minimumWrong: Int

    /// - Precondition: `targetRisk` and `delta` are in (0, 1), `minimumWrong >= 0`.
    public init(targetRisk: Double, delta: Double, minimumWrong: Int = 1) {
        precondition(targetRisk > 0 && targetRisk < 1, "target risk must be in (0, 1)")
        precondition(delta > 0 && delta < 1, "delta must be in (0, 1)")
        precondition(minimumWrong >= 0, "the minimum number of wrong answers cannot be negative")
        self.targetRisk = targetRisk
        self.delta = delta
        self.minimumWrong = minimumWrong
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
        let intent = input.intent
        let override = input.override.flatMap { $0.hasReason ? $0 : nil }
        var evidence = killSwitch ? ["the workspace kill switch is on: every message goes to a person"] : []
        evidence.append(summary(intent, estimate))

        let kind: GuardrailAction.Kind
        if input.guarded {
            if let override {
                kind = .restoreAuto
                evidence.append("supervisor \(override.supervisor) overrode the guardrail: \(override.reason)")
            } else if input.promotedSinceSwitch {
                kind = .restoreAuto
                evidence.append("a retrained model passed the promotion check since \(intent) was switched to draft-only")
            } else {
                kind = .none
                evidence.append("\(intent) stays draft-only until a retrained model passes the promotion check "
                    + "or a supervisor overrides with a reason")
            }
        } else if input.mode != .auto {
            kind = .none
            evidence.append("automation is \(input.mode.rawValue) for \(intent): no automated answers to guard")
        } else if breached(estimate) {
            if let override {
                kind = .none
                evidence.append("the bound exceeds α, but supervisor \(override.supervisor) keeps \(intent) automatic: \(override.reason)")
            } else {
                kind = .switchToDraft
                evidence.append("upper bound \(percent(estimate.upperBound)) > α \(percent(targetRisk)) with \(estimate.wrong) wrong "
                    + "answer\(estimate.wrong == 1 ? "" : "s"): \(intent) switched to draft-only")
            }
        } else if estimate.wrong < minimumWrong {
            kind = .none
            evidence.append("fewer than \(minimumWrong) wrong answer\(minimumWrong == 1 ? "" : "s") found: "
                + "no evidence of a problem yet")
        } else {
            kind = .none
            evidence.append("upper bound \(percent(estimate.upperBound)) <= α \(percent(targetRisk)): automated answers continue")
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
        return GuardrailAction(intent: intent, kind: kind, guarded: guarded, routing: routing, estimate: estimate, evidence: evidence)
    }

    /// Rule 1's condition: enough wrong answers, and the upper bound above α.
    public func breached(_ estimate: ErrorEstimate) -> Bool {
        estimate.wrong >= minimumWrong && estimate.upperBound > targetRisk
    }

    private func summary(_ intent: String, _ estimate: ErrorEstimate) -> String {
        guard let rate = estimate.errorRate else { return "\(intent): no audited answers yet" }
        return "\(intent): \(estimate.wrong) wrong of \(estimate.audited) audited (\(percent(rate))); "
            + "\(String(format: "%g", estimate.level * 100))% upper bound \(percent(estimate.upperBound)), α \(percent(targetRisk))"
    }
}

private func percent(_ share: Double) -> String {
    String(format: "%.2f%%", share * 100)
}
