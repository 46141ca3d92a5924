import Foundation
import TandemTensor

/// Settings of the classifier, chosen by cross-validation during training.
public struct Hyperparameters: Codable, Sendable, Equatable {
    /// Inverse L2 strength of the embedding head (scikit-learn's C).
    public var semanticC: Double
    /// Inverse L2 strength of the n-gram head.
    public var lexicalC: Double
    /// Weight of the n-gram head when the two heads' log-probabilities are mixed.
    public var lexicalWeight: Double
    /// Temperature applied to the mixed log-probabilities (calibration).
    public var temperature: Double
    /// Weight of relative familiarity in the known-score: 0 ignores the nearest examples.
    public var familiarityWeight: Double
    /// Nearest examples averaged for familiarity.
    public var neighbours: Int

    public init(semanticC: Double = 30, lexicalC: Double = 10, lexicalWeight: Double = 0.45, temperature: Double = 1,
                familiarityWeight: Double = 0, neighbours: Int = 5) {
        self.semanticC = semanticC
        self.lexicalC = lexicalC
        self.lexicalWeight = lexicalWeight
        self.temperature = temperature
        self.familiarityWeight = familiarityWeight
        self.neighbours = neighbours
    }
}

/// What the classifier says about one message.
public struct IntentScores: Sendable {
    /// Intents by decreasing calibrated probability (all of them).
    public let ranked: [(intent: Int, probability: Double)]
    /// How familiar the message looks as its top intent: similarity to that intent's closest
    /// examples, in standard deviations from what the intent's own examples show.
    public let familiarity: Double
    /// The out-of-scope signal: ln(probability of the top intent) + γ·familiarity. Low for
    /// requests unlike anything known; compared with the unknown-request threshold.
    public let knownScore: Double
    /// The closest labelled examples.
    public let neighbours: [NearestNeighbors.Neighbour]

    public var intent: Int { ranked[0].intent }
    /// Calibrated probability that the top intent is right: the confidence the certified
    /// threshold applies to.
    public var confidence: Double { ranked[0].probability }
    public var probability: Double { ranked[0].probability }
}

/// The intent classifier: a logistic-regression head on sentence embeddings and one on n-gram
/// features, mixed as a weighted product of experts and temperature-calibrated, with the
/// nearest labelled examples as a second line of evidence.
public struct IntentModel: Sendable {
    public let intents: [String]
    public let semantic: SoftmaxRegression
    public let lexical: SoftmaxRegression
    public let featurizer: LexicalFeaturizer
    public let memory: NearestNeighbors
    public let hyperparameters: Hyperparameters

    public init(intents: [String], semantic: SoftmaxRegression, lexical: SoftmaxRegression, featurizer: LexicalFeaturizer,
                memory: NearestNeighbors, hyperparameters: Hyperparameters) {
        self.intents = intents
        self.semantic = semantic
        self.lexical = lexical
        self.featurizer = featurizer
        self.memory = memory
        self.hyperparameters = hyperparameters
    }

    /// Scores messages given their sentence embeddings (rows, unit length) and texts.
    public func score(embeddings: Matrix, texts: [String]) -> [IntentScores] {
        precondition(embeddings.rows == texts.count, "one embedding per text")
        let semanticLog = logSoftmax(semantic.logits(embeddings))
        let lexicalLog = logSoftmax(lexical.logits(featurizer.transform(texts)))
        let evidence = memory.evidence(embeddings)
        return (0..<texts.count).map { i in
            Self.combine(semantic: semanticLog[i], lexical: lexicalLog[i], evidence: evidence[i], memory: memory, hyperparameters)
        }
    }

    /// The mixing, calibration and confidence rule, shared by training (on out-of-fold
    /// scores) and inference, so that what was calibrated is exactly what runs.
    static func combine(semantic: [Double], lexical: [Double], evidence: NearestNeighbors.Evidence, memory: NearestNeighbors,
                        _ h: Hyperparameters) -> IntentScores {
        let probabilities = mixedProbabilities(semantic: semantic, lexical: lexical, weight: h.lexicalWeight, temperature: h.temperature)
        let ranked = probabilities.enumerated().map { (intent: $0.offset, probability: $0.element) }
            .sorted { $0.probability > $1.probability || ($0.probability == $1.probability && $0.intent < $1.intent) }
        let familiarity = memory.relativeFamiliarity(evidence, intent: ranked[0].intent)
        return IntentScores(ranked: ranked, familiarity: familiarity,
                            knownScore: knownScore(probability: ranked[0].probability, familiarity: familiarity, weight: h.familiarityWeight),
                            neighbours: evidence.nearest)
    }

    static func mixedProbabilities(semantic: [Double], lexical: [Double], weight w: Double, temperature: Double) -> [Double] {
        let z = zip(semantic, lexical).map { ((1 - w) * $0 + w * $1) / temperature }
        let maximum = z.max() ?? 0
        let e = z.map { exp($0 - maximum) }
        let sum = e.reduce(0, +)
        return e.map { $0 / sum }
    }

    static func knownScore(probability: Double, familiarity: Double, weight: Double) -> Double {
        log(max(probability, 1e-300)) + weight * familiarity
    }
}
