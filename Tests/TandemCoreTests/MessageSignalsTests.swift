import Foundation
import Testing
@testable import TandemCore

// MARK: - Asking for a person

@Test(arguments: [
    "can I speak to a real person",
    "Can I speak to a real person?",
    "human please",
    "HUMAN PLEASE",
    "talk to an agent",
    "representative",
    "Representative!!",
    "let me talk to someone",
    "call me",
    "Could you please call me back tomorrow?",
    "can you call me on my mobile",
    "is there anyone there",
    "Is anybody there???",
    "connect me to support staff",
    "operator",
    "agent",
    "I want a human",
    "I need to speak with your manager about this charge",
    "get me an agent now",
    "give me a human being",
    "transfer me to someone who can help",
    "please put me through to a live agent",
    "escalate this to a supervisor",
    "is there a person I can talk to",
    "I'd like to talk to customer service",
    "why won't you let me talk to a person",
    "why can't I just talk to a human?",
    "I don't want a bot, I want a human",
    "No, I want a human",
    "I don't know, just get me a human",
    "I don't want to wait, let me talk to a human",
    "Am I talking to a real person?",
    "real person please",
    "bot is useless, person please",
    "Stop. Talk to a human.",
    "Can I get a callback?",
    "I need help from a person, not a bot",
    "Is a representative available?",
    "can you transfer me?",
    "I'd like to escalate",
    "escalate this please",
    "I've asked three times: I want to speak to a representative!",
    // Spanish, German, French.
    "person",
    "persona",
    "quiero hablar con una persona",
    "Mensch",
    "Mensch bitte",
    "Ich möchte mit einem Menschen sprechen",
    "je veux parler à un humain",
])
func asksForHumanFires(message: String) {
    let signals = MessageSignals.detect(message)
    #expect(signals.asksForHuman)
    #expect(signals.matched.contains { $0.hasPrefix("asks for a person: '") })
}

@Test(arguments: [
    "my human resources department asked for a statement",
    "I am a person with a disability",
    "I am a real person, not a robot",
    "I don't want to talk to a person",
    "I do not need an agent, just tell me the fee",
    "no need for a human, the app is fine",
    "I don't really want to speak to anyone",
    "Ich will nicht mit einem Menschen sprechen",
    "no quiero hablar con una persona",
    "They call me every day about a debt I don't have",
    "Why did they call me twice today?",
    "My mobile operator charged me twice",
    "The agent at the branch was very helpful",
    "I'm a travel agent and need to book for a client",
    "How do I get the agent code for my account?",
    "Please transfer 50 euros to someone in Germany",
    "Transfer it to my savings account",
    "My sales representative told me the card would arrive today",
    "I spoke to someone yesterday and they said it was fixed",
    "Human error caused a double charge",
    "Is there anyone else who can see my statements?",
    "Can I transfer money to someone abroad?",
    "connect my card to apple pay",
    "The app won't connect me to wifi",
    "how do I escalate a payment dispute",
    "I received help from an agent last week",
    "my manager available hours",
    "I talked to an agent yesterday",
    "Talk to you later",
    "I will talk to my bank",
    "I need to speak to my husband first",
    "Please don't transfer me",
    "Don't call me, email me",
    "I'm a manager at a small business",
    "where is my card",
])
func asksForHumanDoesNotFire(message: String) {
    let signals = MessageSignals.detect(message)
    #expect(!signals.asksForHuman, "matched: \(signals.matched)")
}

@Test func matchedCueQuotesTheOriginalText() {
    let signals = MessageSignals.detect("Hi. Can I SPEAK to a Real Person, please?")
    #expect(signals.matched.first == "asks for a person: 'SPEAK to a Real Person'")
}

// MARK: - Not helpful

