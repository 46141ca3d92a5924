import Foundation

/// What one customer message says about how it should be handled, whatever its intent: whether
/// the customer asks for a person, says the last answer did not help, or is frustrated.
///
/// Detection is lexical on purpose: small word lists and fixed patterns over the message's
/// words, so every decision can be explained by the cues in `matched` and corrected by editing a
/// list. It runs in time linear in the message (one pass over its scalars, then a bounded look
/// at each word) and uses no regular expressions, so arbitrary customer text cannot slow it down.
///
/// Words are compared lowercased, with apostrophes removed ("don't" and "dont" are the same
/// word), within one clause (punctuation such as `,` `.` `!` `?` ends a clause).
///
/// **Asking for a person** fires on any of:
/// - a talk verb, a connector and a person noun: "speak to a real person", "talk with your
///   manager", "connect me to support staff", "escalate this to a supervisor", "I need help
///   from a human"; or a hand-over verb alone: "can you transfer me?", "please escalate";
/// - a want verb and a person noun at the end of its phrase: "I want a human", "get me an
///   agent now", "is there a person", "can I get a callback";
/// - "anyone there", "is an agent available"; "call me" / "can you call me" (not "they call me");
/// - set phrases: "real person", "live agent", "human please", "give me a call", and a few in
///   Spanish, German and French ("hablar con una persona", "Mensch bitte", "parler à un humain");
/// - a short message made only of request words: "human", "representative", "operator",
///   "real person please", "Mensch".
/// A match preceded in its clause by a negation ("I don't want to talk to a person", "no need
/// for an agent") does not fire; "I am a real person" does not either.
///
/// **Frustration** is a sum of weighted cues, each distinct cue counted once, capped at 1:
///
/// | cue | weight |
/// |---|---|
/// | profanity, whole word or masked ("f***", "sh!t") | 0.50 |
/// | strong anger ("furious", "unacceptable", "fed up") | 0.50 |
/// | threat to leave or complain ("ombudsman", "report you", "cancel everything") | 0.50 |
/// | insult ("stupid", "idiot", "useless") | 0.30 |
/// | mild anger ("ridiculous", "joke", "scam") | 0.30 |
/// | repetition ("third time", "still waiting", "for weeks", "5 times") | 0.30 |
/// | shouting: at least 20 cased letters, at least 70 % of them capitals | 0.35 |
/// | a run of three or more `!`/`?` | 0.20 |
///
/// One strong cue reaches the 0.5 bar alone; a mild one needs company ("ridiculous!!!").
/// Anger words right after a negation ("not angry", "no joke") do not count.
public struct MessageSignals: Codable, Sendable, Equatable {
    /// The customer asks to be served by a person.
    public var asksForHuman: Bool
    /// The customer says the previous answer did not help. It only says something about the AI
    /// right after an AI answer; the routing policy checks that.
    public var saysNotHelpful: Bool
    /// Weighted sum of frustration cues in 0...1 (see the table above).
    public var frustration: Double
    /// The cues that fired, in words: "asks for a person: 'real person'", "anger: 'furious' (+0.50)".
    public var matched: [String]

    /// Frustration at which a person should take over.
    public static let frustrationThreshold = 0.5

    /// Derived rather than stored, so it can never disagree with `frustration`.
    public var isFrustrated: Bool { frustration >= Self.frustrationThreshold }

    public init(asksForHuman: Bool = false, saysNotHelpful: Bool = false, frustration: Double = 0, matched: [String] = []) {
        self.asksForHuman = asksForHuman
        self.saysNotHelpful = saysNotHelpful
        self.frustration = frustration
        self.matched = matched
    }

    public static func detect(_ text: String) -> MessageSignals {
        let scan = ScannedText(text)
        var matched: [String] = []
        let human = HumanRequest.first(in: scan)
        if let human { matched.append("asks for a person: '\(scan.snippet(human))'") }
        let notHelpful = Lexicon.notHelpful.first(in: scan.words)
        if let notHelpful { matched.append("says the answer did not help: '\(scan.snippet(notHelpful))'") }
        let frustration = Frustration.score(scan)
        return MessageSignals(asksForHuman: human != nil, saysNotHelpful: notHelpful != nil,
                              frustration: Double(min(frustration.points, 100)) / 100,
                              matched: matched + frustration.matched)
    }
}

