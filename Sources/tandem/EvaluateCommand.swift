import ArgumentParser
import Foundation
import TandemCore
import TandemOffline

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate", abstract: "Train on one labelled CSV, evaluate on another, write report.json and report.html.")

    @ArgumentParser.Option(help: "CSV to train on.")
    var train: String

    @ArgumentParser.Option(help: "CSV to evaluate on.")
    var test: String

    @ArgumentParser.Option(help: "Folder for report.json and report.html.")
    var report: String

    @ArgumentParser.Option(help: "Hold this share of intents out of training (unseen-intent protocol).")
    var holdoutIntents: Double?

    @ArgumentParser.Option(help: "Cost of a conversation handled by a person.")
    var humanCost = 4.5

    @ArgumentParser.Option(help: "Cost of the AI per message.")
    var aiCost = 0.02

    @ArgumentParser.Option(help: "Currency of the costs.")
    var currency = "GBP"

    @OptionGroup var training: TrainingArguments

    func validate() throws {
        if let holdoutIntents, !(holdoutIntents > 0 && holdoutIntents < 1) {
            throw ValidationError("--holdout-intents must be between 0 and 1, got \(holdoutIntents)")
        }
        guard humanCost >= 0, aiCost >= 0, humanCost.isFinite, aiCost.isFinite else { throw ValidationError("costs must be non-negative numbers") }
    }

    func run() throws {
        let offline = try training.offline()
        let trainData = try LabelledData.read(path: train, textColumn: training.textColumn, labelColumn: training.labelColumn)
        let testData = try LabelledData.read(path: test, textColumn: training.textColumn, labelColumn: training.labelColumn)
        var evaluation = EvaluationOptions()
        evaluation.humanCostPerContact = humanCost
        evaluation.aiCostPerMessage = aiCost
        evaluation.currency = currency
        let result = try offline.evaluate(train: trainData, test: testData, options: try training.options(), evaluation: evaluation,
                                          holdoutShare: holdoutIntents, reportDirectory: URL(fileURLWithPath: report))
        print(result.summary)
        print("report written to \(report)/report.json and report.html")
    }
}
