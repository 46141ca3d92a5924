/// The full BERT tokenizer as sentence-transformers calls it: literal special tokens are
/// split out of the raw text first, every other segment goes through the basic tokenizer
/// and WordPiece, the result is truncated to `maxLength - 2` pieces and wrapped in
/// `[CLS] … [SEP]`. Mirrors swift-transformers' `BertTokenizer` composition.
public struct BertTokenizer: Sendable {
    public let vocabulary: Vocabulary
    public let basic: BasicTokenizer
    public let wordPiece: WordPieceTokenizer
    /// Total sequence length including `[CLS]` and `[SEP]` (sentence-transformers' `max_seq_length`).
    public let maxLength: Int

    public init(vocabulary: Vocabulary, basic: BasicTokenizer = BasicTokenizer(), maxLength: Int = 256) {
        self.vocabulary = vocabulary
        self.basic = basic
        self.wordPiece = WordPieceTokenizer(vocabulary: vocabulary)
        self.maxLength = max(2, maxLength)
    }

    public struct Encoding: Equatable, Sendable {
        /// `[CLS] pieces… [SEP]`, at most `maxLength` ids.
        public var ids: [Int32]
        /// Word pieces before truncation, excluding `[CLS]` and `[SEP]`.
        public var untruncatedCount: Int
        public var truncated: Bool { untruncatedCount + 2 > ids.count }
    }

    public func encode(_ text: String) -> Encoding {
        var pieces: [Int32] = []
        for segment in splitOnSpecialTokens(text) {
            switch segment {
            case .special(let id):
                pieces.append(id)
            case .text(let part):
                for word in basic.split(part) {
                    wordPiece.tokenize(word: word, into: &pieces)
                }
            }
        }
        let kept = min(pieces.count, maxLength - 2)
        var ids: [Int32] = [vocabulary.classID]
        ids.reserveCapacity(kept + 2)
        ids.append(contentsOf: pieces[..<kept])
        ids.append(vocabulary.separatorID)
        return Encoding(ids: ids, untruncatedCount: pieces.count)
    }

    public func tokens(_ ids: [Int32]) -> [String] { ids.map(vocabulary.token(for:)) }

    enum Segment {
        case text(Substring)
        case special(Int32)
    }

    /// Leftmost-longest literal match of the special tokens, case-sensitive, on the raw code
    /// points (not `Character`s, so a combining mark after `]` does not hide the match).
    func splitOnSpecialTokens(_ text: String) -> [Segment] {
        let scalars = text.unicodeScalars
        guard scalars.contains("[") else { return [.text(text[...])] }
        var segments: [Segment] = []
        var segmentStart = scalars.startIndex
        var index = scalars.startIndex
        while index < scalars.endIndex {
            if scalars[index] == "[" {
                let rest = scalars[index...]
                var best: (length: Int, id: Int32)?
                for (token, id) in vocabulary.specialTokens where rest.starts(with: token.unicodeScalars) {
                    let length = token.unicodeScalars.count
                    if best == nil || length > best!.length { best = (length, id) }
                }
                if let best {
                    if segmentStart < index { segments.append(.text(Substring(scalars[segmentStart..<index]))) }
                    segments.append(.special(best.id))
                    index = scalars.index(index, offsetBy: best.length)
                    segmentStart = index
                    continue
                }
            }
            index = scalars.index(after: index)
        }
        if segmentStart < scalars.endIndex { segments.append(.text(Substring(scalars[segmentStart...]))) }
        return segments
    }
}