// MARK: - Scanning

/// One word of a message: its comparison key (lowercased, apostrophes removed), where it is in
/// the original text, and which clause it belongs to.
private struct Word {
    var key: String
    var range: Range<String.Index>
    var clause: Int
}

/// What the scanner needs to know about one scalar.
private struct ScalarKind: OptionSet {
    let rawValue: UInt8
    /// Letters, numbers and combining marks make up words.
    static let word = ScalarKind(rawValue: 1 << 0)
    /// Neither ends a word nor belongs to its key: "don't" is "dont".
    static let apostrophe = ScalarKind(rawValue: 1 << 1)
    static let clauseBreak = ScalarKind(rawValue: 1 << 2)
    /// `!` and `?`, whose runs count as frustration.
    static let exclamation = ScalarKind(rawValue: 1 << 3)
    static let whitespace = ScalarKind(rawValue: 1 << 4)
    static let uppercase = ScalarKind(rawValue: 1 << 5)
    static let lowercase = ScalarKind(rawValue: 1 << 6)
    /// Stands for a letter in masked profanity: "f***", "sh!t", "a$$hole".
    static let mask = ScalarKind(rawValue: 1 << 7)

    /// ASCII, nearly all of most messages, is looked up here rather than in Unicode properties,
    /// which cost far more per scalar.
    static let asciiTable: [ScalarKind] = (0..<128).map { classify(Unicode.Scalar(UInt8($0))) }

    static func of(_ scalar: Unicode.Scalar, ascii: [ScalarKind]) -> ScalarKind {
        scalar.isASCII ? ascii[Int(scalar.value)] : classify(scalar)
    }

    /// One general-category look-up answers everything but the few punctuation marks below.
    private static func classify(_ scalar: Unicode.Scalar) -> ScalarKind {
        var kind: ScalarKind = []
        switch scalar.properties.generalCategory {
        case .uppercaseLetter: kind = [.word, .uppercase]
        case .lowercaseLetter: kind = [.word, .lowercase]
        case .titlecaseLetter, .modifierLetter, .otherLetter, .nonspacingMark, .spacingMark, .enclosingMark,
             .decimalNumber, .letterNumber, .otherNumber:
            kind = .word
        case .spaceSeparator, .lineSeparator, .paragraphSeparator: kind = .whitespace
        default: break
        }
        switch scalar {
        // U+02BC is a modifier letter, but typed as an apostrophe.
        case "'", "\u{2019}", "\u{02BC}": kind = .apostrophe
        case "!": kind = [.exclamation, .clauseBreak, .mask]
        case "?", "\u{FF01}", "\u{FF1F}": kind = [.exclamation, .clauseBreak]
        case "\n", "\r": kind = [.whitespace, .clauseBreak]
        case "\t", "\u{0B}", "\u{0C}", "\u{85}": kind = .whitespace
        case ".", ",", ";", ":", "(", ")", "\u{3002}", "\u{2026}": kind = .clauseBreak
        case "*", "@", "$", "#", "%": kind = .mask
        default: break
        }
        return kind
    }
}

/// A message taken apart in one pass over its Unicode scalars.
private struct ScannedText {
    let text: String
    private(set) var words: [Word] = []
    /// Whitespace-separated chunks with masking characters, such as "f***", lowercased, each
    /// distinct one once, with its original spelling.
    private(set) var maskedChunks: [(lowered: [Unicode.Scalar], original: String)] = []
    /// The first run of three or more `!`/`?`.
    private(set) var punctuationRun: String?
    private(set) var uppercaseLetters = 0
    private(set) var lowercaseLetters = 0

    /// Trimmed off the end of a chunk before unmasking: "f***!" is "f***".
    private static let trailingPunctuation: Set<Unicode.Scalar> = [".", ",", ";", ":", "!", "?", "\"", "'", ")", "]", "\u{2019}"]

