import Fluent

/// Every model lists its properties (`var properties`, at the end of its file) instead of
/// taking FluentKit's default, which reflects over the instance on every call: its own
/// documentation calls that the most severe bottleneck in FluentKit, and every query built,
/// row read, insert and update asks for it (a quarter of the request threads' time under load,
/// measured with `perf`). A list is in declaration order, as reflection gives it;
/// `ModelPropertiesTests` checks every model's list against reflection.
enum ModelProperties {
    static let models: [any Model.Type] = [
        AgentRecord.self, AgentTokenRecord.self, AuditLogRecord.self, ServerSecretRecord.self, ConversationRecord.self,
        ConversationTagRecord.self, DecisionRecord.self, EmailMessageRecord.self, IntentRecord.self, ExampleRecord.self,
        MessageRecord.self, NoteRecord.self, MentionRecord.self, AuditRecord.self, GuardrailEventRecord.self, LabelRecord.self,
        ModelVersionRecord.self, EventRecord.self, JobRecord.self, WebhookRecord.self, SnippetRecord.self, TeamRecord.self,
        TeamMemberRecord.self, TeamRouteRecord.self, WorkspaceRecord.self,
    ]
}
