import Fluent
import Foundation
import TandemCore

/// `/console/conversations/:id` (conversation.leaf): one conversation as an agent works on it:
/// the messages, the AI's summary, draft and intent suggestions, and its routing decisions.
struct ConversationPage: Encodable {
    struct Message: Encodable {
        var seq: Int
        var role: String
        var text: String
        var time: String
        var agentName: String?
    }
    struct Decision: Encodable {
        var time: String
        var action: String
        var rule: String
        var explanation: String
        var intent: String
        var confidence: String
        var threshold: String
        var reasons: [String]
    }
    struct Suggestion: Encodable {
        var key: String
        var title: String
        var probability: String
    }
    struct IntentOption: Encodable {
        var key: String
        var title: String
        var selected: Bool
    }

    var title: String
    var agent: PageAgent
    var conversationID: String
    var customerName: String
    var customerEmail: String?
    var status: String
    var assignedTo: String?
    var mine: Bool
    var handoffReason: String?
    var messages: [Message]
    var lastSeq: Int
    var summary: String
    var draft: String
    var suggestions: [Suggestion]
    var decisions: [Decision]
    var intents: [IntentOption]
    var maxMessageCharacters: Int
    /// Agents' tags on it, alphabetically.
    var tags: [String]
    /// The host site signed the customer's identity; otherwise the name and e-mail are as typed.
    var customerVerified: Bool
    /// The customer's contact page (`Contacts`).
    var contactKey: String

    /// The page of `view` (`Conversations.agentView`), offering every intent to label it with.
    static func load(agent: AgentRecord, view: AgentConversationResponse, maxMessageCharacters: Int,
                     on db: Database) async throws -> ConversationPage {
        let intents = try await IntentRecord.query(on: db).sort(\.$title).all()
        return ConversationPage(agent: agent, view: view, intents: intents, maxMessageCharacters: maxMessageCharacters)
    }

    init(agent: AgentRecord, view: AgentConversationResponse, intents: [IntentRecord], maxMessageCharacters: Int) {
        let c = view.conversation
        let predicted = view.suggestions?.intents.first?.intent
        func number(_ v: Double?) -> String { v.map { String(format: "%.3f", $0) } ?? "—" }
        title = c.customerName.map { "Conversation with \($0)" } ?? "Conversation"
        self.agent = PageAgent(agent)
        conversationID = c.id.uuidString
        customerName = c.customerName ?? "Customer"
        customerEmail = view.customerEmail
        status = c.status.rawValue
        assignedTo = view.assignedAgentName
        mine = c.assignedAgentID == agent.id
        handoffReason = c.handoffReason
        messages = view.messages.map {
            Message(seq: $0.seq, role: $0.role.rawValue, text: $0.text, time: DisplayFormat.clockTime($0.createdAt), agentName: $0.agentName)
        }
        lastSeq = view.messages.last?.seq ?? 0
        summary = view.suggestions?.summary ?? "No customer messages yet."
        draft = view.suggestions?.draft ?? ""
        suggestions = (view.suggestions?.intents ?? []).map {
            Suggestion(key: $0.intent, title: $0.title ?? $0.intent, probability: DisplayFormat.percent($0.probability))
        }
        decisions = view.decisions.reversed().map { d in
            Decision(time: DisplayFormat.clockTime(d.createdAt), action: d.action.rawValue, rule: d.rule.rawValue, explanation: d.explanation, intent: d.intentTitle ?? d.intent ?? "—",
                     confidence: number(d.confidence), threshold: number(d.threshold), reasons: d.reasons)
        }
        self.intents = intents.map { IntentOption(key: $0.key, title: $0.title, selected: $0.key == predicted) }
        self.maxMessageCharacters = maxMessageCharacters
        tags = view.tags
        customerVerified = view.customerVerified
        contactKey = view.contactKey
    }
}
