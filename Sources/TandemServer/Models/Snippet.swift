import Fluent
import Foundation

/// A canned reply of the team's own (beside the intents' approved answers), with variables
/// (`{{customer.name}}`, `{{agent.name}}`) filled when an agent inserts it.
final class SnippetRecord: Model, @unchecked Sendable {
    static let schema = "snippets"

    @ID(key: .id) var id: UUID?
    @Field(key: "title") var title: String
    @Field(key: "text") var text: String
    @Field(key: "agent_id") var agentID: UUID
    @OptionalField(key: "created_at") var createdAt: Date?
    @OptionalField(key: "updated_at") var updatedAt: Date?

    init() {}

    init(title: String, text: String, agentID: UUID) {
        self.title = title
        self.text = text
        self.agentID = agentID
    }
}

extension SnippetRecord {
    /// Listed, not reflected (see `ModelProperties`).
    var properties: [any AnyProperty] { [_id, _title, _text, _agentID, _createdAt, _updatedAt] }
}
