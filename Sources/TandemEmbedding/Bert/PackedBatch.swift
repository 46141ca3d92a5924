import TandemTensor
/// Token ids of several sequences laid end to end, with no padding: every projection runs
/// once over all real tokens, and only attention looks at sequence boundaries.
public struct PackedBatch: Sendable {
    /// All ids, sequence after sequence.
    public private(set) var ids: [Int32] = []
    /// `offsets[s]..<offsets[s + 1]` are the tokens of sequence `s`.
    public private(set) var offsets: [Int] = [0]
    /// Position of each token inside its sequence (0 at every `[CLS]`).
    public private(set) var positions: [Int] = []

    public init() {}

    public init(_ sequences: [[Int32]]) {
        for sequence in sequences { append(sequence) }
    }

    public mutating func append(_ sequence: [Int32]) {
        ids.append(contentsOf: sequence)
        positions.append(contentsOf: sequence.indices)
        offsets.append(ids.count)
    }

    public var sequenceCount: Int { offsets.count - 1 }
    public var tokenCount: Int { ids.count }
    public func range(of sequence: Int) -> Range<Int> { offsets[sequence]..<offsets[sequence + 1] }
    public var longest: Int { (0..<sequenceCount).map { range(of: $0).count }.max() ?? 0 }
}

/// Scratch memory for one forward pass, reused across batches by one thread or one team.
/// Team members share it: each writes disjoint parts of `qkv`, `context`, `intermediate`
/// and `scratch` between barriers, and keeps its own copy of the hidden state (cheap for the
/// short sequences teams run) so that LayerNorms need no barrier.
public final class BertWorkspace: @unchecked Sendable {
    let config: BertConfig
    private var tokenCapacity = 0
    private var memberCapacity = 0
    private var hiddenStates: UnsafeMutablePointer<Float>
    private(set) var qkv: UnsafeMutablePointer<Float>
    private(set) var context: UnsafeMutablePointer<Float>
    private(set) var scratch: UnsafeMutablePointer<Float>
    private(set) var intermediate: UnsafeMutablePointer<Float>
    /// Attention scratch, one block per member.
    private var scoreBlocks: UnsafeMutablePointer<Float>
    private var scoresCapacity = 0
    private var scoresStride = 0

    public init(config: BertConfig, tokens: Int = 256) {
        self.config = config
        hiddenStates = .allocate(capacity: 1)
        qkv = .allocate(capacity: 1)
        context = .allocate(capacity: 1)
        scratch = .allocate(capacity: 1)
        intermediate = .allocate(capacity: 1)
        scoreBlocks = .allocate(capacity: 1)
        reserve(tokens: tokens, longest: min(tokens, config.maxPositionEmbeddings))
    }

    /// Member `member`'s hidden state `[tokens, hidden]`.
    func hidden(_ member: Int) -> UnsafeMutablePointer<Float> {
        hiddenStates + member * tokenCapacity * config.hiddenSize
    }

    func scores(_ member: Int) -> UnsafeMutablePointer<Float> { scoreBlocks + member * scoresStride }

    /// Grows the buffers to hold `tokens` packed tokens whose longest sequence is `longest`,
    /// for a team of `members` threads.
    func reserve(tokens: Int, longest: Int, members: Int = 1) {
        if tokens > tokenCapacity || members > memberCapacity {
            let h = config.hiddenSize
            tokenCapacity = max(tokens, tokenCapacity)
            memberCapacity = max(members, memberCapacity, 1)
            for p in [hiddenStates, qkv, context, scratch, intermediate] { p.deallocate() }
            hiddenStates = .allocate(capacity: memberCapacity * tokenCapacity * h)
            qkv = .allocate(capacity: tokenCapacity * 3 * h)
            context = .allocate(capacity: tokenCapacity * h)
            scratch = .allocate(capacity: tokenCapacity * h)
            intermediate = .allocate(capacity: tokenCapacity * max(config.intermediateSize, h))
        }
        // Room for the BLAS path's n×n scores and the small kernel's transposed keys plus a row.
        scoresStride = max(scoresStride, longest * max(longest, config.headDim + 1))
        if scoresStride * members > scoresCapacity {
            scoreBlocks.deallocate()
            scoresCapacity = scoresStride * members
            scoreBlocks = .allocate(capacity: scoresCapacity)
        }
    }

    deinit {
        for p in [hiddenStates, qkv, context, scratch, intermediate, scoreBlocks] { p.deallocate() }
    }
}
