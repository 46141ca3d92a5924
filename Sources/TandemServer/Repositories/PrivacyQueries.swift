import Fluent
import Foundation
import SQLKit

// The queries of erasure, export, retention and the audit log (`Privacy`, `AuditLog`).

extension ServerSecretRecord {
    static func find(name: String, on db: Database) async throws -> ServerSecretRecord? {
        try await query(on: db).filter(\.$name == name).first()
    }
}

extension ConversationRecord {
    static func withLegacyCustomerKeys(limit: Int, on db: Database) async throws -> [ConversationRecord] {
        try await query(on: db).filter(\.$customerKey =~ CustomerKeys.legacyPrefix).limit(limit).all()
    }

    /// Sets the key without touching `updated_at` (a key upgrade is not a change of the conversation).
    static func setCustomerKey(_ key: String, of id: UUID, on db: Database) async throws {
        try await query(on: db).filter(\.$id == id).set(\.$customerKey, to: key).update()
    }

    /// A customer's conversations, oldest first.
    static func of(customerKey key: String, on db: Database) async throws -> [ConversationRecord] {
        try await query(on: db).filter(\.$customerKey == key).sort(\.$createdAt).all()
    }

    /// Conversations under any of `keys` or with this stored e-mail (rows keyed under an
    /// earlier secret still name it).
    static func matching(keys: [String], email: String?, on db: Database) async throws -> [ConversationRecord] {
        try await query(on: db).group(.or) { or in
            if !keys.isEmpty { or.filter(\.$customerKey ~~ keys) }
            if let email { or.filter(\.$customerEmail == email) }
        }.sort(\.$createdAt).all()
    }

    /// Conversations the retention policy should anonymise: not yet anonymised, untouched since
    /// `cutoff`, and with nobody working on them (with the AI or resolved; never queued or open).
    static func retentionCandidates(before cutoff: Date, limit: Int, on db: Database) async throws -> [ConversationRecord] {
        try await query(on: db).filter(\.$anonymisedAt == nil).filter(\.$status ~~ [.ai, .resolved])
            .filter(\.$updatedAt < cutoff).sort(\.$updatedAt).limit(limit).all()
    }

    /// Removes the customer's details, keeping what the statistics need (status, times,
    /// intents, rating score, path). Not saved through the model: `updated_at` stays.
    static func anonymise(_ id: UUID, at now: Date, on db: Database) async throws {
        try await query(on: db).filter(\.$id == id)
            .set(\.$customerName, to: nil).set(\.$customerEmail, to: nil).set(\.$customerKey, to: CustomerKeys.anonymous())
            .set(\.$customerVerified, to: false).set(\.$customerEmailConfirmed, to: false)
            .set(\.$ratingComment, to: nil).set(\.$anonymisedAt, to: now).update()
    }

    static func delete(_ ids: [UUID], on db: Database) async throws {
        try await query(on: db).filter(\.$id ~~ ids).delete()
    }
}

extension MessageRecord {
    static func all(in conversations: [UUID], on db: Database) async throws -> [MessageRecord] {
        try await query(on: db).filter(\.$conversation.$id ~~ conversations).sort(\.$seq).all()
    }

    static func replaceTexts(in conversations: [UUID], with text: String, on db: Database) async throws {
        try await query(on: db).filter(\.$conversation.$id ~~ conversations)
            .set(\.$text, to: text).set(\.$idempotencyKey, to: nil).update()
    }

    static func delete(in conversations: [UUID], on db: Database) async throws {
        try await query(on: db).filter(\.$conversation.$id ~~ conversations).delete()
    }
}

extension DecisionRecord {
    static func all(in conversations: [UUID], on db: Database) async throws -> [DecisionRecord] {
        try await query(on: db).filter(\.$conversation.$id ~~ conversations).sort(\.$createdAt).all()
    }

    static func blank(in conversations: [UUID], details: String, on db: Database) async throws {
        try await query(on: db).filter(\.$conversation.$id ~~ conversations).set(\.$details, to: details).set(\.$draft, to: nil).update()
    }

    static func delete(in conversations: [UUID], on db: Database) async throws {
        try await query(on: db).filter(\.$conversation.$id ~~ conversations).delete()
    }

