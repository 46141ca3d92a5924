import Fluent
import Foundation

/// `/console/knowledge-base/:key` (intent.leaf): one intent, its answer and its examples.
struct IntentPage: Encodable {
    var title: String
    var agent: PageAgent
    var key: String
    var intentTitle: String
    var answer: String
    var sensitive: Bool
    var automation: String
    var shadow: Bool
    /// Oldest first.
    var examples: [ExampleDTO]

    /// - Throws: `AppError.notFound` when there is no intent `key`.
    static func load(agent: AgentRecord, key: String, on db: Database) async throws -> IntentPage {
        guard let intent = try await IntentRecord.query(on: db).filter(\.$key == key).with(\.$examples).first() else {
            throw AppError.notFound("Intent")
        }
        return IntentPage(
            title: intent.title, agent: PageAgent(agent), key: intent.key, intentTitle: intent.title, answer: intent.answer,
            sensitive: intent.sensitive, automation: intent.automation.rawValue, shadow: intent.shadow,
            examples: intent.examples.sorted { ($0.createdAt ?? .distantPast) < ($1.createdAt ?? .distantPast) }.map { ExampleDTO(id: $0.id, text: $0.text) })
    }
}
