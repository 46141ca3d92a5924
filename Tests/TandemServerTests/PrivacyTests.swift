import Crypto
import Fluent
import Foundation
import SQLKit
import TandemCore
import TandemOffline
@testable import TandemServer
import Testing
import Vapor
import VaporTesting

/// Data-subject tools: erasure leaves no trace of a customer's texts in any table (found from
/// the database's own catalog), export returns theirs and nobody else's, retention anonymises
/// what is old, customer keys are keyed with the server secret, and admin actions are logged.
@Suite("Privacy", .serialized)
struct PrivacyTests {
    // MARK: Fixtures

    /// The customer who asks to be erased. Every text is distinctive, so a hit anywhere is theirs.
    enum Ann {
        static let name = "Zephyrine Quibble"
        static let email = "Zephyrine.Quibble@example.com"
        /// Answered by the AI (and sampled for audit: the audit rate is 1).
        static let question = "How do I reset my password? I forgot it after my holiday in Quibbleton"
        /// Handed to a person, who labels it.
        static let fraud = "Someone used my card without permission at the Quillfeather garage"
        /// Their second conversation, after a retrain that learnt from their labelled messages.
        static let again = "My card was used without my permission again, near the Quillfeather garage"
        static let agentReply = "We have frozen the card you used at Quillfeather and opened case ZQ-7781"
        static let ratingComment = "Slow, but Wobbleton the cat approves"
        static var texts: [String] { [name, email.lowercased(), question, fraud, again, agentReply, ratingComment] }
    }

    /// Another customer, who must keep everything.
    enum Bob {
        static let name = "Bartholomew Krill"
        static let email = "bart.krill@example.org"
        static let fraud = "Somebody made purchases with my card that I never authorised, Krill here"
        static let later = "Someone used my card without permission, says Bartholomew"
    }

    /// Where `needle` occurs, as `table.column`, searching every column of every table the
    /// database's catalog lists (`sqlite_master` and `pragma_table_info`, or
    /// `information_schema.columns`), blobs included: a table added later cannot escape it.
    static func occurrences(of needle: String, in t: TestApp) async throws -> [String] {
        let sql = try t.sql()
        var columns: [(table: String, column: String, binary: Bool)] = []
        if sql.dialect.name == "postgresql" {
            for row in try await sql.raw("""
                SELECT table_name, column_name, data_type FROM information_schema.columns
                WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position
                """).all() {
                columns.append((try row.decode(column: "table_name", as: String.self), try row.decode(column: "column_name", as: String.self),
                                try row.decode(column: "data_type", as: String.self) == "bytea"))
            }
        } else {
            for table in try await sql.raw("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all()
                .map({ try $0.decode(column: "name", as: String.self) }) {
                for row in try await sql.raw("SELECT name FROM pragma_table_info(\(bind: table))").all() {
                    columns.append((table, try row.decode(column: "name", as: String.self), false))
                }
            }
        }
        let tables = Set(columns.map(\.table))
        #expect(tables.isSuperset(of: ["conversations", "messages", "decisions", "labels", "audits", "events", "jobs", "model_versions", "audit_log"]),
                "the catalog lists the tables (found \(tables.sorted()))")
        var found: [String] = []
        for (table, column, binary) in columns {
            let condition: SQLQueryString = sql.dialect.name == "postgresql"
                ? (binary ? "position(convert_to(\(bind: needle), 'UTF8') in \(ident: column)) > 0" : "strpos(\(ident: column)::text, \(bind: needle)) > 0")
                : "instr(CAST(\(ident: column) AS TEXT), \(bind: needle)) > 0"
            let row = try await sql.raw("SELECT COUNT(*) AS n FROM \(ident: table) WHERE \(condition)").first()
            if try row?.decode(column: "n", as: Int.self) ?? 0 > 0 { found.append("\(table).\(column)") }
        }
        return found
    }

    struct World {
        var admin: String
        var supervisor: String
        var annConversations: [(id: String, token: String)]
        var bobConversations: [(id: String, token: String)]
    }

