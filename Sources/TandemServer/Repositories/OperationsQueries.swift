import Fluent
import Foundation

extension ModelVersionRecord {
    /// Every version, newest first, without the artifact bytes (they can be megabytes each).
    static func summaries(on db: Database) async throws -> [ModelVersionRecord] {
        try await query(on: db).field(\.$id).field(\.$version).field(\.$status).field(\.$examples)
            .field(\.$summary).field(\.$error).field(\.$createdAt).field(\.$activatedAt)
            .sort(\.$createdAt, .descending).all()
    }

    /// The serving version, with its artifact.
    static func active(on db: Database) async throws -> ModelVersionRecord? {
        try await query(on: db).filter(\.$status == .active).first()
    }
}

extension AuditRecord {
    /// The oldest first, at most `limit`.
    static func list(_ status: AuditStatus, limit: Int, on db: Database) async throws -> [AuditRecord] {
        try await query(on: db).filter(\.$status == status).sort(\.$createdAt).limit(limit).all()
    }

    static func count(_ status: AuditStatus, on db: Database) async throws -> Int {
        try await query(on: db).filter(\.$status == status).count()
    }

    /// Audits reviewed since `date`, per intent.
    static func reviewedPerIntent(since date: Date, on db: Database) async throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for audit in try await query(on: db).filter(\.$status == .reviewed).filter(\.$reviewedAt >= date).all() {
            counts[audit.intent, default: 0] += 1
        }
        return counts
    }
}

extension GuardrailEventRecord {
    /// The newest first, at most `limit`.
    static func recent(limit: Int, on db: Database) async throws -> [GuardrailEventRecord] {
        try await query(on: db).sort(\.$createdAt, .descending).limit(limit).all()
    }
}
