import ArgumentParser
import Foundation
import TandemBenchmarks
import TandemCore
import TandemOffline

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks that print figures (never part of the tests).",
        subcommands: [Embed.self, Train.self, Serve.self, SSE.self])

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

        @ArgumentParser.Option(help: "Tokens per packed chunk of the batch run (default: the encoder's).")
        var chunkTokens: Int?

        @ArgumentParser.Option(help: "Model folder (default: TANDEM_MODEL_DIR or the cache folder).")
        var modelDir: String?

        @Flag(help: "Print one JSON object instead of a table.")
        var json = false

        func validate() throws {
            if let chunkTokens, chunkTokens < 1 { throw ValidationError("--chunk-tokens \(chunkTokens): must be at least 1") }
        }

        func run() throws {
            let environment = TandemEnvironment()
            let texts = try CSVTable(contentsOfFile: input).column(column)
            let benchmark = EmbeddingBenchmark(
                modelDirectory: modelDir ?? environment.modelDirectory, texts: texts,
                threads: threads ?? environment.threads, latencySamples: latencySamples, chunkTokens: chunkTokens,
                progress: { if !json { FileHandle.standardError.write(Data(("… " + $0 + "\n").utf8)) } })
            let report = try benchmark.run()
            if json {
                try printJSON(report)
            } else {
                print(report.table)
            }
        }
    }

    /// What `serve` and `sse` share: which server to start, on which database, with what settings.
    struct ServerOptions: ParsableArguments {
        @ArgumentParser.Option(help: "PostgreSQL URL (default: DATABASE_URL; SQLite in a scratch folder when unset). Data goes to a scratch schema, dropped afterwards.")
        var databaseURL: String?

        @ArgumentParser.Option(help: "The tandem executable to start as the server (default: this one), e.g. an older build to compare.")
        var server: String?

        @ArgumentParser.Option(name: .customLong("set"), help: "A server setting, NAME=VALUE (e.g. TANDEM_INFERENCE_QUEUE=16); repeatable.")
        var settings: [String] = []

        func start(quiet: Bool) async throws -> BenchServer {
            var variables: [String: String] = [:]
            for setting in settings {
                let parts = setting.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, !parts[0].isEmpty else { throw ValidationError("--set \(setting): expected NAME=VALUE") }
                variables[String(parts[0])] = String(parts[1])
            }
            return try await BenchServer(binary: server, databaseURL: databaseURL ?? TandemEnvironment().databaseURL, settings: variables,
                                         progress: { progress($0, quiet: quiet) })
        }

        /// Starts the server, measures it with `body`, stops it (also when `body` fails), prints the report.
        func measure<Report: Encodable>(json: Bool, table: (Report) -> String, _ body: (BenchServer) async throws -> Report) async throws {
            let server = try await start(quiet: json)
            let report: Report
            do {
                report = try await body(server)
            } catch {
                await server.stop()
                throw error
            }
            await server.stop()
            if json { try printJSON(report) } else { print(table(report)) }
        }
    }

    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Customer messages over HTTP to a tandem serve process: a sweep of offered rates, message → AI decision latency, refusals, losses, where the time goes.")

        @ArgumentParser.Option(help: "One offered rate, messages per second (instead of --rates).")
        var rate: Double?

        @ArgumentParser.Option(help: "Offered rates of the sweep, messages per second, comma-separated.")
        var rates = "25,50,100,200,400"

        @ArgumentParser.Option(help: "Seconds of load per rate.")
        var seconds: Double = 10

        @ArgumentParser.Option(help: "The rate of the last step, after the sweep, that shows whether the server recovered (0: none).")
        var recoveryRate: Double = 10

        @ArgumentParser.Option(help: "CSV of customer messages (default: Banking77's test set under ../shared).")
        var input: String?

        @ArgumentParser.Option(help: "Column holding the text.")
        var column = "text"

        @OptionGroup var options: ServerOptions

        @Flag(help: "Print one JSON object instead of tables.")
        var json = false

        func run() async throws {
            let environment = TandemEnvironment()
            let sweep: [Double]
            if let rate {
                sweep = [rate]
            } else {
                let parsed = rates.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
                guard !parsed.isEmpty, parsed.allSatisfy({ ($0 ?? 0) > 0 }) else { throw ValidationError("--rates \(rates): expected positive numbers, e.g. 25,50,100") }
                sweep = parsed.compactMap { $0 }
            }
            guard seconds > 0 else { throw ValidationError("--seconds must be positive") }
            let path = input ?? (environment.sharedDirectory as NSString).appendingPathComponent("data/banking77/test.csv")
            let texts = FileManager.default.fileExists(atPath: path) ? try CSVTable(contentsOfFile: path).column(column) : []
            if texts.isEmpty { progress("no message file at \(path): using a single sample message", quiet: json) }
            let benchmark = ServeBenchmark(rates: sweep, seconds: seconds, recoveryRate: recoveryRate, texts: texts,
                                           progress: { [json] in progress($0, quiet: json) })
            try await options.measure(json: json, table: { $0.table }) { try await benchmark.run(against: $0) }
        }
    }

    struct SSE: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sse",
            abstract: "Holds customer and console event streams open on a tandem serve process and measures event delivery and memory per stream.")

        @ArgumentParser.Option(help: "Customer streams, one per conversation.")
        var streams = 2000

        @ArgumentParser.Option(help: "Agent console streams.")
        var consoles = 50

        @ArgumentParser.Option(help: "Customer messages posted while the streams are open.")
        var events = 300

        @ArgumentParser.Option(help: "Messages per second.")
        var rate: Double = 20

        @OptionGroup var options: ServerOptions

        @Flag(help: "Print one JSON object instead of a table.")
        var json = false

        func run() async throws {
            guard streams >= 1, consoles >= 0, events >= 1, rate > 0 else { throw ValidationError("--streams, --events and --rate must be positive") }
            let benchmark = SSEBenchmark(streams: streams, consoles: consoles, events: events, rate: rate,
                                         progress: { [json] in progress($0, quiet: json) })
            try await options.measure(json: json, table: { $0.table }) { try await benchmark.run(against: $0) }
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

/// Progress on standard error (standard output keeps the figures), unless JSON is asked for.
private func progress(_ message: String, quiet: Bool) {
    if !quiet { FileHandle.standardError.write(Data(("… " + message + "\n").utf8)) }
}
