import Foundation
import TandemTensor
import TandemText
#if canImport(Glibc)
import Glibc
#endif

/// A sentence-transformers BERT model run natively: tokenizer → `BertModel` → pooling →
/// L2 normalisation, matching the reference `SentenceTransformer.encode`.
///
/// Batches are packed (no padding), sorted longest first and spread over `threads` worker
/// threads, each with its own workspace and single-threaded BLAS. A lone sentence takes the
/// same path with one chunk, so latency is not traded for throughput.
public final class TransformerEncoder: SentenceEncoder, @unchecked Sendable {
    public let directory: String
    public let config: BertConfig
    public let tokenizer: BertTokenizer
    public let model: BertModel
    public let pooling: Pooling
    public let normalizes: Bool
    public let identifier: String
    public let threads: Int
    /// Upper bound on tokens per packed chunk: large enough that GEMMs run near peak, small
    /// enough that a chunk's activations (15 KB per token, kept per thread between calls) stay
    /// in a few MB. 512 encodes Banking77's test set as fast as 2048 did (`bench embed
    /// --chunk-tokens`) with a quarter of the workspace: 8 MB per thread instead of 31.
    public var maxTokensPerChunk = 512
    public var dimension: Int { config.hiddenSize }
    public var isFallback: Bool { false }

    private let workspaces = WorkspacePool()
    /// Helper threads that let one short sequence use every core (nil with one thread).
    private let teamRunner: TeamRunner?

    /// `nice`: the helper threads' priority (`Thread.lowerPriority`); a server passes the one
    /// its inference thread runs at.
    public init(directory: String, threads: Int = ProcessInfo.processInfo.activeProcessorCount, nice: Int32 = 0) throws {
        let files = ModelFiles(directory: directory)
        self.directory = directory
        config = try BertConfig.load(path: files.config)
        let weights: SafetensorsFile
        do { weights = try SafetensorsFile(path: files.weights) } catch let error as SafetensorsError { throw EmbeddingError(error) }
        let vocabulary = try Vocabulary(contentsOf: files.vocabulary)
        guard vocabulary.count <= config.vocabSize else {
            throw EmbeddingError.invalidVocabulary(path: files.vocabulary, reason: "\(vocabulary.count) tokens but the model has vocab_size \(config.vocabSize)")
        }
        let settings = try SentenceTransformerSettings(directory: directory, config: config)
        tokenizer = BertTokenizer(
            vocabulary: vocabulary,
            basic: BasicTokenizer(lowercase: settings.lowercase, stripAccents: settings.stripAccents),
            maxLength: settings.maxSequenceLength)
        do { model = try BertModel(config: config, weights: weights) } catch let error as SafetensorsError { throw EmbeddingError(error) }
        pooling = try Pooling.load(directory: directory)
        normalizes = settings.normalize
        self.threads = max(1, threads)
        teamRunner = self.threads > 1 ? TeamRunner(size: self.threads, nice: nice) : nil
        identifier = "\(settings.name)@\(weights.fingerprint)"
        // This encoder parallelises over chunks itself; BLAS threads on top would oversubscribe.
        BLAS.setThreads(1)
    }

    public func encode(_ texts: [String]) -> [[Float]] {
        let encodings = texts.map { tokenizer.encode($0).ids }
        return embed(tokenIDs: encodings)
    }

