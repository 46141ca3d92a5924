import Foundation
import Testing
@testable import TandemCore

private typealias Rule = RoutingDecision.Rule
private typealias Action = RoutingDecision.Action

/// A message the AI may answer: confident, certified, known, not sensitive, automated.
private let confidentInput = RoutingInput(
    signals: MessageSignals(),
    prediction: Prediction(intent: "card_arrival", confidence: 0.97, threshold: 0.955, unknownThreshold: 0.3,
                           familiarity: 0.8, alternatives: [.init(intent: "card_delivery_estimate", probability: 0.02)]),
    intent: IntentSettings(key: "card_arrival", sensitive: false, automation: .auto)
)

private func input(_ change: (inout RoutingInput) -> Void) -> RoutingInput {
    var input = confidentInput
    change(&input)
    return input
}

private let asksForHuman = MessageSignals(asksForHuman: true, matched: ["asks for a person: 'real person'"])
private let frustrated = MessageSignals(frustration: 0.8, matched: ["anger: 'furious' (+0.50)"])
private let notHelpful = MessageSignals(saysNotHelpful: true, matched: ["says the answer did not help: 'didn't help'"])

struct RoutingCase: Sendable, CustomTestStringConvertible {
    let name: String
    let input: RoutingInput
    let action: RoutingDecision.Action
    let rule: RoutingDecision.Rule
    var testDescription: String { name }
}

