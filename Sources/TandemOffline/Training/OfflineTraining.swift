import Foundation
import TandemCore
import TandemEmbedding
import TandemTensor

/// `tandem train`: a CSV of labelled messages in, a model artifact folder out.
public struct OfflineTraining {
    public var encoder: any SentenceEncoder
    public var cache: EmbeddingCache
    public var clock: any WallClock
    public var log: @Sendable (String) -> Void

    public init(encoder: any SentenceEncoder, cache: EmbeddingCache, clock: any WallClock = SystemClock(),
                log: @escaping @Sendable (String) -> Void) {
        self.encoder = encoder
        self.cache = cache
        self.clock = clock
        self.log = log
    }

    /// Embeds the labelled data.
    public func trainingData(_ data: LabelledData) -> TrainingData {
        TrainingData(texts: data.texts, labels: data.labels, embeddings: cache.embeddings(for: data.texts, encoder: encoder, progress: log))
    }

    @discardableResult
    public func train(_ data: LabelledData, options: TrainingOptions, output: URL) throws -> ModelArtifact {
        let training = trainingData(data)
        let trained = try Trainer(options: options, clock: clock, progress: log).train(training)
        let artifact = ModelArtifact(trained: trained, encoder: encoder.identifier, data: training, createdAt: clock.now)
        try artifact.write(to: output)
        return artifact
    }
}

extension ModelArtifact {
    /// A few lines for the terminal.
    public var summary: String {
        let r = report
        var lines = [
            "model \(version) → \(r.intents.count) intents, \(r.examples) examples, encoder \(encoder)",
            String(format: "cross-validated accuracy %.2f%%, log loss %.3f, calibration error %.3f → %.3f (temperature %.2f)",
                   r.crossValidatedAccuracy * 100, r.crossValidatedLogLoss, r.calibrationErrorBefore, r.calibrationErrorAfter, r.hyperparameters.temperature),
            String(format: "hyperparameters: C semantic %g, C lexical %g, lexical weight %.2f, familiarity weight %g",
                   r.hyperparameters.semanticC, r.hyperparameters.lexicalC, r.hyperparameters.lexicalWeight, r.hyperparameters.familiarityWeight),
        ]
        if let t = thresholds.certified {
            lines.append(String(format: "certified threshold %.3f: %.1f%% of calibration messages automated at %.2f%% error (bound %.2f%% ≤ target %.2f%%)",
                                t, r.certificate.coverage * 100, r.certificate.errorRate * 100, r.certificate.upperBound * 100, r.certificate.targetRisk * 100))
        } else {
            lines.append("no threshold certified: every message goes to a person")
        }
        lines.append(String(format: "unknown-request threshold %.3f (keeps %.1f%% of simulated unknown requests away), %d intents with a stricter threshold",
                            thresholds.unknown, r.unknown.keptAway * 100, thresholds.perIntent.count))
        lines.append(String(format: "trained in %.1f s", r.seconds))
        return lines.joined(separator: "\n")
    }
}

extension OfflineTraining {
    /// `tandem evaluate`: train on one file, measure on another, write `report.json` and `report.html`.
    public func evaluate(train: LabelledData, test: LabelledData, options: TrainingOptions, evaluation: EvaluationOptions,
                         holdoutShare: Double?, reportDirectory: URL) throws -> EvaluationReport {
        var training = trainingData(train)
        let testing = trainingData(test)
        var heldOut: Set<String> = []
        if let holdoutShare {
            let holdout = IntentHoldout(intents: Array(Set(train.labels)), share: holdoutShare, seed: options.seed)
            heldOut = holdout.heldOut
            training = holdout.training(training)
            log("unseen-intent protocol: \(heldOut.count) of \(Set(train.labels).count) intents held out of training")
        }
        let trained = try Trainer(options: options, clock: clock, progress: log).train(training)
        log("scoring \(test.texts.count) test messages …")
        let report = Evaluator.evaluate(trained, test: testing, heldOut: heldOut, options: evaluation)
        try FileManager.default.createDirectory(at: reportDirectory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(report).write(to: reportDirectory.appendingPathComponent("report.json"), options: .atomic)
        try Data(report.html.utf8).write(to: reportDirectory.appendingPathComponent("report.html"), options: .atomic)
        return report
    }
}
