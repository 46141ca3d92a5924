import Fluent
import Foundation

/// One admin or supervisor action: who, what, on what, when, and the state before and after
/// (JSON). Append-only: the database refuses updates and deletes (migration 020), so an entry
/// cannot be rewritten by the people it records. Entries name people and records by id and
/// never hold customers' texts, so erasing a customer never needs to touch the log.
final class AuditLogRecord: Model, @unchecked Sendable {
    static let schema = "audit_log"

    /// Increasing, the page cursor (`before`).
    @ID(custom: "id", generatedBy: .database) var id: Int?
    /// Nil for the system's own actions (the retention policy).
    @OptionalField(key: "actor_id") var actorID: UUID?
    /// The actor's e-mail at the time, or "system".
    @Field(key: "actor") var actor: String
    @Field(key: "action") var action: AuditAction
    /// What was acted on, as `kind:id` (`agent:<uuid>`, `intent:<key>`, `customer:<key>`, `workspace`).
    @Field(key: "target") var target: String
    @OptionalField(key: "before") var before: String?
    @OptionalField(key: "after") var after: String?
    @OptionalField(key: "created_at") var createdAt: Date?

    init() {}

    init(actorID: UUID?, actor: String, action: AuditAction, target: String, before: String?, after: String?) {
        self.actorID = actorID
        self.actor = actor
        self.action = action
        self.target = target
        self.before = before
        self.after = after
    }
}

/// A secret the server generated for itself, shared by every node through the database
/// (used only when the environment gives none: `TandemEnvironment.secretKey`).
final class ServerSecretRecord: Model, @unchecked Sendable {
    static let schema = "server_secrets"

    @ID(key: .id) var id: UUID?
    @Field(key: "name") var name: String
    @Field(key: "value") var value: String
    @OptionalField(key: "created_at") var createdAt: Date?

    init() {}

    init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

extension AuditLogRecord {
    /// Listed, not reflected (see `ModelProperties`).
    var properties: [any AnyProperty] { [_id, _actorID, _actor, _action, _target, _before, _after, _createdAt] }
}

extension ServerSecretRecord {
    /// Listed, not reflected (see `ModelProperties`).
    var properties: [any AnyProperty] { [_id, _name, _value, _createdAt] }
}