private let routingCases: [RoutingCase] = [
    RoutingCase(name: "confident baseline answers", input: confidentInput, action: .answer, rule: .confident),

    // 1. Kill switch beats everything.
    RoutingCase(name: "kill switch", input: input { $0.workspace.killSwitch = true }, action: .handOff, rule: .killSwitch),
    RoutingCase(name: "kill switch beats a person owning the conversation",
                input: input { $0.workspace.killSwitch = true; $0.conversation.humanOwns = true }, action: .handOff, rule: .killSwitch),
    RoutingCase(name: "kill switch without a model", input: input { $0.workspace.killSwitch = true; $0.prediction = nil },
                action: .handOff, rule: .killSwitch),

    // 2b. Waiting for a person: a confident answer, small talk or a busy model only draft.
    RoutingCase(name: "waiting for a person: a confident prediction only drafts", input: input { $0.conversation.waitingForPerson = true },
                action: .draftForHuman, rule: .waitingForPerson),
    RoutingCase(name: "waiting for a person: small talk only drafts", input: input { $0.conversation.waitingForPerson = true; $0.smallTalk = .thanks },
                action: .draftForHuman, rule: .waitingForPerson),
    RoutingCase(name: "waiting for a person under the kill switch", input: input { $0.conversation.waitingForPerson = true; $0.workspace.killSwitch = true },
                action: .handOff, rule: .killSwitch),

    // 2. A person owns the conversation: beats everything but the kill switch.
    RoutingCase(name: "human owns", input: input { $0.conversation.humanOwns = true }, action: .draftForHuman, rule: .humanOwns),
    RoutingCase(name: "human owns beats asked-for-human, frustration, sensitive",
                input: input {
                    $0.conversation.humanOwns = true
                    $0.signals = MessageSignals(asksForHuman: true, saysNotHelpful: true, frustration: 1)
                    $0.intent?.sensitive = true
                    $0.prediction = nil
                },
                action: .draftForHuman, rule: .humanOwns),

    // 3. Asked for a person.
    RoutingCase(name: "asked for human beats a confident prediction",
                input: input { $0.signals = asksForHuman; $0.prediction?.confidence = 0.999 }, action: .handOff, rule: .askedForHuman),
    RoutingCase(name: "asked for human beats frustration",
                input: input { $0.signals = MessageSignals(asksForHuman: true, frustration: 1) }, action: .handOff, rule: .askedForHuman),

    // 4. Frustration.
    RoutingCase(name: "frustrated", input: input { $0.signals = frustrated }, action: .handOff, rule: .frustration),
    RoutingCase(name: "frustration exactly at 0.5", input: input { $0.signals.frustration = 0.5 }, action: .handOff, rule: .frustration),
    RoutingCase(name: "frustration just below 0.5 answers", input: input { $0.signals.frustration = 0.49 }, action: .answer, rule: .confident),
    RoutingCase(name: "frustration beats not helpful",
                input: input { $0.signals = MessageSignals(saysNotHelpful: true, frustration: 0.6); $0.conversation.lastTurnWasAIAnswer = true },
                action: .handOff, rule: .frustration),

    // 5. Not helpful, only right after an AI answer.
    RoutingCase(name: "not helpful after an AI answer",
                input: input { $0.signals = notHelpful; $0.conversation.lastTurnWasAIAnswer = true }, action: .handOff, rule: .notHelpful),
    RoutingCase(name: "not helpful without a previous AI answer is ignored",
                input: input { $0.signals = notHelpful }, action: .answer, rule: .confident),

    // 6. No model.
    RoutingCase(name: "no model", input: input { $0.prediction = nil }, action: .handOff, rule: .noModel),
    // 5b. Small talk alone: the short reply, whatever the model would say; people's rules first.
    RoutingCase(name: "small talk gets the short reply", input: input { $0.smallTalk = .greeting; $0.prediction = nil }, action: .answer, rule: .smallTalk),
    RoutingCase(name: "small talk when a person owns the conversation is a draft",
                input: input { $0.smallTalk = .thanks; $0.conversation.humanOwns = true }, action: .draftForHuman, rule: .humanOwns),
    RoutingCase(name: "small talk under the kill switch goes to people", input: input { $0.smallTalk = .thanks; $0.workspace.killSwitch = true },
                action: .handOff, rule: .killSwitch),
    // 6b. The model was too busy to read the message.
    RoutingCase(name: "model too busy", input: input { $0.prediction = nil; $0.busy = .init(waiting: 64) }, action: .handOff, rule: .assistantBusy),
    RoutingCase(name: "a person owns it even when the model is busy",
                input: input { $0.prediction = nil; $0.busy = .init(waiting: 64); $0.conversation.humanOwns = true }, action: .draftForHuman, rule: .humanOwns),

    // 7. Unknown request.
    RoutingCase(name: "below the unknown threshold", input: input { $0.prediction?.knownScore = 0.2 }, action: .handOff, rule: .unknownRequest),
    RoutingCase(name: "a confident prediction that looks unfamiliar is unknown",
                input: input { $0.prediction?.confidence = 0.999; $0.prediction?.knownScore = 0.1 }, action: .handOff, rule: .unknownRequest),
    RoutingCase(name: "intent not in the knowledge base, however confident",
                input: input { $0.intent = nil; $0.prediction?.confidence = 0.999 }, action: .handOff, rule: .unknownRequest),
    RoutingCase(name: "settings of another intent count as unknown",
                input: input { $0.intent?.key = "card_linking" }, action: .handOff, rule: .unknownRequest),
    RoutingCase(name: "NaN known-score hands off", input: input { $0.prediction?.knownScore = .nan }, action: .handOff, rule: .unknownRequest),
    RoutingCase(name: "NaN confidence hands off", input: input { $0.prediction?.confidence = .nan }, action: .handOff, rule: .lowConfidence),
    RoutingCase(name: "exactly at the unknown threshold is not unknown",
                input: input { $0.prediction?.knownScore = 0.3; $0.prediction?.confidence = 0.3 }, action: .handOff, rule: .lowConfidence),
    RoutingCase(name: "unknown beats sensitive",
                input: input { $0.prediction?.knownScore = 0.1; $0.intent?.sensitive = true }, action: .handOff, rule: .unknownRequest),

    // 8. Sensitive.
    RoutingCase(name: "sensitive intent with very high confidence",
                input: input { $0.intent?.sensitive = true; $0.prediction?.confidence = 0.999 }, action: .handOff, rule: .sensitive),
    RoutingCase(name: "sensitive beats draft-only",
                input: input { $0.intent?.sensitive = true; $0.intent?.automation = .draftOnly }, action: .handOff, rule: .sensitive),

    // 9. Automation off.
    RoutingCase(name: "automation off", input: input { $0.intent?.automation = .off }, action: .handOff, rule: .automationOff),
    RoutingCase(name: "automation off beats the guardrail",
                input: input { $0.intent?.automation = .off; $0.workspace.guardrailDraftOnly = ["card_arrival"] },
                action: .handOff, rule: .automationOff),

    // 10. Draft-only, by setting or by the guardrail.
    RoutingCase(name: "draft-only", input: input { $0.intent?.automation = .draftOnly }, action: .draftForHuman, rule: .draftOnly),
    RoutingCase(name: "draft-only drafts even at low confidence",
                input: input { $0.intent?.automation = .draftOnly; $0.prediction?.confidence = 0.5 }, action: .draftForHuman, rule: .draftOnly),
    RoutingCase(name: "draft-only setting named before the guardrail",
                input: input { $0.intent?.automation = .draftOnly; $0.workspace.guardrailDraftOnly = ["card_arrival"] },
                action: .draftForHuman, rule: .draftOnly),
    RoutingCase(name: "guardrail", input: input { $0.workspace.guardrailDraftOnly = ["card_arrival"] }, action: .draftForHuman, rule: .guardrail),
    RoutingCase(name: "guardrail on another intent does not apply",
                input: input { $0.workspace.guardrailDraftOnly = ["card_linking"] }, action: .answer, rule: .confident),
    RoutingCase(name: "guardrail beats not certified",
                input: input { $0.workspace.guardrailDraftOnly = ["card_arrival"]; $0.prediction?.threshold = nil },
                action: .draftForHuman, rule: .guardrail),

    RoutingCase(name: "shadow mode drafts for a person", input: input { $0.workspace.shadowDraftOnly = ["card_arrival"] },
                action: .draftForHuman, rule: .shadowMode),
    RoutingCase(name: "shadow mode drafts even at low confidence",
                input: input { $0.workspace.shadowDraftOnly = ["card_arrival"]; $0.prediction?.confidence = 0.5 },
                action: .draftForHuman, rule: .shadowMode),
    RoutingCase(name: "shadow mode on another intent does not apply",
                input: input { $0.workspace.shadowDraftOnly = ["card_linking"] }, action: .answer, rule: .confident),
    RoutingCase(name: "guardrail named before shadow mode",
                input: input { $0.workspace.shadowDraftOnly = ["card_arrival"]; $0.workspace.guardrailDraftOnly = ["card_arrival"] },
                action: .draftForHuman, rule: .guardrail),
    RoutingCase(name: "sensitive beats shadow mode",
                input: input { $0.intent?.sensitive = true; $0.workspace.shadowDraftOnly = ["card_arrival"] },
                action: .handOff, rule: .sensitive),

    // 11. Nothing certified.
    RoutingCase(name: "not certified", input: input { $0.prediction?.threshold = nil }, action: .handOff, rule: .notCertified),
    RoutingCase(name: "not certified even at confidence 1",
                input: input { $0.prediction?.threshold = nil; $0.prediction?.confidence = 1 }, action: .handOff, rule: .notCertified),

    // 12. Low confidence, with the boundary.
    RoutingCase(name: "just below the threshold", input: input { $0.prediction?.confidence = 0.9549 }, action: .handOff, rule: .lowConfidence),
    RoutingCase(name: "exactly at the threshold answers", input: input { $0.prediction?.confidence = 0.955 }, action: .answer, rule: .confident),
    RoutingCase(name: "NaN threshold hands off", input: input { $0.prediction?.threshold = .nan }, action: .handOff, rule: .lowConfidence),
    RoutingCase(name: "low confidence beats repeated unresolved",
                input: input { $0.prediction?.confidence = 0.9; $0.conversation.consecutiveUnresolvedTurns = 3 },
                action: .handOff, rule: .lowConfidence),

    // 13. Second unresolved turn in a row.
    RoutingCase(name: "came back unresolved once", input: input { $0.conversation.consecutiveUnresolvedTurns = 1 },
                action: .handOff, rule: .repeatedUnresolved),
    RoutingCase(name: "came back unresolved twice", input: input { $0.conversation.consecutiveUnresolvedTurns = 2 },
                action: .handOff, rule: .repeatedUnresolved),

    // 14. Confident.
    RoutingCase(name: "after a resolved AI answer", input: input { $0.conversation.lastTurnWasAIAnswer = true }, action: .answer, rule: .confident),
    RoutingCase(name: "confidence 1", input: input { $0.prediction?.confidence = 1 }, action: .answer, rule: .confident),
]