    init(_ text: String) {
        self.text = text
        let scalars = text.unicodeScalars
        let ascii = ScalarKind.asciiTable
        var clause = 0
        var wordStart: String.Index?, wordEnd = scalars.startIndex, wordHasApostrophe = false
        var chunkStart: String.Index?, chunkHasMask = false
        var seenChunks: Set<[Unicode.Scalar]> = []
        var runStart = scalars.startIndex, runLength = 0

        func endWord() {
            guard let start = wordStart else { return }
            var slice = scalars[start..<wordEnd]
            if wordHasApostrophe { slice = Substring.UnicodeScalarView(slice.filter { !ScalarKind.of($0, ascii: ascii).contains(.apostrophe) }) }
            words.append(Word(key: String(slice).lowercased(), range: start..<wordEnd, clause: clause))
            wordStart = nil
            wordHasApostrophe = false
        }
        func endChunk(at end: String.Index) {
            defer { chunkStart = nil; chunkHasMask = false }
            guard let start = chunkStart, chunkHasMask,
                  let lowered = Self.unmaskable(Array(scalars[start..<end]), ascii: ascii),
                  seenChunks.insert(lowered).inserted else { return }
            maskedChunks.append((lowered, String(scalars[start..<end])))
        }
        func endRun(at end: String.Index) {
            if runLength >= 3 && punctuationRun == nil { punctuationRun = String(scalars[runStart..<end].prefix(10)) }
            runLength = 0
        }

        var index = scalars.startIndex
        while index < scalars.endIndex {
            let scalar = scalars[index]
            let next = scalars.index(after: index)
            let kind = ScalarKind.of(scalar, ascii: ascii)

            if kind.contains(.word) {
                if wordStart == nil { wordStart = index }
                wordEnd = next
            } else if kind.contains(.apostrophe) {
                if wordStart != nil { wordHasApostrophe = true }
            } else {
                endWord()
                if kind.contains(.clauseBreak) { clause += 1 }
            }

            if kind.contains(.uppercase) { uppercaseLetters += 1 } else if kind.contains(.lowercase) { lowercaseLetters += 1 }

            if kind.contains(.exclamation) {
                if runLength == 0 { runStart = index }
                runLength += 1
            } else if runLength > 0 {
                endRun(at: index)
            }

            if kind.contains(.whitespace) {
                endChunk(at: index)
            } else {
                if chunkStart == nil { chunkStart = index }
                if kind.contains(.mask) { chunkHasMask = true }
            }
            index = next
        }
        endWord()
        endRun(at: scalars.endIndex)
        endChunk(at: scalars.endIndex)
    }

    /// The original text from word `span.lowerBound` to word `span.upperBound`, shortened for display.
    func snippet(_ span: ClosedRange<Int>) -> String {
        let original = text[words[span.lowerBound].range.lowerBound..<words[span.upperBound].range.upperBound]
        return original.count <= 60 ? String(original) : String(original.prefix(57)) + "..."
    }

    /// The chunk trimmed and lowercased (ASCII letters only, which is all the masked list
    /// needs), when it starts with a letter and has a masking character after it
    /// ("F***!" → "f***"); nil otherwise.
    private static func unmaskable(_ chunk: [Unicode.Scalar], ascii: [ScalarKind]) -> [Unicode.Scalar]? {
        var trimmed = chunk[...]
        while let first = trimmed.first, !first.properties.isAlphabetic { trimmed = trimmed.dropFirst() }
        while let last = trimmed.last, trailingPunctuation.contains(last) { trimmed = trimmed.dropLast() }
        guard trimmed.count > 1, trimmed.dropFirst().contains(where: { ScalarKind.of($0, ascii: ascii).contains(.mask) }) else { return nil }
        return trimmed.map { ("A"..."Z").contains($0) ? Unicode.Scalar($0.value + 32)! : $0 }
    }
}

// MARK: - Phrase lists

/// Phrases of whole words, looked up by their first word, so matching costs one dictionary
/// look-up per word of the message plus the few phrases that start with it.
private struct PhraseTable<Payload: Sendable>: Sendable {
    struct Entry: Sendable {
        /// The phrase as written in the list, which identifies the cue.
        let phrase: String
        let words: [String]
        let payload: Payload
    }

    private let entriesByFirstWord: [String: [Entry]]

