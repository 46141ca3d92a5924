import Fluent
import Foundation
@testable import TandemServer
import Testing
import VaporTesting

/// Audits feed the guardrail: an intent whose audited error bound exceeds the target stops
/// being answered automatically, the console shows why, and only a recorded override (or a
/// promoted model) brings it back.
@Suite("Guardrail", .serialized)
struct GuardrailTests {
    static let question = "How do I reset my password?"

    /// Asks the question in a fresh conversation; returns the response and the decision record.
    private func ask(_ t: TestApp) async throws -> (response: [String: Any], decision: DecisionRecord, conversation: String) {
        let c = try await t.startConversation()
        let response = try await t.say(Self.question, in: c)
        let decision = try #require(try await DecisionRecord.query(on: t.app.db).filter(\.$conversation.$id == UUID(uuidString: c.id)!).first())
        return (response, decision, c.id)
    }

    @Test("audited errors switch an intent to draft-only; the next message is drafted for a person, with the evidence",
          .enabled(if: Shared.hasModel || TestDatabase.isCI, "needs the model"), arguments: TestDatabase.available)
    func guardrailFires(database: TestDatabase) async throws {
        try await TestApp.with(database) { t in
            let first = try await ask(t)
            #expect(first.response["action"] as? String == "answer", "precondition: the AI answers this question")
            let intent = try #require(first.decision.intent)

            // Seed a review of that answer (whether or not sampling picked it) and mark it wrong.
            if try await AuditRecord.query(on: t.app.db).filter(\.$decisionID == first.decision.requireID()).first() == nil {
                let audit = AuditRecord()
                audit.conversationID = first.decision.$conversation.id
                audit.messageID = first.decision.$message.id
                audit.decisionID = try first.decision.requireID()
                audit.intent = intent
                audit.status = .pending
                audit.sampleRate = 1
                audit.sampleReason = "seeded by the test"
                try await audit.create(on: t.app.db)
            }
            let agent = try await t.login()
            let pending = try await t.send(.GET, "/api/v1/audits", token: agent)
            #expect(pending.status == .ok)
            let audit = try #require(pending.jsonArray.first { $0["intent"] as? String == intent })
            #expect(audit["question"] as? String == Self.question)
            #expect((audit["answer"] as? String)?.isEmpty == false)
            let auditID = try #require(audit["id"] as? String)

            let missingIntent = try await t.send(.POST, "/api/v1/audits/\(auditID)", json: ["correct": false], token: agent)
            #expect(missingIntent.status == .badRequest, "a wrong verdict needs the right intent")
            let reviewed = try await t.send(.POST, "/api/v1/audits/\(auditID)", json: Review(correct: false, intent: "unknown"), token: agent)
            #expect(reviewed.status == .ok, "\(reviewed.body.string)")
            let action = try #require(reviewed.json["guardrail"] as? [String: Any])
            #expect(action["kind"] as? String == "switch-to-draft", "\(action)")
            let again = try await t.send(.POST, "/api/v1/audits/\(auditID)", json: Review(correct: true, intent: nil), token: agent)
            #expect(again.status == .conflict, "an audit is reviewed once")

            // The next message of that intent is drafted for a person, not answered.
            let next = try await ask(t)
            #expect(next.decision.intent == intent)
            #expect(next.response["action"] as? String == "draft", "\(next.response)")
            #expect(next.response["reply"] == nil || next.response["reply"] is NSNull, "the AI answered a guarded intent")
            #expect(next.decision.rule == .guardrail)

            // The console shows why: the decision carries the guardrail's evidence.
            let detail = try await t.send(.GET, "/api/v1/agent/conversations/\(next.conversation)", token: agent)
            let decisions = try #require(detail.json["decisions"] as? [[String: Any]])
            let reasons = (decisions.first?["reasons"] as? [String] ?? []).joined(separator: " ")
            #expect(reasons.contains("draft-only"), "\(reasons)")
            #expect(reasons.contains("upper bound"), "the evidence with its numbers: \(reasons)")
            let supervisor = try await t.login("supervisor@demo.tandem")
            let state = try await t.send(.GET, "/api/v1/guardrail", token: supervisor)
            let intents = try #require(state.json["intents"] as? [[String: Any]])
            #expect(intents.first { $0["intent"] as? String == intent }?["guarded"] as? Bool == true)
            let events = try #require(state.json["events"] as? [[String: Any]])
            #expect(events.first?["kind"] as? String == "switch-to-draft")
            #expect(events.first?["actor"] as? String == "agent@demo.tandem")

            // Only a supervisor with a reason brings it back.
            let noReason = try await t.send(.POST, "/api/v1/intents/\(intent)/guardrail/override", json: ["reason": "  "], token: supervisor)
            #expect(noReason.status == .badRequest)
            let byAgent = try await t.send(.POST, "/api/v1/intents/\(intent)/guardrail/override", json: ["reason": "checked"], token: agent)
            #expect(byAgent.status == .forbidden)
            let restored = try await t.send(.POST, "/api/v1/intents/\(intent)/guardrail/override",
                                            json: ["reason": "The answer text was fixed on 28 Nov; the audit was about the old text."], token: supervisor)
            #expect(restored.json["kind"] as? String == "restore-auto", "\(restored.body.string)")
            let after = try await ask(t)
            #expect(after.response["action"] as? String == "answer")

            let insights = try await t.send(.GET, "/api/v1/insights", token: supervisor)
            #expect(insights.status == .ok)
            #expect(insights.json["audits"] as? Int == 1)
        }
    }

    struct Review: Encodable, Sendable {
        var correct: Bool
        var intent: String?
    }

    @Test("the kill switch sends everything to people and is logged", .enabled(if: Shared.hasModel || TestDatabase.isCI, "needs the model"),
          arguments: TestDatabase.available)
    func killSwitch(database: TestDatabase) async throws {
        try await TestApp.with(database) { t in
            let admin = try await t.login("admin@demo.tandem")
            let current = try await t.send(.GET, "/api/v1/workspace", token: admin)
            var settings = try #require(current.json["settings"] as? [String: Any])
            settings["killSwitch"] = true
            let body = try JSONSerialization.data(withJSONObject: ["name": "Fernpay", "settings": settings])
            let updated = try await t.send(.PUT, "/api/v1/workspace", body: String(decoding: body, as: UTF8.self), token: admin)
            #expect(updated.status == .ok, "\(updated.body.string)")
            let asked = try await ask(t)
            #expect(asked.response["action"] as? String != "answer", "\(asked.response)")
            #expect(asked.decision.rule == .killSwitch)
            let events = try await GuardrailEventRecord.query(on: t.app.db).all()
            #expect(events.map(\.kind) == [.killSwitchOn])
        }
    }
}
