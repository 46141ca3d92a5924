import ArgumentParser
import Foundation
import TandemEmbedding
import TandemOffline

struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed", abstract: "Print sentence embeddings as JSON.")

    @Argument(help: "Texts to embed.")
    var texts: [String]

    @ArgumentParser.Option(help: "Model folder (default: TANDEM_MODEL_DIR or the cache folder).")
    var modelDir: String?

    @Flag(help: "Use the lexical fallback encoder instead of the model.")
    var lexical = false

    func run() throws {
        let environment = TandemEnvironment()
        let encoder: any SentenceEncoder = lexical
            ? LexicalEncoder()
            : try TransformerEncoder(directory: modelDir ?? environment.modelDirectory, threads: environment.threads)
        let rows = zip(texts, encoder.encode(texts)).map { ["text": $0.0 as Any, "embedding": $0.1.map(Double.init)] }
        let object: [String: Any] = ["model": encoder.identifier, "dimension": encoder.dimension, "embeddings": rows]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
}
