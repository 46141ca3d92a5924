import TandemTensor
import TandemText
/// A stand-in encoder from hashed word and character n-grams (the "hashing trick"), used
/// when no transformer model is installed so that the product still starts and the layers
/// above can be tested. It captures shared wording, not meaning: paraphrases with different
/// words look unrelated, so its confidence is lower and more work goes to people.
public struct LexicalEncoder: SentenceEncoder {
    public let dimension: Int
    public var identifier: String { "lexical-hash-v1-\(dimension)" }
    public var isFallback: Bool { true }
    private let basic = BasicTokenizer()

    public init(dimension: Int = 512) {
        self.dimension = max(16, dimension)
    }

    public func encode(_ texts: [String]) -> [[Float]] {
        texts.map(embed)
    }

    func embed(_ text: String) -> [Float] {
        var vector = [Float](repeating: 0, count: dimension)
        let words = basic.split(text[...]).map { String(String.UnicodeScalarView($0)) }
            .filter { $0.unicodeScalars.contains { !BasicTokenizer.isPunctuation($0) } }
        func add(_ feature: String, weight: Float) {
            let h = Self.fnv1a(feature)
            // The sign bit from another part of the hash keeps collisions from adding up.
            let sign: Float = (h >> 63) == 0 ? 1 : -1
            vector[Int(h % UInt64(dimension))] += sign * weight
        }
        for (i, word) in words.enumerated() {
            add("w:" + word, weight: 1)
            if i > 0 { add("b:" + words[i - 1] + " " + word, weight: 0.7) }
            let chars = Array(("<" + word + ">").unicodeScalars)
            for n in 3...5 where chars.count >= n {
                for start in 0...(chars.count - n) {
                    add("c:" + String(String.UnicodeScalarView(chars[start..<(start + n)])), weight: 0.3)
                }
            }
        }
        l2Normalize(&vector)
        return vector
    }

    static func fnv1a(_ s: String) -> UInt64 {
        var hash: UInt64 = 0xcbf29ce484222325
        for byte in s.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100000001b3 }
        // Final avalanche (splitmix64) so that the low bits used for the bucket are well mixed.
        hash ^= hash >> 30; hash &*= 0xbf58476d1ce4e5b9
        hash ^= hash >> 27; hash &*= 0x94d049bb133111eb
        hash ^= hash >> 31
        return hash
    }
}
