import Foundation

/// Greetings, thanks, goodbyes and "are you a bot?": said in passing, not requests. Such a
/// message alone gets the assistant's short reply and never a hand-off; a greeting followed by
/// a question is decided by the question alone (`SmallTalk.read`).
public enum SmallTalkKind: String, Codable, Sendable, CaseIterable {
    case greeting
    case thanks
    case goodbye
    case botQuestion = "bot-question"

    /// How the kind is named to people ("a greeting").
    public var described: String {
        switch self {
        case .greeting: "a greeting"
        case .thanks: "thanks"
        case .goodbye: "a goodbye"
        case .botQuestion: "a question whether it is talking to a bot"
        }
    }
}

/// The assistant's replies to small talk, editable by admins (workspace settings).
public struct SmallTalkReplies: Codable, Sendable, Equatable {
    public var greeting = "Hello! What can I help you with today?"
    public var thanks = "You're welcome! Is there anything else I can help with?"
    public var goodbye = "Goodbye, and thank you for getting in touch."
    public var botQuestion = "I'm Tandem's assistant, an AI. I answer only what I'm sure of, and a person from our team takes over whenever you ask or when I'm not sure."

    public init() {}

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = SmallTalkReplies()
        greeting = try c.decodeIfPresent(String.self, forKey: .greeting) ?? d.greeting
        thanks = try c.decodeIfPresent(String.self, forKey: .thanks) ?? d.thanks
        goodbye = try c.decodeIfPresent(String.self, forKey: .goodbye) ?? d.goodbye
        botQuestion = try c.decodeIfPresent(String.self, forKey: .botQuestion) ?? d.botQuestion
    }

    public subscript(kind: SmallTalkKind) -> String {
        switch kind {
        case .greeting: greeting
        case .thanks: thanks
        case .goodbye: goodbye
        case .botQuestion: botQuestion
        }
    }

    /// Problems with the replies, each naming the field; empty when valid.
    public var problems: [String] {
        SmallTalkKind.allCases.compactMap { kind in
            let reply = self[kind].trimmingCharacters(in: .whitespacesAndNewlines)
            if reply.isEmpty { return "smallTalk.\(Self.field(kind)) must not be empty" }
            if reply.count > 500 { return "smallTalk.\(Self.field(kind)) must be at most 500 characters" }
            return nil
        }
    }

    private static func field(_ kind: SmallTalkKind) -> String { kind == .botQuestion ? "botQuestion" : kind.rawValue }
}

/// What a message says once small talk is set aside.
public struct SmallTalkReading: Codable, Sendable, Equatable {
    /// The small talk found, in the order it was said (empty: none).
    public var kinds: [SmallTalkKind]
    /// What is left to decide: the message without its leading small talk (nil: nothing is left,
    /// the whole message was small talk).
    public var request: String?

    /// The whole message was small talk: the kind to reply to (the last said: "hi, thanks" thanks).
    public var onlySmallTalk: SmallTalkKind? { request == nil ? kinds.last : nil }
}

public enum SmallTalk {
    /// Reads a message: the small talk at its start, and the request that follows, in the
    /// customer's own words.
    ///
    /// Deliberately narrow: a phrase counts only as a whole clause ("thanks for nothing" is not
    /// thanks, "hi, my card is blocked" is a greeting and a request). Greetings alone may run
    /// straight into the request ("hi my card is blocked"), as people write them.
    public static func read(_ text: String) -> SmallTalkReading {
        let tokens = tokenize(text)
        var kinds: [SmallTalkKind] = []
        var next = 0
        while let (kind, length) = phrase(at: next, in: tokens, of: text) {
            kinds.append(kind)
            next += length
        }
        let rest = tokens[next...]
        guard !kinds.isEmpty else {
            return SmallTalkReading(kinds: [], request: tokens.isEmpty ? nil : text)
        }
        if rest.allSatisfy({ fillers.contains($0.word) }) { return SmallTalkReading(kinds: kinds, request: nil) }
        let request = String(text[rest.first!.range.lowerBound...]).trimmingCharacters(in: .whitespacesAndNewlines)
        return SmallTalkReading(kinds: kinds, request: request)
    }

    // MARK: Phrases

