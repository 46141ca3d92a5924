import Foundation
import TandemTensor

/// Where model folders live and how an encoder is chosen.
public enum EncoderLoader {
    /// The model Tandem ships with by default.
    public static let defaultModelName = "all-MiniLM-L6-v2"

    /// `$XDG_CACHE_HOME/tandem/models/<name>`, or `~/.cache/tandem/models/<name>`.
    public static func defaultDirectory(environment: [String: String], name: String = defaultModelName) -> String {
        let cache = environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? ((environment["HOME"] ?? NSHomeDirectory()) as NSString).appendingPathComponent(".cache")
        return ((cache as NSString).appendingPathComponent("tandem/models") as NSString).appendingPathComponent(name)
    }

    /// The transformer model in `directory`, or the lexical stand-in when the folder is
    /// missing or broken; `warn` is told why, so the operator knows answers will be weaker.
    public static func loadOrFallback(directory: String, threads: Int = ProcessInfo.processInfo.activeProcessorCount, nice: Int32 = 0,
                                      warn: (String) -> Void) -> any SentenceEncoder {
        do {
            return try TransformerEncoder(directory: directory, threads: threads, nice: nice)
        } catch {
            let reason = (error as? LocalizedError)?.errorDescription ?? "\(error)"
            warn("sentence model unavailable (\(reason)); using the lexical fallback encoder: answers rely on shared wording only and more conversations go to people. Run `tandem model fetch` to install the model.")
            return LexicalEncoder()
        }
    }
}