    /// Phrases are written naturally ("didn't help"); they are keyed like message words.
    init(_ entries: [(String, Payload)]) {
        var table: [String: [Entry]] = [:]
        for (phrase, payload) in entries {
            let words = phrase.lowercased().replacingOccurrences(of: "'", with: "").split(separator: " ").map(String.init)
            table[words[0], default: []].append(Entry(phrase: phrase, words: words, payload: payload))
        }
        entriesByFirstWord = table
    }

    /// Calls `body` with the index of the last word of every phrase starting at word `start`
    /// and lying within its clause.
    func forEachMatch(in words: [Word], at start: Int, _ body: (Int, Entry) -> Void) {
        guard let candidates = entriesByFirstWord[words[start].key] else { return }
        for entry in candidates {
            let end = start + entry.words.count - 1
            guard end < words.count, words[end].clause == words[start].clause else { continue }
            if (1..<entry.words.count).allSatisfy({ words[start + $0].key == entry.words[$0] }) { body(end, entry) }
        }
    }

    /// The leftmost match in the message, as a span of word indices.
    func first(in words: [Word]) -> ClosedRange<Int>? {
        for start in words.indices {
            var found: Int?
            forEachMatch(in: words, at: start) { end, _ in found = found ?? end }
            if let found { return start...found }
        }
        return nil
    }
}

private extension PhraseTable where Payload == Void {
    init(_ phrases: [String]) { self.init(phrases.map { ($0, ()) }) }
}

private enum Lexicon {
    static let notHelpful = PhraseTable<Void>([
        "didn't help", "did not help", "doesn't help", "does not help", "not helpful", "wasn't helpful", "unhelpful",
        "of no help", "not helping", "isn't helping", "not useful", "wasn't useful",
        "not what i asked", "not what i meant", "not what i was asking", "not what i'm asking", "not what i need",
        "not what i wanted", "not my question", "not an answer",
        "that's wrong", "that is wrong", "that's not right", "that is not right", "that's incorrect", "that is incorrect",
        "wrong answer", "that's not it",
        "useless answer", "useless reply", "useless response", "that's useless", "that is useless", "this is useless",
        "you didn't understand", "you did not understand", "you're not understanding", "that's not correct",
        "that is not correct", "you didn't answer", "you did not answer", "you haven't answered", "didn't answer my", "doesn't answer",
        "does not answer", "not answering my", "you misunderstood", "you don't understand",
        "still doesn't work", "still does not work", "still not working", "still isn't working", "still broken",
        "didn't work", "did not work", "already tried that", "already did that",
        // Spanish, German, French basics.
        "no me ayudó", "no me ayudo", "no me ha ayudado", "no sirve", "no es lo que pregunté", "no es lo que pregunte",
        "hat nicht geholfen", "hilft nicht", "hilft mir nicht", "nicht hilfreich",
        "ne m'aide pas", "pas utile",
    ])

    /// Set phrases that ask for a person wherever they appear.
    static let personPhrases = PhraseTable<Void>([
        "real person", "real human", "real people", "live agent", "live person", "live human", "actual person",
        "actual human", "human agent", "human operator", "human please", "agent please", "representative please",
        "operator please", "person please", "give me a call", "give me a ring", "put me through",
        "persona real", "hablar con alguien", "hay alguien", "persona por favor",
        "echten menschen", "echter mensch", "echte person", "mensch bitte", "mitarbeiter bitte",
        "menschen sprechen", "mitarbeiter sprechen", "person sprechen", "menschen reden", "mitarbeiter reden",
        "jemand da", "ist da jemand", "ruf mich an", "rufen sie mich an",
        "vrai humain", "vraie personne", "appelez moi",
    ])

    static let profanity = [
        "fuck", "fucking", "fucked", "fuckin", "fucks", "fck", "fcking", "motherfucker", "shit", "shitty", "bullshit",
        "wtf", "stfu", "asshole", "assholes", "bitch", "bastard", "bastards", "dickhead",
        "scheiße", "scheisse", "mierda", "joder", "merde", "putain",
    ]
    static let insults = [
        "crap", "crappy", "damn", "stupid", "idiot", "idiots", "idiotic", "moron", "morons", "dumb", "incompetent",
        "clowns", "pathetic", "useless",
    ]