    /// Two customers through every path that stores something: AI answers (audited), hand-offs,
    /// agent replies with labels, resolution, ratings, webhook deliveries, a retrain that learns
    /// from their labelled messages, and decisions explained by each other's texts.
    static func populate(_ t: TestApp) async throws -> World {
        let admin = try await t.login("admin@demo.tandem")
        let supervisor = try await t.login("supervisor@demo.tandem")
        var settings = WorkspaceSettings()
        settings.auditRate = 1
        settings.burstWindowSeconds = 0  // each message decided as it comes (no burst waits)
        let saved = try await t.send(.PUT, "/api/v1/workspace", json: AdminController.WorkspaceDTO(name: "Fernpay", settings: settings), token: admin)
        try #require(saved.status == .ok, "\(saved.body.string)")
        let hook = try await t.send(.POST, "/api/v1/webhooks", json: HookBody(url: "http://127.0.0.1:9/hook", events: ["conversation.handed_off", "conversation.resolved"]),
                                    token: admin)
        try #require(hook.status == .created, "\(hook.body.string)")

        func start(_ name: String, _ email: String) async throws -> (id: String, token: String) {
            let response = try await t.send(.POST, "/api/v1/conversations", json: ["name": name, "email": email])
            try #require(response.status == .created, "\(response.body.string)")
            return (try #require((response.json["conversation"] as? [String: Any])?["id"] as? String), try #require(response.json["token"] as? String))
        }
        func handle(_ c: (id: String, token: String), reply: String, intent: String) async throws {
            #expect(try await t.send(.POST, "/api/v1/agent/conversations/\(c.id)/claim", token: supervisor).status == .ok)
            let sent = try await t.send(.POST, "/api/v1/agent/conversations/\(c.id)/messages", json: ["text": reply, "intent": intent], token: supervisor)
            #expect(sent.status == .created, "\(sent.body.string)")
            #expect(try await t.send(.POST, "/api/v1/agent/conversations/\(c.id)/resolve", token: supervisor).status == .ok)
        }

        let ann = try await start(Ann.name, Ann.email)
        let answered = try await t.say(Ann.question, in: ann)
        try #require(answered["action"] as? String == "answer", "the AI answers the password question: \(answered)")
        let handed = try await t.say(Ann.fraud, in: ann)
        #expect(handed["action"] as? String == "hand-off")
        try await handle(ann, reply: Ann.agentReply, intent: "fraud_unrecognised")
        let rated = try await t.send(.POST, "/api/v1/conversations/\(ann.id)/rating", json: RatingBody(score: 2, comment: Ann.ratingComment), token: ann.token)
        #expect(rated.status == .ok, "\(rated.body.string)")

        let bob = try await start(Bob.name, Bob.email)
        _ = try await t.say(Bob.fraud, in: bob)
        try await handle(bob, reply: "Thanks, the card is blocked now.", intent: "fraud_unrecognised")

        // The audit of the AI's answer to Ann; the verdict is a label.
        let pending = try await t.send(.GET, "/api/v1/audits", token: supervisor).jsonArray
        let audit = try #require(pending.first { $0["conversationID"] as? String == ann.id }?["id"] as? String, "Ann's answer was sampled")
        #expect(try await t.send(.POST, "/api/v1/audits/\(audit)", json: ["correct": true], token: supervisor).status == .ok)

        // A retrain on those labels: the model now holds their texts as examples.
        try await ModelLifecycle.train(JobRecord(kind: .train, payload: "{}", runAt: t.app.tandem.clock.now), app: t.app)
        try await ModelLifecycle.sync(app: t.app)
        let examples = try #require(t.app.tandem.intelligence.active?.artifact.exampleTexts)
        #expect(examples.contains(Ann.fraud) && examples.contains(Ann.question) && examples.contains(Bob.fraud), "the retrain learnt from the labels")

        // Decisions explained by each other's labelled texts (nearest examples).
        let ann2 = try await start(Ann.name, Ann.email.uppercased())
        _ = try await t.say(Ann.again, in: ann2)
        let bob2 = try await start(Bob.name, Bob.email)
        _ = try await t.say(Bob.later, in: bob2)
        return World(admin: admin, supervisor: supervisor, annConversations: [ann, ann2], bobConversations: [bob, bob2])
    }

    struct RatingBody: Content { var score: Int; var comment: String }
    struct HookBody: Content { var url: String; var events: [String] }

    static func customerKey(email: String, _ t: TestApp, token: String) async throws -> String {
        let found = try await t.send(.POST, "/api/v1/customers/search", json: ["email": email], token: token)
        try #require(found.status == .ok, "\(found.body.string)")
        try #require(found.jsonArray.count == 1, "one customer for \(email): \(found.body.string)")
        return try #require(found.jsonArray[0]["key"] as? String)
    }

    // MARK: Erasure and export

    @Test("erasure leaves no trace of the customer's texts in any column of any table; export has theirs and nobody else's",
          .enabled(if: Shared.hasModel || TestDatabase.isCI, "needs the model"), arguments: TestDatabase.available)
    func eraseAndExport(database: TestDatabase) async throws {
        try await TestApp.with(database) { t in
            // setup
            let world = try await Self.populate(t)
            let key = try await Self.customerKey(email: Ann.email, t, token: world.admin)
            #expect(key.hasPrefix("hmac:"))
            let bobKey = try await Self.customerKey(email: Bob.email, t, token: world.admin)
            #expect(key != bobKey)

            // Before: the search finds every one of Ann's texts, in the places they were copied to too.
            var before: [String: [String]] = [:]
            for text in Ann.texts { before[text] = try await Self.occurrences(of: text, in: t) }
            for text in Ann.texts { #expect(!(before[text] ?? []).isEmpty, "the check finds \(text) before erasure") }
            let everywhere = Set(before.values.joined())
            for place in ["messages.text", "conversations.customer_name", "conversations.customer_email", "conversations.rating_comment",
                          "events.payload", "jobs.payload", "model_versions.manifest"] {
                #expect(everywhere.contains(place), "before erasure something of Ann's is in \(place) (found in \(everywhere.sorted()))")
            }
            #expect(before[Ann.fraud]?.contains("decisions.details") == true, "Bob's later decision quotes Ann's labelled text as a nearest example")

            // Only admins.
            for (method, path) in [(HTTPMethod.GET, "/api/v1/customers/\(key)/export"), (.DELETE, "/api/v1/customers/\(key)"), (.GET, "/api/v1/audit-log")] {
                #expect(try await t.send(method, path, token: world.supervisor).status == .forbidden, "\(method) \(path)")
            }
            #expect(try await t.send(.POST, "/api/v1/customers/search", json: ["email": Ann.email], token: world.supervisor).status == .forbidden)
            #expect(try await t.send(.GET, "/api/v1/customers/\(key)/export").status == .unauthorized)

            // act: export
            let export = try await t.send(.GET, "/api/v1/customers/\(key)/export", token: world.admin)
            #expect(export.status == .ok)
            let body = export.body.string
            // validate
            for text in Ann.texts { #expect(body.contains(Self.jsonEscaped(text)), "the export holds \(text)") }
            #expect((export.json["conversations"] as? [[String: Any]])?.count == 2, "both of Ann's conversations (one e-mail, any case)")
            for other in [Bob.name, Bob.email, Bob.fraud, Bob.later] { #expect(!body.contains(Self.jsonEscaped(other)), "nothing of Bob's: \(other)") }
            let annDetails = try await DecisionRecord.query(on: t.app.db).all().filter { d in
                world.annConversations.contains { $0.id == d.$conversation.id.uuidString }
            }.map(\.details).joined()
            #expect(annDetails.contains(Self.jsonEscaped(Bob.fraud)), "Ann's own decisions quote Bob's text, which the export leaves out")

            // act: erase
            let erased = try await t.send(.DELETE, "/api/v1/customers/\(key)", token: world.admin)
            #expect(erased.status == .ok, "\(erased.body.string)")
            let report = erased.json
            #expect(report["conversations"] as? Int == 2)
            #expect(report["labels"] as? Int == 2, "the agent's label on her fraud report, the audit's on the answered question")
            #expect((report["explanationsRedacted"] as? Int ?? 0) >= 1)
            #expect((report["modelVersionsRedacted"] as? Int ?? 0) >= 1)
            let model = try #require(report["model"] as? [String: Any])
            #expect(model["retrainQueued"] as? Bool == true && model["modelsLearntFromThem"] as? Bool == true)

            // validate: nothing of Ann's text anywhere; Bob keeps everything.
            for text in Ann.texts {
                #expect(try await Self.occurrences(of: text, in: t) == [], "\(text) is gone from every table")
            }
            #expect(try await Self.occurrences(of: Bob.fraud, in: t).contains("messages.text"))
            #expect(try await Self.occurrences(of: Bob.name, in: t).contains("conversations.customer_name"))
            for c in world.bobConversations {
                #expect(try await t.send(.GET, "/api/v1/conversations/\(c.id)", token: c.token).status == .ok)
            }
            for c in world.annConversations {
                #expect(try await t.send(.GET, "/api/v1/conversations/\(c.id)", token: c.token).status == .notFound, "her token opens nothing")
            }
            #expect(try await t.send(.GET, "/api/v1/customers/\(key)/export", token: world.admin).status == .notFound)

            // The model: the serving one no longer holds her texts; the next training set has none of them; a retrain is queued.
            let serving = try #require(t.app.tandem.intelligence.active?.artifact.exampleTexts)
            #expect(!serving.contains { Ann.texts.contains($0) } && serving.contains(Privacy.erasedText) && serving.contains(Bob.fraud))
            let next = try await ModelLifecycle.trainingSet(on: t.app.db)
            #expect(!next.texts.contains { Ann.texts.contains($0) } && next.texts.contains(Bob.fraud))
            #expect(try await JobRecord.query(on: t.app.db).filter(\.$kind == .train).count() >= 1, "a retrain was queued")

            // The audit log holds the export and the erasure, with counts and never texts.
            let log = try await t.send(.GET, "/api/v1/audit-log?action=customer.erase", token: world.admin)
            let entries = try #require(log.json["entries"] as? [[String: Any]])
            #expect(entries.count == 1)
            #expect(entries.first?["actor"] as? String == "admin@demo.tandem" && entries.first?["target"] as? String == "customer:\(key)")
            #expect((entries.first?["before"] as? [String: Any])?["messages"] as? Int ?? 0 > 0)
            let exports = try await t.send(.GET, "/api/v1/audit-log?action=customer.export", token: world.admin)
            #expect((exports.json["entries"] as? [[String: Any]])?.count == 1)
        }
    }

    static func jsonEscaped(_ text: String) -> String {
        String(String(decoding: try! JSONEncoder().encode(text), as: UTF8.self).dropFirst().dropLast())
    }

    @Test("searching, exporting and erasing validate their input", arguments: [TestDatabase.sqlite])
    func badInput(database: TestDatabase) async throws {
        try await TestApp.with(database, model: false) { t in
            let admin = try await t.login("admin@demo.tandem")
            #expect(try await t.send(.POST, "/api/v1/customers/search", json: [String: String](), token: admin).status == .badRequest)
            #expect(try await t.send(.POST, "/api/v1/customers/search", json: ["email": "nobody@example.com"], token: admin).jsonArray.isEmpty)
            #expect(try await t.send(.DELETE, "/api/v1/customers/hmac:0000", token: admin).status == .notFound)
            #expect(try await t.send(.DELETE, "/api/v1/customers/not-a-key", token: admin).status == .notFound)
            #expect(try await t.send(.GET, "/api/v1/audit-log?action=nonsense", token: admin).status == .badRequest)
            #expect(try await t.send(.GET, "/api/v1/audit-log?limit=0", token: admin).status == .badRequest)
            #expect(try await t.send(.GET, "/api/v1/audit-log?before=x", token: admin).status == .badRequest)
            // An anonymous customer is found through their conversation.
            let c = try await t.startConversation(name: "Nameless")
            let found = try await t.send(.POST, "/api/v1/customers/search", json: ["conversationID": c.id], token: admin).jsonArray
            #expect(found.count == 1 && (found.first?["key"] as? String)?.hasPrefix("anon:") == true)
        }
    }

    // MARK: Audit log

    @Test("admin actions are logged with who, what and before/after; the log is append-only; the console page shows it inertly",
          arguments: TestDatabase.available)
    func auditLog(database: TestDatabase) async throws {
        try await TestApp.with(database, model: false) { t in
            let admin = try await t.login("admin@demo.tandem")
            let supervisor = try await t.login("supervisor@demo.tandem")
            let agents = try await t.send(.GET, "/api/v1/agents", token: admin).jsonArray
            let agentID = try #require(agents.first { $0["email"] as? String == "agent@demo.tandem" }?["id"] as? String)

            // act
            #expect(try await t.send(.PATCH, "/api/v1/agents/\(agentID)", json: ["active": false], token: admin).status == .ok)
            #expect(try await t.send(.POST, "/api/v1/agents/\(agentID)/password", json: ["password": "a brand new secret"], token: admin).status == .noContent)
            let created = try await t.send(.POST, "/api/v1/agents", json: ["email": "new@example.com", "name": "New Agent", "role": "agent",
                                                                           "password": "long enough secret"], token: admin)
            #expect(created.status == .created)
            let hostile = "<script>alert('owned')</script>"
            let intent = try await t.send(.POST, "/api/v1/intents", json: ["key": "hostile_title", "title": hostile, "answer": "An answer."], token: supervisor)
            #expect(intent.status == .created, "\(intent.body.string)")
            var settings = try await t.app.tandem.settings(on: t.app.db)
            settings.slaSeconds = 300
            #expect(try await t.send(.PUT, "/api/v1/workspace", json: AdminController.WorkspaceDTO(name: "Fernpay", settings: settings), token: admin).status == .ok)

            // validate: the API
            let all = try #require(try await t.send(.GET, "/api/v1/audit-log", token: admin).json["entries"] as? [[String: Any]])
            #expect(all.map { $0["action"] as? String } == ["workspace.update", "intent.create", "agent.create", "agent.password_reset", "agent.update"])
            let update = try #require(all.first { $0["action"] as? String == "agent.update" })
            #expect(update["actor"] as? String == "admin@demo.tandem" && update["target"] as? String == "agent:\(agentID)")
            #expect((update["before"] as? [String: Any])?["active"] as? Bool == true)
            #expect((update["after"] as? [String: Any])?["active"] as? Bool == false)
            let workspace = try #require(all.first)
            #expect(((workspace["before"] as? [String: Any])?["settings"] as? [String: Any])?["slaSeconds"] as? Int == 120)
            #expect(((workspace["after"] as? [String: Any])?["settings"] as? [String: Any])?["slaSeconds"] as? Int == 300)
            let reset = try #require(all.first { $0["action"] as? String == "agent.password_reset" })
            #expect(!"\(reset)".contains("brand new") && !"\(all)".contains("$2"), "no password and no hash in the log")

            // Filters and pages.
            let bySupervisor = try #require(try await t.send(.GET, "/api/v1/audit-log?actor=supervisor@demo.tandem", token: admin).json["entries"] as? [[String: Any]])
            #expect(bySupervisor.map { $0["action"] as? String } == ["intent.create"])
            let first = try await t.send(.GET, "/api/v1/audit-log?limit=2", token: admin).json
            #expect((first["entries"] as? [[String: Any]])?.count == 2)
            let next = try #require(first["next"] as? Int)
            let second = try #require(try await t.send(.GET, "/api/v1/audit-log?limit=2&before=\(next)", token: admin).json["entries"] as? [[String: Any]])
            #expect(second.map { $0["action"] as? String } == ["agent.create", "agent.password_reset"])

            // Append-only, enforced by the database.
            let sql = try t.sql()
            await #expect(throws: (any Error).self) { try await sql.raw("UPDATE audit_log SET actor = 'nobody'").run() }
            await #expect(throws: (any Error).self) { try await sql.raw("DELETE FROM audit_log").run() }
            #expect(try await AuditLogRecord.query(on: t.app.db).count() == 5)

            // The console page: admins only, linked from the navigation, user text inert.
            let page = try await t.send(.GET, "/console/audit-log", token: admin)
            #expect(page.status == .ok)
            let html = page.body.string
            #expect(html.contains("href=\"/console/audit-log\""), "linked from the navigation")
            #expect(html.contains("agent.update") && html.contains("agent:\(agentID)"))
            #expect(!html.contains(hostile) && html.contains("&lt;script&gt;"), "the hostile title is shown as text")
            let filtered = try await t.send(.GET, "/console/audit-log?action=agent.update", token: admin).body.string
            #expect(filtered.contains("agent:\(agentID)") && !filtered.contains("hostile_title"))
            #expect(try await t.send(.GET, "/console/audit-log", token: supervisor).status == .forbidden)
            #expect(!(try await t.send(.GET, "/console", token: supervisor).body.string.contains("/console/audit-log")))
        }
    }

    // MARK: Retention

    @Test("retention anonymises conversations untouched for longer than the setting, by the injected clock; figures stay",
          arguments: TestDatabase.available)
    func retention(database: TestDatabase) async throws {
        let clock = ManualClock(Date(timeIntervalSince1970: 1_790_000_000))
        try await TestApp.with(database, model: false, clock: clock) { t in
            // setup: an old resolved conversation with a label and a rating, an old one waiting for a person.
            let supervisor = try await t.login("supervisor@demo.tandem")
            let old = try await t.send(.POST, "/api/v1/conversations", json: ["name": "Olga Oldfield", "email": "olga@example.com"]).json
            let oldID = try #require((old["conversation"] as? [String: Any])?["id"] as? String)
            let oldToken = try #require(old["token"] as? String)
            _ = try await t.say("Please help Olga with the Marrowgate invoice", in: (oldID, oldToken))  // no model: handed off
            #expect(try await t.send(.POST, "/api/v1/agent/conversations/\(oldID)/claim", token: supervisor).status == .ok)
            #expect(try await t.send(.POST, "/api/v1/agent/conversations/\(oldID)/messages", json: ["text": "Done, Olga.", "intent": "statements_receipts"],
                                     token: supervisor).status == .created)
            #expect(try await t.send(.POST, "/api/v1/agent/conversations/\(oldID)/resolve", token: supervisor).status == .ok)
            #expect(try await t.send(.POST, "/api/v1/conversations/\(oldID)/rating", json: RatingBody(score: 4, comment: "Olga is pleased"),
                                     token: oldToken).status == .ok)
            let waiting = try await t.startConversation(name: "Walter Waiting")
            _ = try await t.say("I need a person about the Marrowgate invoice", in: waiting)
            let conversationsBefore = try await ConversationRecord.query(on: t.app.db).count()

            // Without a setting nothing happens, however old.
            clock.advance(by: 40 * 86_400)
            await BackgroundTasks.housekeepingPass(app: t.app)
            #expect(try await ConversationRecord.find(UUID(uuidString: oldID), on: t.app.db)?.customerName == "Olga Oldfield")

            // act: 30 days; a fresh conversation from today stays.
            let admin = try await t.login("admin@demo.tandem")
            var settings = try await t.app.tandem.settings(on: t.app.db)
            settings.retentionDays = 30
            #expect(try await t.send(.PUT, "/api/v1/workspace", json: AdminController.WorkspaceDTO(name: "Fernpay", settings: settings), token: admin).status == .ok)
            let fresh = try await t.send(.POST, "/api/v1/conversations", json: ["name": "Fiona Fresh", "email": "fiona@example.com"]).json
            let freshID = try #require((fresh["conversation"] as? [String: Any])?["id"] as? String)
            clock.advance(by: 29 * 86_400)
            await BackgroundTasks.housekeepingPass(app: t.app)

            // validate
            let anonymised = try #require(try await ConversationRecord.find(UUID(uuidString: oldID), on: t.app.db))
            #expect(anonymised.customerName == nil && anonymised.customerEmail == nil && anonymised.ratingComment == nil)
            #expect(anonymised.customerKey.hasPrefix("anon:") && anonymised.anonymisedAt == clock.now)
            #expect(anonymised.rating == 4 && anonymised.status == .resolved && anonymised.humanInvolved, "what the figures need stays")
            let texts = try await MessageRecord.query(on: t.app.db).filter(\.$conversation.$id == anonymised.requireID()).all().map(\.text)
            #expect(!texts.isEmpty && texts.allSatisfy { $0 == Privacy.retainedText })
            #expect(try await LabelRecord.query(on: t.app.db).filter(\.$conversationID == anonymised.requireID()).count() == 0)
            #expect(try await EventRecord.query(on: t.app.db).filter(\.$conversationID == anonymised.requireID()).count() == 0)
            for text in ["Olga", "olga@example.com"] {
                #expect(try await Self.occurrences(of: text, in: t) == [], "\(text) is gone")
            }
            #expect(try await ConversationRecord.find(UUID(uuidString: freshID), on: t.app.db)?.customerName == "Fiona Fresh", "younger than 30 days")
            #expect(try await ConversationRecord.find(UUID(uuidString: waiting.id), on: t.app.db)?.customerName == "Walter Waiting",
                    "waiting for a person: kept, however old")
            #expect(try await ConversationRecord.query(on: t.app.db).count() == conversationsBefore + 1, "anonymised, not deleted")

            // Once only, and in the audit log as the system's action.
            await BackgroundTasks.housekeepingPass(app: t.app)
            let admin2 = try await t.login("admin@demo.tandem")  // the first session ended days ago
            let log = try #require(try await t.send(.GET, "/api/v1/audit-log?action=retention.anonymise", token: admin2).json["entries"] as? [[String: Any]])
            #expect(log.count == 1)
            #expect(log.first?["actor"] as? String == "system")
            #expect(((log.first?["after"] as? [String: Any])?["conversations"] as? [String]) == [oldID])

            // Later, the fresh one goes too.
            clock.advance(by: 2 * 86_400)
            await BackgroundTasks.housekeepingPass(app: t.app)
            #expect(try await ConversationRecord.find(UUID(uuidString: freshID), on: t.app.db)?.customerName == nil)
        }
    }

    // MARK: Customer keys

    @Test("customer keys are HMACs under the server secret; old SHA-256 keys are upgraded", arguments: TestDatabase.available)
    func customerKeys(database: TestDatabase) async throws {
        let secret = String(repeating: "s3cr3t-", count: 6)
        try await TestApp.with(database, model: false, adjust: { $0.secretKey = secret }) { t in
            let created = try await t.send(.POST, "/api/v1/conversations", json: ["name": "Kay", "email": " Kay@Example.COM "]).json
            let id = try #require(UUID(uuidString: (created["conversation"] as? [String: Any])?["id"] as? String ?? ""))
            let stored = try #require(try await ConversationRecord.find(id, on: t.app.db))
            let mac = HMAC<SHA256>.authenticationCode(for: Data("kay@example.com".utf8), using: SymmetricKey(data: Data(secret.utf8)))
            #expect(stored.customerKey == "hmac:" + Data(mac).map { String(format: "%02x", $0) }.joined())
            #expect(stored.customerKey != "hmac:" + Secrets.digest("kay@example.com") && !stored.customerKey.contains(Secrets.digest("kay@example.com")))
            #expect(CustomerKeys(secret: "another secret, thirty-two characters").key(email: "kay@example.com") != stored.customerKey)

            // A row from before: the unkeyed digest. The start-up upgrade rewrites it, once.
            try await ConversationRecord.setCustomerKey("email:" + Secrets.digest("kay@example.com"), of: id, on: t.app.db)
            let keys = try t.app.tandem.customerKeys
            #expect(try await keys.upgradeLegacyKeys(on: t.app.db) == 1)
            #expect(try await ConversationRecord.find(id, on: t.app.db)?.customerKey == stored.customerKey)
            #expect(try await keys.upgradeLegacyKeys(on: t.app.db) == 0)
        }
        #expect(TandemEnvironment(["TANDEM_SECRET_KEY": secret]).secretKey == secret)
        #expect(TandemEnvironment([:]).secretKey == nil)
        // Without one, the server generates a secret once and keeps it in the database.
        try await TestApp.with(.sqlite, model: false) { t in
            let first = try await CustomerKeys.load(environment: t.app.tandem.environment, on: t.app.db).key(email: "a@b.c")
            let again = try await CustomerKeys.load(environment: t.app.tandem.environment, on: t.app.db).key(email: "a@b.c")
            let serving = try t.app.tandem.customerKeys.key(email: "a@b.c")
            #expect(first == again && first == serving)
        }
    }
}
