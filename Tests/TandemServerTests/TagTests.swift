import Fluent
import Foundation
@testable import TandemServer
import Testing
import VaporTesting

/// Agents' tags on conversations and the filters of the agents' conversation list, on each
/// database. Tags are agent-only: never in the customer's API or event stream.
@Suite("Tags and list filters", .serialized)
struct TagTests {
    private func tags(_ response: TestingHTTPResponse) -> [String] { response.json["tags"] as? [String] ?? [] }

    private func ids(_ response: TestingHTTPResponse) -> Set<String> { Set(response.jsonArray.compactMap { $0["id"] as? String }) }

    @Test("add, normalise, add again, remove; bad tags are a 400 naming the field", arguments: TestDatabase.available)
    func addAndRemove(database: TestDatabase) async throws {
        try await TestApp.with(database, model: false) { t in
            // setup
            let conversation = try await t.startConversation()
            let token = try await t.login()
            let path = "/api/v1/agent/conversations/\(conversation.id)/tags"

            // act, validate: normalised on the way in, alphabetical on the way out
            let added = try await t.send(.POST, path, json: ["tag": "  VIP  "], token: token)
            #expect(added.status == .ok, "\(added.body.string)")
            #expect(tags(added) == ["vip"])
            #expect(added.json["conversationID"] as? String == conversation.id)
            #expect(tags(try await t.send(.POST, path, json: ["tag": "Needs   Review"], token: token)) == ["needs review", "vip"])

            // Idempotent: the same tag in another spelling is the same row, and no event.
            let events = try await EventRecord.query(on: t.app.db).filter(\.$kind == .conversationTagged).count()
            let again = try await t.send(.POST, path, json: ["tag": "vip"], token: token)
            #expect(again.status == .ok)
            #expect(tags(again) == ["needs review", "vip"])
            #expect(try await ConversationTagRecord.query(on: t.app.db).count() == 2)
            #expect(try await EventRecord.query(on: t.app.db).filter(\.$kind == .conversationTagged).count() == events)

            // Who added it is kept.
            let me = try await t.send(.GET, "/api/v1/agent/me", token: token)
            let row = try #require(try await ConversationTagRecord.query(on: t.app.db).filter(\.$tag == "vip").first())
            #expect(row.agentID?.uuidString == me.json["id"] as? String)

            // Bad input names the field.
            for bad in ["", "   ", "<b>vip</b>", String(repeating: "a", count: 41), "café", "a/b", "tab\there"] {
                let refused = try await t.send(.POST, path, json: ["tag": bad], token: token)
                #expect(refused.status == .badRequest, "'\(bad)': \(refused.status)")
                let error = refused.json["error"] as? [String: Any]
                #expect(error?["field"] as? String == "tag", "'\(bad)': \(refused.body.string)")
            }
            #expect(try await t.send(.POST, path, json: ["label": "vip"], token: token).status == .badRequest)
            #expect(try await t.send(.POST, path, json: ["tag": String(repeating: "a", count: 40)], token: token).status == .ok)

            // The agent's view carries them.
            let view = try await t.send(.GET, "/api/v1/agent/conversations/\(conversation.id)", token: token)
            #expect(tags(view) == ["\(String(repeating: "a", count: 40))", "needs review", "vip"])

            // Remove (the path segment is normalised too); removing again changes nothing.
            let removed = try await t.send(.DELETE, "\(path)/Needs%20Review", token: token)
            #expect(removed.status == .ok, "\(removed.body.string)")
            #expect(tags(removed) == [String(repeating: "a", count: 40), "vip"])
            let twice = try await t.send(.DELETE, "\(path)/needs%20review", token: token)
            #expect(twice.status == .ok)
            #expect(tags(twice) == [String(repeating: "a", count: 40), "vip"])
            #expect(try await t.send(.DELETE, "\(path)/%3Cb%3E", token: token).status == .badRequest)

            // Unknown conversations are a 404.
            let unknown = "/api/v1/agent/conversations/\(UUID().uuidString)/tags"
            #expect(try await t.send(.POST, unknown, json: ["tag": "vip"], token: token).status == .notFound)
            #expect(try await t.send(.DELETE, "\(unknown)/vip", token: token).status == .notFound)

            // Every change was an event for the agents, with the tags after it.
            let recorded = try await EventRecord.query(on: t.app.db).filter(\.$kind == .conversationTagged).sort(\.$id).all()
            #expect(recorded.count == 4, "vip, needs review, the 40-character tag, one removal")
            let last = try JSONDecoder().decode(ConversationTagsDTO.self, from: Data(try #require(recorded.last).payload.utf8))
            #expect(last.tags == [String(repeating: "a", count: 40), "vip"])
        }
    }

    @Test("without a session every tag route is a 401", arguments: TestDatabase.available)
    func unauthenticated(database: TestDatabase) async throws {
        try await TestApp.with(database, model: false) { t in
            let conversation = try await t.startConversation()
            let path = "/api/v1/agent/conversations/\(conversation.id)/tags"
            #expect(try await t.send(.POST, path, json: ["tag": "vip"]).status == .unauthorized)
            #expect(try await t.send(.DELETE, "\(path)/vip").status == .unauthorized)
            #expect(try await t.send(.GET, "/api/v1/tags").status == .unauthorized)
            #expect(try await t.send(.GET, "/api/v1/agent/conversations?tag=vip").status == .unauthorized)
            // The customer's own token is no agent session either.
            #expect(try await t.send(.POST, path, json: ["tag": "vip"], token: conversation.token).status == .unauthorized)
            #expect(try await ConversationTagRecord.query(on: t.app.db).count() == 0)
        }
    }

    @Test("tags never reach the customer's API or stream", arguments: TestDatabase.available)
    func customerNeverSeesTags(database: TestDatabase) async throws {
        try await TestApp.with(database, model: false) { t in
            // setup: a conversation with a tag added and another removed
            let conversation = try await t.startConversation()
            let token = try await t.login()
            let path = "/api/v1/agent/conversations/\(conversation.id)/tags"
            _ = try await t.send(.POST, path, json: ["tag": "angry customer"], token: token)
            _ = try await t.send(.POST, path, json: ["tag": "refund"], token: token)
            _ = try await t.send(.DELETE, "\(path)/refund", token: token)
            _ = try await t.send(.POST, "/api/v1/conversations/\(conversation.id)/handoff", token: conversation.token)

            // act: everything the customer can read
            let show = try await t.send(.GET, "/api/v1/conversations/\(conversation.id)", token: conversation.token)
            let messages = try await t.send(.GET, "/api/v1/conversations/\(conversation.id)/messages", token: conversation.token)
            let stream = try await t.send(.GET, "/api/v1/conversations/\(conversation.id)/events?after=0&once=true", token: conversation.token)

            // validate
            #expect(show.status == .ok && stream.status == .ok)
            for body in [show.body.string, messages.body.string, stream.body.string] {
                #expect(!body.contains("angry customer") && !body.contains("refund") && !body.contains("\"tags\""), "\(body)")
            }
            #expect(!stream.body.string.contains("conversation.tagged"))
            #expect(stream.body.string.contains("conversation.handed_off"), "the stream itself works: \(stream.body.string)")
            #expect(!EventKind.conversationTagged.isCustomerVisible)
            #expect(EventKind.conversationHandedOff.isCustomerVisible)

            // The agents' stream has them.
            let agents = try await t.send(.GET, "/api/v1/agent/events?conversation=\(conversation.id)&after=0&once=true", token: token)
            #expect(agents.body.string.contains("event: conversation.tagged"))
            #expect(agents.body.string.contains("angry customer"))
        }
    }

    @Test("the list filters by tag, status, agent, intent and dates; the queue shows tags; counts",
          arguments: TestDatabase.available)
    func filtersAndCounts(database: TestDatabase) async throws {
        try await TestApp.with(database, model: false) { t in
            // setup: a (with the AI, vip), b (queued, vip + refund), c (claimed by the agent, refund)
            let token = try await t.login()
            let me = try #require(try await t.send(.GET, "/api/v1/agent/me", token: token).json["id"] as? String)
            let a = try await t.startConversation(name: "A"), b = try await t.startConversation(name: "B"), c = try await t.startConversation(name: "C")
            for (conversation, tag) in [(a, "vip"), (b, "vip"), (b, "refund"), (c, "refund")] {
                let added = try await t.send(.POST, "/api/v1/agent/conversations/\(conversation.id)/tags", json: ["tag": tag], token: token)
                try #require(added.status == .ok, "\(added.body.string)")
            }
            _ = try await t.send(.POST, "/api/v1/conversations/\(b.id)/handoff", token: b.token)
            _ = try await t.send(.POST, "/api/v1/conversations/\(c.id)/handoff", token: c.token)
            try #require(try await t.send(.POST, "/api/v1/agent/conversations/\(c.id)/claim", token: token).status == .ok)
            let aID = try #require(UUID(uuidString: a.id)), cID = try #require(UUID(uuidString: c.id))
            try await ConversationRecord.query(on: t.app.db).filter(\.$id == aID).set(\.$lastIntent, to: "reset_password").update()
            let old = try #require(ISO8601DateFormatter().date(from: "2024-03-01T12:00:00Z"))
            try await ConversationRecord.query(on: t.app.db).filter(\.$id == cID).set(\.$createdAt, to: old).update()
            let list = "/api/v1/agent/conversations"
            func get(_ query: String) async throws -> TestingHTTPResponse { try await t.send(.GET, "\(list)?\(query)", token: token) }

            // act, validate
            #expect(ids(try await get("tag=vip")) == [a.id, b.id])
            #expect(ids(try await get("tag=%20VIP")) == [a.id, b.id], "the filter's tag is normalised as when added")
            #expect(ids(try await get("tag=refund&status=queued")) == [b.id])
            #expect(ids(try await get("tag=nothing")) == [])
            #expect(ids(try await get("agent=\(me)")) == [c.id])
            #expect(ids(try await get("mine=true&tag=vip")) == [])
            #expect(ids(try await get("intent=reset_password")) == [a.id])
            #expect(ids(try await get("to=2025-01-01")) == [c.id])
            #expect(ids(try await get("from=2025-01-01T00:00:00Z")) == [a.id, b.id])
            #expect(ids(try await get("from=2024-03-01T12:00:00.000Z&to=2024-03-01T12:00:01Z")) == [c.id], "from is inclusive")
            let all = try await get("")
            #expect(ids(all) == [a.id, b.id, c.id])
            let item = try #require(all.jsonArray.first { $0["id"] as? String == b.id })
            #expect(item["tags"] as? [String] == ["refund", "vip"])
            #expect(item["status"] as? String == "queued")

            // The queue's items carry their tags too.
            let queue = try await t.send(.GET, "/api/v1/agent/queue", token: token)
            #expect(queue.jsonArray.map { $0["tags"] as? [String] } == [["refund", "vip"]])

            // Invalid filters are a 400 naming the parameter.
            for (query, field) in [("status=waiting", "status"), ("tag=%3Cb%3E", "tag"), ("agent=nobody", "agent"),
                                   ("intent=Not%20A%20Key", "intent"), ("from=yesterday", "from"), ("to=2025-13-01", "to"),
                                   ("from=2025-02-01&to=2025-01-01", "to"), ("mine=maybe", "mine"),
                                   ("mine=true&agent=\(UUID().uuidString)", "agent")] {
                let refused = try await get(query)
                #expect(refused.status == .badRequest, "\(query): \(refused.status)")
                #expect((refused.json["error"] as? [String: Any])?["field"] as? String == field, "\(query): \(refused.body.string)")
            }

            // Counts: most used first, then alphabetically; a tag no conversation has is gone.
            let counts = try await t.send(.GET, "/api/v1/tags", token: token)
            #expect(counts.status == .ok)
            #expect(counts.jsonArray.map { "\($0["tag"] as? String ?? "")=\($0["conversations"] as? Int ?? 0)" } == ["refund=2", "vip=2"])
            _ = try await t.send(.DELETE, "/api/v1/agent/conversations/\(a.id)/tags/vip", token: token)
            _ = try await t.send(.DELETE, "/api/v1/agent/conversations/\(b.id)/tags/vip", token: token)
            #expect(try await t.send(.GET, "/api/v1/tags", token: token).jsonArray.compactMap { $0["tag"] as? String } == ["refund"])

            // Erasing a customer takes their conversations' tags with them.
            try await t.sql().raw("DELETE FROM conversations WHERE id = \(bind: cID)").run()
            #expect(try await ConversationTagRecord.query(on: t.app.db).filter(\.$conversation.$id == cID).count() == 0)
        }
    }

    @Test("the console: tags on the conversation page, the list filtered by tag, counts on insights", arguments: TestDatabase.available)
    func pages(database: TestDatabase) async throws {
        try await TestApp.with(database, model: false) { t in
            // setup
            let conversation = try await t.startConversation(name: "Tagged <i>Ana</i>")
            let other = try await t.startConversation(name: "Plain Bo")
            let token = try await t.login("supervisor@demo.tandem")
            _ = try await t.send(.POST, "/api/v1/agent/conversations/\(conversation.id)/tags", json: ["tag": "vip"], token: token)

            // act
            let page = try await t.send(.GET, "/console/conversations/\(conversation.id)", token: token)
            let filtered = try await t.send(.GET, "/console/conversations?status=&tag=vip", token: token)
            let everything = try await t.send(.GET, "/console/conversations", token: token)
            let bad = try await t.send(.GET, "/console/conversations?tag=%3Cscript%3E", token: token)
            let insights = try await t.send(.GET, "/console/insights", token: token)

            // validate
            #expect(page.status == .ok)
            #expect(page.body.string.contains(#"<li class="tag-chip" data-tag="vip">"#))
            #expect(filtered.status == .ok)
            #expect(filtered.body.string.contains(conversation.id) && !filtered.body.string.contains(other.id))
            #expect(filtered.body.string.contains("Tagged &lt;i&gt;Ana&lt;/i&gt;"), "user text stays inert")
            #expect(filtered.body.string.contains(#"<option value="vip" selected>vip (1)</option>"#))
            #expect(everything.body.string.contains(conversation.id) && everything.body.string.contains(other.id))
            #expect(bad.status == .badRequest)
            #expect(bad.body.string.contains("The field &#39;tag&#39; is invalid") || bad.body.string.contains("The field &apos;tag&apos; is invalid")
                    || bad.body.string.contains("The field 'tag' is invalid"), "\(bad.body.string)")
            #expect(!bad.body.string.contains("<script>"))
            #expect(insights.status == .ok)
            #expect(insights.body.string.contains(#"id="tag-counts""#) && insights.body.string.contains("/console/conversations?tag=vip"))
        }
    }
}