@Test(arguments: [
    "that didn't help",
    "That didn’t help at all",
    "that's not what I asked",
    "no, that's wrong",
    "useless answer",
    "you didn't answer my question",
    "still doesn't work",
    "that doesn't answer it",
    "I already tried that",
    "This was not helpful",
    "hat nicht geholfen",
    "no me ayudó",
    "You didn't understand me",
    "That is not correct",
])
func saysNotHelpfulFires(message: String) {
    let signals = MessageSignals.detect(message)
    #expect(signals.saysNotHelpful)
    #expect(signals.matched.contains { $0.hasPrefix("says the answer did not help: '") })
}

@Test(arguments: [
    "that helped, thanks",
    "that was very helpful",
    "thanks, it works now",
    "where is my card",
    "Help me please",
    "I need help with a transfer",
    "Did it arrive? No, it didn't. Help me track it",
    "the answer is correct",
])
func saysNotHelpfulDoesNotFire(message: String) {
    #expect(!MessageSignals.detect(message).saysNotHelpful)
}

// MARK: - Frustration

struct FrustrationCase: Sendable, CustomTestStringConvertible {
    let message: String
    let frustration: Double
    var testDescription: String { "\(frustration): \(message)" }
}

/// Scores worked from the documented weights.
@Test(arguments: [
    FrustrationCase(message: "where is my card", frustration: 0),
    FrustrationCase(message: "This is ridiculous", frustration: 0.3),
    FrustrationCase(message: "This is ridiculous!!!", frustration: 0.5),
    FrustrationCase(message: "I am furious", frustration: 0.5),
    FrustrationCase(message: "this is unacceptable and ridiculous", frustration: 0.8),
    FrustrationCase(message: "What the f*** is going on", frustration: 0.5),
    FrustrationCase(message: "sh!t service", frustration: 0.5),
    FrustrationCase(message: "you a$$hole", frustration: 0.5),
    FrustrationCase(message: "FUCK", frustration: 0.5),
    FrustrationCase(message: "fuck fuck fuck", frustration: 0.5),
    FrustrationCase(message: "is this a joke", frustration: 0.3),
    FrustrationCase(message: "this is the third time I ask", frustration: 0.3),
    FrustrationCase(message: "I have been asking again and again, still waiting for weeks", frustration: 0.9),
    FrustrationCase(message: "I have written 5 times already", frustration: 0.3),
    FrustrationCase(message: "I have written 2 times", frustration: 0),
    FrustrationCase(message: "I will report you to the ombudsman", frustration: 1),
    FrustrationCase(message: "Cancel everything.", frustration: 0.5),
    FrustrationCase(message: "I'm never using you again", frustration: 0.5),
    FrustrationCase(message: "WHERE IS MY REFUND I ORDERED IT LAST WEEK", frustration: 0.35),
    FrustrationCase(message: "WHERE IS MY REFUND I ORDERED IT LAST WEEK???", frustration: 0.55),
    FrustrationCase(message: "HELP", frustration: 0),
    FrustrationCase(message: "Why???", frustration: 0.2),
    FrustrationCase(message: "Where is my card?!", frustration: 0),
    FrustrationCase(message: "Where is my card!! Please!!", frustration: 0),
    FrustrationCase(message: "I'm not angry, just confused", frustration: 0),
    FrustrationCase(message: "no joke, the app logged me out", frustration: 0),
    FrustrationCase(message: "I'm a stupid idiot moron, useless, dumb, pathetic", frustration: 1),
])
func frustrationScore(_ example: FrustrationCase) {
    let signals = MessageSignals.detect(example.message)
    #expect(abs(signals.frustration - example.frustration) < 1e-12, "matched: \(signals.matched)")
    #expect(signals.isFrustrated == (example.frustration >= 0.5))
}

/// Whole words only: profanity inside other words does not count.
@Test(arguments: [
    "I live in Scunthorpe", "Please send the assessment", "first class ticket", "a classic cocktail", "shitake mushrooms",
    "Hello, Dickens fan here", "$5*3 = 15", "my password is p@ssw0rd!", "email me at a@b.com", "A***B",
])
func noProfanityInsideOtherWords(message: String) {
    #expect(MessageSignals.detect(message).frustration == 0, "\(MessageSignals.detect(message).matched)")
}

