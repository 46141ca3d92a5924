import Fluent
import Foundation
import TandemCore
@testable import TandemServer
import Testing
import VaporTesting

/// New intents start in shadow mode: people answer with the AI's draft, their replies label
/// the AI's guesses, and the intent answers on its own only once those labels prove the target.
@Suite("Shadow mode", .serialized)
struct ShadowModeServerTests {
    static let question = "How do I reset my password?"

    @Test("a new intent is drafted for people until their agreeing labels prove the target; then the AI answers it",
          .enabled(if: Shared.hasModel || TestDatabase.isCI, "needs the model"), arguments: TestDatabase.available)
    func graduates(database: TestDatabase) async throws {
        try await TestApp.with(database) { t in
            let db = t.app.db
            let established = try await t.startConversation()
            let first = try await t.say(Self.question, in: established)
            try #require(first["action"] as? String == "answer", "precondition: the AI answers this question: \(first)")
            let key = try #require(try await DecisionRecord.query(on: db).filter(\.$conversation.$id == UUID(uuidString: established.id)!).first()?.intent)

            // The intent is new: in shadow mode. A 10% target keeps the evidence needed small.
            let intent = try #require(try await IntentRecord.query(on: db).filter(\.$key == key).first())
            intent.shadow = true
            try await intent.save(on: db)
            let workspace = try await t.app.tandem.workspace(on: db)
            var settings = try workspace.settings
            settings.targetRisk = 0.1
            workspace.store(settings)
            try await workspace.save(on: db)
            let needed = ShadowMode(targetRisk: 0.1, delta: 1 - settings.confidenceLevel).minimumLabels
            #expect(needed == 29, "⌈ln 0.05 / ln 0.9⌉ agreeing labels at 95% confidence")

            let agent = try await t.login()
            for i in 0..<needed {
                let c = try await t.startConversation(name: "Shadow \(i)")
                let response = try await t.say(Self.question, in: c)
                #expect(response["action"] as? String == "draft", "label \(i): \(response)")
                #expect(response["reply"] == nil || response["reply"] is NSNull, "the AI answered an intent in shadow mode")
                if i == 0 {
                    let decision = try #require(try await DecisionRecord.query(on: db).filter(\.$conversation.$id == UUID(uuidString: c.id)!).first())
                    #expect(decision.rule == .shadowMode)
                    let detail = try await t.send(.GET, "/api/v1/agent/conversations/\(c.id)", token: agent)
                    let reasons = ((detail.json["decisions"] as? [[String: Any]])?.first?["reasons"] as? [String] ?? []).joined(separator: " ")
                    #expect(reasons.contains("shadow mode") && reasons.contains("would have answered"), "\(reasons)")
                    #expect(reasons.contains("no labels compared with the AI yet"), "the evidence so far: \(reasons)")
                }
                let claim = try await t.send(.POST, "/api/v1/agent/conversations/\(c.id)/claim", token: agent)
                try #require(claim.status == .ok, "\(claim.body.string)")
                let reply = try await t.send(.POST, "/api/v1/agent/conversations/\(c.id)/messages",
                                             json: ["text": "You can reset it from the login screen.", "intent": key], token: agent)
                try #require(reply.status == .created, "\(reply.body.string)")
                let resolved = try await t.send(.POST, "/api/v1/agent/conversations/\(c.id)/resolve", token: agent)
                try #require(resolved.status == .ok, "\(resolved.body.string)")
                let stillShadow = try await IntentRecord.query(on: db).filter(\.$key == key).first()?.shadow
                #expect(stillShadow == (i < needed - 1), "after \(i + 1) agreeing labels")
            }

            // It left shadow mode with its evidence logged, and the AI answers it again.
            let event = try #require(try await GuardrailEventRecord.query(on: db).filter(\.$kind == .leaveShadow).first())
            #expect(event.intent == key && event.actor == "agent@demo.tandem")
            #expect(event.evidence.contains("\(needed) of \(needed)") || event.evidence.contains("0 of \(needed)"), "\(event.evidence)")
            #expect(event.evidence.contains("leaves shadow mode"), "\(event.evidence)")
            let after = try await t.say(Self.question, in: try await t.startConversation(name: "After"))
            #expect(after["action"] as? String == "answer", "\(after)")
        }
    }

