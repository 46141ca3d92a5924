import Fluent
import Foundation
import TandemCore
import Vapor

/// Data-subject tools: find, export and erase everything stored about one customer, and the
/// retention policy that anonymises old conversations.
///
/// A customer's texts live in their conversations' rows (messages, decisions and their drafts,
/// labels, audits, events, webhook deliveries) and, once a person labelled one of their
/// messages, in trained models too: a model keeps the texts of the examples it learnt from to
/// explain decisions (`ModelArtifact.exampleTexts`), and those explanations are copied into
/// other conversations' decisions (nearest examples). Erasure deletes the first, and redacts
/// the texts in every stored model version and in other decisions' explanations; the labels
/// go, so the next training set no longer holds them, and a retrain is queued so that the
/// serving model also stops holding their embeddings.
enum Privacy {
    /// What replaces an erased text in models and explanations.
    static let erasedText = "[erased]"
    /// What an anonymised conversation's messages say instead.
    static let retainedText = "[removed by the retention policy]"

    // MARK: Finding a customer

    struct CustomerSummary: Content {
        var key: String
        var conversations: Int
        var customerName: String?
        var customerEmail: String?
        var firstSeen: Date?
        var lastSeen: Date?
    }

    /// The customers with this e-mail or this conversation (usually one; more when rows were
    /// keyed under an earlier secret).
    static func find(email: String?, conversationID: UUID?, keys: CustomerKeys, on db: Database) async throws -> [CustomerSummary] {
        var found: [ConversationRecord] = []
        if let email {
            let normalised = CustomerKeys.normalise(email: email)
            guard !normalised.isEmpty, normalised.count <= 254 else { throw AppError.invalidField("email", "an e-mail address") }
            found += try await ConversationRecord.matching(keys: [keys.key(email: normalised)], email: normalised, on: db)
        }
        if let conversationID, let conversation = try await ConversationRecord.find(conversationID, on: db) {
            found += try await ConversationRecord.of(customerKey: conversation.customerKey, on: db)
        }
        let byKey = Dictionary(grouping: found, by: \.customerKey)
        return byKey.keys.sorted().map { key in
            let conversations = Dictionary(grouping: byKey[key]!, by: \.id).values.compactMap(\.first)
                .sorted { ($0.createdAt ?? .distantPast) < ($1.createdAt ?? .distantPast) }
            return CustomerSummary(key: key, conversations: conversations.count,
                                   customerName: conversations.last { $0.customerName?.isEmpty == false }?.customerName,
                                   customerEmail: conversations.last { $0.customerEmail != nil }?.customerEmail,
                                   firstSeen: conversations.first?.createdAt, lastSeen: conversations.map { $0.updatedAt ?? $0.createdAt ?? .distantPast }.max())
        }
    }

    // MARK: Export

    struct CustomerExport: Content {
        var customerKey: String
        var exportedAt: Date
        var conversations: [ConversationExport]
    }

    struct ConversationExport: Content {
        var id: UUID
        var status: ConversationStatus
        var channel: String
        var customerName: String?
        var customerEmail: String?
        var createdAt: Date?
        var updatedAt: Date?
        var queuedAt: Date?
        var claimedAt: Date?
        var resolvedAt: Date?
        var handoffReason: String?
        var handoffRule: RoutingDecision.Rule?
        var rating: Int?
        var ratingComment: String?
        var anonymisedAt: Date?
        var messages: [MessageExport]
        var decisions: [DecisionExport]
        var labels: [LabelExport]
        var audits: [AuditExport]
        var events: [EventExport]
        var webhookDeliveries: [DeliveryExport]
    }

    struct MessageExport: Content {
        var id: UUID
        var seq: Int
        var role: MessageRole
        var text: String
        var agentID: UUID?
        var createdAt: Date?
    }

    /// The AI's decision on one of their messages. Without the nearest examples: those are
    /// other people's texts.
    struct DecisionExport: Content {
        var id: UUID
        var messageID: UUID
        var action: RoutingDecision.Action
        var rule: RoutingDecision.Rule
        var reasons: [String]
        var intent: String?
        var confidence: Double?
        var modelVersion: String?
        var draft: String?
        var createdAt: Date?
    }