@Test func frustrationCuesAreExplained() {
    let signals = MessageSignals.detect("This is the THIRD time, f***!!! Unacceptable")
    #expect(signals.isFrustrated)
    #expect(signals.frustration == 1)
    #expect(signals.matched.contains("repetition: 'THIRD time' (+0.30)"))
    #expect(signals.matched.contains("profanity: 'f***!!!' (+0.50)"))
    #expect(signals.matched.contains("anger: 'Unacceptable' (+0.50)"))
    #expect(signals.matched.contains("punctuation: '!!!' (+0.20)"))
}

@Test func shoutingNeedsALongMessage() {
    #expect(MessageSignals.detect("CARD LOST").frustration == 0)
    let shouting = MessageSignals.detect("I NEED MY MONEY BACK TODAY")
    #expect(shouting.frustration == 0.35)
    #expect(shouting.matched == ["shouting: 100% capitals (+0.35)"])
}

// MARK: - Robustness

@Test(arguments: [
    "", " ", "\n\n\t", "!!!", "???", "'", "’’’", "*", "f*", "*f***", "😡😡😡", "👩‍👩‍👧‍👦", "🙂 thanks",
    "<p>Hello<br/>where is <b>my</b> card?</p>", "<script>alert('x')</script>", "مرحبا أين بطاقتي", "我的卡在哪里",
    "Где моя карта", "e\u{301}\u{301}\u{301}", "\u{0}\u{1}\u{7F}", "ﬀ ǅ ß İ",
])
func oddInputIsHandled(message: String) {
    let signals = MessageSignals.detect(message)
    #expect((0...1).contains(signals.frustration))
    #expect(!signals.asksForHuman)
    #expect(!signals.saysNotHelpful)
}

@Test func emptyMessageHasNoSignals() {
    #expect(MessageSignals.detect("") == MessageSignals())
}

@Test func angryEmojiAndHTMLStillDetectCues() {
    let signals = MessageSignals.detect("<p>😡 I want to <b>talk to a human</b>!!! 😡</p>")
    #expect(signals.asksForHuman)
    #expect(signals.frustration == 0.2)
}

/// 100 KB inputs of several shapes finish quickly: detection is linear in the message.
@Test(arguments: [
    String(repeating: "where is my card? ", count: 6_000),
    String(repeating: "a", count: 100_000),
    String(repeating: "!", count: 100_000),
    String(repeating: "f*** ", count: 20_000),
    "f" + String(repeating: "*", count: 100_000),
    String(repeating: "a*b", count: 33_000),
    String(repeating: "talk to to to to to to ", count: 5_000),
    String(repeating: "我的卡在哪里", count: 6_000),
    String(repeating: "😡", count: 25_000),
    String(repeating: "<div class=\"x\">Hello</div>", count: 4_000),
])
func hundredKilobytesIsFast(message: String) {
    let clock = ContinuousClock()
    var signals = MessageSignals()
    let elapsed = clock.measure { signals = MessageSignals.detect(message) }
    #expect(elapsed < .seconds(2), "took \(elapsed)")
    #expect((0...1).contains(signals.frustration))
    #expect(signals.matched.count < 10)
}

@Test func hugeMessageStillFindsLateCue() {
    let message = String(repeating: "lorem ipsum dolor sit amet, ", count: 3_600) + "can I talk to a human"
    #expect(message.utf8.count > 100_000)
    #expect(MessageSignals.detect(message).asksForHuman)
}

@Test func signalsRoundTripThroughJSON() throws {
    let signals = MessageSignals.detect("That didn't help, I want a human!!!")
    let decoded = try JSONDecoder().decode(MessageSignals.self, from: JSONEncoder().encode(signals))
    #expect(decoded == signals)
    #expect(signals.asksForHuman && signals.saysNotHelpful && signals.frustration == 0.2)
}
