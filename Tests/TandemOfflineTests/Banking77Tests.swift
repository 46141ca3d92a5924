import Foundation
import Testing
import TandemEmbedding
import TandemOffline
import TandemTensor
@testable import TandemCore

/// The bars, measured as `tandem evaluate` does: train on Banking77's train.csv, test
/// on test.csv, with the real encoder. Needs the model and ../shared (required in CI).
@Suite("Banking77 bars", .serialized)
struct Banking77Tests {
    static let environment = ProcessInfo.processInfo.environment
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// TANDEM_BANKING77_DIR, else data/banking77 in TANDEM_SHARED_DIR, else in ../shared (as the model tests find their fixtures).
    static let dataDirectory = environment["TANDEM_BANKING77_DIR"].map { URL(fileURLWithPath: $0) }
        ?? (environment["TANDEM_SHARED_DIR"].map { URL(fileURLWithPath: $0) } ?? root.deletingLastPathComponent().appendingPathComponent("shared"))
            .appendingPathComponent("data/banking77")
    static let modelDirectory = environment["TANDEM_MODEL_DIR"] ?? EncoderLoader.defaultDirectory(environment: environment)
    static var available: Bool {
        ModelFiles(directory: modelDirectory).isComplete && FileManager.default.fileExists(atPath: dataDirectory.appendingPathComponent("train.csv").path)
    }
    static var enabled: Bool { environment["CI"] == "true" || available }

    /// The trainer `tandem evaluate` uses: default options on every core.
    static var trainer: Trainer {
        var options = TrainingOptions()
        options.threads = ProcessInfo.processInfo.activeProcessorCount
        return Trainer(options: options, clock: SystemClock())
    }

    /// Train and test sets with embeddings, encoded once for the suite.
    static let data: Result<(train: TrainingData, test: TrainingData), Error> = Result {
        let encoder = try TransformerEncoder(directory: modelDirectory)
        func load(_ name: String) throws -> TrainingData {
            let table = try CSVTable(contentsOfFile: dataDirectory.appendingPathComponent(name).path)
            let texts = try table.column("text"), labels = try table.column("category")
            return TrainingData(texts: texts, labels: labels, embeddings: encoder.encodeMatrix(texts))
        }
        return (try load("train.csv"), try load("test.csv"))
    }

    @Test("accuracy ≥ 93.5%; at α = 1%, δ = 5% at least 70% automated with realised error ≤ 1%",
          .enabled(if: enabled, "needs the model and Banking77 in ../shared/data/banking77 or TANDEM_SHARED_DIR (run `make model`)"))
    func standardProtocol() throws {
        let (train, test) = try Self.data.get()
        let trained = try Self.trainer.train(train)
        let report = Evaluator.evaluate(trained, test: test)
        print(report.summary)
        #expect(report.accuracy >= 0.935, "accuracy \(report.accuracy)")
        #expect(report.coverage >= 0.70, "automated share \(report.coverage)")
        #expect(report.risk <= 0.01, "realised error among automated \(report.risk)")
        #expect(trained.report.seconds < 120, "training took \(trained.report.seconds) s")
    }

    @Test("unseen-intent protocol (25% of intents held out, seed 0): ≥ 95% kept away, ≥ 50% of seen automated",
          .enabled(if: enabled, "needs the model and Banking77 in ../shared/data/banking77 or TANDEM_SHARED_DIR (run `make model`)"))
    func unseenIntents() throws {
        let (train, test) = try Self.data.get()
        let holdout = IntentHoldout(intents: Array(Set(train.labels)), share: 0.25, seed: 0)
        let trained = try Self.trainer.train(holdout.training(train))
        let report = Evaluator.evaluate(trained, test: test, heldOut: holdout.heldOut)
        print(report.summary)
        #expect(try #require(report.unseenKeptAway) >= 0.95)
        #expect(try #require(report.seenCoverage) >= 0.50)
    }
}