@Test(arguments: routingCases)
func routingRules(_ example: RoutingCase) {
    let decision = RoutingPolicy.decide(example.input)
    #expect(decision.rule == example.rule, "reasons: \(decision.reasons)")
    #expect(decision.action == example.action)
    #expect(!decision.reasons.isEmpty)
    // Every decision with a prediction carries its numbers.
    #expect(decision.confidence?.bitPattern == example.input.prediction?.confidence.bitPattern)
    #expect(decision.threshold?.bitPattern == example.input.prediction?.threshold?.bitPattern)
}

@Test func everyRuleIsCoveredByTheTable() {
    #expect(Set(routingCases.map(\.rule)) == Set(Rule.allCases))
    #expect(Set(routingCases.map(\.action)) == Set(Action.allCases))
}

/// Raw values are stored and shown to supervisors; a rename must fail here first.
@Test func rawValuesAreStable() {
    #expect(Rule.allCases.map(\.rawValue) == [
        "kill-switch", "human-owns", "waiting-for-person", "asked-for-human", "frustration", "not-helpful", "small-talk", "no-model", "assistant-busy", "unknown-request",
        "sensitive", "automation-off", "draft-only", "guardrail", "shadow-mode", "not-certified", "low-confidence",
        "repeated-unresolved", "confident",
    ])
    #expect(Action.allCases.map(\.rawValue) == ["answer", "draft", "hand-off"])
    #expect(AutomationMode.allCases.map(\.rawValue) == ["auto", "draft-only", "off"])
}

