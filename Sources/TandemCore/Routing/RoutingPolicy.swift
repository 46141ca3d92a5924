import Foundation

/// How far the AI may go for one intent, as set by the workspace's admins.
public enum AutomationMode: String, Codable, Sendable, CaseIterable {
    /// The AI answers on its own when the rest of the policy allows it.
    case auto
    /// The AI only drafts; a person reviews and sends.
    case draftOnly = "draft-only"
    /// The AI stays out: every message of this intent goes to a person.
    case off
}

/// The knowledge base's settings for one intent.
public struct IntentSettings: Codable, Sendable, Equatable {
    public var key: String
    /// Sensitive intents (fraud, bereavement, complaints, ...) always go to a person, however
    /// confident the model is: the cost of a wrong automated answer there is not the usual one.
    public var sensitive: Bool
    public var automation: AutomationMode

    public init(key: String, sensitive: Bool, automation: AutomationMode) {
        self.key = key
        self.sensitive = sensitive
        self.automation = automation
    }
}

/// What the intent model says about one message.
public struct Prediction: Codable, Sendable, Equatable {
    /// A runner-up intent, shown to the person who takes over.
    public struct Alternative: Codable, Sendable, Equatable {
        public var intent: String
        public var probability: Double

        public init(intent: String, probability: Double) {
            self.intent = intent
            self.probability = probability
        }
    }

    public var intent: String
    public var confidence: Double
    /// The certified threshold for this intent (see `Thresholds.threshold(for:)`); nil when
    /// nothing could be certified, in which case nothing is answered automatically.
    public var threshold: Double?
    /// The out-of-scope signal (`IntentScores.knownScore`): ln(confidence) + γ·familiarity.
    public var knownScore: Double
    /// Below this known-score the message looks unlike anything the knowledge base covers.
    public var unknownThreshold: Double
    /// How close the message is to the predicted intent's examples (standard deviations); part
    /// of the known-score, shown in reasons.
    public var familiarity: Double
    /// The top intents with their probabilities.
    public var alternatives: [Alternative]

    /// `knownScore` defaults to the confidence itself (a model without a familiarity term).
    public init(intent: String, confidence: Double, threshold: Double?, unknownThreshold: Double, knownScore: Double? = nil,
                familiarity: Double, alternatives: [Alternative] = []) {
        self.intent = intent
        self.confidence = confidence
        self.knownScore = knownScore ?? confidence
        self.threshold = threshold
        self.unknownThreshold = unknownThreshold
        self.familiarity = familiarity
        self.alternatives = alternatives
    }
}

/// Where the conversation stands before this message.
public struct ConversationState: Codable, Sendable, Equatable {
    /// A person has taken the conversation over.
    public var humanOwns: Bool
    /// The conversation waits in the queue for a person (the customer or a rule asked for one).
    public var waitingForPerson: Bool
    /// The previous turn was an automated answer, so "that didn't help" refers to the AI.
    public var lastTurnWasAIAnswer: Bool
    /// AI answers in a row the customer came back on with the same problem, counting this
    /// message when it is such a return (`LoopGuard.comesBack`); 0 for a new question.
    public var consecutiveUnresolvedTurns: Int

    public init(humanOwns: Bool = false, waitingForPerson: Bool = false, lastTurnWasAIAnswer: Bool = false, consecutiveUnresolvedTurns: Int = 0) {
        self.humanOwns = humanOwns
        self.waitingForPerson = waitingForPerson
        self.lastTurnWasAIAnswer = lastTurnWasAIAnswer
        self.consecutiveUnresolvedTurns = consecutiveUnresolvedTurns
    }
}

/// Workspace-wide switches.
public struct WorkspaceState: Codable, Sendable, Equatable {
    /// Stops all automated answers at once.
    public var killSwitch: Bool
    /// Intents the quality guardrail has switched to draft-only after seeing bad outcomes.
    public var guardrailDraftOnly: Set<String>
    /// New intents in shadow mode: draft-only until people's labels prove the target (`ShadowMode`).
    public var shadowDraftOnly: Set<String>

    public init(killSwitch: Bool = false, guardrailDraftOnly: Set<String> = [], shadowDraftOnly: Set<String> = []) {
        self.killSwitch = killSwitch
        self.guardrailDraftOnly = guardrailDraftOnly
        self.shadowDraftOnly = shadowDraftOnly
    }

    private enum CodingKeys: String, CodingKey { case killSwitch, guardrailDraftOnly, shadowDraftOnly }

