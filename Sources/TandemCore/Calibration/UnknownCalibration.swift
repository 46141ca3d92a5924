/// The out-of-scope signal. Requests the knowledge base does not cover must go to a person,
/// but by definition there are no labelled examples of them; training simulates them by
/// leaving a share of the known intents out and scoring their examples with a model that never
/// saw them. The unknown threshold is the known-score below which the target share of those
/// simulated unknowns falls.
public enum UnknownCalibration {
    /// The smallest threshold that keeps at least `keepAway` of `confidences` below it.
    public static func threshold(confidences: [Double], keepAway: Double) -> Double {
        guard !confidences.isEmpty else { return 0 }
        let sorted = confidences.sorted()
        // Everything strictly below sorted[k] is kept away; k = ceil(keepAway · n).
        let k = min(sorted.count - 1, Int((keepAway * Double(sorted.count)).rounded(.up)))
        return k >= sorted.count ? 1 : sorted[k] + 1e-12
    }

    public struct Report: Codable, Sendable, Equatable {
        public var rounds: Int
        public var share: Double
        public var examples: Int
        public var keepAwayTarget: Double
        public var threshold: Double
        /// Share of simulated unknowns below the threshold.
        public var keptAway: Double
    }
}

/// Finds intents whose messages just above the certified threshold are demonstrably wrong
/// too often, and raises their thresholds (see `IntentOverride`).
enum IntentOverrides {
    static func find(predicted: [Int], confidences: [Double], correct: [Bool], intents: [String], certified: Double,
                     targetRisk: Double, delta: Double, grid: [Double]) -> [String: IntentOverride] {
        // Bonferroni over intents: every override's evidence holds simultaneously with 1−δ.
        let perIntentDelta = delta / Double(max(intents.count, 1))
        var overrides: [String: IntentOverride] = [:]
        for (intentIndex, intent) in intents.enumerated() {
            let members = predicted.indices.filter { predicted[$0] == intentIndex && confidences[$0] >= certified }
            guard !members.isEmpty else { continue }
            // Highest raise whose removed slice still shows excess error.
            for threshold in grid where threshold > certified {
                let slice = members.filter { confidences[$0] < threshold }
                let errors = slice.filter { !correct[$0] }.count
                guard errors > 0 else { continue }
                let lower = Binomial.lowerBound(errors: errors, trials: slice.count, delta: perIntentDelta)
                if lower > targetRisk {
                    overrides[intent] = IntentOverride(threshold: threshold, automated: slice.count, errors: errors, lowerBound: lower)
                    break
                }
            }
        }
        return overrides
    }
}
