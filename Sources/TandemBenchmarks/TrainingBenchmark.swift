import Foundation
import TandemCore
import TandemEmbedding
import TandemOffline
import TandemTensor

/// `tandem bench train`: how long the classifier heads and the whole training take.
public struct TrainingBenchmark {
    public struct Report: Codable, Sendable {
        public var examples: Int
        public var intents: Int
        public var semanticFitSeconds: Double
        public var semanticIterations: Int
        public var lexicalFitSeconds: Double
        public var lexicalIterations: Int
        public var fullTrainingSeconds: Double

        public var table: String {
            String(format: """
                examples          %d, %d intents
                embedding head    %.2f s (%d L-BFGS iterations, C = 30)
                n-gram head       %.2f s (%d iterations, C = 10)
                full training     %.1f s (cross-fitting, hyperparameters, unknown simulation, final model, certification)
                """, examples, intents, semanticFitSeconds, semanticIterations, lexicalFitSeconds, lexicalIterations, fullTrainingSeconds)
        }
    }

    public let data: TrainingData
    public let options: TrainingOptions
    public let progress: @Sendable (String) -> Void

    public init(data: TrainingData, options: TrainingOptions, progress: @escaping @Sendable (String) -> Void) {
        self.data = data
        self.options = options
        self.progress = progress
    }

    public func run() throws -> Report {
        BLAS.setThreads(1)
        let intents = Array(Set(data.labels)).sorted()
        let index = Dictionary(uniqueKeysWithValues: intents.enumerated().map { ($1, $0) })
        let labels = data.labels.map { index[$0]! }
        var optimizer = LBFGS(maxIterations: options.maxIterations, gradientTolerance: 1e-4)
        optimizer.relativeTolerance = 1e-7
        var semantic: SoftmaxRegression.Fit?
        let semanticSeconds = Measure.seconds {
            semantic = SoftmaxRegression.train(data.embeddings, labels: labels, classes: intents.count, c: 30, optimizer: optimizer)
        }
        let featurizer = LexicalFeaturizer.fit(data.texts)
        let features = featurizer.transform(data.texts)
        var lexical: SoftmaxRegression.Fit?
        let lexicalSeconds = Measure.seconds {
            lexical = SoftmaxRegression.train(features, labels: labels, classes: intents.count, c: 10, optimizer: optimizer)
        }
        progress("heads timed; full training …")
        let full = try Measure.seconds { _ = try Trainer(options: options, clock: SystemClock(), progress: progress).train(data) }
        return Report(examples: data.texts.count, intents: intents.count,
                      semanticFitSeconds: semanticSeconds, semanticIterations: semantic?.iterations ?? 0,
                      lexicalFitSeconds: lexicalSeconds, lexicalIterations: lexical?.iterations ?? 0,
                      fullTrainingSeconds: full)
    }
}