    /// States saved before shadow mode existed decode with no intent in shadow mode.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        killSwitch = try c.decode(Bool.self, forKey: .killSwitch)
        guardrailDraftOnly = try c.decode(Set<String>.self, forKey: .guardrailDraftOnly)
        shadowDraftOnly = try c.decodeIfPresent(Set<String>.self, forKey: .shadowDraftOnly) ?? []
    }
}

/// Everything the routing decision depends on; gathered by the caller so the decision is pure.
public struct RoutingInput: Codable, Sendable, Equatable {
    public var signals: MessageSignals
    /// nil when no model is loaded, or when it was too busy to read the message (`busy`).
    public var prediction: Prediction?
    /// Set when the model was not consulted because too many messages were waiting for it.
    public var busy: Busy?
    /// The message is small talk and nothing else (`SmallTalk.read`): the kind to reply to.
    public var smallTalk: SmallTalkKind?
    /// Settings of the predicted intent; nil when the knowledge base does not know it.
    public var intent: IntentSettings?
    public var conversation: ConversationState
    public var workspace: WorkspaceState

    /// The model's queue was full: `waiting` messages were ahead of this one, the most allowed.
    public struct Busy: Codable, Sendable, Equatable {
        public var waiting: Int
        public init(waiting: Int) { self.waiting = waiting }
    }

    public init(signals: MessageSignals, prediction: Prediction?, intent: IntentSettings?,
                conversation: ConversationState = .init(), workspace: WorkspaceState = .init(), busy: Busy? = nil,
                smallTalk: SmallTalkKind? = nil) {
        self.signals = signals
        self.prediction = prediction
        self.busy = busy
        self.smallTalk = smallTalk
        self.intent = intent
        self.conversation = conversation
        self.workspace = workspace
    }
}

/// What to do with one message, which rule decided it, and why, in words a supervisor can check.
public struct RoutingDecision: Codable, Sendable, Equatable {
    public enum Action: String, Codable, Sendable, CaseIterable {
        /// Send the AI's answer to the customer.
        case answer
        /// Let the AI draft; a person reviews and sends.
        case draftForHuman = "draft"
        /// Route to a person; the AI does not answer.
        case handOff = "hand-off"
    }

    /// The rule that decided, in evaluation order. Raw values are stored in the database and
    /// shown to supervisors: never rename them.
    public enum Rule: String, Codable, Sendable, CaseIterable {
        /// 1. The workspace kill switch is on.
        case killSwitch = "kill-switch"
        /// 2. A person owns the conversation: the AI only drafts.
        case humanOwns = "human-owns"
        /// 2b. The conversation waits for a person: once one was asked for (by the customer or
        /// a rule), the AI does not answer over them; it only drafts.
        case waitingForPerson = "waiting-for-person"
        /// 3. The customer asks for a person.
        case askedForHuman = "asked-for-human"
        /// 4. The customer is frustrated (`MessageSignals.isFrustrated`).
        case frustration = "frustration"
        /// 5. The customer says the last AI answer did not help.
        case notHelpful = "not-helpful"
        /// 5b. Small talk and nothing else ("hi", "thanks!", "are you a bot?"): the assistant's
        /// short reply, never a hand-off on its own.
        case smallTalk = "small-talk"
        /// 6. No intent model is loaded.
        case noModel = "no-model"
        /// 6b. Too many messages were waiting for the model: a person answers rather than the
        /// customer waiting (and every customer after them).
        case assistantBusy = "assistant-busy"
        /// 7. Confidence below the unknown threshold, or the intent is not in the knowledge base.
        case unknownRequest = "unknown-request"
        /// 8. The intent is marked sensitive.
        case sensitive = "sensitive"
        /// 9. Automation is off for the intent.
        case automationOff = "automation-off"
        /// 10a. The intent is set to draft-only.
        case draftOnly = "draft-only"
        /// 10b. The quality guardrail switched the intent to draft-only.
        case guardrail = "guardrail"
        /// 10c. The intent is new and in shadow mode: draft-only until people's labels prove the target.
        case shadowMode = "shadow-mode"
        /// 11. No threshold is certified for the intent.
        case notCertified = "not-certified"
        /// 12. Confidence below the certified threshold.
        case lowConfidence = "low-confidence"
        /// 13. The customer comes back with the same problem after an AI answer.
        case repeatedUnresolved = "repeated-unresolved"
        /// 14. Everything allows an automated answer.
        case confident = "confident"
    }

    public var action: Action
    public var rule: Rule
    /// Human sentences: what fired, and confidence against thresholds with numbers.
    public var reasons: [String]
    /// The prediction's confidence, whenever there is a prediction.
    public var confidence: Double?
    /// The prediction's certified threshold, whenever there is a prediction and one is certified.
    public var threshold: Double?

