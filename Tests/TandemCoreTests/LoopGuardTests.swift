import TandemCore
import Testing

/// The loop guard counts a customer coming back with the same problem, not a new question.
@Suite("Loop guard")
struct LoopGuardTests {
    func prediction(_ intent: String, alternatives: [(String, Double)] = []) -> Prediction {
        Prediction(intent: intent, confidence: 0.99, threshold: 0.9, unknownThreshold: -1, knownScore: 1, familiarity: 1,
                   alternatives: [.init(intent: intent, probability: 0.99)] + alternatives.map { .init(intent: $0.0, probability: $0.1) })
    }

    @Test("the same intent, a close alternative, or 'did not help' comes back; a different intent is a new question")
    func comesBack() {
        #expect(LoopGuard.comesBack(answeredIntent: "refund", prediction: prediction("refund"), saysNotHelpful: false))
        #expect(LoopGuard.comesBack(answeredIntent: "refund", prediction: prediction("card_lost", alternatives: [("refund", 0.25)]), saysNotHelpful: false))
        #expect(!LoopGuard.comesBack(answeredIntent: "refund", prediction: prediction("card_lost", alternatives: [("refund", 0.1)]), saysNotHelpful: false))
        #expect(!LoopGuard.comesBack(answeredIntent: "refund", prediction: prediction("card_lost"), saysNotHelpful: false))
        #expect(LoopGuard.comesBack(answeredIntent: "refund", prediction: prediction("card_lost"), saysNotHelpful: true))
        #expect(LoopGuard.comesBack(answeredIntent: "refund", prediction: nil, saysNotHelpful: false), "no model: nothing says it is new")
    }
}
