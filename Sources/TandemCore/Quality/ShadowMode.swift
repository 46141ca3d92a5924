import Foundation

/// What people's labels say about a new intent while it is in shadow mode.
///
/// In shadow mode the AI only drafts and a person answers; each time, the intent the person
/// settles on is compared with the AI's prediction. Count only messages the AI would have
/// answered automatically (confidence at or above its certified threshold): those are the
/// answers that leaving shadow mode would send without a person.
public struct ShadowInput: Codable, Sendable, Equatable {
    /// The intent's key, as in `IntentSettings.key`.
    public var intent: String
    /// `correct`: the person's label agreed with the AI's prediction; `wrong`: it did not. Only
    /// labels on predictions of the model now serving count.
    public var labels: AuditCounts
    /// The intent's automation mode as the admins set it: leaving shadow mode restores it, never widens it.
    public var mode: AutomationMode

    public init(intent: String, labels: AuditCounts, mode: AutomationMode = .auto) {
        self.intent = intent
        self.labels = labels
        self.mode = mode
    }
}

/// The verdict on one intent in shadow mode, with the evidence.
public struct ShadowDecision: Codable, Sendable, Equatable {
    /// The intent's key.
    public var intent: String
    /// The labels prove the target: the intent may leave shadow mode.
    public var graduate: Bool
    /// How routing treats the intent: `.off` under the kill switch, draft-only (or `.off` if the
    /// admins chose it) while in shadow mode, else the admins' mode.
    public var routing: AutomationMode
    /// Disagreement rate of the labels, with the one-sided bound the decision compares with α.
    public var estimate: ErrorEstimate
    /// Further agreeing labels (with no further disagreement) needed to graduate; 0 once graduated.
    /// Tells the supervisor how far away automation is.
    public var agreeingLabelsNeeded: Int
    /// Sentences with the numbers: counts, bound against α, and the outcome.
    public var evidence: [String]
}

/// Keeps a new intent in draft-only until people's labels show, at the workspace's confidence
/// level, that the AI's predictions for it meet the target risk.
///
/// The intent graduates when the one-sided Clopper–Pearson upper bound at 1−δ on the share of
/// labels that disagree with the AI is at most α. That is the same evidence standard as a
/// training certificate, gathered on live traffic instead: with no disagreement at all it takes
/// ⌈ln δ / ln(1−α)⌉ agreeing labels (299 for α = 1%, δ = 5%), more for every disagreement.
/// Unlike the guardrail, there is no minimum number of wrong answers: here the burden of proof
/// is on the intent, and absence of evidence keeps it in shadow mode.
public struct ShadowMode: Codable, Sendable, Equatable {
    /// α: the highest acceptable error rate of automated answers.
    public var targetRisk: Double
    /// δ: the bound holds with confidence 1−δ.
    public var delta: Double

    /// - Precondition: `targetRisk` and `delta` are in (0, 1).
    public init(targetRisk: Double, delta: Double) {
        precondition(targetRisk > 0 && targetRisk < 1, "target risk must be in (0, 1)")
        precondition(delta > 0 && delta < 1, "delta must be in (0, 1)")
        self.targetRisk = targetRisk
        self.delta = delta
    }

    /// Agreeing labels needed to graduate with no disagreement at all: the least possible evidence.
    public var minimumLabels: Int { agreeingLabelsNeeded(after: .zero) }

    /// Decides whether one intent leaves shadow mode.
    public func evaluate(_ input: ShadowInput, killSwitch: Bool = false) -> ShadowDecision {
        let estimate = ErrorEstimate(input.labels, level: 1 - delta)
        let intent = input.intent
        let needed = agreeingLabelsNeeded(after: input.labels)
        let graduate = needed == 0
        var evidence = killSwitch ? ["the workspace kill switch is on: every message goes to a person"] : []
        let level = String(format: "%g%%", (1 - delta) * 100)
        if let rate = estimate.errorRate {
            evidence.append("\(intent) (shadow mode): people's labels disagree with the AI on \(input.labels.wrong) of "
                + "\(input.labels.audited) (\(percent(rate))); \(level) upper bound \(percent(estimate.upperBound)), α \(percent(targetRisk))")
        } else {
            evidence.append("\(intent) (shadow mode): no labels compared with the AI yet")
        }
        if graduate {
            evidence.append("upper bound \(percent(estimate.upperBound)) <= α \(percent(targetRisk)): \(intent) leaves shadow mode")
        } else {
            evidence.append("\(intent) stays draft-only until the upper bound is at most α: at least \(needed) more agreeing "
                + "label\(needed == 1 ? "" : "s") needed")
        }
        let routing: AutomationMode = killSwitch ? .off : (graduate || input.mode == .off ? input.mode : .draftOnly)
        return ShadowDecision(intent: intent, graduate: graduate, routing: routing, estimate: estimate,
                              agreeingLabelsNeeded: needed, evidence: evidence)
    }

    /// The fewest further agreeing labels after which the bound is at most α (0 if it already is).
    /// The bound falls as agreeing labels are added, so a doubling search and bisection find it.
    public func agreeingLabelsNeeded(after labels: AuditCounts) -> Int {
        func meets(_ extra: Int) -> Bool {
            Binomial.upperBound(errors: labels.wrong, trials: labels.audited + extra, delta: delta) <= targetRisk
        }
        if meets(0) { return 0 }
        var failing = 0
        var step = 1
        while !meets(failing + step) {
            failing += step
            step *= 2
        }
        var meeting = failing + step
        while meeting - failing > 1 {
            let middle = failing + (meeting - failing) / 2
            if meets(middle) { meeting = middle } else { failing = middle }
        }
        return meeting
    }
}

private func percent(_ share: Double) -> String {
    String(format: "%.2f%%", share * 100)
}