    static let frustration = PhraseTable<Frustration.Cue>(
        profanity.map { ($0, .init(.profanity, 50)) }
        + insults.map { ($0, .init(.insult, 30)) }
        + [
            "furious", "livid", "enraged", "disgusted", "disgusting", "unacceptable", "not acceptable", "outrageous",
            "appalling", "angry", "frustrated", "fed up", "sick of", "sick and tired", "had enough",
        ].map { ($0, .init(.anger, 50)) }
        + [
            "ridiculous", "absurd", "joke", "scam", "terrible", "horrible", "awful", "worst", "annoyed", "annoying",
            "upset", "unhappy", "not happy", "disappointed", "shocking", "unbelievable", "rip off", "ripoff", "waste of time",
        ].map { ($0, .init(.anger, 30)) }
        + [
            "third time", "fourth time", "fifth time", "3rd time", "4th time", "5th time", "nth time",
            "again and again", "over and over", "still waiting", "still no", "still nothing", "for weeks", "for days",
            "for months", "how many times", "keep asking", "keep telling", "already told you", "told you already",
            "yet again", "once again", "every single time", "several times", "multiple times", "many times",
            "countless times", "three times", "four times", "five times",
        ].map { ($0, .init(.repetition, 30)) }
        + [
            "cancel everything", "cancelling everything", "canceling everything", "close everything",
            "never using you again", "never use you again", "never using this again", "never again",
            "report you", "reporting you", "ombudsman", "lawyer", "lawyers", "solicitor", "sue you", "suing you",
            "legal action", "regulator", "trading standards", "complaint", "switching banks", "switch banks",
            "take my business elsewhere", "taking my business elsewhere", "bad review", "social media",
        ].map { ($0, .init(.threat, 50)) }
    )

    /// Profanity and insults as they are commonly masked ("f***", "sh!t", "a$$hole"): matched
    /// letter for letter, with masking characters standing for any letter but the first.
    static let maskable: [(word: [Unicode.Scalar], phrase: String, cue: Frustration.Cue)] =
        profanity.map { (Array($0.unicodeScalars), $0, .init(.profanity, 50)) }
        + insults.map { (Array($0.unicodeScalars), $0, .init(.insult, 30)) }
}

// MARK: - Asking for a person

private enum HumanRequest {
    /// Verbs followed directly by a connector: "talk to", "speak with".
    static let talkVerbs: Set<String> = ["speak", "talk", "chat", "hablar", "parler"]
    /// Verbs that need "me"/"us" first, so "transfer 50 euros to someone" is not a request.
    static let handOverVerbs: Set<String> = ["connect", "transfer", "put", "pass", "forward", "send", "redirect"]
    /// Hand-over verbs that are a request with "me" alone: "can you transfer me?".
    static let transferVerbs: Set<String> = ["connect", "transfer", "redirect"]
    /// "help from a human", "assistance from an agent".
    static let helpWords: Set<String> = ["help", "assistance"]
    static let escalateObjects: Set<String> = [
        "this", "it", "me", "my", "case", "ticket", "issue", "complaint", "us", "please", "now", "asap",
    ]
    static let adverbs: Set<String> = [
        "directly", "again", "now", "right", "immediately", "just", "through", "over", "on", "back", "please", "asap",
    ]
    static let connectors: Set<String> = ["to", "with", "con", "à", "avec"]
    /// Whom a customer talks to; broad, since a talk verb already makes the request clear.
    static let talkNouns: Set<String> = strongNouns.union([
        "someone", "somebody", "anyone", "anybody", "people", "staff", "employee", "support", "team", "service",
        "specialist", "alguien", "personas", "quelquun", "personne",
    ])
    static let talkFillers: Set<String> = [
        "a", "an", "the", "your", "some", "one", "of", "real", "live", "actual", "proper", "human", "customer",
        "member", "members", "un", "una", "el", "la", "le", "une", "del", "de", "vrai", "vraie",
    ]
    /// Nouns that name a person unambiguously enough to follow "I want" / "get me".
    static let strongNouns: Set<String> = [
        "human", "humans", "person", "agent", "agents", "representative", "representatives", "rep", "operator",
        "supervisor", "manager", "advisor", "adviser", "callback",
        "humano", "persona", "agente", "representante", "operador", "asesor",
        "mensch", "menschen", "mitarbeiter", "mitarbeiterin", "berater", "humain", "conseiller",
    ]
    static let wantVerbs: Set<String> = ["want", "wanna", "need", "get", "give", "request", "prefer", "there", "quiero", "necesito"]
    static let wantFillers: Set<String> = ["me", "a", "an", "the", "real", "live", "actual", "proper", "human", "your", "un", "una"]
    /// What may follow the noun of "I want a human ...": so "I need an agent code" does not fire.
    static let wantFollowers: Set<String> = [
        "please", "pls", "plz", "now", "asap", "immediately", "right", "to", "who", "that", "on", "for", "here",
        "there", "i", "instead", "already", "thanks", "thank", "being", "bitte", "por", "ahora", "ya",
    ]
    /// Words allowed before "call me": a request ("please call me", "can someone call me"),
    /// not a report ("they call me every day").
    static let callMeOpeners: Set<String> = [
        "please", "pls", "plz", "just", "then", "can", "could", "would", "will", "someone", "somebody", "anyone", "to",
    ]
    static let askingAuxiliaries: Set<String> = ["can", "could", "would", "will", "please", "pls", "to"]
    /// A message made only of these words, with a person noun among them, is a request: "human",
    /// "real person please", "I need an agent now".
    static let shortVocabulary: Set<String> = strongNouns.union(shortNouns).union([
        "please", "pls", "plz", "now", "a", "an", "the", "real", "live", "actual", "i", "want", "need", "get", "me",
        "give", "just", "asap", "right", "away", "immediately", "talk", "speak", "to", "with", "can", "could", "may",
        "hello", "hi", "hey", "ok", "okay", "yes", "bitte", "por", "favor", "un", "una", "ein", "einen", "echten",
        "echter", "svp",
    ])
    static let shortNouns: Set<String> = strongNouns.union(["someone", "somebody", "anyone", "anybody", "people", "staff"])
    static let longestShortRequest = 6

