import ArgumentParser
import Foundation
import TandemCore
import TandemEmbedding
import TandemOffline

/// Options shared by `train` and `evaluate`.
struct TrainingArguments: ParsableArguments {
    @ArgumentParser.Option(help: "Column holding the message text.")
    var textColumn = "text"

    @ArgumentParser.Option(help: "Column holding the intent label.")
    var labelColumn = "category"

    @ArgumentParser.Option(help: "Largest acceptable error rate among automated answers (α).")
    var targetRisk = 0.01

    @ArgumentParser.Option(help: "Confidence level of the guarantee (1 − δ).")
    var confidence = 0.95

    @ArgumentParser.Option(help: "Calibration data: 'cross-fit' (all data, K folds) or 'split:SHARE' (held-out share, exact guarantee).")
    var calibration = "cross-fit"

    @ArgumentParser.Option(help: "Folds for cross-fitting and cross-validation.")
    var folds = 5

    @ArgumentParser.Option(help: "Random seed (folds, simulated unknown requests).")
    var seed: UInt64 = 0

    @ArgumentParser.Option(help: "Share of simulated unknown requests the unknown-request threshold must keep from the AI.")
    var unknownKeepAway = TrainingOptions().unknownKeepAway

    @ArgumentParser.Option(help: "Sentence model folder (default: TANDEM_MODEL_DIR or the cache folder).")
    var modelDir: String?

    func options() throws -> TrainingOptions {
        var options = TrainingOptions()
        options.targetRisk = targetRisk
        options.confidenceLevel = confidence
        options.folds = folds
        options.seed = seed
        options.threads = TandemEnvironment().threads
        guard unknownKeepAway > 0, unknownKeepAway < 1 else { throw ValidationError("--unknown-keep-away must be between 0 and 1") }
        options.unknownKeepAway = unknownKeepAway
        if calibration == "cross-fit" {
            options.calibration = .crossFit
        } else if calibration.hasPrefix("split:"), let share = Double(calibration.dropFirst(6)), share > 0, share < 1 {
            options.calibration = .split(share)
        } else {
            throw ValidationError("--calibration must be 'cross-fit' or 'split:SHARE' with 0 < SHARE < 1, got '\(calibration)'")
        }
        return options
    }

    func offline() throws -> OfflineTraining {
        let environment = TandemEnvironment()
        let encoder = try TransformerEncoder(directory: modelDir ?? environment.modelDirectory, threads: environment.threads)
        return OfflineTraining(encoder: encoder, cache: .standard(environment: ProcessInfo.processInfo.environment),
                               log: { FileHandle.standardError.write(Data(("… " + $0 + "\n").utf8)) })
    }
}

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train", abstract: "Train, calibrate and certify an intent model from a CSV of labelled messages.")

    @ArgumentParser.Option(help: "CSV with labelled messages.")
    var data: String

    @ArgumentParser.Option(help: "Output folder for the model artifact.")
    var out: String

    @OptionGroup var training: TrainingArguments

    func run() throws {
        let labelled = try LabelledData.read(path: data, textColumn: training.textColumn, labelColumn: training.labelColumn)
        let artifact = try training.offline().train(labelled, options: try training.options(), output: URL(fileURLWithPath: out))
        print(artifact.summary)
        print("written to \(out)")
    }
}
