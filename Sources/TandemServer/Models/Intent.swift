import Fluent
import Foundation
import TandemCore

/// A knowledge-base entry: an intent with its approved answer and example phrasings.
final class IntentRecord: Model, @unchecked Sendable {
    static let schema = "intents"

    @ID(key: .id) var id: UUID?
    @Field(key: "key") var key: String
    @Field(key: "title") var title: String
    @Field(key: "answer") var answer: String
    @Field(key: "sensitive") var sensitive: Bool
    @Field(key: "automation") var automation: AutomationMode
    /// The quality guardrail holds this intent at draft-only (see `QualityService`).
    @Field(key: "guarded") var guarded: Bool
    /// New and in shadow mode: draft-only until people's labels prove the target (see `QualityService`).
    @Field(key: "shadow") var shadow: Bool
    @Children(for: \.$intent) var examples: [ExampleRecord]
    @OptionalField(key: "created_at") var createdAt: Date?
    @OptionalField(key: "updated_at") var updatedAt: Date?

    init() {}

    init(key: String, title: String, answer: String, sensitive: Bool, automation: AutomationMode) {
        self.key = key
        self.title = title
        self.answer = answer
        self.sensitive = sensitive
        self.automation = automation
        self.guarded = false
        self.shadow = false
    }

    var settings: IntentSettings { IntentSettings(key: key, sensitive: sensitive, automation: automation) }
}

/// One example phrasing of an intent: from the knowledge base, or a label an agent or a
/// reviewer gave a real message.
final class ExampleRecord: Model, @unchecked Sendable {
    static let schema = "intent_examples"

    @ID(key: .id) var id: UUID?
    @Parent(key: "intent_id") var intent: IntentRecord
    @Field(key: "text") var text: String
    @OptionalField(key: "created_at") var createdAt: Date?

    init() {}

    init(intentID: UUID, text: String) {
        $intent.id = intentID
        self.text = text
    }
}

extension IntentRecord {
    /// Listed, not reflected (see `ModelProperties`).
    var properties: [any AnyProperty] { [_id, _key, _title, _answer, _sensitive, _automation, _guarded, _shadow, _examples, _createdAt, _updatedAt] }
}

extension ExampleRecord {
    /// Listed, not reflected (see `ModelProperties`).
    var properties: [any AnyProperty] { [_id, _intent, _text, _createdAt] }
}