    /// Negations that turn a request around: "I don't want to talk to a person".
    static let negators: Set<String> = [
        "not", "dont", "doesnt", "wont", "wouldnt", "nor", "without", "nicht", "kein", "keine", "keinen", "nunca",
        "jamais", "pas",
    ]
    /// "no" negates only before these: "no need for an agent", but "no I want a human".
    static let negatedAfterNo: Set<String> = ["need", "want", "quiero", "necesito"]
    /// Words that start a new scope for negation: in "why won't you let me talk to a person" the
    /// negation is about letting, not about the person.
    static let negationBarriers: Set<String> = ["let", "why", "but"]
    static let negationWindow = 4

    /// The leftmost request for a person, as a span of word indices.
    static func first(in scan: ScannedText) -> ClosedRange<Int>? {
        let words = scan.words
        if let short = shortRequest(words) { return short }
        for start in words.indices {
            let end = talkTo(words, start) ?? askFor(words, start) ?? someoneAvailable(words, start) ?? callMe(words, start)
                ?? setPhrase(words, start)
            if let end, !isNegated(words, start) { return start...end }
        }
        return nil
    }

    /// The key of word `index` when it is in the same clause as word `anchor`.
    private static func key(_ words: [Word], _ index: Int, sameClauseAs anchor: Int) -> String? {
        words.indices.contains(index) && words[index].clause == words[anchor].clause ? words[index].key : nil
    }

    private static func shortRequest(_ words: [Word]) -> ClosedRange<Int>? {
        guard (1...longestShortRequest).contains(words.count),
              words.allSatisfy({ shortVocabulary.contains($0.key) }),
              words.contains(where: { shortNouns.contains($0.key) }) else { return nil }
        return 0...(words.count - 1)
    }

