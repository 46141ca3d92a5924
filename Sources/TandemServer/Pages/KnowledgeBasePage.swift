import Fluent
import Foundation
import TandemCore

/// `/console/knowledge-base` (knowledge-base.leaf): every intent and the serving model.
struct KnowledgeBasePage: Encodable {
    struct Intent: Encodable {
        var key: String
        var title: String
        var sensitive: Bool
        var automation: String
        var shadow: Bool
        var examples: Int
    }
    struct Model: Encodable {
        var version: String
        var status: String
        var summary: String
        var trainedAt: String
    }

    /// The assistant's reply to one kind of small talk.
    struct SmallTalkReply: Encodable {
        var kind: String
        var label: String
        var examples: String
        var text: String
    }

    var title = "Knowledge base"
    var agent: PageAgent
    var intents: [Intent]
    var model: Model?
    var smallTalk: [SmallTalkReply]

    static func load(agent: AgentRecord, settings: WorkspaceSettings, on db: Database) async throws -> KnowledgeBasePage {
        let intents = try await IntentRecord.query(on: db).with(\.$examples).sort(\.$title).all()
        let active = try await ModelVersionRecord.active(on: db)
        return KnowledgeBasePage(
            agent: PageAgent(agent),
            intents: intents.map {
                Intent(key: $0.key, title: $0.title, sensitive: $0.sensitive, automation: $0.automation.rawValue, shadow: $0.shadow, examples: $0.examples.count)
            },
            model: active.map { Model(version: $0.version, status: $0.status.rawValue, summary: $0.summary ?? "", trainedAt: DisplayFormat.clockTime($0.createdAt)) },
            smallTalk: SmallTalkKind.allCases.map { kind in
                let (label, examples) = switch kind {
                case .greeting: ("Greeting", "“hi”, “good morning”, “how are you?”")
                case .thanks: ("Thanks", "“thanks!”, “cheers”, “that helped”")
                case .goodbye: ("Goodbye", "“bye”, “that's all”, “have a nice day”")
                case .botQuestion: ("“Are you a bot?”", "“are you a bot?”, “am I talking to a real person?”")
                }
                return SmallTalkReply(kind: kind == .botQuestion ? "botQuestion" : kind.rawValue, label: label, examples: examples, text: settings.smallTalk[kind])
            })
    }
}
