import Foundation
import TandemTensor

/// A labelled test set rewritten as conversations of two to four messages, as customers write
/// them: greetings before the question, a question sent in two bursts, a new question after an
/// answer, the same question again, a short follow-up that leans on the turn before, thanks at
/// the end. Every test query is used exactly once, so a replay's figures are over the whole set.
/// Seeded: the same data and seed give the same conversations.
public struct ScriptedConversation: Sendable, Equatable {
    public enum Kind: String, CaseIterable, Codable, Sendable {
        /// The question alone.
        case single
        /// "hi", then the question a second later.
        case greeting
        /// The question in two parts a second apart ("why was my" … "purchase declined").
        case split
        /// A question, its answer, then a second question of another intent.
        case newQuestion = "new-question"
        /// A question, its answer, then another wording of the same intent.
        case repeatQuestion = "repeat"
        /// A question's first part, its answer, then the rest as a short follow-up
        /// ("how do I add my card" … "to google pay?").
        case followUp = "follow-up"
    }

    /// What a message stands for, to score its decision.
    public enum Role: Equatable, Sendable {
        /// The last message of test query `index`: its decision answers the query.
        case request(Int)
        /// An earlier part of test query `index` (the first burst, or the part before a follow-up).
        case part(Int)
        /// The same question as an earlier request, in other words (test query `index`): a person
        /// should take it, as the approved answer was already given.
        case repeated(Int)
        case smallTalk
    }

    public struct Turn: Equatable, Sendable {
        public var text: String
        /// Seconds after the previous message (0 for the first).
        public var after: Double
        public var role: Role
    }

    public var kind: Kind
    public var closing: Bool
    public var turns: [Turn]
}

public enum ConversationScripts {
    /// Seconds between the messages of a burst, and before a message that follows an answer.
    public static let burstGap = 1.0
    public static let turnGap = 30.0

    static let greetings = ["hi", "hello", "hi there", "good morning", "hey"]
    static let closings = ["thanks!", "thank you", "bye", "great, thanks"]
    static let followUpWords: Set<String> = ["for", "with", "in", "from", "on", "by", "via", "to", "using", "through"]

    /// Weights of the kinds, in `Kind.allCases` order.
    static let weights = [15, 20, 15, 20, 10, 20]

    public static func make(texts: [String], labels: [String], seed: UInt64 = 7) -> [ScriptedConversation] {
        precondition(texts.count == labels.count, "one label per text")
        var generator = SeededGenerator(seed: seed)
        var order = Array(texts.indices)
        order.shuffle(using: &generator)
        var used = Set<Int>()
        var byLabel: [String: [Int]] = [:]
        for i in order { byLabel[labels[i], default: []].append(i) }
        func take(where accept: (Int) -> Bool) -> Int? {
            guard let i = order.first(where: { !used.contains($0) && accept($0) }) else { return nil }
            used.insert(i)
            return i
        }
        func pick<T>(_ list: [T]) -> T { list[Int.random(in: 0..<list.count, using: &generator)] }

        var conversations: [ScriptedConversation] = []
        for first in order where !used.contains(first) {
            used.insert(first)
            let text = texts[first]
            let words = text.split(separator: " ").map(String.init)
            var kind = kindFor(Int.random(in: 0..<weights.reduce(0, +), using: &generator))
            var turns: [ScriptedConversation.Turn] = []
            switch kind {
            case .followUp:
                if let split = followUpSplit(words) {
                    turns = [.init(text: words[..<split].joined(separator: " "), after: 0, role: .part(first)),
                             .init(text: words[split...].joined(separator: " "), after: turnGap, role: .request(first))]
                } else {
                    kind = .split
                }
            case .repeatQuestion:
                if let again = byLabel[labels[first]]?.first(where: { !used.contains($0) }) {
                    used.insert(again)
                    turns = [.init(text: text, after: 0, role: .request(first)),
                             .init(text: texts[again], after: turnGap, role: .repeated(again))]
                } else {
                    kind = .single
                }
            case .newQuestion:
                if let second = take(where: { labels[$0] != labels[first] }) {
                    turns = [.init(text: text, after: 0, role: .request(first)),
                             .init(text: texts[second], after: turnGap, role: .request(second))]
                } else {
                    kind = .single
                }
            default: break
            }
            if kind == .split && words.count < 6 { kind = .single }
            switch kind {
            case .single: turns = [.init(text: text, after: 0, role: .request(first))]
            case .greeting: turns = [.init(text: pick(greetings), after: 0, role: .smallTalk), .init(text: text, after: burstGap, role: .request(first))]
            case .split:
                let half = words.count / 2
                turns = [.init(text: words[..<half].joined(separator: " "), after: 0, role: .part(first)),
                         .init(text: words[half...].joined(separator: " "), after: burstGap, role: .request(first))]
            default: break
            }
            // Thanks at the end of some; a question alone always gets one, so every conversation has two messages or more.
            let closing = turns.count < 4 && (turns.count == 1 || Int.random(in: 0..<10, using: &generator) < 3)
            if closing { turns.append(.init(text: pick(closings), after: turnGap / 3, role: .smallTalk)) }
            conversations.append(ScriptedConversation(kind: kind, closing: closing, turns: turns))
        }
        return conversations
    }

    static func kindFor(_ draw: Int) -> ScriptedConversation.Kind {
        var rest = draw
        for (kind, weight) in zip(ScriptedConversation.Kind.allCases, weights) {
            if rest < weight { return kind }
            rest -= weight
        }
        return .single
    }

    /// Where a question splits into a part and a follow-up: at a preposition in its second
    /// half, leaving at least three words before and at most `Turns.maximumFollowUpWords` after.
    static func followUpSplit(_ words: [String]) -> Int? {
        guard words.count >= 5 else { return nil }
        for k in stride(from: words.count - 2, through: max(3, words.count / 2), by: -1)
        where followUpWords.contains(words[k].lowercased()) && words.count - k <= Turns.maximumFollowUpWords {
            return k
        }
        return nil
    }
}
