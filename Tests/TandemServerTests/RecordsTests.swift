import Fluent
import Foundation
import SQLKit
import TandemCore
@testable import TandemServer
import Testing

/// Stored times come from the injected clock, and typed statuses are stored as the strings
/// the schema has always held.
@Suite("Records", .serialized)
struct RecordsTests {
    @Test("created_at and updated_at are the application clock's time, not the system's", arguments: TestDatabase.available)
    func clockStamps(database: TestDatabase) async throws {
        let start = Date(timeIntervalSince1970: 1_700_000_000)  // 2023: far from the system's now
        let clock = ManualClock(start)
        try await TestApp.with(database, model: false, clock: clock) { t in
            let c = try await t.startConversation()
            let id = try #require(UUID(uuidString: c.id))
            let created = try #require(try await ConversationRecord.find(id, on: t.app.db))
            #expect(created.createdAt == start)
            #expect(created.updatedAt == start)
            let greeting = try await MessageRecord.query(on: t.app.db).filter(\.$conversation.$id == id).first()
            #expect(greeting?.createdAt == start)

            clock.advance(by: 90)
            created.priority = 1
            try await created.save(on: t.app.db)
            let saved = try #require(try await ConversationRecord.find(id, on: t.app.db))
            #expect(saved.createdAt == start, "an update must not move created_at")
            #expect(saved.updatedAt == start.addingTimeInterval(90))
        }
    }

    @Test("a typed status is stored as its raw string, and a row with an unknown one fails loudly", arguments: TestDatabase.available)
    func typedStatuses(database: TestDatabase) async throws {
        try await TestApp.with(database, model: false) { t in
            let c = try await t.startConversation()
            let sql = try #require(t.app.db as? SQLDatabase)
            let row = try #require(try await sql.raw("SELECT status FROM conversations WHERE id = \(bind: UUID(uuidString: c.id)!)").first())
            #expect(try row.decode(column: "status", as: String.self) == "ai")

            try await sql.raw("UPDATE conversations SET status = 'limbo' WHERE id = \(bind: UUID(uuidString: c.id)!)").run()
            await #expect(throws: (any Error).self) {
                _ = try await ConversationRecord.query(on: t.app.db).all()
            }
        }
    }
}
