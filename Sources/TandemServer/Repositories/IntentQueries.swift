import Fluent
import Foundation

// The knowledge base's queries. Controllers and page loaders call these; none builds a query.

extension IntentRecord {
    /// Every intent with its examples, by title.
    static func allWithExamples(on db: Database) async throws -> [IntentRecord] {
        try await query(on: db).with(\.$examples).sort(\.$title).all()
    }

    /// Every intent, by title (no examples).
    static func allByTitle(on db: Database) async throws -> [IntentRecord] {
        try await query(on: db).sort(\.$title).all()
    }

    static func find(key: String, withExamples: Bool = false, on db: Database) async throws -> IntentRecord? {
        let query = query(on: db).filter(\.$key == key)
        return try await (withExamples ? query.with(\.$examples) : query).first()
    }

    /// The intent, or a 404 that names it.
    static func require(key: String, withExamples: Bool = false, on db: Database) async throws -> IntentRecord {
        guard let intent = try await find(key: key, withExamples: withExamples, on: db) else { throw AppError.notFound("Intent '\(key)'") }
        return intent
    }
}

extension ExampleRecord {
    /// The example, only if it belongs to `intent`.
    static func find(_ id: UUID, of intent: IntentRecord, on db: Database) async throws -> ExampleRecord? {
        try await query(on: db).filter(\.$id == id).filter(\.$intent.$id == intent.requireID()).first()
    }
}