    /// "speak to a real person", "help from a human", "connect me to support staff", "transfer me",
    /// "escalate this to a manager", "I'd like to escalate".
    private static func talkTo(_ words: [Word], _ start: Int) -> Int? {
        let verb = words[start].key
        var index = start + 1
        func skip(_ allowed: Set<String>, atMost limit: Int) {
            var skipped = 0
            while skipped < limit, let word = key(words, index, sameClauseAs: start), allowed.contains(word) {
                index += 1
                skipped += 1
            }
        }
        var nouns = talkNouns, allowedConnectors = connectors
        /// Whether the verb needs nothing after it: "can you transfer me?", "please escalate".
        var completeAlone = false
        if talkVerbs.contains(verb) {
            skip(adverbs, atMost: 2)
        } else if helpWords.contains(verb) {
            // Asked for ("I need help from a person"), not reported ("I got help from an agent").
            var before = start - 1
            if let word = key(words, before, sameClauseAs: start), ["some", "more"].contains(word) { before -= 1 }
            guard let asking = key(words, before, sameClauseAs: start), wantVerbs.contains(asking) else { return nil }
            nouns = strongNouns
            allowedConnectors = ["from"]
        } else if handOverVerbs.contains(verb) {
            guard let object = key(words, index, sameClauseAs: start), object == "me" || object == "us" else { return nil }
            index += 1
            skip(adverbs, atMost: 2)
            completeAlone = transferVerbs.contains(verb)
        } else if verb == "escalate" {
            skip(escalateObjects, atMost: 3)
            completeAlone = true
        } else {
            return nil
        }
        guard let connector = key(words, index, sameClauseAs: start) else { return completeAlone ? index - 1 : nil }
        guard allowedConnectors.contains(connector) else { return nil }
        return noun(words, from: index + 1, of: start, nouns: nouns, fillers: talkFillers)
    }

    /// "I want a human", "get me an agent now", "is there a person?".
    private static func askFor(_ words: [Word], _ start: Int) -> Int? {
        guard wantVerbs.contains(words[start].key),
              let end = noun(words, from: start + 1, of: start, nouns: strongNouns, fillers: wantFillers) else { return nil }
        guard let follower = key(words, end + 1, sameClauseAs: start) else { return end }
        return wantFollowers.contains(follower) ? end : nil
    }

    /// "is anyone there", "anybody here?", "is someone available", "is an agent available" (not
    /// "my manager available hours").
    private static func someoneAvailable(_ words: [Word], _ start: Int) -> Int? {
        guard let next = key(words, start + 1, sameClauseAs: start) else { return nil }
        switch words[start].key {
        case "anyone", "anybody":
            return ["there", "here", "alive", "available", "around", "awake"].contains(next) ? start + 1 : nil
        case "someone", "somebody":
            return ["available", "alive"].contains(next) ? start + 1 : nil
        case let word:
            guard strongNouns.contains(word), ["available", "online"].contains(next),
                  let article = key(words, start - 1, sameClauseAs: start), ["a", "an", "any", "real", "live", "human"].contains(article)
            else { return nil }
            return start + 1
        }
    }

    /// "call me", "please call me back", "can you call me"; not "they call me every day".
    private static func callMe(_ words: [Word], _ start: Int) -> Int? {
        guard ["call", "phone", "ring"].contains(words[start].key),
              key(words, start + 1, sameClauseAs: start) == "me" else { return nil }
        guard let before = key(words, start - 1, sameClauseAs: start) else { return start + 1 }
        if callMeOpeners.contains(before) { return start + 1 }
        if before == "you", let asking = key(words, start - 2, sameClauseAs: start), askingAuxiliaries.contains(asking) {
            return start + 1
        }
        return nil
    }

    /// Set phrases, unless the customer describes themself: "I am a real person".
    private static func setPhrase(_ words: [Word], _ start: Int) -> Int? {
        var end: Int?
        Lexicon.personPhrases.forEachMatch(in: words, at: start) { last, _ in end = end ?? last }
        guard let end else { return nil }
        let describesSelf = (max(0, start - 3)..<start).contains { ["am", "im"].contains(key(words, $0, sameClauseAs: start)) }
        return describesSelf ? nil : end
    }

    /// Index of the first person noun from `index` on, allowing up to four filler words before it.
    private static func noun(_ words: [Word], from index: Int, of anchor: Int, nouns: Set<String>, fillers: Set<String>) -> Int? {
        for candidate in index..<(index + 4) {
            guard let word = key(words, candidate, sameClauseAs: anchor) else { return nil }
            if nouns.contains(word) { return candidate }
            if !fillers.contains(word) { return nil }
        }
        return nil
    }

