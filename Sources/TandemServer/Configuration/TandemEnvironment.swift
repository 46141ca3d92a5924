import Foundation
import TandemEmbedding

/// Every setting Tandem reads from its environment, with a default for each: the one place
/// that reads configuration. The command line overrides fields after construction, so the
/// precedence is command line, then environment, then these defaults.
public struct TandemEnvironment: Sendable, Equatable {
    /// Folder of the sentence-transformers model (`TANDEM_MODEL_DIR`).
    public var modelDirectory: String
    /// Threads the encoder may use (`TANDEM_THREADS`, default: all cores).
    public var threads: Int

    public init(_ environment: [String: String] = ProcessInfo.processInfo.environment) {
        modelDirectory = environment["TANDEM_MODEL_DIR"].flatMap { $0.isEmpty ? nil : $0 }
            ?? EncoderLoader.defaultDirectory(environment: environment)
        threads = environment["TANDEM_THREADS"].flatMap(Int.init).map { max(1, $0) }
            ?? ProcessInfo.processInfo.activeProcessorCount
    }
}
