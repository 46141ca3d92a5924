import Foundation
import TandemTensor

/// The labelled examples themselves, as evidence next to the classifier: how close a message
/// is to the examples of the intent it is predicted as, compared with how close that intent's
/// own examples are to each other ("relative familiarity", low for requests the knowledge base
/// does not cover), and which examples it resembles (shown to agents and in decision records).
public struct NearestNeighbors: Sendable {
    /// Unit-length embeddings of the examples, one per row.
    public let embeddings: Matrix
    public let labels: [Int]
    public let neighbours: Int
    public let classes: Int
    /// Per intent: mean and spread of its examples' similarity to their own closest
    /// same-intent examples (leave-one-out), the yardstick for relative familiarity.
    public let spread: [IntentSpread]

    public struct IntentSpread: Codable, Sendable, Equatable {
        public var mean: Float
        public var deviation: Float
    }

    public init(embeddings: Matrix, labels: [Int], classes: Int, neighbours: Int = 5, spread: [IntentSpread]? = nil) {
        precondition(embeddings.rows == labels.count, "one label per example")
        self.embeddings = embeddings
        self.labels = labels
        self.classes = classes
        self.neighbours = max(1, neighbours)
        self.spread = spread ?? Self.spread(embeddings: embeddings, labels: labels, classes: classes, neighbours: max(1, neighbours))
    }

    public struct Neighbour: Sendable, Equatable {
        public let index: Int
        public let label: Int
        public let similarity: Float
    }

    public struct Evidence: Sendable {
        /// The closest examples overall, most similar first.
        public let nearest: [Neighbour]
        /// Per intent: mean similarity of its `neighbours` closest examples (−1 without examples).
        public let perIntent: [Float]

        /// Mean similarity of the closest examples of any intent.
        public var familiarity: Float {
            guard !nearest.isEmpty else { return 0 }
            return nearest.reduce(0) { $0 + $1.similarity } / Float(nearest.count)
        }

        public static let empty = Evidence(nearest: [], perIntent: [])
    }

    /// How familiar a message looks as `intent`: its similarity to that intent's closest
    /// examples in standard deviations above (or below) what the intent's own examples show.
    public func relativeFamiliarity(_ evidence: Evidence, intent: Int) -> Double {
        guard intent < evidence.perIntent.count, evidence.perIntent[intent] > -1, intent < spread.count else { return -10 }
        let s = spread[intent]
        return Double((evidence.perIntent[intent] - s.mean) / max(s.deviation, 0.01))
    }

    /// Evidence for each row of `queries` (unit-length embeddings).
    public func evidence(_ queries: Matrix) -> [Evidence] {
        guard embeddings.rows > 0, queries.rows > 0 else { return Array(repeating: .empty, count: queries.rows) }
        var result: [Evidence] = []
        result.reserveCapacity(queries.rows)
        // Blocks of queries keep the similarity matrix small for large evaluation sets.
        let block = 256
        for start in stride(from: 0, to: queries.rows, by: block) {
            let rows = Array(start..<min(start + block, queries.rows))
            let similarities = queries.selecting(rows: rows).multiplied(byTransposeOf: embeddings)
            for r in 0..<rows.count {
                result.append(evidence(row: similarities.row(r), excluding: nil))
            }
        }
        return result
    }

    private func evidence(row: ArraySlice<Float>, excluding: Int?) -> Evidence {
        var best: [Neighbour] = []
        best.reserveCapacity(neighbours + 1)
        // Per intent, the `neighbours` largest similarities (small sorted buffers).
        var top = [[Float]](repeating: [], count: classes)
        for (offset, similarity) in row.enumerated() where offset != excluding {
            let label = labels[offset]
            insert(similarity, into: &top[label])
            if best.count == neighbours, let last = best.last, similarity <= last.similarity { continue }
            let position = best.firstIndex { $0.similarity < similarity } ?? best.count
            best.insert(Neighbour(index: offset, label: label, similarity: similarity), at: position)
            if best.count > neighbours { best.removeLast() }
        }
        let perIntent = top.map { $0.isEmpty ? Float(-1) : $0.reduce(0, +) / Float($0.count) }
        return Evidence(nearest: best, perIntent: perIntent)
    }

    @inline(__always)
    private func insert(_ value: Float, into buffer: inout [Float]) {
        if buffer.count == neighbours {
            guard value > buffer[neighbours - 1] else { return }
            buffer.removeLast()
        }
        let position = buffer.firstIndex { $0 < value } ?? buffer.count
        buffer.insert(value, at: position)
    }

    /// Leave-one-out similarity of each example to its own intent's closest examples,
    /// summarised per intent.
    static func spread(embeddings: Matrix, labels: [Int], classes: Int, neighbours: Int) -> [IntentSpread] {
        (0..<classes).map { intent in
            let members = labels.indices.filter { labels[$0] == intent }
            guard members.count >= 2 else { return IntentSpread(mean: 0.5, deviation: 0.15) }
            let x = embeddings.selecting(rows: members)
            let similarities = x.multiplied(byTransposeOf: x)
            let k = min(neighbours, members.count - 1)
            let values: [Float] = (0..<members.count).map { i in
                var row = Array(similarities.row(i))
                row[i] = -2
                row.sort(by: >)
                return row.prefix(k).reduce(0, +) / Float(k)
            }
            let mean = values.reduce(0, +) / Float(values.count)
            let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Float(values.count)
            // A floor keeps tight intents with few examples from making everything look unfamiliar.
            return IntentSpread(mean: mean, deviation: max(variance.squareRoot(), 0.02))
        }
    }
}
