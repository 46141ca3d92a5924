import Fluent
import Foundation
import TandemCore
@testable import TandemServer
import Testing
import Vapor
import VaporTesting

/// Canned replies: approved answers and the team's snippets, searched from the reply box,
/// with their variables filled for the conversation and the agent.
@Suite("Canned replies and snippets", .serialized)
struct CannedRepliesTests {
    @Test("variables: filled when known, dropped with their comma when not, spaces allowed, unknown ones named")
    func variables() {
        #expect(Assistance.fill("Hi {{customer.firstName}}, I'm {{agent.name}}.", customerName: "Ana Lopez", agentName: "Alex Agent")
                == "Hi Ana, I'm Alex Agent.")
        #expect(Assistance.fill("Hi {{ customer.name }}, thanks", customerName: "Ana Lopez", agentName: nil) == "Hi Ana Lopez, thanks")
        #expect(Assistance.fill("Hi {{customer.firstName}}, thanks", customerName: nil, agentName: nil) == "Hi thanks")
        #expect(Assistance.fill("Hello {{name}}!", customerName: "Bo", agentName: nil) == "Hello Bo!")
        #expect(Assistance.unknownVariables(in: "{{customer.email}} and {{ agent.name }} and {{x}}") == ["customer.email", "x"])
        #expect(Assistance.unknownVariables(in: "no braces") == [])
    }

    @Test("a snippet is found by a word, filled for the customer and agent, ranked before answers; answers are found too; edits by author or supervisor",
          arguments: TestDatabase.available)
    func snippets(database: TestDatabase) async throws {
        try await TestApp.with(database, model: false) { t in
            // setup
            let c = try await t.startConversation(name: "Ana Lopez")
            let agent = try await t.login(), supervisor = try await t.login("supervisor@demo.tandem")
            let body = ["title": "Refund timing", "text": "Hi {{customer.firstName}}, refunds reach you within 5 working days. {{agent.name}}"]

            // act
            let created = try await t.send(.POST, "/api/v1/agent/snippets", json: body, token: agent)
            let found = try await t.send(.GET, "/api/v1/agent/conversations/\(c.id)/replies?q=refund", token: agent)

            // validate
            #expect(created.status == .created, "\(created.body.string)")
            #expect(found.status == .ok)
            let replies = found.jsonArray
            #expect(replies.first?["kind"] as? String == "snippet", "\(replies)")
            let me = try await t.send(.GET, "/api/v1/agent/me", token: agent).json["name"] as? String ?? "?"
            #expect(replies.first?["text"] as? String == "Hi Ana, refunds reach you within 5 working days. \(me)")
            #expect(replies.contains { $0["kind"] as? String == "answer" && $0["key"] as? String == "refund_status" }, "\(replies.map { $0["key"] ?? "" })")
            let all = try await t.send(.GET, "/api/v1/agent/conversations/\(c.id)/replies?q=refund%20xyzzy", token: agent).jsonArray
            #expect(all.isEmpty, "every word must match")

            // bad input and permissions
            let unknown = try await t.send(.POST, "/api/v1/agent/snippets", json: ["title": "Mail", "text": "Write to {{customer.email}}"], token: agent)
            #expect(unknown.status == .badRequest)
            #expect(unknown.body.string.contains("{{customer.email}}"), "\(unknown.body.string)")
            #expect(try await t.send(.POST, "/api/v1/agent/snippets", json: body, token: agent).status == .conflict, "the title is taken")
            #expect(try await t.send(.POST, "/api/v1/agent/snippets", json: ["title": " ", "text": "x"], token: agent).status == .badRequest)
            #expect(try await t.send(.GET, "/api/v1/agent/conversations/\(c.id)/replies?limit=0", token: agent).status == .badRequest)
            #expect(try await t.send(.GET, "/api/v1/agent/conversations/\(UUID())/replies?q=a", token: agent).status == .notFound)
            #expect(try await t.send(.GET, "/api/v1/agent/snippets").status == .unauthorized)

            let id = try #require(created.json["id"] as? String)
            let other = try await t.send(.POST, "/api/v1/agents", json: ["email": "bo@demo.tandem", "name": "Bo", "role": "agent", "password": "a-long-password-1"],
                                         token: try await t.login("admin@demo.tandem"))
            #expect(other.status == .created, "\(other.body.string)")
            let bo = try await t.login("bo@demo.tandem", password: "a-long-password-1")
            let change = ["title": "Refund timing", "text": "Refunds take up to 5 working days."]
            #expect(try await t.send(.PUT, "/api/v1/agent/snippets/\(id)", json: change, token: bo).status == .forbidden, "not the author")
            #expect(try await t.send(.PUT, "/api/v1/agent/snippets/\(id)", json: change, token: supervisor).status == .ok)
            #expect(try await t.send(.GET, "/api/v1/agent/snippets", token: bo).jsonArray.first?["text"] as? String == change["text"])
            #expect(try await t.send(.DELETE, "/api/v1/agent/snippets/\(id)", token: agent).status == .noContent)
            #expect(try await t.send(.GET, "/api/v1/agent/snippets", token: agent).jsonArray.isEmpty)
        }
    }
}