// MARK: - Reasons

@Test func lowConfidenceReasonGivesNumbers() {
    let decision = RoutingPolicy.decide(input { $0.prediction?.confidence = 0.912 })
    #expect(decision.reasons == [
        "confidence 0.912 < threshold 0.955 for card_arrival",
        "closest intents: card_delivery_estimate 0.020",
    ])
}

@Test func confidentReasonGivesNumbers() {
    #expect(RoutingPolicy.decide(confidentInput).reasons == ["confidence 0.970 >= threshold 0.955 for card_arrival"])
}

@Test func unknownReasonGivesNumbers() {
    let decision = RoutingPolicy.decide(input { $0.prediction?.knownScore = 0.1234 })
    #expect(decision.reasons.first == "known-score 0.123 < unknown threshold 0.300 for card_arrival (confidence 0.970, familiarity 0.800): "
        + "likely a request the knowledge base does not cover")
    let missing = RoutingPolicy.decide(input { $0.intent = nil })
    #expect(missing.reasons.first == "predicted intent card_arrival is not in the knowledge base")
}

@Test func signalRulesQuoteTheCuesAndThePrediction() {
    let asked = RoutingPolicy.decide(input { $0.signals = asksForHuman })
    #expect(asked.reasons == [
        "the customer asks for a person",
        "asks for a person: 'real person'",
        "prediction: card_arrival at confidence 0.970 (threshold 0.955, unknown threshold 0.300)",
    ])
    let angry = RoutingPolicy.decide(input { $0.signals = frustrated })
    #expect(angry.reasons.first == "the customer is frustrated: frustration 0.800 >= 0.500")
    #expect(angry.reasons.contains("anger: 'furious' (+0.50)"))
}

@Test func noModelDecisionHasNoNumbers() {
    let decision = RoutingPolicy.decide(input { $0.prediction = nil })
    #expect(decision.confidence == nil && decision.threshold == nil)
    #expect(decision.reasons == ["no intent model is loaded"])
}

@Test func notCertifiedReasonSaysSo() {
    let decision = RoutingPolicy.decide(input { $0.prediction?.threshold = nil })
    #expect(decision.reasons == ["no threshold is certified for card_arrival (confidence 0.970)"])
    #expect(decision.confidence == 0.97 && decision.threshold == nil)
}

@Test func repeatedUnresolvedReasonCountsTurns() {
    let decision = RoutingPolicy.decide(input { $0.conversation.consecutiveUnresolvedTurns = 1 })
    #expect(decision.reasons.first == "the customer came back with the same problem after 1 AI answer in a row: "
        + "the assistant does not try again")
}

// MARK: - End to end and encoding

@Test(arguments: [
    ("Can I speak to a real person?", Rule.askedForHuman),
    ("This is the third time I ask, unacceptable!!!", Rule.frustration),
    ("that didn't help", Rule.notHelpful),
    ("When will my card arrive?", Rule.confident),
])
func detectedSignalsDriveTheDecision(message: String, rule: RoutingDecision.Rule) {
    let decision = RoutingPolicy.decide(input {
        $0.signals = MessageSignals.detect(message)
        $0.conversation.lastTurnWasAIAnswer = true
    })
    #expect(decision.rule == rule, "reasons: \(decision.reasons)")
}

@Test func typesRoundTripThroughJSON() throws {
    let original = input {
        $0.intent?.automation = .draftOnly
        $0.workspace.guardrailDraftOnly = ["card_arrival"]
        $0.workspace.shadowDraftOnly = ["card_linking"]
        $0.signals = MessageSignals.detect("human please")
    }
    let json = try JSONEncoder().encode(original)
    #expect(String(decoding: json, as: UTF8.self).contains("\"draft-only\""))
    #expect(try JSONDecoder().decode(RoutingInput.self, from: json) == original)

    let decision = RoutingPolicy.decide(original)
    let decoded = try JSONDecoder().decode(RoutingDecision.self, from: JSONEncoder().encode(decision))
    #expect(decoded == decision)
    let stored = try JSONDecoder().decode(RoutingDecision.self, from: Data(
        #"{"action":"hand-off","rule":"asked-for-human","reasons":[],"confidence":0.5}"#.utf8))
    #expect(stored.action == .handOff && stored.rule == .askedForHuman && stored.threshold == nil)
    // A workspace state saved before shadow mode existed still decodes.
    let old = try JSONDecoder().decode(WorkspaceState.self, from: Data(#"{"killSwitch":false,"guardrailDraftOnly":["pin"]}"#.utf8))
    #expect(old == WorkspaceState(guardrailDraftOnly: ["pin"]))
}
