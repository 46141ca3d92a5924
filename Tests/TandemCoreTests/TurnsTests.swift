import TandemCore
import Testing

/// Bursts and follow-ups: which messages wait for the rest of a burst, which lean on the previous turn.
@Suite("Turns")
struct TurnsTests {
    @Test("a sentence that trails off: a last word or mark that leaves it unfinished; a complete sentence does not")
    func trailsOff() {
        #expect(Turns.trailsOff("I tried to pay for my shoes and"))
        #expect(Turns.trailsOff("so about the payment I made yesterday,"))
        #expect(Turns.trailsOff("the thing is..."))
        #expect(Turns.trailsOff("my card was"  + " declined because"))
        #expect(Turns.trailsOff("   "))
        #expect(!Turns.trailsOff("my card"), "short, but not unfinished: the model decides whether it can place it")
        #expect(!Turns.trailsOff("why was my purchase declined at the checkout"))
        #expect(!Turns.trailsOff("I want to close my account because I have moved abroad for work and"), "too long to be unfinished by its last word")
    }

    @Test("follow-ups: a short message opening with and / what about / a preposition; long or plain messages stand alone")
    func followUps() {
        #expect(Turns.followUpOpening("and for 12-month plans?") == "and")
        #expect(Turns.followUpOpening("What about Apple Pay?") == "what about")
        #expect(Turns.followUpOpening("And what about my partner?") == "and what about")
        #expect(Turns.followUpOpening("with a credit card?") == "with")
        #expect(Turns.followUpOpening("does that apply to gift cards") == "does that apply to")
        #expect(Turns.followUpOpening("how do I reset my password") == nil)
        #expect(Turns.followUpOpening("android") == nil, "nothing says it leans on the turn before")
        #expect(Turns.followUpOpening("and I also want to know how I can change the date my payment comes out") == nil, "long: its own subject")
        #expect(Turns.followUpOpening("") == nil)
        #expect(Turns.followUpOpening("android and") == nil)
    }

    @Test("a burst is read as one text, blanks dropped")
    func joined() {
        #expect(Turns.joined(["my card ", " was declined"]) == "my card was declined")
        #expect(Turns.joined(["hi", "", "my purchase was declined"]) == "hi my purchase was declined")
    }
}

/// The conversation replay's scripts: every test query once, two to four messages each, seeded.
@Suite("Conversation scripts")
struct ConversationScriptsTests {
    static let texts = (0..<400).map { "customer question number \($0) about topic \($0 % 9) with my card" }
    static let labels = (0..<400).map { "intent_\($0 % 9)" }

    @Test("each test query is used exactly once; two to four messages per conversation; the same seed gives the same scripts")
    func scripts() {
        let scripts = ConversationScripts.make(texts: Self.texts, labels: Self.labels, seed: 3)
        var used: [Int] = []
        for script in scripts {
            #expect((2...4).contains(script.turns.count), "\(script)")
            #expect(script.turns.first?.after == 0)
            for turn in script.turns {
                switch turn.role {
                case .request(let i), .repeated(let i): used.append(i)
                case .part, .smallTalk: break
                }
            }
            if script.kind == .repeatQuestion, case .request(let a) = script.turns[0].role, case .repeated(let b) = script.turns[1].role {
                #expect(Self.labels[a] == Self.labels[b], "a repeat asks the same intent")
            }
            if script.kind == .newQuestion, case .request(let a) = script.turns[0].role, case .request(let b) = script.turns[1].role {
                #expect(Self.labels[a] != Self.labels[b], "a new question is another intent")
            }
            if script.kind == .followUp {
                #expect(Turns.followUpOpening(script.turns[1].text) != nil, "the follow-up opens as one: \(script.turns[1].text)")
            }
        }
        #expect(used.sorted() == Array(0..<400))
        #expect(Set(scripts.map(\.kind)) == Set(ScriptedConversation.Kind.allCases))
        #expect(ConversationScripts.make(texts: Self.texts, labels: Self.labels, seed: 3) == scripts)
        #expect(ConversationScripts.make(texts: Self.texts, labels: Self.labels, seed: 4) != scripts)
    }
}