    struct LabelExport: Content {
        var id: UUID
        var messageID: UUID
        var intent: String
        var predicted: String?
        var source: LabelSource
        var createdAt: Date?
    }

    struct AuditExport: Content {
        var id: UUID
        var messageID: UUID
        var intent: String
        var status: AuditStatus
        var correct: Bool?
        var correctedIntent: String?
        var createdAt: Date?
        var reviewedAt: Date?
    }

    struct EventExport: Content {
        var id: Int
        var kind: EventKind
        /// The event as stored (JSON text).
        var payload: String
        var createdAt: Date?
    }

    struct DeliveryExport: Content {
        var id: UUID
        var status: JobStatus
        var attempts: Int
        /// The delivery as stored (JSON text: the webhook, the event and the body sent).
        var payload: String
        var createdAt: Date?
    }

    static func export(key: String, now: Date, on db: Database) async throws -> CustomerExport {
        let conversations = try await customer(key, on: db)
        let ids = try conversations.map { try $0.requireID() }
        let messages = Dictionary(grouping: try await MessageRecord.all(in: ids, on: db), by: \.$conversation.id)
        let decisions = Dictionary(grouping: try await DecisionRecord.all(in: ids, on: db), by: \.$conversation.id)
        let labels = Dictionary(grouping: try await LabelRecord.all(in: ids, on: db), by: \.conversationID)
        let audits = Dictionary(grouping: try await AuditRecord.all(in: ids, on: db), by: \.conversationID)
        let events = Dictionary(grouping: try await EventRecord.all(in: ids, on: db), by: { $0.conversationID ?? UUID() })
        let deliveries = try await JobRecord.webhookDeliveries(about: ids, on: db)
        return CustomerExport(customerKey: key, exportedAt: now, conversations: try conversations.map { c in
            let id = try c.requireID()
            return ConversationExport(
                id: id, status: c.status, channel: c.channel, customerName: c.customerName, customerEmail: c.customerEmail,
                createdAt: c.createdAt, updatedAt: c.updatedAt, queuedAt: c.queuedAt, claimedAt: c.claimedAt, resolvedAt: c.resolvedAt,
                handoffReason: c.handoffReason, handoffRule: c.handoffRule, rating: c.rating, ratingComment: c.ratingComment,
                anonymisedAt: c.anonymisedAt,
                messages: (messages[id] ?? []).map { MessageExport(id: $0.id!, seq: $0.seq, role: $0.role, text: $0.text, agentID: $0.agentID, createdAt: $0.createdAt) },
                decisions: (decisions[id] ?? []).map { d in
                    DecisionExport(id: d.id!, messageID: d.$message.id, action: d.action, rule: d.rule,
                                   reasons: DecisionDetails.decode(d.details)?.reasons ?? [], intent: d.intent, confidence: d.confidence,
                                   modelVersion: d.modelVersion, draft: d.draft, createdAt: d.createdAt)
                },
                labels: (labels[id] ?? []).map { LabelExport(id: $0.id!, messageID: $0.$message.id, intent: $0.intent, predicted: $0.predicted, source: $0.source, createdAt: $0.createdAt) },
                audits: (audits[id] ?? []).map { AuditExport(id: $0.id!, messageID: $0.messageID, intent: $0.intent, status: $0.status, correct: $0.correct,
                                                             correctedIntent: $0.correctedIntent, createdAt: $0.createdAt, reviewedAt: $0.reviewedAt) },
                events: (events[id] ?? []).map { EventExport(id: $0.id ?? 0, kind: $0.kind, payload: $0.payload, createdAt: $0.createdAt) },
                webhookDeliveries: deliveries.filter { $0.payload.contains(id.uuidString) }.map {
                    DeliveryExport(id: $0.id!, status: $0.status, attempts: $0.attempts, payload: $0.payload, createdAt: $0.createdAt)
                })
        })
    }

    // MARK: Erasure

