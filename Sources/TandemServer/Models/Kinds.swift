import TandemCore

// Every status and kind the server stores, typed. Each is stored as its raw value (a string
// column), so the values in existing databases are unchanged; an unknown value in a row is a
// decoding error, never a silent default.

/// A background job's state: `pending` until a node claims it, `running` while its lease
/// holds, then `done`, or `failed` after its last attempt.
enum JobStatus: String, Codable, Sendable, CaseIterable {
    case pending, running, done, failed
}

/// What a background job does (the job runner has one handler per kind).
enum JobKind: String, Codable, Sendable, CaseIterable {
    case train, webhook, email
}

/// A trained model's state. One version is `active`; the one it replaced is `retired`;
/// `rejected` failed the promotion checks.
enum ModelStatus: String, Codable, Sendable, CaseIterable {
    case training, ready, rejected, failed, active, retired
}

/// An audit is `pending` until a reviewer gives a verdict.
enum AuditStatus: String, Codable, Sendable, CaseIterable {
    case pending, reviewed
}

/// Where a training label came from.
enum LabelSource: String, Codable, Sendable, CaseIterable {
    /// An agent answered the message and confirmed or chose its intent.
    case agentReply = "agent-reply"
    /// A reviewer audited the AI's answer.
    case audit
}

/// What a customer message led to: the AI's routing action, or `pending` when the message was
/// stored but not yet decided (a retry of a message that is still being decided).
enum MessageOutcome: String, Codable, Sendable, CaseIterable {
    case answer, draft
    case handOff = "hand-off"
    case pending

    init(_ action: RoutingDecision.Action) {
        switch action {
        case .answer: self = .answer
        case .draftForHuman: self = .draft
        case .handOff: self = .handOff
        }
    }
}

/// An entry of the event log that real-time screens and streams read.
enum EventKind: String, Codable, Sendable, CaseIterable {
    case message, decision, guardrail
    /// A private note (agents only), and an agent named in one.
    case note, mention
    case conversationCreated = "conversation.created"
    case conversationHandedOff = "conversation.handed_off"
    case conversationClaimed = "conversation.claimed"
    /// Given to an online agent of its team by the automatic assignment (`AutoAssignment`).
    case conversationAssigned = "conversation.assigned"
    case conversationRated = "conversation.rated"
    case conversationResolved = "conversation.resolved"
    case conversationReleased = "conversation.released"
    case conversationReassigned = "conversation.reassigned"
    case conversationReturnedToAI = "conversation.returned_to_ai"
    /// Its tags changed (data: ConversationTagsDTO). Agent-only.
    case conversationTagged = "conversation.tagged"
    /// A service-level target was missed and the conversation escalated (data: ConversationDTO
    /// with its service-level fields). Agent-only.
    case conversationSLABreached = "conversation.sla_breached"
    case modelActivated = "model.activated"
    /// An agent's presence changed (data: PresenceDTO).
    case agentPresence = "agent.presence"
    /// A workspace or intent row changed (data: {table}): every node's `WorkspaceCache` reads
    /// them again. Internal: no stream carries it unless it asks for it by kind.
    case workspaceChanged = "workspace.changed"

    /// The nodes' own signals, never sent to a client's stream.
    static let internalKinds: Set<EventKind> = [.workspaceChanged]

    /// Agents' own data about a conversation, never shown to its customer.
    static let agentOnly: Set<EventKind> = [.conversationTagged, .conversationSLABreached]

    /// Whether a customer's own stream carries it (their messages and their conversation's
    /// changes, except the agents' own data about it).
    var isCustomerVisible: Bool {
        (self == .message || rawValue.hasPrefix("conversation.")) && !Self.agentOnly.contains(self)
    }
}

/// The events a webhook can subscribe to.
enum WebhookEvent: String, Codable, Sendable, CaseIterable {
    case conversationHandedOff = "conversation.handed_off"
    case conversationResolved = "conversation.resolved"
    case conversationSLABreached = "conversation.sla_breached"

    var eventKind: EventKind {
        switch self {
        case .conversationHandedOff: .conversationHandedOff
        case .conversationResolved: .conversationResolved
        case .conversationSLABreached: .conversationSLABreached
        }
    }
}

/// An entry of the guardrail's log.
enum GuardrailEventKind: String, Codable, Sendable, CaseIterable {
    case switchToDraft = "switch-to-draft"
    case restoreAuto = "restore-auto"
    case leaveShadow = "leave-shadow"
    case killSwitchOn = "kill-switch-on"
    case killSwitchOff = "kill-switch-off"

    /// The log entry for a guardrail action, or nil for `.none` (nothing to log).
    init?(_ action: GuardrailAction.Kind) {
        switch action {
        case .switchToDraft: self = .switchToDraft
        case .restoreAuto: self = .restoreAuto
        case .none: return nil
        }
    }
}

/// What an entry of the audit log of admin actions records (`AuditLogRecord`).
enum AuditAction: String, Codable, Sendable, CaseIterable {
    case agentCreate = "agent.create"
    case agentUpdate = "agent.update"
    case agentPasswordReset = "agent.password_reset"
    case agentPasswordChange = "agent.password_change"
    case agentSessionsRevoke = "agent.sessions_revoke"
    case workspaceUpdate = "workspace.update"
    case intentCreate = "intent.create"
    case intentUpdate = "intent.update"
    case intentDelete = "intent.delete"
    case exampleAdd = "intent.example_add"
    case exampleDelete = "intent.example_delete"
    case knowledgeBaseImport = "knowledge_base.import"
    case guardrailOverride = "guardrail.override"
    case shadowEnd = "shadow.end"
    case conversationReassign = "conversation.reassign"
    case teamCreate = "team.create"
    case teamUpdate = "team.update"
    case teamDelete = "team.delete"
    case modelTrain = "model.train"
    case modelActivate = "model.activate"
    case webhookCreate = "webhook.create"
    case webhookDelete = "webhook.delete"
    case identitySecretRotate = "identity_secret.rotate"
    case customerExport = "customer.export"
    case customerErase = "customer.erase"
    /// The retention policy anonymised old conversations (the actor is the system).
    case retentionAnonymise = "retention.anonymise"
}

extension RawRepresentable where Self: CaseIterable, RawValue == String {
    /// The case spelled `text`, or a 400 that names the field and the allowed values.
    static func parse(_ text: String, field: String) throws -> Self {
        guard let value = Self(rawValue: text) else {
            throw AppError.invalidField(field, "one of \(allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return value
    }
}
