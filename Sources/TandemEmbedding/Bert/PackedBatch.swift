/// Token ids of several sequences laid end to end, with no padding: every projection runs
/// once over all real tokens, and only attention looks at sequence boundaries.
public struct PackedBatch: Sendable {
    /// All ids, sequence after sequence.
    public private(set) var ids: [Int32] = []
    /// `offsets[s]..<offsets[s + 1]` are the tokens of sequence `s`.
    public private(set) var offsets: [Int] = [0]

    public init() {}

    public init(_ sequences: [[Int32]]) {
        for sequence in sequences { append(sequence) }
    }

    public mutating func append(_ sequence: [Int32]) {
        ids.append(contentsOf: sequence)
        offsets.append(ids.count)
    }

    public var sequenceCount: Int { offsets.count - 1 }
    public var tokenCount: Int { ids.count }
    public func range(of sequence: Int) -> Range<Int> { offsets[sequence]..<offsets[sequence + 1] }
    public var longest: Int { (0..<sequenceCount).map { range(of: $0).count }.max() ?? 0 }
}

/// Scratch memory for one forward pass, reused across batches by one thread.
public final class BertWorkspace {
    let config: BertConfig
    private(set) var capacity = 0
    private(set) var hidden: UnsafeMutablePointer<Float>
    private(set) var qkv: UnsafeMutablePointer<Float>
    private(set) var context: UnsafeMutablePointer<Float>
    private(set) var intermediate: UnsafeMutablePointer<Float>
    private(set) var scores: UnsafeMutablePointer<Float>
    private var scoresCapacity = 0

    public init(config: BertConfig, tokens: Int = 256) {
        self.config = config
        hidden = .allocate(capacity: 1)
        qkv = .allocate(capacity: 1)
        context = .allocate(capacity: 1)
        intermediate = .allocate(capacity: 1)
        scores = .allocate(capacity: 1)
        reserve(tokens: tokens, longest: min(tokens, config.maxPositionEmbeddings))
    }

    /// Grows the buffers to hold `tokens` packed tokens whose longest sequence is `longest`.
    func reserve(tokens: Int, longest: Int) {
        if tokens > capacity {
            let h = config.hiddenSize
            for p in [hidden, qkv, context, intermediate] { p.deallocate() }
            hidden = .allocate(capacity: tokens * h)
            qkv = .allocate(capacity: tokens * 3 * h)
            context = .allocate(capacity: tokens * h)
            intermediate = .allocate(capacity: tokens * max(config.intermediateSize, h))
            capacity = tokens
        }
        if longest * longest > scoresCapacity {
            scores.deallocate()
            scoresCapacity = longest * longest
            scores = .allocate(capacity: scoresCapacity)
        }
    }

    deinit {
        for p in [hidden, qkv, context, intermediate, scores] { p.deallocate() }
    }
}