    struct EraseReport: Content {
        var customerKey: String
        var conversations: Int
        var messages: Int
        var decisions: Int
        var labels: Int
        var audits: Int
        var events: Int
        var webhookDeliveries: Int
        /// Other conversations' decision explanations that quoted one of their texts as a nearest example.
        var explanationsRedacted: Int
        /// Stored model versions whose example texts held one of their texts.
        var modelVersionsRedacted: Int
        var model: ModelEffect
    }

    /// What erasure means for the intent model.
    struct ModelEffect: Content {
        /// A retrain without their texts is queued (false: none of their messages was training data).
        var retrainQueued: Bool
        /// Some stored model had learnt from their texts (the serving one keeps their embeddings, not their texts, until replaced).
        var modelsLearntFromThem: Bool
        var note: String
    }

    /// Deletes every row about the customer and redacts their texts where they were copied,
    /// in one transaction, with its audit-log entry. The caller then queues the retrain.
    static func erase(key: String, by actor: AgentRecord, on db: Database) async throws -> EraseReport {
        try await db.writeTransaction { db in
            let conversations = try await customer(key, on: db)
            let ids = try conversations.map { try $0.requireID() }
            let labels = try await LabelRecord.all(in: ids, on: db)
            let learnt = Set(labels.map(\.message.text))
            let messages = try await MessageRecord.all(in: ids, on: db).count
            let decisions = try await DecisionRecord.all(in: ids, on: db).count
            let audits = try await AuditRecord.all(in: ids, on: db).count
            let events = try await EventRecord.all(in: ids, on: db).count
            let deliveries = try await JobRecord.webhookDeliveries(about: ids, on: db).compactMap(\.id)
            // Children first: SQLite and PostgreSQL would cascade most of it, but nothing here
            // relies on how a table's foreign keys were declared.
            try await LabelRecord.delete(in: ids, on: db)
            try await ConversationTagRecord.delete(in: ids, on: db)
            try await AuditRecord.delete(in: ids, on: db)
            try await DecisionRecord.delete(in: ids, on: db)
            try await NoteRecord.delete(in: ids, on: db)
            try await MessageRecord.delete(in: ids, on: db)
            try await EventRecord.delete(in: ids, on: db)
            try await JobRecord.delete(deliveries, on: db)
            try await ConversationRecord.delete(ids, on: db)
            let (explanations, models) = try await redact(learnt, replacement: erasedText, on: db)
            let report = EraseReport(
                customerKey: key, conversations: ids.count, messages: messages, decisions: decisions, labels: labels.count, audits: audits,
                events: events, webhookDeliveries: deliveries.count, explanationsRedacted: explanations, modelVersionsRedacted: models,
                model: ModelEffect(retrainQueued: false, modelsLearntFromThem: models > 0, note: ""))
            try await AuditLog.record(.customerErase, by: actor, target: "customer:\(key)", before: Counts(report), after: Erased(report), on: db)
            return report
        }
    }

    /// The audit log's record of an erasure: how much there was (never what).
    struct Counts: Encodable {
        var conversations, messages, decisions, labels, audits, events, webhookDeliveries: Int
        init(_ r: EraseReport) {
            (conversations, messages, decisions, labels, audits, events, webhookDeliveries)
                = (r.conversations, r.messages, r.decisions, r.labels, r.audits, r.events, r.webhookDeliveries)
        }
    }

    struct Erased: Encodable {
        var explanationsRedacted: Int, modelVersionsRedacted: Int
        var retrain: String
        init(_ r: EraseReport) {
            explanationsRedacted = r.explanationsRedacted
            modelVersionsRedacted = r.modelVersionsRedacted
            retrain = r.labels > 0 ? "requested" : "not needed"
        }
    }

