import ArgumentParser
import Foundation
import TandemBenchmarks
import TandemCore
import TandemOffline

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks that print figures (never part of the tests).",
        subcommands: [Embed.self, Train.self, Serve.self])

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
                try printJSON(report)
            } else {
                print(report.table)
            }
        }
    }

    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Customer messages over HTTP to a server on 127.0.0.1: message → AI decision latency and requests/s.")

        @ArgumentParser.Option(help: "Messages per second in the open-loop run.")
        var rate: Double = 100

        @ArgumentParser.Option(help: "Seconds of open-loop load (the closed-loop run takes half as long).")
        var seconds: Double = 20

        @ArgumentParser.Option(help: "Concurrent clients in the closed-loop run.")
        var concurrency = 8

        @ArgumentParser.Option(help: "CSV of customer messages (default: Banking77's test set under ../shared).")
        var input: String?

        @ArgumentParser.Option(help: "Column holding the text.")
        var column = "text"

        @ArgumentParser.Option(help: "PostgreSQL URL (default: DATABASE_URL; SQLite in a scratch folder when unset). Data goes to a scratch schema, dropped afterwards.")
        var databaseURL: String?

        @Flag(help: "Print one JSON object instead of a table.")
        var json = false

        func run() async throws {
            var environment = TandemEnvironment()
            if let databaseURL { environment.databaseURL = databaseURL }
            let path = input ?? (environment.sharedDirectory as NSString).appendingPathComponent("data/banking77/test.csv")
            let texts = FileManager.default.fileExists(atPath: path) ? try CSVTable(contentsOfFile: path).column(column) : []
            if texts.isEmpty { FileHandle.standardError.write(Data("… no message file at \(path): using a single sample message\n".utf8)) }
            let benchmark = ServeBenchmark(environment: environment, texts: texts, rate: rate, seconds: seconds, concurrency: concurrency,
                                           progress: { message in if !json { FileHandle.standardError.write(Data(("… " + message + "\n").utf8)) } })
            let report = try await benchmark.run()
            if json {
                try printJSON(report)
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
                try printJSON(report)
            } else {
                print(report.table)
            }
        }
    }
}
