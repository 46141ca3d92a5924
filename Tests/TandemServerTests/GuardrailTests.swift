import Fluent
import Foundation
import TandemCore
@testable import TandemServer
import Testing
import VaporTesting

/// Audits feed the guardrail: an intent whose audits show evidence that its error rate rose
/// above the target stops being answered automatically, the console shows why, and people's
/// verdicts on its drafts (or a recorded override, or a promoted model) bring it back.
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

    /// The audit of a decision: the one sampling chose, or one seeded by the test.
    private func audit(of decision: DecisionRecord, on db: Database) async throws -> AuditRecord {
        if let existing = try await AuditRecord.query(on: db).filter(\.$decisionID == decision.requireID()).first() { return existing }
        let audit = AuditRecord()
        audit.conversationID = decision.$conversation.id
        audit.messageID = decision.$message.id
        audit.decisionID = try decision.requireID()
        audit.intent = try #require(decision.intent)
        audit.status = .pending
        audit.sampleRate = 1
        audit.sampleReason = "seeded by the test"
        try await audit.create(on: db)
        return audit
    }

    /// Wrong answers in a row that switch an intent from a score of 0 at the workspace's settings.
    private func burst(_ t: TestApp) async throws -> Int {
        let detector = QualityService.guardrail(try await t.app.tandem.settings(on: t.app.db)).detector
        return (detector.threshold + detector.wrongStep - 1) / detector.wrongStep
    }

    /// Sets the workspace's target risk (a looser target keeps the evidence a restore needs small).
    private func setTargetRisk(_ t: TestApp, _ risk: Double) async throws {
        let workspace = try await t.app.tandem.workspace(on: t.app.db)
        var settings = try workspace.settings
        settings.targetRisk = risk
        workspace.store(settings)
        try await workspace.save(on: t.app.db)
    }

    @Test("an isolated wrong audit no longer switches an intent; the AI keeps answering it",
          .enabled(if: Shared.hasModel || TestDatabase.isCI, "needs the model"), arguments: TestDatabase.available)
    func isolatedMistakeTolerated(database: TestDatabase) async throws {
        try await TestApp.with(database) { t in
            // setup: 20 answers reviewed right, then one wrong
            let agent = try await t.login()
            var intent = ""
            for i in 0..<21 {
                let asked = try await ask(t)
                try #require(asked.response["action"] as? String == "answer", "precondition: the AI answers this question: \(asked.response)")
                intent = try #require(asked.decision.intent)
                let audit = try await audit(of: asked.decision, on: t.app.db)
                let verdict = i == 10 ? Review(correct: false, intent: "unknown") : Review(correct: true, intent: nil)
                // act
                let reviewed = try await t.send(.POST, "/api/v1/audits/\(audit.requireID())", json: verdict, token: agent)
                try #require(reviewed.status == .ok, "\(reviewed.body.string)")
                let action = try #require(reviewed.json["guardrail"] as? [String: Any])
                // validate
                #expect(action["kind"] as? String == "none", "audit \(i): \(action)")
                if i == 10 {
                    let detector = try #require(action["detector"] as? [String: Any])
                    #expect(detector["wrong"] as? Int == 1 && (detector["score"] as? Int ?? 0) > 0, "\(detector)")
                    #expect((action["evidence"] as? [String] ?? []).contains { $0.contains("no evidence that the error rate exceeds") }, "\(action)")
                }
            }
            let after = try await ask(t)
            #expect(after.response["action"] as? String == "answer", "one wrong answer in 21 demoted the intent: \(after.response)")
            #expect(try await GuardrailEventRecord.query(on: t.app.db).filter(\.$intent == intent).count() == 0)
        }
    }

    @Test("a burst of wrong audits switches an intent to draft-only; the next message is drafted for a person, with the evidence; a supervisor can override",
          .enabled(if: Shared.hasModel || TestDatabase.isCI, "needs the model"), arguments: TestDatabase.available)
    func burstSwitches(database: TestDatabase) async throws {
        try await TestApp.with(database) { t in
            // setup
            let needed = try await burst(t)
            #expect(needed > 1, "one wrong answer must never be enough")
            var audits: [AuditRecord] = []
            var intent = ""
            for _ in 0..<needed {
                let asked = try await ask(t)
                try #require(asked.response["action"] as? String == "answer", "precondition: the AI answers this question")
                intent = try #require(asked.decision.intent)
                audits.append(try await audit(of: asked.decision, on: t.app.db))
            }
            let agent = try await t.login()
            let pending = try await t.send(.GET, "/api/v1/audits", token: agent)
            #expect(pending.status == .ok)
            let listed = try #require(pending.jsonArray.first { $0["intent"] as? String == intent })
            #expect(listed["question"] as? String == Self.question)
            #expect((listed["answer"] as? String)?.isEmpty == false)
            let first = try audits[0].requireID()
            let missingIntent = try await t.send(.POST, "/api/v1/audits/\(first)", json: ["correct": false], token: agent)
            #expect(missingIntent.status == .badRequest, "a wrong verdict needs the right intent")

            // act: wrong verdicts one after another; only the last of the burst switches
            for (i, audit) in audits.enumerated() {
                let reviewed = try await t.send(.POST, "/api/v1/audits/\(audit.requireID())", json: Review(correct: false, intent: "unknown"), token: agent)
                try #require(reviewed.status == .ok, "\(reviewed.body.string)")
                let action = try #require(reviewed.json["guardrail"] as? [String: Any])
                #expect(action["kind"] as? String == (i == needed - 1 ? "switch-to-draft" : "none"), "wrong verdict \(i + 1) of \(needed): \(action)")
            }
            let again = try await t.send(.POST, "/api/v1/audits/\(first)", json: Review(correct: true, intent: nil), token: agent)
            #expect(again.status == .conflict, "an audit is reviewed once")

            // validate: the next message of that intent is drafted for a person, not answered
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
            #expect(reasons.contains("reached the threshold at audit \(needed)"), "the evidence with its numbers: \(reasons)")
            let supervisor = try await t.login("supervisor@demo.tandem")
            let state = try await t.send(.GET, "/api/v1/guardrail", token: supervisor)
            let row = try #require((state.json["intents"] as? [[String: Any]])?.first { $0["intent"] as? String == intent })
            #expect(row["guarded"] as? Bool == true && row["breached"] as? Bool == true, "\(row)")
            let restore = try #require(row["restore"] as? [String: Any])
            #expect(restore["certified"] as? Bool == false && (restore["agreeingNeeded"] as? Int ?? 0) > 0, "\(restore)")
            let events = try #require(state.json["events"] as? [[String: Any]])
            #expect(events.first?["kind"] as? String == "switch-to-draft")
            #expect(events.first?["actor"] as? String == "agent@demo.tandem")

            // A supervisor with a reason brings it back.
            let noReason = try await t.send(.POST, "/api/v1/intents/\(intent)/guardrail/override", json: ["reason": "  "], token: supervisor)
            #expect(noReason.status == .badRequest)
            let byAgent = try await t.send(.POST, "/api/v1/intents/\(intent)/guardrail/override", json: ["reason": "checked"], token: agent)
            #expect(byAgent.status == .forbidden)
            let restored = try await t.send(.POST, "/api/v1/intents/\(intent)/guardrail/override",
                                            json: ["reason": "The answer text was fixed on 28 Nov; the audits were about the old text."], token: supervisor)
            #expect(restored.json["kind"] as? String == "restore-auto", "\(restored.body.string)")
            let after = try await ask(t)
            #expect(after.response["action"] as? String == "answer")
            // The detector starts again after the restore: the burst no longer counts.
            let fresh = try await t.send(.GET, "/api/v1/guardrail", token: supervisor)
            let freshRow = try #require((fresh.json["intents"] as? [[String: Any]])?.first { $0["intent"] as? String == intent })
            #expect((freshRow["detector"] as? [String: Any])?["audits"] as? Int == 0, "\(freshRow)")

            let insights = try await t.send(.GET, "/api/v1/insights", token: supervisor)
            #expect(insights.status == .ok)
            #expect(insights.json["audits"] as? Int == needed)
            // The Audits page states the operating characteristics at these settings.
            let page = try await t.send(.GET, "/console/audits", token: supervisor)
            #expect(page.body.string.contains("demoted by mistake within a year of audits"), "the Audits page lacks the guardrail's figures")
        }
    }

    @Test("a drift after 1,000 good audits is caught: 1,000 right verdicts leave the intent automatic, then one wrong answer in four (5·α at the demo's α of 5%) switches it within 250 audits",
          .enabled(if: Shared.hasModel || TestDatabase.isCI, "needs the model"), arguments: TestDatabase.available)
    func driftAfterLongGoodPeriod(database: TestDatabase) async throws {
        try await TestApp.with(database) { t in
            // setup: one real answer; its decision stands for the intent's later answers, each with an audit
            let asked = try await ask(t)
            try #require(asked.response["action"] as? String == "answer", "precondition: the AI answers this question")
            let intent = try #require(asked.decision.intent)
            let good = 1_000, driftLimit = 250
            let (conversationID, messageID) = (asked.decision.$conversation.id, asked.decision.$message.id)
            let (confidence, threshold, details) = (asked.decision.confidence, asked.decision.threshold, asked.decision.details)
            let (encoder, modelVersion) = (asked.decision.encoder, asked.decision.modelVersion)
            let audits = try await t.app.db.transaction { db in
                var audits: [AuditRecord] = []
                for _ in 0..<(good + driftLimit) {
                    let copy = DecisionRecord()
                    copy.$conversation.id = conversationID
                    copy.$message.id = messageID
                    copy.intent = intent
                    copy.confidence = confidence
                    copy.threshold = threshold
                    copy.rule = .confident
                    copy.action = .answer
                    copy.details = details
                    copy.encoder = encoder
                    copy.modelVersion = modelVersion
                    copy.latencyMilliseconds = 0
                    try await copy.create(on: db)
                    audits.append(try await audit(of: copy, on: db))
                }
                return audits
            }
            let agent = try await t.login()
            // act: 1,000 right verdicts (recorded directly: through the API each re-reads every
            // verdict so far, which only makes the test slow), then the API's own check
            let reviewer = try #require(try await AgentRecord.query(on: t.app.db).filter(\.$email == "agent@demo.tandem").first())
            let goodIDs = try audits.prefix(good).map { try $0.requireID() }
            try await AuditRecord.query(on: t.app.db).filter(\.$id ~~ goodIDs)
                .set(\.$status, to: .reviewed).set(\.$correct, to: true).set(\.$reviewerID, to: reviewer.id)
                .set(\.$reviewedAt, to: Date()).update()
            let settings = try await t.app.tandem.settings(on: t.app.db)
            let afterGood = try await QualityService.evaluate(intent: intent, settings: settings, actor: nil, on: t.app.db)
            #expect(afterGood.kind == .none, "\(afterGood.evidence)")
            #expect(try await QualityService.detectorVerdicts(intent: intent, on: t.app.db).count == good)
            #expect(try await ask(t).response["action"] as? String == "answer", "still automatic after 1,000 right answers")
            // then the drift: every fourth answer wrong (5·α; the demo workspace's α is 5%)
            var caughtAt: Int?
            for (i, audit) in audits.dropFirst(good).enumerated() {
                let wrong = i % 4 == 3
                let verdict = wrong ? Review(correct: false, intent: "unknown") : Review(correct: true, intent: nil)
                let reviewed = try await t.send(.POST, "/api/v1/audits/\(audit.requireID())", json: verdict, token: agent)
                try #require(reviewed.status == .ok, "\(reviewed.body.string)")
                if (reviewed.json["guardrail"] as? [String: Any])?["kind"] as? String == "switch-to-draft" {
                    caughtAt = i + 1
                    break
                }
            }
            // validate
            let state = try await QualityService.evaluate(intent: intent, settings: settings, actor: nil, on: t.app.db)
            let caught = try #require(caughtAt, "a drift to 25% error went unnoticed for \(driftLimit) audits: \(state.evidence)")
            #expect(caught <= driftLimit)
            #expect(caught > 10, "one wrong answer is never enough")
            let next = try await ask(t)
            #expect(next.decision.rule == .guardrail, "\(next.response)")
            #expect(next.response["action"] as? String == "draft")
        }
    }

    @Test("a demoted intent returns to automatic answers by itself after enough agreeing agent verdicts on its drafts, logged with the evidence",
          .enabled(if: Shared.hasModel || TestDatabase.isCI, "needs the model"), arguments: TestDatabase.available)
    func restoresItself(database: TestDatabase) async throws {
        try await TestApp.with(database) { t in
            // setup: α = 10% (29 agreeing verdicts certify it at 95%), then a burst of wrong audits
            try await setTargetRisk(t, 0.1)
            let settings = try await t.app.tandem.settings(on: t.app.db)
            let needed = try await burst(t)
            let agent = try await t.login()
            var intent = ""
            for _ in 0..<needed {
                let asked = try await ask(t)
                try #require(asked.response["action"] as? String == "answer", "precondition: the AI answers this question")
                intent = try #require(asked.decision.intent)
                let audit = try await audit(of: asked.decision, on: t.app.db)
                let reviewed = try await t.send(.POST, "/api/v1/audits/\(audit.requireID())", json: Review(correct: false, intent: "unknown"), token: agent)
                try #require(reviewed.status == .ok, "\(reviewed.body.string)")
            }
            try #require(try await IntentRecord.find(key: intent, on: t.app.db)?.guarded == true, "precondition: the burst switched the intent")
            let labels = Guardrail(targetRisk: settings.targetRisk, delta: 1 - settings.confidenceLevel).restoreProgress(.zero).agreeingNeeded
            #expect(labels == 29, "⌈ln 0.05 / ln 0.9⌉ agreeing verdicts at 95% confidence")

            // act: people answer from the AI's drafts, confirming its intent
            for i in 0..<labels {
                let c = try await t.startConversation(name: "Drafted \(i)")
                let response = try await t.say(Self.question, in: c)
                #expect(response["action"] as? String == "draft", "verdict \(i): \(response)")
                let claim = try await t.send(.POST, "/api/v1/agent/conversations/\(c.id)/claim", token: agent)
                try #require(claim.status == .ok, "\(claim.body.string)")
                let reply = try await t.send(.POST, "/api/v1/agent/conversations/\(c.id)/messages",
                                             json: ["text": "You can reset it from the login screen.", "intent": intent], token: agent)
                try #require(reply.status == .created, "\(reply.body.string)")
                let resolved = try await t.send(.POST, "/api/v1/agent/conversations/\(c.id)/resolve", token: agent)
                try #require(resolved.status == .ok, "\(resolved.body.string)")
                let guarded = try await IntentRecord.find(key: intent, on: t.app.db)?.guarded
                // validate: held until the last verdict needed, not one before
                #expect(guarded == (i < labels - 1), "after \(i + 1) agreeing verdicts")
            }

            // validate: logged with its evidence, without an override, and the AI answers again
            let event = try #require(try await GuardrailEventRecord.query(on: t.app.db).filter(\.$intent == intent)
                .filter(\.$kind == .restoreAuto).first())
            #expect(event.actor == "agent@demo.tandem")
            #expect(event.evidence.contains("people found 0 of \(labels) of \(intent)'s would-be answers wrong"), "\(event.evidence)")
            #expect(event.evidence.contains("returns to automatic answers"), "\(event.evidence)")
            #expect(!event.evidence.contains("overrode"), "\(event.evidence)")
            let after = try await ask(t)
            #expect(after.response["action"] as? String == "answer", "\(after.response)")
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
