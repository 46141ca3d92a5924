import Foundation
import TandemTensor
import TandemEmbedding

/// `tandem bench embed`: throughput, latency and memory of the native encoder on a CSV
/// column, with the machine's own sgemm rate as the yardstick for achieved GFLOP/s.
public struct EmbeddingBenchmark {
    public struct Throughput: Codable, Sendable {
        public var threads: Int
        public var seconds: Double
        public var sentencesPerSecond: Double
        public var tokensPerSecond: Double
        public var gflops: Double

        enum CodingKeys: String, CodingKey {
            case threads, seconds, gflops
            case sentencesPerSecond = "sentences_per_second"
            case tokensPerSecond = "tokens_per_second"
        }
    }

    public struct Report: Codable, Sendable {
        public var model: String
        public var blas: String
        public var sentences: Int
        public var realTokens: Int
        /// Tokens a conventional padded pipeline (batches of 32 in input order) would compute.
        public var paddedTokensBatch32: Int
        public var runs: [Throughput]
        public var sentencesPerSecond: Double
        public var tokensPerSecond: Double
        /// Packed batches compute no padding, so this equals the real token rate.
        public var paddedTokensPerSecond: Double
        public var gflops: Double
        public var sgemmGflopsOneThread: Double
        public var sgemmGflopsAllThreads: Double
        public var shareOfSgemm: Double
        public var p50Ms: Double
        public var p99Ms: Double
        public var p50Ms15Tokens: Double?
        public var latencySamples: Int
        public var rssMBAfterLoad: Double?
        public var rssMBPeak: Double?

        enum CodingKeys: String, CodingKey {
            case model, blas, sentences, runs, gflops
            case realTokens = "real_tokens"
            case paddedTokensBatch32 = "padded_tokens_batch32"
            case sentencesPerSecond = "sentences_per_second"
            case tokensPerSecond = "tokens_per_second"
            case paddedTokensPerSecond = "padded_tokens_per_second"
            case sgemmGflopsOneThread = "sgemm_gflops_1_thread"
            case sgemmGflopsAllThreads = "sgemm_gflops_all_threads"
            case shareOfSgemm = "share_of_sgemm"
            case p50Ms = "p50_ms"
            case p99Ms = "p99_ms"
            case p50Ms15Tokens = "p50_ms_15_tokens"
            case latencySamples = "latency_samples"
            case rssMBAfterLoad = "rss_mb_after_load"
            case rssMBPeak = "rss_mb_peak"
        }
    }

    public let modelDirectory: String
    public let texts: [String]
    public let threads: Int
    public let latencySamples: Int
    /// The encoder's packed-chunk size (nil: its default).
    public let chunkTokens: Int?
    public let progress: (String) -> Void

    public init(modelDirectory: String, texts: [String], threads: Int, latencySamples: Int = 1000, chunkTokens: Int? = nil,
                progress: @escaping (String) -> Void) {
        self.modelDirectory = modelDirectory
        self.texts = texts
        self.threads = max(1, threads)
        self.latencySamples = latencySamples
        self.chunkTokens = chunkTokens
        self.progress = progress
    }