    private static func isNegated(_ words: [Word], _ start: Int) -> Bool {
        var index = start - 1
        while index >= max(0, start - negationWindow), let word = key(words, index, sameClauseAs: start) {
            if negationBarriers.contains(word) { return false }
            if negators.contains(word) { return true }
            if word == "no", let next = key(words, index + 1, sameClauseAs: start), negatedAfterNo.contains(next) { return true }
            index -= 1
        }
        return false
    }
}

// MARK: - Frustration

private enum Frustration {
    enum Kind: Sendable {
        case profanity, insult, anger, repetition, threat

        var label: String {
            switch self {
            case .profanity: "profanity"
            case .insult: "insult"
            case .anger: "anger"
            case .repetition: "repetition"
            case .threat: "threat to leave or complain"
            }
        }
    }

    /// A weighted cue; weights are in hundredths so sums are exact.
    struct Cue: Sendable {
        let kind: Kind
        let points: Int
        init(_ kind: Kind, _ points: Int) {
            self.kind = kind
            self.points = points
        }
    }

    static let shoutingPoints = 35
    static let punctuationPoints = 20
    static let shoutingMinimumLetters = 20
    static let shoutingCapitalShare = 0.7
    /// "5 times": a count of at least this many, before "times", counts as repetition.
    static let repeatedTimesMinimum = 3
    static let repeatedTimesCue = Cue(.repetition, 30)
    /// Negations that cancel an anger word right after them: "not angry", "no joke".
    static let angerNegators: Set<String> = ["not", "no", "never", "isnt", "arent", "wasnt", "werent"]

    static func score(_ scan: ScannedText) -> (points: Int, matched: [String]) {
        let words = scan.words
        var points = 0
        var matched: [String] = []
        var seen: Set<String> = []
        func add(_ cue: String, _ kind: Kind, _ cuePoints: Int, _ shown: String) {
            guard seen.insert(cue).inserted else { return }
            points += cuePoints
            matched.append("\(kind.label): '\(shown)' (+\(String(format: "%.2f", Double(cuePoints) / 100)))")
        }

        for start in words.indices {
            Lexicon.frustration.forEachMatch(in: words, at: start) { end, entry in
                if entry.payload.kind == .anger && negatedAnger(words, start) { return }
                add(entry.phrase, entry.payload.kind, entry.payload.points, scan.snippet(start...end))
            }
            // "5 times", "10 times".
            if words[start].key == "times", start > 0, words[start - 1].clause == words[start].clause,
               let count = Int(words[start - 1].key), count >= repeatedTimesMinimum {
                add("N times", repeatedTimesCue.kind, repeatedTimesCue.points, scan.snippet((start - 1)...start))
            }
        }
        for chunk in scan.maskedChunks {
            if let masked = Lexicon.maskable.first(where: { unmasks(chunk.lowered, to: $0.word) }) {
                add(masked.phrase, masked.cue.kind, masked.cue.points, chunk.original)
            }
        }
        let letters = scan.uppercaseLetters + scan.lowercaseLetters
        if letters >= shoutingMinimumLetters && Double(scan.uppercaseLetters) >= shoutingCapitalShare * Double(letters) {
            let share = Int((100 * Double(scan.uppercaseLetters) / Double(letters)).rounded())
            points += shoutingPoints
            matched.append("shouting: \(share)% capitals (+\(String(format: "%.2f", Double(shoutingPoints) / 100)))")
        }
        if let run = scan.punctuationRun {
            points += punctuationPoints
            matched.append("punctuation: '\(run)' (+\(String(format: "%.2f", Double(punctuationPoints) / 100)))")
        }
        return (points, matched)
    }

    private static func negatedAnger(_ words: [Word], _ start: Int) -> Bool {
        (max(0, start - 2)..<start).contains { words[$0].clause == words[start].clause && angerNegators.contains(words[$0].key) }
    }

    /// Same length, every character equal or a masking character; chunks start with a letter
    /// (see `ScannedText.unmaskable`), so the first letter always has to match.
    private static func unmasks(_ chunk: [Unicode.Scalar], to word: [Unicode.Scalar]) -> Bool {
        chunk.count == word.count
            && zip(chunk, word).allSatisfy { $0 == $1 || ScalarKind.of($0, ascii: ScalarKind.asciiTable).contains(.mask) }
    }
}
