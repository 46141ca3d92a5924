import TandemCore
import Testing

/// Small talk is read narrowly: whole clauses of known forms only, so a request is never
/// mistaken for a pleasantry.
@Suite("Small talk")
struct SmallTalkTests {
    @Test("a message that is only small talk", arguments: [
        ("hi", SmallTalkKind.greeting), ("Hello!", .greeting), ("hey there 👋", .greeting), ("Good morning, team", .greeting),
        ("thanks!", .thanks), ("Thank you so much!!", .thanks), ("ok thanks", .thanks), ("cheers", .thanks),
        ("Thanks for your help.", .thanks), ("bye", .goodbye), ("no, that’s all", .goodbye), ("have a nice day :)", .goodbye),
        ("are you a bot?", .botQuestion), ("Am I talking to a robot?", .botQuestion), ("is this automated", .botQuestion),
        ("hi, thanks, bye", .goodbye),
    ])
    func only(text: String, kind: SmallTalkKind) {
        let reading = SmallTalk.read(text)
        #expect(reading.onlySmallTalk == kind, "\(text): \(reading)")
        #expect(reading.request == nil)
    }

    @Test("small talk before a request is set aside; the request is kept in the customer's words", arguments: [
        ("hi, how do I reset my password?", "how do I reset my password?"),
        ("Hello?? my card is blocked", "my card is blocked"),
        ("hi my card was declined", "my card was declined"),
        ("hey there can you help with a refund", "can you help with a refund"),
        ("Thanks! And how do I close my account?", "And how do I close my account?"),
        ("good evening. I was charged twice", "I was charged twice"),
    ])
    func leading(text: String, request: String) {
        let reading = SmallTalk.read(text)
        #expect(reading.request == request, "\(text): \(reading)")
        #expect(!reading.kinds.isEmpty)
        #expect(reading.onlySmallTalk == nil)
    }

    @Test("requests that start like small talk are not small talk", arguments: [
        "thanks for nothing, my card still doesn't work", "how are you charging me twice?", "no", "bye bye money, where did my refund go",
        "is this a bot that can refund me", "hit my limit", "helloworld", "my card is blocked", "",
    ])
    func notSmallTalk(text: String) {
        let reading = SmallTalk.read(text)
        #expect(reading.kinds.isEmpty || reading.request != nil, "\(text): \(reading)")
        #expect(reading.onlySmallTalk == nil, "\(text): \(reading)")
        if !text.isEmpty, reading.kinds.isEmpty { #expect(reading.request == text) }
    }

    @Test("replies: every kind has one; empty or long replies are problems naming the field")
    func replies() {
        var replies = SmallTalkReplies()
        #expect(replies.problems.isEmpty)
        #expect(SmallTalkKind.allCases.allSatisfy { !replies[$0].isEmpty })
        replies.botQuestion = "  "
        replies.thanks = String(repeating: "x", count: 501)
        #expect(replies.problems == ["smallTalk.thanks must be at most 500 characters", "smallTalk.botQuestion must not be empty"])
    }
}