    /// Embeds already-tokenised sequences (each `[CLS] … [SEP]`).
    ///
    /// With at least as many sentences as threads, each thread encodes whole chunks of them;
    /// a single sentence is encoded by the threads together as a team. A team meets at a
    /// barrier after every step, about fifty times a pass, and on a server the other threads
    /// (HTTP, the database) take the cores in between, so one member preempted stalls the
    /// other at every barrier; whole chunks meet once, at the end.
    public func embed(tokenIDs sequences: [[Int32]]) -> [[Float]] {
        let width = config.hiddenSize
        let chunks = Self.chunks(lengths: sequences.map(\.count), maxTokens: maxTokensPerChunk, atLeast: threads)
        let buffer = OutputBuffer(count: sequences.count * width)
        if chunks.count < threads, let teamRunner {
            for members in chunks {
                let batch = PackedBatch(members.map { sequences[$0] })
                let workspace = workspaces.take(config: config)
                model.prepare(workspace, for: batch, members: teamRunner.team.size)
                let model = self.model
                let team = teamRunner.team
                let ran = teamRunner.tryRun { member in
                    model.forward(batch, workspace: workspace, share: WorkShare(index: member, team: team))
                }
                // Busy with another caller's sentence: encode this one alone rather than wait.
                let states = ran ? UnsafePointer(workspace.hidden(0)) : model.forward(batch, workspace: workspace)
                pool(batch, members: members, states: states, into: buffer.pointer)
                workspaces.give(workspace)
            }
        } else {
            let next = WorkCounter()
            let run: @Sendable (Int) -> Void = { _ in
                let workspace = self.workspaces.take(config: self.config)
                defer { self.workspaces.give(workspace) }
                while let c = next.take(below: chunks.count) {
                    let batch = PackedBatch(chunks[c].map { sequences[$0] })
                    let states = self.model.forward(batch, workspace: workspace)
                    self.pool(batch, members: chunks[c], states: states, into: buffer.pointer)
                }
            }
            // On the team's own threads when it is free (not on Dispatch's, which also run a
            // server's requests); busy with another caller's batch: on Dispatch's.
            let workers = min(threads, chunks.count)
            if workers <= 1 {
                run(0)
            } else if teamRunner?.tryRun(run) != true {
                DispatchQueue.concurrentPerform(iterations: workers, execute: run)
            }
        }
        return (0..<sequences.count).map { Array(UnsafeBufferPointer(start: buffer.pointer + $0 * width, count: width)) }
    }

    /// Pools and normalises each sequence of a finished batch into its output row.
    private func pool(_ batch: PackedBatch, members: [Int], states: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>) {
        let width = config.hiddenSize
        for (position, index) in members.enumerated() {
            let range = batch.range(of: position)
            let out = output + index * width
            pooling.pool(states + range.lowerBound * width, count: range.count, width: width, into: out)
            if normalizes { l2Normalize(out, count: width) }
        }
    }

    /// Groups sequence indices into chunks of at most `maxTokens` tokens, longest sequences
    /// first so the slowest chunks start early and the threads finish together. Fewer chunks
    /// than `atLeast` (a few sentences that fit one) become `atLeast` chunks of about equal
    /// tokens when there are that many sentences, so every thread has whole sentences to encode.
    static func chunks(lengths: [Int], maxTokens: Int, atLeast minimum: Int = 1) -> [[Int]] {
        let packed = packed(lengths: lengths, maxTokens: maxTokens)
        guard packed.count < minimum, lengths.count >= minimum else { return packed }
        var chunks = [[Int]](repeating: [], count: minimum)
        var tokens = [Int](repeating: 0, count: minimum)
        for index in longestFirst(lengths) {
            // The lightest chunk so far takes the next longest sentence.
            let lightest = tokens.indices.min { tokens[$0] < tokens[$1] }!
            chunks[lightest].append(index)
            tokens[lightest] += lengths[index]
        }
        return chunks
    }

    /// Sequence indices, longest first (ties in input order).
    private static func longestFirst(_ lengths: [Int]) -> [Int] {
        lengths.indices.sorted { lengths[$0] > lengths[$1] || (lengths[$0] == lengths[$1] && $0 < $1) }
    }

    private static func packed(lengths: [Int], maxTokens: Int) -> [[Int]] {
        let order = longestFirst(lengths)
        var chunks: [[Int]] = []
        var current: [Int] = []
        var tokens = 0
        for index in order {
            if !current.isEmpty && tokens + lengths[index] > maxTokens {
                chunks.append(current)
                current = []
                tokens = 0
            }
            current.append(index)
            tokens += lengths[index]
        }
        if !current.isEmpty { chunks.append(current) }
        return chunks
    }
}

/// Embedding rows written by the worker threads, each to its own disjoint rows.
final class OutputBuffer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    init(count: Int) { pointer = .allocate(capacity: max(1, count)) }
    deinit { pointer.deallocate() }
}

/// Hands each worker thread its own workspace and keeps them for the next call.
final class WorkspacePool: @unchecked Sendable {
    private let lock = NSLock()
    private var idle: [BertWorkspace] = []

    func take(config: BertConfig) -> BertWorkspace {
        lock.lock(); defer { lock.unlock() }
        return idle.popLast() ?? BertWorkspace(config: config)
    }

    func give(_ workspace: BertWorkspace) {
        lock.lock(); defer { lock.unlock() }
        idle.append(workspace)
    }
}
