import Foundation
import Testing
@testable import TandemText

/// The tokenizer's rules on a tiny vocabulary; the real vocabulary is checked against the
/// reference ids in TandemEmbeddingTests.
@Suite("WordPiece tokenizer rules")
struct TokenizerTests {
    /// A tiny vocabulary exercises the rules without the model files.
    static func tinyTokenizer(maxLength: Int = 16) throws -> BertTokenizer {
        let tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "card", "##s", "un", "##k", "[", "]", "!", "?",
                      "cafe", "σ", "ο", "##σ", "lost", "a", "##a", "i"]
        return BertTokenizer(vocabulary: try Vocabulary(tokens: tokens), maxLength: maxLength)
    }

    @Test("basic rules: accents, punctuation, per-code-point lowercase, whole-word [UNK]")
    func basicRules() throws {
        let t = try Self.tinyTokenizer()
        #expect(t.tokens(t.encode("CARDS!").ids) == ["[CLS]", "card", "##s", "!", "[SEP]"])
        #expect(t.tokens(t.encode("Café").ids) == ["[CLS]", "cafe", "[SEP]"])
        // Σ lowercases to σ even at the end of a word (no final-sigma context rule).
        #expect(t.tokens(t.encode("ΟΣ").ids) == ["[CLS]", "ο", "##σ", "[SEP]"])
        // A word that cannot be fully covered is one [UNK], not a partial match.
        #expect(t.tokens(t.encode("cardx lost").ids) == ["[CLS]", "[UNK]", "lost", "[SEP]"])
        // Control and zero-width characters vanish and glue their neighbours.
        #expect(t.tokens(t.encode("card\u{0}s").ids) == ["[CLS]", "card", "##s", "[SEP]"])
        #expect(t.tokens(t.encode("card\u{200B}s").ids) == ["[CLS]", "card", "##s", "[SEP]"])
        // İ decomposes to I + combining dot, which is stripped.
        #expect(t.tokens(t.encode("İ").ids) == ["[CLS]", "i", "[SEP]"])
    }

    @Test("literal special tokens are matched case-sensitively before normalisation")
    func specialTokens() throws {
        let t = try Self.tinyTokenizer()
        #expect(t.tokens(t.encode("card [SEP] card[MASK]").ids) == ["[CLS]", "card", "[SEP]", "card", "[MASK]", "[SEP]"])
        #expect(t.tokens(t.encode("[unk]").ids) == ["[CLS]", "[", "un", "##k", "]", "[SEP]"])
    }

    @Test("words over 100 code points are [UNK]; sequences are truncated to maxLength")
    func lengthLimits() throws {
        let t = try Self.tinyTokenizer(maxLength: 6)
        #expect(t.encode(String(repeating: "a", count: 100)).ids[1] != t.vocabulary.unknownID)
        #expect(t.encode(String(repeating: "a", count: 101)).ids[1] == t.vocabulary.unknownID)
        let long = t.encode(Array(repeating: "card", count: 10).joined(separator: " "))
        #expect(long.ids.count == 6)
        #expect(long.ids.first == t.vocabulary.classID && long.ids.last == t.vocabulary.separatorID)
        #expect(long.untruncatedCount == 10 && long.truncated)
    }

    @Test("empty, whitespace-only, huge and odd inputs tokenise without crashing")
    func oddInputs() throws {
        let t = try Self.tinyTokenizer(maxLength: 256)
        for text in ["", "   ", "\u{0}\u{0}", String(repeating: "x", count: 100_000),
                     String(repeating: "card ", count: 30_000), "\u{FFFD}\u{FEFF}", "\u{D7FF}\u{E000}\u{10FFFF}",
                     String(repeating: "[", count: 1000), "[SEP", "🫨🇬🇧👨‍👩‍👧"] {
            let ids = t.encode(text).ids
            #expect(ids.count >= 2 && ids.count <= 256)
        }
    }
}
