/// The thresholds a trained model answers with: the certified one, the unknown-request one,
/// and stricter per-intent ones where the calibration data shows excess error.
public struct Thresholds: Codable, Sendable, Equatable {
    /// Lowest threshold certified by risk control; nil when none could be certified, in which
    /// case the AI answers nothing automatically.
    public var certified: Double?
    /// Below this known-score a message looks unlike anything known (see `UnknownCalibration`).
    public var unknown: Double
    /// Stricter thresholds for intents whose messages just above the certified threshold were
    /// wrong too often, keyed by intent name.
    public var perIntent: [String: IntentOverride]

    public init(certified: Double?, unknown: Double, perIntent: [String: IntentOverride] = [:]) {
        self.certified = certified
        self.unknown = unknown
        self.perIntent = perIntent
    }

    /// The confidence threshold for messages predicted as `intent`, or nil when nothing is
    /// automated.
    public func threshold(for intent: String) -> Double? {
        guard let certified else { return nil }
        return max(certified, perIntent[intent]?.threshold ?? 0)
    }

    /// Whether a message with these scores, predicted as `intent`, passes both gates.
    public func answers(_ scores: IntentScores, intent: String) -> Bool {
        guard let threshold = threshold(for: intent) else { return false }
        return scores.knownScore >= unknown && scores.confidence >= threshold
    }
}

/// Evidence for raising one intent's threshold: among calibration messages predicted as this
/// intent with confidence between the certified threshold and `threshold`, `errors` of
/// `automated` were wrong, and the error rate's lower confidence bound exceeds the target.
/// Removing a slice whose error rate is at least the target cannot raise the error rate of
/// what remains above the certified bound, so the overall guarantee is kept.
public struct IntentOverride: Codable, Sendable, Equatable {
    public var threshold: Double
    public var automated: Int
    public var errors: Int
    public var lowerBound: Double
}