    /// Phrases as lowercase words, longest first, so "thank you so much" wins over "thank you".
    static let phrases: [(kind: SmallTalkKind, words: [String])] = {
        let table: [SmallTalkKind: [String]] = [
            .greeting: ["hi", "hello", "hey", "hiya", "heya", "howdy", "greetings", "good morning", "good afternoon",
                        "good evening", "good day", "hi there", "hello there", "hey there", "hi all", "hello again",
                        "how are you", "how are you doing", "how's it going", "hope you are well", "hope you're well"],
            .thanks: ["thanks", "thank you", "thank you very much", "thank you so much", "thanks a lot", "thanks so much",
                      "many thanks", "thx", "ty", "cheers", "much appreciated", "thanks for your help", "thank you for your help",
                      "thanks for the help", "that helps", "that helped", "thanks very much"],
            .goodbye: ["bye", "goodbye", "good bye", "bye bye", "see you", "see ya", "see you later", "talk later",
                       "have a nice day", "have a good day", "that's all", "that is all", "that's all for now", "that's it",
                       "nothing else", "all good", "i'm good", "im good"],
            .botQuestion: ["are you a bot", "are you a robot", "are you human", "are you a human", "are you real",
                           "are you a real person", "are you a person", "is this a bot", "is this a robot", "is this a real person",
                           "am i talking to a bot", "am i talking to a robot", "am i talking to a machine", "am i chatting with a bot",
                           "are you an ai", "are you ai", "is this automated", "are you automated", "is this an ai"],
        ]
        return table.flatMap { kind, list in list.map { (kind, $0.split(separator: " ").map(String.init)) } }
            .sorted { $0.words.count > $1.words.count }
    }()

    /// Words that add nothing around small talk ("ok thanks", "hi there team", "no that's all").
    static let fillers: Set<String> = ["there", "again", "team", "all", "everyone", "guys", "folks", "so", "very", "much",
                                       "ok", "okay", "great", "perfect", "cool", "lovely", "brilliant", "awesome", "nice",
                                       "please", "and", "then", "just", "yes", "no", "oh", "ah", "um", "well", "really", "now"]

    private static let greetingsThatRunOn: Set<[String]> = [["hi"], ["hello"], ["hey"], ["hiya"], ["good", "morning"],
                                                             ["good", "afternoon"], ["good", "evening"], ["hi", "there"], ["hello", "there"], ["hey", "there"]]

    /// The phrase starting at token `index` (fillers before it skipped), and how many tokens it
    /// spans with them, if it ends its clause.
    private static func phrase(at index: Int, in tokens: [Token], of text: String) -> (SmallTalkKind, Int)? {
        var start = index
        while start < tokens.count, fillers.contains(tokens[start].word), !startsPhrase(at: start, tokens) { start += 1 }
        guard start < tokens.count else { return nil }
        for (kind, words) in phrases where start + words.count <= tokens.count {
            guard zip(tokens[start...], words).allSatisfy({ $0.word == $1 }) else { continue }
            let end = start + words.count
            let endsClause = end == tokens.count || hasBreak(between: tokens[end - 1], and: tokens[end], in: text)
                || startsPhrase(at: end, tokens)
            if endsClause || kind == .greeting && greetingsThatRunOn.contains(words) {
                return (kind, end - index)
            }
        }
        return nil
    }

    private static func startsPhrase(at index: Int, _ tokens: [Token]) -> Bool {
        guard index < tokens.count else { return false }
        return phrases.contains { $0.words.first == tokens[index].word && index + $0.words.count <= tokens.count
            && zip(tokens[index...], $0.words).allSatisfy { $0.word == $1 } }
    }

    struct Token {
        let word: String
        let range: Range<String.Index>
    }

    /// Lowercased words (letters, digits, apostrophes; a curly apostrophe folded to ').
    static func tokenize(_ text: String) -> [Token] {
        var tokens: [Token] = []
        var word = ""
        var begin: String.Index?
        var index = text.startIndex
        while index < text.endIndex {
            let c = text[index]
            if c.isLetter || c.isNumber || c == "'" || c == "\u{2019}" {
                if begin == nil { begin = index }
                word += c == "\u{2019}" ? "'" : c.lowercased()
            } else if let b = begin {
                tokens.append(Token(word: word, range: b..<index))
                word = ""
                begin = nil
            }
            index = text.index(after: index)
        }
        if let b = begin { tokens.append(Token(word: word, range: b..<text.endIndex)) }
        return tokens
    }

    /// Punctuation (or an emoji) between two words ends a clause; spaces alone do not.
    private static func hasBreak(between a: Token, and b: Token, in text: String) -> Bool {
        text[a.range.upperBound..<b.range.lowerBound].contains { !$0.isWhitespace }
    }
}