    public init(action: Action, rule: Rule, reasons: [String], confidence: Double?, threshold: Double?) {
        self.action = action
        self.rule = rule
        self.reasons = reasons
        self.confidence = confidence
        self.threshold = threshold
    }
}

/// Decides whether the AI answers, drafts for a person, or hands the message to a person.
///
/// Rules are checked in a fixed order and the first that matches wins (see `RoutingDecision.Rule`).
/// The order puts what a person or the customer said above anything the model says: the kill
/// switch, a person's ownership and the customer's own words are never overridden by a
/// confident prediction. Only when every rule lets it through does the AI answer.
///
/// Comparisons are written so that a NaN confidence or threshold hands off rather than answers.
public enum RoutingPolicy {
    public static func decide(_ input: RoutingInput) -> RoutingDecision {
        let signals = input.signals
        let prediction = input.prediction
        let predictionLine = prediction.map(summary)

        func decision(_ action: RoutingDecision.Action, _ rule: RoutingDecision.Rule, _ reasons: [String]) -> RoutingDecision {
            RoutingDecision(action: action, rule: rule, reasons: reasons,
                            confidence: prediction?.confidence, threshold: prediction?.threshold)
        }
        /// Reasons for rules that fire before the model is consulted: the prediction is still
        /// shown, so a supervisor can see what the AI would have done.
        func withPrediction(_ reasons: [String]) -> [String] {
            reasons + (predictionLine.map { [$0] } ?? [])
        }

        if input.workspace.killSwitch {
            return decision(.handOff, .killSwitch, withPrediction(["the workspace kill switch is on: no automated answers"]))
        }
        if input.conversation.humanOwns {
            return decision(.draftForHuman, .humanOwns, withPrediction(["a person owns this conversation: the AI only suggests a draft"]))
        }
        if input.conversation.waitingForPerson {
            return decision(.draftForHuman, .waitingForPerson,
                            withPrediction(["the conversation is waiting for a person: the AI does not answer over them, it only suggests a draft"]))
        }
        if signals.asksForHuman {
            return decision(.handOff, .askedForHuman, withPrediction(["the customer asks for a person"] + signals.matched))
        }
        if signals.isFrustrated {
            let sentence = "the customer is frustrated: frustration \(f3(signals.frustration)) >= \(f3(MessageSignals.frustrationThreshold))"
            return decision(.handOff, .frustration, withPrediction([sentence] + signals.matched))
        }
        if signals.saysNotHelpful && input.conversation.lastTurnWasAIAnswer {
            return decision(.handOff, .notHelpful, withPrediction(["the customer says the last AI answer did not help"] + signals.matched))
        }
        if let kind = input.smallTalk {
            return decision(.answer, .smallTalk, ["the message is \(kind.described) and nothing else: the assistant's short reply, no hand-off"])
        }
        guard let prediction else {
            if let busy = input.busy {
                return decision(.handOff, .assistantBusy, [
                    "the assistant had \(busy.waiting) messages waiting to be read, the most it queues: a person answers rather than the customer waiting",
                ])
            }
            return decision(.handOff, .noModel, ["no intent model is loaded"])
        }
        let intent = prediction.intent
        if isBelow(prediction.knownScore, prediction.unknownThreshold) {
            let sentence = "known-score \(f3(prediction.knownScore)) < unknown threshold \(f3(prediction.unknownThreshold)) for \(intent) "
                + "(confidence \(f3(prediction.confidence)), familiarity \(f3(prediction.familiarity))): "
                + "likely a request the knowledge base does not cover"
            return decision(.handOff, .unknownRequest, [sentence] + alternativesLine(prediction))
        }
        // Settings for another intent would apply the wrong sensitivity and automation mode,
        // so they count as no settings at all.
        guard let settings = input.intent, settings.key == intent else {
            let sentence = input.intent.map { "the settings given are for \($0.key), not for the predicted \(intent)" }
                ?? "predicted intent \(intent) is not in the knowledge base"
            return decision(.handOff, .unknownRequest, [sentence, summary(prediction)] + alternativesLine(prediction))
        }
        if settings.sensitive {
            return decision(.handOff, .sensitive, withPrediction(["\(intent) is marked sensitive: always handled by a person"]))
        }
        switch settings.automation {
        case .off:
            return decision(.handOff, .automationOff, withPrediction(["automation is off for \(intent)"]))
        case .draftOnly:
            return decision(.draftForHuman, .draftOnly, withPrediction(["\(intent) is set to draft-only: a person reviews the AI's draft"]))
        case .auto:
            break
        }
        if input.workspace.guardrailDraftOnly.contains(intent) {
            return decision(.draftForHuman, .guardrail, withPrediction(["the quality guardrail switched \(intent) to draft-only"]))
        }
        if input.workspace.shadowDraftOnly.contains(intent) {
            // What the AI would have done is the evidence shadow mode collects, so say it.
            let would = prediction.threshold.map { isBelow(prediction.confidence, $0)
                ? "confidence \(f3(prediction.confidence)) < threshold \(f3($0)): the AI would not have answered either"
                : "confidence \(f3(prediction.confidence)) >= threshold \(f3($0)): the AI would have answered; the person's reply tests it"
            } ?? "no threshold is certified for \(intent)"
            return decision(.draftForHuman, .shadowMode,
                            ["\(intent) is new and in shadow mode: a person answers with the AI's draft until people's labels prove the target", would])
        }
        guard let threshold = prediction.threshold else {
            return decision(.handOff, .notCertified,
                            ["no threshold is certified for \(intent) (confidence \(f3(prediction.confidence)))"])
        }
        if isBelow(prediction.confidence, threshold) {
            let sentence = "confidence \(f3(prediction.confidence)) < threshold \(f3(threshold)) for \(intent)"
            return decision(.handOff, .lowConfidence, [sentence] + alternativesLine(prediction))
        }
        let confident = "confidence \(f3(prediction.confidence)) >= threshold \(f3(threshold)) for \(intent)"
        let unresolved = input.conversation.consecutiveUnresolvedTurns
        if unresolved >= 1 {
            let sentence = "the customer came back with the same problem after \(unresolved) AI answer\(unresolved == 1 ? "" : "s") in a row: "
                + "the assistant does not try again"
            return decision(.handOff, .repeatedUnresolved, [sentence, confident])
        }
        return decision(.answer, .confident, [confident])
    }