    public func run() throws -> Report {
        // Memory first, with nothing else loaded: the figure is the loaded model's footprint.
        var encoder: TransformerEncoder? = try TransformerEncoder(directory: modelDirectory, threads: threads)
        let memoryAfterLoad = Measure.residentMemoryMB()?.current
        let ids = texts.map { encoder!.tokenizer.encode($0).ids }
        let lengths = ids.map(\.count)
        let realTokens = lengths.reduce(0, +)
        let padded = stride(from: 0, to: lengths.count, by: 32).reduce(0) { total, start in
            let batch = lengths[start..<min(start + 32, lengths.count)]
            return total + batch.count * (batch.max() ?? 0)
        }
        let flops = encoder!.model.flops(sequenceLengths: lengths)
        let config = encoder!.config
        let identifier = encoder!.identifier

        var runs: [Throughput] = []
        var latency: (all: [Double], fifteen: [Double]) = ([], [])
        for count in Set([1, threads]).sorted() {
            let runner = count == threads ? encoder! : try TransformerEncoder(directory: modelDirectory, threads: count)
            if let chunkTokens { runner.maxTokensPerChunk = chunkTokens }
            _ = runner.embed(tokenIDs: Array(ids.prefix(256)))
            progress("encoding \(texts.count) sentences with \(count) thread(s) …")
            // Tokenising is part of the work a caller sees, so it is inside the timing.
            let seconds = Measure.seconds { _ = runner.encode(texts) }
            runs.append(Throughput(threads: count, seconds: seconds, sentencesPerSecond: Double(texts.count) / seconds,
                                   tokensPerSecond: Double(realTokens) / seconds, gflops: flops / seconds / 1e9))
            if count == threads {
                progress("single-sentence latency over \(min(latencySamples, texts.count)) sentences, \(count) thread(s) …")
                for (text, length) in zip(texts, lengths).prefix(latencySamples) {
                    let ms = Measure.seconds { _ = runner.encode([text]) } * 1000
                    latency.all.append(ms)
                    if length == 15 { latency.fifteen.append(ms) }
                }
            }
        }
        encoder = nil
        let best = runs.max { $0.sentencesPerSecond < $1.sentencesPerSecond }!

        progress("measuring sgemm on the encoder's shapes …")
        let sgemm1 = Self.sgemmRate(threads: 1, config: config)
        let sgemmN = threads > 1 ? Self.sgemmRate(threads: threads, config: config) : sgemm1
        BLAS.setThreads(1)
        let peakReference = max(sgemm1, sgemmN)

        return Report(
            model: identifier, blas: BLAS.implementation, sentences: texts.count, realTokens: realTokens,
            paddedTokensBatch32: padded, runs: runs,
            sentencesPerSecond: best.sentencesPerSecond, tokensPerSecond: best.tokensPerSecond,
            paddedTokensPerSecond: best.tokensPerSecond, gflops: best.gflops,
            sgemmGflopsOneThread: sgemm1, sgemmGflopsAllThreads: sgemmN, shareOfSgemm: best.gflops / peakReference,
            p50Ms: Measure.quantile(latency.all, 0.5), p99Ms: Measure.quantile(latency.all, 0.99),
            p50Ms15Tokens: latency.fifteen.isEmpty ? nil : Measure.quantile(latency.fifteen, 0.5),
            latencySamples: latency.all.count,
            rssMBAfterLoad: memoryAfterLoad, rssMBPeak: Measure.residentMemoryMB()?.peak)
    }

    /// Best sgemm rate over the encoder's projection shapes for 2,048 packed tokens.
    static func sgemmRate(threads: Int, config: BertConfig) -> Double {
        BLAS.setThreads(threads)
        let m = 2048, h = config.hiddenSize, i = config.intermediateSize
        let shapes = [(m, 3 * h, h), (m, h, h), (m, i, h), (m, h, i)]
        var totalFlops = 0.0, totalSeconds = 0.0
        for (rows, n, k) in shapes {
            let a = [Float](repeating: 0.01, count: rows * k), b = [Float](repeating: 0.02, count: n * k)
            var c = [Float](repeating: 0, count: rows * n)
            var best = Double.infinity
            for _ in 0..<5 {
                best = min(best, Measure.seconds {
                    BLAS.gemm(transposeB: true, m: rows, n: n, k: k, a: a, lda: k, b: b, ldb: k, c: &c, ldc: n)
                })
            }
            totalFlops += 2 * Double(rows * n * k)
            totalSeconds += best
        }
        return totalFlops / totalSeconds / 1e9
    }
}

extension EmbeddingBenchmark.Report {
    /// Human-readable summary.
    public var table: String {
        func f(_ v: Double, _ d: Int = 1) -> String { String(format: "%.\(d)f", v) }
        var lines = [
            "model            \(model) (\(blas))",
            "sentences        \(sentences), \(realTokens) tokens (a padded batch-32 pipeline would compute \(paddedTokensBatch32))",
        ]
        for run in runs {
            lines.append("batch, \(run.threads) thread(s)  \(f(run.sentencesPerSecond)) sentences/s, \(f(run.tokensPerSecond, 0)) tokens/s, \(f(run.gflops)) GFLOP/s (\(f(run.seconds, 2)) s)")
        }
        if runs.count == 2 {
            lines.append("thread scaling   ×\(f(runs[1].sentencesPerSecond / runs[0].sentencesPerSecond, 2))")
        }
        lines += [
            "padded tokens/s  \(f(paddedTokensPerSecond, 0)) (packed batches: no padding computed)",
            "sgemm peak       \(f(sgemmGflopsOneThread)) GFLOP/s on 1 thread, \(f(sgemmGflopsAllThreads)) on all; encoder reaches \(f(shareOfSgemm * 100))%",
            "latency          p50 \(f(p50Ms, 2)) ms, p99 \(f(p99Ms, 2)) ms over \(latencySamples) single sentences" + (p50Ms15Tokens.map { "; 15-token p50 \(f($0, 2)) ms" } ?? ""),
            "memory           \(rssMBAfterLoad.map { f($0) } ?? "?") MB resident after load, \(rssMBPeak.map { f($0) } ?? "?") MB peak",
        ]
        return lines.joined(separator: "\n")
    }
}
