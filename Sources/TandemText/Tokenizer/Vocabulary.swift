import Foundation

/// WordPiece vocabulary: the tokens of `vocab.txt` in order, the id being the line number.
/// (Reading the file is the encoder loader's job.)
public struct Vocabulary: Sendable {
    public let tokens: [String]
    private let ids: [String: Int32]

    public let unknownID: Int32
    public let classID: Int32
    public let separatorID: Int32
    public let paddingID: Int32
    /// Special tokens that are matched literally in raw text before normalisation, as the
    /// reference tokenizer does for its added tokens (`[SEP]` typed by a user becomes id 102).
    public let specialTokens: [String: Int32]

    public init(tokens: [String]) throws(VocabularyError) {
        guard !tokens.isEmpty else { throw .empty }
        var ids: [String: Int32] = [:]
        ids.reserveCapacity(tokens.count)
        for (i, token) in tokens.enumerated() where ids[token] == nil {
            ids[token] = Int32(i)
        }
        func required(_ token: String) throws(VocabularyError) -> Int32 {
            guard let id = ids[token] else { throw .missingSpecialToken(token) }
            return id
        }
        self.tokens = tokens
        self.ids = ids
        unknownID = try required("[UNK]")
        classID = try required("[CLS]")
        separatorID = try required("[SEP]")
        paddingID = ids["[PAD]"] ?? 0
        var specials: [String: Int32] = [:]
        for token in ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] { specials[token] = ids[token] }
        specialTokens = specials
    }

    public var count: Int { tokens.count }

    @inlinable
    public func id(for token: String) -> Int32? { lookup(token) }

    @usableFromInline
    func lookup(_ token: String) -> Int32? { ids[token] }

    public func token(for id: Int32) -> String {
        Int(id) >= 0 && Int(id) < tokens.count ? tokens[Int(id)] : "[UNK]"
    }
}

/// Why a list of tokens is not a BERT WordPiece vocabulary.
public enum VocabularyError: Error, Equatable, Sendable, CustomStringConvertible {
    case empty
    case missingSpecialToken(String)

    public var description: String {
        switch self {
        case .empty: return "file is empty"
        case .missingSpecialToken(let token): return "special token \(token) is missing (is this a BERT WordPiece vocab.txt?)"
        }
    }
}