    @Test("a new intent starts in shadow mode; the console shows how far it is from leaving it; a supervisor can end it with a reason",
          arguments: TestDatabase.available)
    func supervisorEndsShadowMode(database: TestDatabase) async throws {
        try await TestApp.with(database, model: false) { t in
            let supervisor = try await t.login("supervisor@demo.tandem")
            let agent = try await t.login()
            let created = try await t.send(.POST, "/api/v1/intents", json: [
                "key": "loyalty_points", "title": "Loyalty points", "answer": "We do not run a loyalty scheme yet.",
            ], token: supervisor)
            #expect(created.json["shadow"] as? Bool == true, "\(created.body.string)")

            let state = try await t.send(.GET, "/api/v1/guardrail", token: supervisor)
            let row = try #require((state.json["intents"] as? [[String: Any]])?.first { $0["intent"] as? String == "loyalty_points" })
            #expect(row["shadow"] as? Bool == true)
            let settings = try await t.app.tandem.workspace(on: t.app.db).settings
            let least = ShadowMode(targetRisk: settings.targetRisk, delta: 1 - settings.confidenceLevel).minimumLabels
            #expect(least >= 59 && row["agreeingLabelsNeeded"] as? Int == least, "no labels yet: the least evidence, \(least): \(row)")
            #expect((row["shadowEvidence"] as? [String])?.joined().contains("no labels compared with the AI yet") == true)
            let page = try await t.send(.GET, "/console/knowledge-base", token: supervisor)
            #expect(page.body.string.contains("badge--shadow"), "the knowledge base marks the intent as in shadow mode")

            let path = "/api/v1/intents/loyalty_points/shadow/end"
            #expect(try await t.send(.POST, path, json: ["reason": "launch"], token: agent).status == .forbidden)
            #expect(try await t.send(.POST, path, json: ["reason": " "], token: supervisor).status == .badRequest)
            #expect(try await t.send(.POST, "/api/v1/intents/nope/shadow/end", json: ["reason": "x"], token: supervisor).status == .notFound)
            let ended = try await t.send(.POST, path, json: ["reason": "Answer reviewed by legal; launch day."], token: supervisor)
            #expect(ended.status == .ok, "\(ended.body.string)")
            #expect(ended.json["kind"] as? String == "leave-shadow")
            #expect((ended.json["evidence"] as? [String])?.first?.contains("Answer reviewed by legal") == true)
            #expect(try await t.send(.POST, path, json: ["reason": "again"], token: supervisor).status == .conflict)
            let shown = try await t.send(.GET, "/api/v1/intents/loyalty_points", token: supervisor)
            #expect(shown.json["shadow"] as? Bool == false)
            let events = try await t.send(.GET, "/api/v1/guardrail", token: supervisor).json["events"] as? [[String: Any]]
            #expect(events?.first?["kind"] as? String == "leave-shadow" && events?.first?["actor"] as? String == "supervisor@demo.tandem")
        }
    }

    @Test("shadow evidence counts one verdict per message, only where the AI would have answered")
    func shadowCounts() async throws {
        try await TestApp.with(.sqlite, model: false) { t in
            let db = t.app.db
            let c = try await t.startConversation()
            let conversationID = try #require(UUID(uuidString: c.id))
            // Three customer messages: confident and confirmed, confident and corrected, below the threshold.
            var messages: [UUID] = []
            for (i, text) in ["one", "two", "three"].enumerated() {
                let m = MessageRecord()
                m.$conversation.id = conversationID
                m.seq = 100 + i
                m.role = .customer
                m.text = text
                try await m.create(on: db)
                messages.append(try m.requireID())
                let d = DecisionRecord()
                d.$conversation.id = conversationID
                d.$message.id = try m.requireID()
                d.encoder = "test"
                d.intent = "card_arrival"
                d.confidence = i == 2 ? 0.4 : 0.95
                d.threshold = 0.9
                d.rule = .shadowMode
                d.action = .draftForHuman
                d.details = "{}"
                d.latencyMilliseconds = 1
                try await d.create(on: db)
            }
            func label(_ message: UUID, _ intent: String) async throws {
                try await LabelRecord(messageID: message, conversationID: conversationID, intent: intent, predicted: "card_arrival",
                                      source: .agentReply, agentID: nil).create(on: db)
            }
            try await label(messages[0], "lost_card")      // first said wrong…
            try await label(messages[0], "card_arrival")   // …then corrected: the latest label counts
            try await label(messages[1], "lost_card")
            try await label(messages[2], "lost_card")      // the AI would not have answered: not evidence
            let counts = try await QualityService.shadowCounts(intent: "card_arrival", on: db)
            #expect(counts == AuditCounts(correct: 1, wrong: 1), "\(counts)")
        }
    }
}
