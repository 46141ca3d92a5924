import Foundation
import TandemTensor
import Testing
@testable import TandemEmbedding

@Suite("WordPiece tokenizer of the real model against the reference ids")
struct TokenizerGoldenTests {
    @Test("token ids equal the reference for every golden sentence", .enabled(if: TestSupport.runModelTests, TestSupport.modelSkipReason))
    func goldenTokenIDs() throws {
        let encoder = try TestSupport.encoder.get()
        let golden = try GoldenFile.load()
        #expect(golden.cases.count == 86)
        for golden in golden.cases {
            let encoding = encoder.tokenizer.encode(golden.text)
            let actual = encoder.tokenizer.tokens(encoding.ids)
            #expect(encoding.ids == golden.input_ids,
                    "\(golden.id) \(golden.text.debugDescription):\n\(tokenDiff(expected: golden.tokens, actual: actual))")
            #expect(encoding.untruncatedCount + 2 == golden.n_tokens_untruncated,
                    "\(golden.id): untruncated count \(encoding.untruncatedCount + 2) vs \(golden.n_tokens_untruncated)")
            #expect(encoding.truncated == golden.truncated, "\(golden.id): truncation flag")
        }
    }
}
