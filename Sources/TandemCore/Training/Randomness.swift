/// A small, fast, seedable generator (SplitMix64), so that training and evaluation are
/// reproducible from a seed on every platform.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed &+ 0x9E3779B97F4A7C15 }

    public mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
}

/// Stratified assignment of examples to folds: each label's examples are shuffled and dealt
/// round-robin, so every fold sees every intent in proportion.
public func stratifiedFolds(labels: [Int], folds: Int, seed: UInt64) -> [Int] {
    var generator = SeededGenerator(seed: seed)
    var assignment = [Int](repeating: 0, count: labels.count)
    var byLabel: [Int: [Int]] = [:]
    for (index, label) in labels.enumerated() { byLabel[label, default: []].append(index) }
    var offset = 0
    for label in byLabel.keys.sorted() {
        var members = byLabel[label]!
        members.shuffle(using: &generator)
        for (position, index) in members.enumerated() { assignment[index] = (position + offset) % folds }
        // Rotate the starting fold so that small intents do not all land in fold 0.
        offset += members.count
    }
    return assignment
}

/// A stratified random subset: about `share` of each label's examples (at least one when the
/// label has two or more), returned as a membership mask.
public func stratifiedSample(labels: [Int], share: Double, seed: UInt64) -> [Bool] {
    var generator = SeededGenerator(seed: seed)
    var chosen = [Bool](repeating: false, count: labels.count)
    var byLabel: [Int: [Int]] = [:]
    for (index, label) in labels.enumerated() { byLabel[label, default: []].append(index) }
    for label in byLabel.keys.sorted() {
        var members = byLabel[label]!
        members.shuffle(using: &generator)
        let count = members.count < 2 ? 0 : max(1, Int((Double(members.count) * share).rounded()))
        for index in members.prefix(count) { chosen[index] = true }
    }
    return chosen
}
