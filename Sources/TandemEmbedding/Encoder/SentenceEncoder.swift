import TandemTensor
/// Anything that turns texts into unit-length sentence embeddings. The transformer encoder
/// is the real one; the lexical encoder stands in when no model is installed.
public protocol SentenceEncoder: Sendable {
    /// Length of every embedding.
    var dimension: Int { get }
    /// Identifies the encoder and its weights; stored with every model artifact so that a
    /// classifier is never applied to embeddings from a different encoder.
    var identifier: String { get }
    /// True for a stand-in that is not the real model (callers tell their users so).
    var isFallback: Bool { get }
    /// One embedding per text, in input order.
    func encode(_ texts: [String]) -> [[Float]]
}

extension SentenceEncoder {
    public func encode(_ text: String) -> [Float] { encode([text])[0] }

    /// Embeddings as the rows of a matrix.
    public func encodeMatrix(_ texts: [String]) -> Matrix {
        Matrix(stacking: encode(texts), columns: dimension)
    }
}
