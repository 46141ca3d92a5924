import ArgumentParser
import Foundation
import TandemBenchmarks
import TandemCore
import TandemServer

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks that print figures (never part of the tests).",
        subcommands: [Embed.self, Train.self])

    struct Embed: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Encoder throughput, GFLOP/s against sgemm, single-sentence latency and memory.")

        @ArgumentParser.Option(help: "CSV file with the sentences.")
        var input: String

        @ArgumentParser.Option(help: "Column holding the text.")
        var column = "text"

        @ArgumentParser.Option(help: "Worker threads for the batch run (default: all cores).")
        var threads: Int?

        @ArgumentParser.Option(help: "Sentences timed one by one for the latency figures.")
        var latencySamples = 1000

        @ArgumentParser.Option(help: "Model folder (default: TANDEM_MODEL_DIR or the cache folder).")
        var modelDir: String?

        @Flag(help: "Print one JSON object instead of a table.")
        var json = false

        func run() throws {
            let environment = TandemEnvironment()
            let texts = try CSVTable(contentsOfFile: input).column(column)
            let benchmark = EmbeddingBenchmark(
                modelDirectory: modelDir ?? environment.modelDirectory, texts: texts,
                threads: threads ?? environment.threads, latencySamples: latencySamples,
                progress: { if !json { FileHandle.standardError.write(Data(("… " + $0 + "\n").utf8)) } })
            let report = try benchmark.run()
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
            } else {
                print(report.table)
            }
        }
    }

    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Time the classifier heads and the whole training on a labelled CSV.")

        @ArgumentParser.Option(help: "CSV with labelled messages.")
        var data: String

        @OptionGroup var training: TrainingArguments

        @Flag(help: "Print one JSON object instead of a table.")
        var json = false

        func run() throws {
            let offline = try training.offline()
            let labelled = try LabelledData.read(path: data, textColumn: training.textColumn, labelColumn: training.labelColumn)
            let report = try TrainingBenchmark(data: offline.trainingData(labelled), options: try training.options(), progress: offline.log).run()
            if json {
                print(String(decoding: try JSONEncoder().encode(report), as: UTF8.self))
            } else {
                print(report.table)
            }
        }
    }
}