    /// Decisions whose details hold `needle` verbatim (the JSON-encoded form of a text).
    static func detailsContaining(_ needle: String, on db: Database) async throws -> [DecisionRecord] {
        guard let sql = db as? SQLDatabase else { return [] }
        let rows = try await sql.raw(sql.dialect.name == "postgresql"
            ? "SELECT id FROM decisions WHERE strpos(details, \(bind: needle)) > 0"
            : "SELECT id FROM decisions WHERE instr(details, \(bind: needle)) > 0").all()
        let ids = try rows.map { try $0.decode(column: "id", as: UUID.self) }
        guard !ids.isEmpty else { return [] }
        return try await query(on: db).filter(\.$id ~~ ids).all()
    }

    static func setDetails(_ details: String, of id: UUID, on db: Database) async throws {
        try await query(on: db).filter(\.$id == id).set(\.$details, to: details).update()
    }
}

extension LabelRecord {
    /// The labels of these conversations with their messages (the texts a model may have learnt).
    static func all(in conversations: [UUID], on db: Database) async throws -> [LabelRecord] {
        try await query(on: db).filter(\.$conversationID ~~ conversations).with(\.$message).sort(\.$createdAt).all()
    }

    static func delete(in conversations: [UUID], on db: Database) async throws {
        try await query(on: db).filter(\.$conversationID ~~ conversations).delete()
    }
}

extension AuditRecord {
    static func all(in conversations: [UUID], on db: Database) async throws -> [AuditRecord] {
        try await query(on: db).filter(\.$conversationID ~~ conversations).sort(\.$createdAt).all()
    }

    static func delete(in conversations: [UUID], on db: Database) async throws {
        try await query(on: db).filter(\.$conversationID ~~ conversations).delete()
    }
}

extension EventRecord {
    static func all(in conversations: [UUID], on db: Database) async throws -> [EventRecord] {
        try await query(on: db).filter(\.$conversationID ~~ conversations).sort(\.$id).all()
    }

    static func delete(in conversations: [UUID], on db: Database) async throws {
        try await query(on: db).filter(\.$conversationID ~~ conversations).delete()
    }
}

extension JobRecord {
    /// Webhook deliveries about these conversations (their bodies carry the conversation).
    static func webhookDeliveries(about conversations: [UUID], on db: Database) async throws -> [JobRecord] {
        guard !conversations.isEmpty else { return [] }
        return try await query(on: db).filter(\.$kind == .webhook).group(.or) { or in
            for id in conversations { or.filter(\.$payload ~~ id.uuidString) }
        }.sort(\.$createdAt).all()
    }

    static func delete(_ ids: [UUID], on db: Database) async throws {
        guard !ids.isEmpty else { return }
        try await query(on: db).filter(\.$id ~~ ids).delete()
    }
}

extension ModelVersionRecord {
    /// Every version's manifest (without the weights), for redaction.
    static func manifests(on db: Database) async throws -> [ModelVersionRecord] {
        try await query(on: db).filter(\.$manifest != nil).field(\.$id).field(\.$manifest).field(\.$revision).all()
    }

    static func replaceManifest(_ manifest: Data, of id: UUID, revision: Int, on db: Database) async throws {
        try await query(on: db).filter(\.$id == id).set(\.$manifest, to: manifest).set(\.$revision, to: revision).update()
    }
}

extension AuditLogRecord {
    /// Newest first, `limit` entries older than `before` (an id), by actor e-mail and action.
    static func page(actor: String?, action: AuditAction?, before: Int?, limit: Int, on db: Database) async throws -> [AuditLogRecord] {
        var query = query(on: db)
        if let actor { query = query.filter(\.$actor == actor) }
        if let action { query = query.filter(\.$action == action) }
        if let before { query = query.filter(\.$id < before) }
        return try await query.sort(\.$id, .descending).limit(limit).all()
    }

    /// Everyone who appears in the log, for the console's filter.
    static func actors(on db: Database) async throws -> [String] {
        guard let sql = db as? SQLDatabase else { return [] }
        return try await sql.raw("SELECT DISTINCT actor FROM audit_log ORDER BY actor").all().map { try $0.decode(column: "actor", as: String.self) }
    }
}

extension NoteRecord {
    /// Notes go with their conversations (and their mentions with them).
    static func delete(in conversations: [UUID], on db: Database) async throws {
        try await MentionRecord.query(on: db).filter(\.$conversationID ~~ conversations).delete()
        try await query(on: db).filter(\.$conversationID ~~ conversations).delete()
    }

    /// Notes may quote the customer: retention keeps that they were written, not what they say.
    static func replaceTexts(in conversations: [UUID], with text: String, on db: Database) async throws {
        try await query(on: db).filter(\.$conversationID ~~ conversations).set(\.$text, to: text).update()
    }
}
