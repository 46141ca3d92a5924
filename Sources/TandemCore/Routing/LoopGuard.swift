/// Whether a customer's message after an AI answer comes back on the same problem (the answer
/// did not resolve it) or asks something new. Only the former counts towards the loop guard
/// (`RoutingDecision.Rule.repeatedUnresolved`): a new, clearly different question is decided
/// on its own, under the same guarantee as a first one.
public enum LoopGuard {
    /// An alternative at least this probable counts as the same topic: the model reads the
    /// message as plausibly about the answered intent even if another ranks first.
    public static let closeAlternative = 0.2

    /// True when the message says the answer did not help, or the model reads it as the answered
    /// intent (first, or among its alternatives with at least `closeAlternative`). Without a
    /// prediction (no model), nothing says it is new, so it counts as the same problem.
    public static func comesBack(answeredIntent: String?, prediction: Prediction?, saysNotHelpful: Bool) -> Bool {
        if saysNotHelpful { return true }
        guard let answeredIntent, let prediction else { return true }
        return prediction.intent == answeredIntent
            || prediction.alternatives.contains { $0.intent == answeredIntent && $0.probability >= closeAlternative }
    }
}
