import TandemTensor

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
