import TandemTensor

/// Synthetic intents for tests and examples: each a cluster of unit vectors around its own
/// centre, with texts that share a keyword, so both heads have something to learn.
/// Deterministic for a seed.
public enum SyntheticIntents {
    public static let intents = ["card_arrival", "change_pin", "refund", "top_up", "exchange_rate", "close_account"]
    static let words = ["arrive", "pin", "refund", "topup", "rate", "close"]

    public static func data(perIntent: Int, seed: UInt64, dimension: Int = 16, noise: Double = 0.35, intents chosen: [String] = intents) -> TrainingData {
        var generator = SeededGenerator(seed: seed)
        var centres = SeededGenerator(seed: 999)
        let centre: [[Double]] = intents.map { _ in normalized((0..<dimension).map { _ in Double.random(in: -1...1, using: &centres) }) }
        var texts: [String] = [], labels: [String] = [], values: [Float] = []
        for _ in 0..<perIntent {
            for intent in chosen {
                let i = intents.firstIndex(of: intent)!
                let v = normalized(centre[i].map { $0 + Double.random(in: -noise...noise, using: &generator) })
                values += v.map(Float.init)
                texts.append("please help \(words[i]) \(Int.random(in: 0..<50, using: &generator)) thanks")
                labels.append(intent)
            }
        }
        return TrainingData(texts: texts, labels: labels, embeddings: Matrix(rows: texts.count, columns: dimension, values: values))
    }

    static func normalized(_ v: [Double]) -> [Double] {
        let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return v.map { $0 / norm }
    }

    /// Training options small enough for a test: few folds, few candidates, small n-gram space.
    public static var options: TrainingOptions {
        var options = TrainingOptions()
        options.folds = 3
        options.semanticCs = [1, 10]
        options.lexicalCs = [1, 10]
        options.unknownRounds = 1
        options.unknownShare = 0.34
        options.buckets = 256
        options.threads = 2
        return options
    }
}
