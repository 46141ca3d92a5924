import Fluent
import Foundation
import TandemCore
@testable import TandemServer
import Testing
import VaporTesting

/// Full-text search over messages and notes, on SQLite's FTS5 and PostgreSQL's text search
/// behind one API: stemmed, ranked, highlighted, only what the agent may see.
@Suite("Search", .serialized)
struct SearchTests {
    private func search(_ t: TestApp, _ q: String, token: String) async throws -> [[String: Any]] {
        let response = try await t.send(.GET, "/api/v1/agent/search?q=\(q.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)", token: token)
        try #require(response.status == .ok, "search '\(q)': \(response.status) \(response.body.string)")
        return response.jsonArray
    }

    private func matches(_ hit: [String: Any]) -> [String] {
        (hit["snippet"] as? [[String: Any]] ?? []).filter { $0["match"] as? Bool == true }.compactMap { $0["text"] as? String }
    }

    @Test("finds messages and notes by a word, stemmed and by prefix, ranked and marked; never another team's", arguments: TestDatabase.available)
    func findsWhatTheAgentMaySee(database: TestDatabase) async throws {
        try await TestApp.with(database, model: false) { t in
            try await t.decideEachMessageAlone()
            let agent = try await t.login(), supervisor = try await t.login("supervisor@demo.tandem")
            let open = try await t.startConversation(name: "Ana")
            try await t.say("My parcel with the replacement card never arrived", in: open)
            try await t.say("where is my refund? refund refund, I asked for the refund twice", in: open)
            let note = try await t.send(.POST, "/api/v1/agent/conversations/\(open.id)/notes",
                                        json: ["text": "Courier tracking shows it was returned to the depot"], token: agent)
            #expect(note.status == .created)
            let other = try await t.startConversation(name: "Bo")
            try await t.say("the parcel tracking number, please, and my refund", in: other)
            let team = try await t.send(.POST, "/api/v1/teams", json: ["name": "Deliveries"], token: supervisor)
            try await ConversationRecord.query(on: t.app.db).filter(\.$id == UUID(uuidString: other.id)!)
                .set(\.$teamID, to: UUID(uuidString: team.json["id"] as! String)).update()

            // A word; the other team's conversation stays out of the agent's results.
            let parcel = try await search(t, "parcel", token: agent)
            #expect(parcel.map { $0["conversationID"] as? String } == [open.id], "\(parcel)")
            #expect(parcel.first?["kind"] as? String == "message" && parcel.first?["role"] as? String == "customer")
            #expect(matches(parcel[0]) == ["parcel"])
            #expect(parcel.first?["customerName"] as? String == "Ana")
            #expect(Set(try await search(t, "parcel", token: supervisor).compactMap { $0["conversationID"] as? String }) == [open.id, other.id],
                    "a supervisor sees every team's")

            // Stemmed ("arrive" finds "arrived"), the last word as a prefix, every word required.
            #expect(try await search(t, "arrive", token: agent).count == 1)
            #expect(try await search(t, "card repla", token: agent).count == 1)
            #expect(try await search(t, "parcel refund", token: agent).isEmpty, "no single message of Ana's has both")

            // Notes too, marked as notes.
            let courier = try await search(t, "COURIER", token: agent)
            #expect(courier.map { $0["kind"] as? String } == ["note"])
            #expect(matches(courier[0]) == ["Courier"])

            // Ranked: the message that is all about refunds before the one that mentions it.
            let refunds = try await search(t, "refund", token: supervisor)
            #expect(refunds.count == 2)
            #expect(refunds.first?["conversationID"] as? String == open.id, "\(refunds.map { $0["snippet"] ?? "" })")

            // The assistant's greeting (a system message) is not a result.
            #expect(try await search(t, "assistant", token: agent).isEmpty)

            // What is typed is never query syntax; no word is a 400 naming the field.
            for raw in ["\"parcel", "parcel*", "parcel OR refund", "NEAR(parcel refund)", "parcel:*", "parcel & !refund", "parcel'); --"] {
                let hits = try await search(t, raw, token: agent)
                #expect(hits.allSatisfy { $0["conversationID"] as? String == open.id }, "'\(raw)'")
            }
            for (raw, field) in [("%20%2A%20", "q"), ("", "q")] {
                let refused = try await t.send(.GET, "/api/v1/agent/search?q=\(raw)", token: agent)
                #expect(refused.status == .badRequest && (refused.json["error"] as? [String: Any])?["field"] as? String == field, "\(refused.body.string)")
            }
            #expect(try await t.send(.GET, "/api/v1/agent/search?q=parcel&limit=0", token: agent).status == .badRequest)
            #expect(try await t.send(.GET, "/api/v1/agent/search", token: agent).status == .badRequest)
            #expect(try await t.send(.GET, "/api/v1/agent/search?q=parcel").status == .unauthorized)

            // The index follows the texts: anonymised or erased words are gone.
            try await MessageRecord.query(on: t.app.db).filter(\.$text == "My parcel with the replacement card never arrived")
                .set(\.$text, to: "[removed by the retention policy]").update()
            #expect(try await search(t, "parcel", token: agent).isEmpty)
            #expect(try await search(t, "retention", token: agent).count == 1)
            try await NoteRecord.query(on: t.app.db).delete()
            #expect(try await search(t, "courier", token: agent).isEmpty)
        }
    }
}