    /// True unless `value` is at least `bound`; NaN on either side counts as below.
    private static func isBelow(_ value: Double, _ bound: Double) -> Bool {
        !(value >= bound)
    }

    private static func summary(_ prediction: Prediction) -> String {
        let threshold = prediction.threshold.map { "threshold \(f3($0))" } ?? "no certified threshold"
        return "prediction: \(prediction.intent) at confidence \(f3(prediction.confidence)) (\(threshold), "
            + "unknown threshold \(f3(prediction.unknownThreshold)))"
    }

    /// The runners-up, for the person who takes over; empty when the model gave none.
    private static func alternativesLine(_ prediction: Prediction) -> [String] {
        guard !prediction.alternatives.isEmpty else { return [] }
        let listed = prediction.alternatives.prefix(3).map { "\($0.intent) \(f3($0.probability))" }
        return ["closest intents: " + listed.joined(separator: ", ")]
    }
}

/// A number with three decimals, as reasons show them.
private func f3(_ value: Double) -> String {
    String(format: "%.3f", value)
}

extension RoutingDecision.Rule {
    /// What the rule means, in words an agent reads at a glance (the numbers are in the
    /// decision's reasons).
    public var explanation: String {
        switch self {
        case .killSwitch: "The kill switch is on, so every message goes to a person."
        case .humanOwns: "A person is handling this conversation, so the assistant only suggested a draft."
        case .waitingForPerson: "The customer is waiting for a person, so the assistant only suggested a draft."
        case .askedForHuman: "The customer asked for a person."
        case .frustration: "The customer sounds frustrated, so a person should take over."
        case .notHelpful: "The customer said the assistant's last answer did not help."
        case .smallTalk: "The message was small talk (a greeting, thanks or a goodbye); the assistant replied briefly."
        case .noModel: "No model is trained yet, so a person answers."
        case .assistantBusy: "The assistant was too busy to read this message in time, so a person answers."
        case .unknownRequest: "The assistant did not recognise this as a question the knowledge base answers."
        case .sensitive: "The topic is sensitive, so a person always handles it."
        case .automationOff: "Automatic answers are switched off for this topic."
        case .draftOnly: "This topic is set to draft-only: a person reviews the assistant's draft."
        case .guardrail: "Audits found too many mistakes on this topic lately, so a person reviews the assistant's drafts until it is proven again."
        case .shadowMode: "This topic is new: a person answers while the assistant's guesses are checked."
        case .notCertified: "The assistant has not been proven accurate enough on this topic yet."
        case .lowConfidence: "The assistant was not sure enough of the topic to answer on its own."
        case .repeatedUnresolved: "The customer came back with the same problem after the assistant's answer, so a person takes over."
        case .confident: "The assistant was sure enough to meet the accuracy target and sent the approved answer."
        }
    }
}
