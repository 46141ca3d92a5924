import Fluent
import Foundation

/// An intent confirmed or corrected by a person for a customer message: training data.
final class LabelRecord: Model, @unchecked Sendable {
    static let schema = "labels"

    @ID(key: .id) var id: UUID?
    @Parent(key: "message_id") var message: MessageRecord
    @Field(key: "conversation_id") var conversationID: UUID
    @Field(key: "intent") var intent: String
    /// What the AI predicted for that message, if anything.
    @OptionalField(key: "predicted") var predicted: String?
    @Field(key: "source") var source: LabelSource
    @OptionalField(key: "agent_id") var agentID: UUID?
    @OptionalField(key: "created_at") var createdAt: Date?

    init() {}

    init(messageID: UUID, conversationID: UUID, intent: String, predicted: String?, source: LabelSource, agentID: UUID?) {
        $message.id = messageID
        self.conversationID = conversationID
        self.intent = intent
        self.predicted = predicted
        self.source = source
        self.agentID = agentID
    }
}

/// A trained model: its artifact files and what training measured. One is active.
final class ModelVersionRecord: Model, @unchecked Sendable {
    static let schema = "model_versions"

    @ID(key: .id) var id: UUID?
    @Field(key: "version") var version: String
    @Field(key: "status") var status: ModelStatus
    @OptionalField(key: "manifest") var manifest: Data?
    @OptionalField(key: "weights") var weights: Data?
    @OptionalField(key: "summary") var summary: String?
    @OptionalField(key: "error") var error: String?
    @Field(key: "examples") var examples: Int
    @OptionalField(key: "activated_at") var activatedAt: Date?
    /// Raised each time example texts are redacted from the manifest (erasure, retention), so
    /// nodes serving this version reload it; nil is 0.
    @OptionalField(key: "revision") var revision: Int?
    @OptionalField(key: "created_at") var createdAt: Date?

    init() {}
}

/// Something happened that a screen may need to show: the log real-time updates are read
/// from on every node (ids only ever increase).
final class EventRecord: Model, @unchecked Sendable {
    static let schema = "events"

    @ID(custom: "id", generatedBy: .database) var id: Int?
    @OptionalField(key: "conversation_id") var conversationID: UUID?
    @Field(key: "kind") var kind: EventKind
    @Field(key: "payload") var payload: String
    @OptionalField(key: "created_at") var createdAt: Date?

    init() {}

    init(conversationID: UUID?, kind: EventKind, payload: String) {
        self.conversationID = conversationID
        self.kind = kind
        self.payload = payload
    }
}

/// Background work shared by all nodes: training, webhook deliveries.
final class JobRecord: Model, @unchecked Sendable {
    static let schema = "jobs"

    @ID(key: .id) var id: UUID?
    @Field(key: "kind") var kind: JobKind
    @Field(key: "payload") var payload: String
    @Field(key: "status") var status: JobStatus
    @Field(key: "run_at") var runAt: Date
    @Field(key: "attempts") var attempts: Int
    @OptionalField(key: "locked_by") var lockedBy: String?
    @OptionalField(key: "locked_until") var lockedUntil: Date?
    @OptionalField(key: "last_error") var lastError: String?
    @OptionalField(key: "created_at") var createdAt: Date?

    init() {}

    init(kind: JobKind, payload: String, runAt: Date) {
        self.kind = kind
        self.payload = payload
        status = .pending
        self.runAt = runAt
        attempts = 0
    }
}

/// An outgoing webhook subscription.
final class WebhookRecord: Model, @unchecked Sendable {
    static let schema = "webhooks"

    @ID(key: .id) var id: UUID?
    @Field(key: "url") var url: String
    @Field(key: "secret") var secret: String
    /// Comma-separated event names.
    @Field(key: "events") var events: String
    @Field(key: "active") var active: Bool
    @OptionalField(key: "created_at") var createdAt: Date?

    init() {}

    init(url: String, secret: String, events: [WebhookEvent]) {
        self.url = url
        self.secret = secret
        self.events = events.map(\.rawValue).joined(separator: ",")
        active = true
    }

    /// The subscribed events (validated when the webhook was created).
    var eventList: [WebhookEvent] { events.split(separator: ",").compactMap { WebhookEvent(rawValue: String($0)) } }
}

extension LabelRecord {
    /// Listed, not reflected (see `ModelProperties`).
    var properties: [any AnyProperty] { [_id, _message, _conversationID, _intent, _predicted, _source, _agentID, _createdAt] }
}

extension ModelVersionRecord {
    /// Listed, not reflected (see `ModelProperties`).
    var properties: [any AnyProperty] { [_id, _version, _status, _manifest, _weights, _summary, _error, _examples, _activatedAt, _revision, _createdAt] }
}

extension EventRecord {
    /// Listed, not reflected (see `ModelProperties`).
    var properties: [any AnyProperty] { [_id, _conversationID, _kind, _payload, _createdAt] }
}

extension JobRecord {
    /// Listed, not reflected (see `ModelProperties`).
    var properties: [any AnyProperty] { [_id, _kind, _payload, _status, _runAt, _attempts, _lockedBy, _lockedUntil, _lastError, _createdAt] }
}

extension WebhookRecord {
    /// Listed, not reflected (see `ModelProperties`).
    var properties: [any AnyProperty] { [_id, _url, _secret, _events, _active, _createdAt] }
}
