/// Greedy longest-match-first WordPiece, as in the reference `WordPiece` model: a word that
/// cannot be fully covered by vocabulary pieces becomes a single `[UNK]` (not a partial
/// match), and a word longer than `maxInputCharsPerWord` code points is `[UNK]` outright.
public struct WordPieceTokenizer: Sendable {
    public let vocabulary: Vocabulary
    public var continuingPrefix: String
    public var maxInputCharsPerWord: Int

    public init(vocabulary: Vocabulary, continuingPrefix: String = "##", maxInputCharsPerWord: Int = 100) {
        self.vocabulary = vocabulary
        self.continuingPrefix = continuingPrefix
        self.maxInputCharsPerWord = maxInputCharsPerWord
    }

    /// Appends the ids of one pre-tokenised word to `ids`.
    public func tokenize(word: [Unicode.Scalar], into ids: inout [Int32]) {
        guard word.count <= maxInputCharsPerWord else {
            ids.append(vocabulary.unknownID)
            return
        }
        let mark = ids.count
        var start = 0
        while start < word.count {
            var end = word.count
            var found: Int32?
            while start < end {
                var piece = start > 0 ? continuingPrefix : ""
                piece.unicodeScalars.append(contentsOf: word[start..<end])
                if let id = vocabulary.id(for: piece) {
                    found = id
                    break
                }
                end -= 1
            }
            guard let id = found else {
                ids.removeSubrange(mark...)
                ids.append(vocabulary.unknownID)
                return
            }
            ids.append(id)
            start = end
        }
    }
}
