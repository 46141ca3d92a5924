import Foundation

/// WordPiece vocabulary from `vocab.txt`: one token per line, the id is the line number.
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

    public init(contentsOf path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw EmbeddingError.fileNotFound(path: path) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw EmbeddingError.unreadable(path: path, reason: "cannot read file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw EmbeddingError.invalidVocabulary(path: path, reason: "not UTF-8 text")
        }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            line.hasSuffix("\r") ? String(line.dropLast()) : String(line)
        }
        if lines.last == "" { lines.removeLast() }
        try self.init(tokens: lines, path: path)
    }

    public init(tokens: [String], path: String = "vocab.txt") throws {
        guard !tokens.isEmpty else { throw EmbeddingError.invalidVocabulary(path: path, reason: "file is empty") }
        var ids: [String: Int32] = [:]
        ids.reserveCapacity(tokens.count)
        for (i, token) in tokens.enumerated() where ids[token] == nil {
            ids[token] = Int32(i)
        }
        func required(_ token: String) throws -> Int32 {
            guard let id = ids[token] else {
                throw EmbeddingError.invalidVocabulary(path: path, reason: "special token \(token) is missing (is this a BERT WordPiece vocab.txt?)")
            }
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