    /// Replaces `texts` wherever trained models copied them: the example texts of every stored
    /// model version (raising its revision, so every node reloads it) and the nearest examples
    /// quoted in decisions. Returns how many decisions and versions changed.
    static func redact(_ texts: Set<String>, replacement: String, on db: Database) async throws -> (explanations: Int, models: Int) {
        guard !texts.isEmpty else { return (0, 0) }
        var explanations = Set<UUID>()
        for text in texts {
            // As the text appears inside the stored JSON (escapes and all).
            let encoded = String(decoding: try JSONEncoder().encode(text), as: UTF8.self)
            for decision in try await DecisionRecord.detailsContaining(String(encoded.dropFirst().dropLast()), on: db) {
                guard let id = decision.id, !explanations.contains(id), var details = DecisionDetails.decode(decision.details) else { continue }
                details.neighbours = details.neighbours.map { n in
                    var n = n
                    if texts.contains(n.text) { n.text = replacement }
                    return n
                }
                try await DecisionRecord.setDetails(details.json, of: id, on: db)
                explanations.insert(id)
            }
        }
        var models = 0
        for version in try await ModelVersionRecord.manifests(on: db) {
            guard let manifest = version.manifest, let id = version.id else { continue }
            let (redacted, count) = try ModelArtifact.redactingExampleTexts(manifest: manifest, texts, replacement: replacement)
            guard count > 0 else { continue }
            try await ModelVersionRecord.replaceManifest(redacted, of: id, revision: (version.revision ?? 0) + 1, on: db)
            models += 1
        }
        return (explanations.count, models)
    }

    /// The customer's conversations, or a 404 (also for a key of the wrong shape).
    private static func customer(_ key: String, on db: Database) async throws -> [ConversationRecord] {
        guard CustomerKeys.isWellFormed(key) else { throw AppError.notFound("Customer") }
        let conversations = try await ConversationRecord.of(customerKey: key, on: db)
        guard !conversations.isEmpty else { throw AppError.notFound("Customer \(key)") }
        return conversations
    }

    // MARK: Retention

    struct RetentionReport: Sendable {
        var anonymised = 0
        var labelsRemoved = 0
    }

    /// Anonymises conversations untouched for `days`, in batches, each in one transaction with
    /// its audit-log entry: the customer's name, e-mail, key and rating comment, every
    /// message's text, the decisions' explanations and drafts, their labels, events and webhook
    /// deliveries go; what the figures need stays (statuses, times, intents, rules, audit
    /// verdicts, rating scores), so insights and the guardrail's evidence are unchanged.
    static func applyRetention(days: Int, now: Date, on db: Database) async throws -> RetentionReport {
        let cutoff = now.addingTimeInterval(-Double(days) * 86_400)
        var report = RetentionReport()
        while true {
            let batch = try await db.writeTransaction { db -> (conversations: Int, labels: Int) in
                let candidates = try await ConversationRecord.retentionCandidates(before: cutoff, limit: 100, on: db)
                guard !candidates.isEmpty else { return (0, 0) }
                let ids = try candidates.map { try $0.requireID() }
                let labels = try await LabelRecord.all(in: ids, on: db)
                let deliveries = try await JobRecord.webhookDeliveries(about: ids, on: db).compactMap(\.id)
                try await LabelRecord.delete(in: ids, on: db)
                try await MessageRecord.replaceTexts(in: ids, with: retainedText, on: db)
                try await NoteRecord.replaceTexts(in: ids, with: retainedText, on: db)
                try await DecisionRecord.blank(in: ids, details: DecisionDetails(reasons: [], signals: MessageSignals(), alternatives: [], neighbours: []).json, on: db)
                try await EventRecord.delete(in: ids, on: db)
                try await JobRecord.delete(deliveries, on: db)
                for id in ids { try await ConversationRecord.anonymise(id, at: now, on: db) }
                let (explanations, models) = try await redact(Set(labels.map(\.message.text)), replacement: erasedText, on: db)
                struct Policy: Encodable { var retentionDays: Int; var untouchedSince: Date }
                struct Outcome: Encodable { var conversations: [UUID]; var labelsRemoved, explanationsRedacted, modelVersionsRedacted: Int }
                try await AuditLog.record(.retentionAnonymise, by: nil, target: "conversations",
                                          before: Policy(retentionDays: days, untouchedSince: cutoff),
                                          after: Outcome(conversations: ids, labelsRemoved: labels.count, explanationsRedacted: explanations,
                                                         modelVersionsRedacted: models), on: db)
                return (ids.count, labels.count)
            }
            if batch.conversations == 0 { return report }
            report.anonymised += batch.conversations
            report.labelsRemoved += batch.labels
        }
    }
}
