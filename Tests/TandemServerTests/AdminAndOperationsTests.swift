import Fluent
import Foundation
import NIOConcurrencyHelpers
@testable import TandemServer
import Testing
import VaporTesting

/// Knowledge base, workspace, agents, models, webhooks and the operational endpoints.
@Suite("Admin and operations", .serialized)
struct AdminAndOperationsTests {
    @Test("knowledge base: create, edit, examples, delete; export and re-import round-trips", arguments: TestDatabase.available)
    func knowledgeBase(database: TestDatabase) async throws {
        try await TestApp.with(database, model: false) { t in
            let token = try await t.login("supervisor@demo.tandem")
            let list = try await t.send(.GET, "/api/v1/intents", token: token)
            #expect(list.status == .ok)
            let demoCount = list.jsonArray.count
            #expect(demoCount >= 40, "the demo workspace has at least 40 intents")

            let created = try await t.send(.POST, "/api/v1/intents", json: [
                "key": "pet_insurance", "title": "Pet insurance", "answer": "We do not offer pet insurance.",
            ], token: token)
            #expect(created.status == .created, "\(created.body.string)")
            // A new intent starts in shadow mode: people answer with the AI's draft until their
            // labels prove the target; then it answers as its automation mode says.
            #expect(created.json["shadow"] as? Bool == true, "\(created.body.string)")
            #expect(created.json["automation"] as? String == "auto", "\(created.body.string)")
            let duplicate = try await t.send(.POST, "/api/v1/intents", json: ["key": "pet_insurance", "title": "Again", "answer": "x"], token: token)
            #expect(duplicate.status == .conflict)
            let badKey = try await t.send(.POST, "/api/v1/intents", json: ["key": "Not A Key!", "title": "T", "answer": "A"], token: token)
            #expect(badKey.status == .badRequest)
            #expect((badKey.json["error"] as? [String: Any])?["field"] as? String == "key")

            let example = try await t.send(.POST, "/api/v1/intents/pet_insurance/examples", json: ["text": "do you insure dogs"], token: token)
            #expect(example.status == .created, "\(example.body.string)")
            let shown = try await t.send(.GET, "/api/v1/intents/pet_insurance", token: token)
            #expect(shown.body.string.contains("do you insure dogs"))

            let updated = try await t.send(.PUT, "/api/v1/intents/pet_insurance", json: UpdateIntent(title: "Pet cover", answer: "No pet cover, sorry.", sensitive: true, automation: "off"), token: token)
            #expect(updated.status == .ok, "\(updated.body.string)")
            #expect(updated.json["sensitive"] as? Bool == true)
            #expect(updated.json["automation"] as? String == "off")

            // Export → delete → import restores it.
            let export = try await t.send(.GET, "/api/v1/knowledge-base/export?format=json", token: token)
            #expect(export.status == .ok)
            let csv = try await t.send(.GET, "/api/v1/knowledge-base/export?format=csv", token: token)
            #expect(csv.body.string.contains("pet_insurance"))
            let value1 = try await t.send(.DELETE, "/api/v1/intents/pet_insurance", token: token).status
            #expect(value1 == .noContent)
            let value2 = try await t.send(.GET, "/api/v1/intents/pet_insurance", token: token).status
            #expect(value2 == .notFound)
            let imported = try await t.send(.POST, "/api/v1/knowledge-base/import", body: export.body.string, token: token)
            #expect(imported.status == .ok, "\(imported.body.string)")
            #expect(imported.json["created"] as? Int == 1)
            let restored = try await t.send(.GET, "/api/v1/intents/pet_insurance", token: token)
            #expect(restored.json["title"] as? String == "Pet cover")
            #expect(restored.json["shadow"] as? Bool == true, "an imported intent is new to the workspace")
            #expect(restored.body.string.contains("do you insure dogs"))

            // A CSV import with a broken row names the row and stores nothing.
            let before = try await IntentRecord.query(on: t.app.db).count()
            let broken = try await t.send(.POST, "/api/v1/knowledge-base/import?format=csv",
                                          body: "key,title,answer,sensitive,automation,example\nok_one,OK,Fine,false,auto,hello\nBAD KEY,x,y,false,auto,z\n",
                                          contentType: "text/csv", token: token)
            #expect(broken.status == .badRequest, "\(broken.body.string)")
            #expect(broken.body.string.contains("line 3"), "the error names the line: \(broken.body.string)")
            let value3 = try await IntentRecord.query(on: t.app.db).count()
            #expect(value3 == before)
        }
    }

    struct UpdateIntent: Encodable, Sendable {
        var title: String
        var answer: String
        var sensitive: Bool
        var automation: String
    }

    @Test("workspace settings are validated", arguments: TestDatabase.available)
    func workspaceSettings(database: TestDatabase) async throws {
        try await TestApp.with(database, model: false) { t in
            let admin = try await t.login("admin@demo.tandem")
            let current = try await t.send(.GET, "/api/v1/workspace", token: admin)
            #expect(current.status == .ok)
            var settings = try #require(current.json["settings"] as? [String: Any])
            settings["targetRisk"] = 1.5
            let body = try JSONSerialization.data(withJSONObject: ["name": "Fernpay", "settings": settings])
            let bad = try await t.send(.PUT, "/api/v1/workspace", body: String(decoding: body, as: UTF8.self), token: admin)
            #expect(bad.status == .badRequest, "\(bad.body.string)")
            settings["targetRisk"] = 0.02
            let good = try JSONSerialization.data(withJSONObject: ["name": "Fernpay", "settings": settings])
            let ok = try await t.send(.PUT, "/api/v1/workspace", body: String(decoding: good, as: UTF8.self), token: admin)
            #expect(ok.status == .ok, "\(ok.body.string)")
            let value4 = try await t.app.tandem.workspace(on: t.app.db).settings.targetRisk
            #expect(value4 == 0.02)
        }
    }

    @Test("health, readiness, Prometheus metrics, OpenAPI document covering every API route", arguments: TestDatabase.available)
    func operations(database: TestDatabase) async throws {
        try await TestApp.with(database) { t in
            let health = try await t.send(.GET, "/health")
            #expect(health.status == .ok)
            // Every response names its request: the server's id, or a plain one the caller gave.
            let own = try #require(health.headers.first(name: "X-Request-ID"))
            #expect(!own.isEmpty)
            let given = try await t.send(.GET, "/health", headers: ["X-Request-ID": "edge-7f3a.1"])
            #expect(given.headers.first(name: "X-Request-ID") == "edge-7f3a.1")
            let hostile = try await t.send(.GET, "/nope", headers: ["X-Request-ID": "a b\"<script>"])
            #expect(hostile.status == .notFound)
            let replaced = try #require(hostile.headers.first(name: "X-Request-ID"))
            #expect(replaced != "a b\"<script>" && RequestIDMiddleware.isPlain(replaced), "error responses carry an id too")
            let ready = try await t.send(.GET, "/ready")
            #expect(ready.status == .ok)
            #expect(ready.json["ready"] as? Bool == true)
            let c = try await t.startConversation()
            _ = try await t.say("hello there", in: c)
            _ = try await t.say("I want to speak to a human", in: c)
            let metrics = try await t.send(.GET, "/metrics")
            #expect(metrics.status == .ok)
            let text = metrics.body.string
            let lines = Set(text.split(separator: "\n").map(String.init))
            #expect(lines.contains("# TYPE tandem_customer_messages_total counter"), "\(text.prefix(800))")
            let node = "node=\"\(t.app.tandem.environment.nodeID)\""
            #expect(lines.contains("tandem_customer_messages_total{\(node)} 2"), "two messages were sent: \(text.prefix(800))")
            // "hello there" waits for what follows it; with the request for a person it is one
            // decision, a hand-off, and the conversation waits in the queue.
            #expect(lines.contains("tandem_decision_latency_seconds_count{\(node)} 1"), "\(text.prefix(800))")
            #expect(lines.contains("tandem_decisions_total{\(node),action=\"hand-off\",rule=\"asked-for-human\"} 1"), "\(text.prefix(800))")
            #expect(lines.contains("tandem_handoffs_total{\(node),rule=\"asked-for-human\"} 1"), "\(text.prefix(800))")
            #expect(lines.contains("tandem_queue_waiting 1.0"))
            #expect(lines.contains("tandem_model_loaded{\(node)} 1.0"))
            // The model's batches as the executor counted them, and a second scrape adds nothing.
            let ran = t.app.tandem.intelligence.executor.batches
            #expect(ran.items >= 1, "the request for a person was read by the model")
            let batchLines = ["tandem_inference_batches_total{\(node)} \(ran.batches)", "tandem_inference_texts_total{\(node)} \(ran.items)"]
            #expect(batchLines.allSatisfy(lines.contains), "\(batchLines): \(text.prefix(1200))")
            let again = Set(try await t.send(.GET, "/metrics").body.string.split(separator: "\n").map(String.init))
            #expect(batchLines.allSatisfy(again.contains), "a second scrape counts the same batches")
            // Every metric says what it measures.
            let types = lines.filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] }
            #expect(!types.isEmpty)
            for name in types { #expect(lines.contains { $0.hasPrefix("# HELP \(name) ") }, "no HELP line for \(name)") }

            let openapi = try await t.send(.GET, "/api/v1/openapi.json")
            #expect(openapi.status == .ok)
            #expect((openapi.json["openapi"] as? String)?.hasPrefix("3.") == true)
            let paths = try #require(openapi.json["paths"] as? [String: [String: Any]])
            // Every registered API route is documented, with its method.
            for route in t.app.routes.all {
                let path = "/" + route.path.map { component -> String in
                    if case .parameter(let name) = component { return "{\(name)}" }
                    return component.description
                }.joined(separator: "/")
                guard path.hasPrefix("/api/v1") || ["/health", "/ready", "/metrics"].contains(path) else { continue }
                #expect(paths[path]?[route.method.rawValue.lowercased()] != nil, "OpenAPI lacks \(route.method) \(path)")
            }
        }
    }

    @Test("webhooks: handoff and resolve are delivered, signed with HMAC-SHA256", arguments: TestDatabase.available)
    func webhooks(database: TestDatabase) async throws {
        // A real HTTP receiver on a free port.
        let receiver = try await Application.make(.testing)
        let received = NIOLockedValueBox<[(event: String, signature: String, timestamp: String, body: Data)]>([])
        receiver.post("hook") { req -> HTTPStatus in
            let body = req.body.data.map { Data(buffer: $0) } ?? Data()
            received.withLockedValue {
                $0.append((req.headers.first(name: "X-Tandem-Event") ?? "", req.headers.first(name: "X-Tandem-Signature") ?? "",
                           req.headers.first(name: "X-Tandem-Timestamp") ?? "", body))
            }
            return .noContent
        }
        try await receiver.asyncBoot()
        try await receiver.server.start(address: .hostname("127.0.0.1", port: 0))
        do {
            let port = try #require(receiver.http.server.shared.localAddress?.port)
            try await TestApp.with(database, model: false) { t in
                let admin = try await t.login("admin@demo.tandem")
                let hook = try await t.send(.POST, "/api/v1/webhooks", json: WebhookBody(url: "http://127.0.0.1:\(port)/hook", events: ["conversation.handed_off", "conversation.resolved"]), token: admin)
                #expect(hook.status == .created, "\(hook.body.string)")
                // The server generates the secret and shows it once, at creation.
                let secret = try #require(hook.json["secret"] as? String)
                #expect(secret.count >= 32)
                let bad = try await t.send(.POST, "/api/v1/webhooks", json: WebhookBody(url: "ftp://x", events: ["nope"]), token: admin)
                #expect(bad.status == .badRequest)

                let c = try await t.startConversation()
                _ = try await t.send(.POST, "/api/v1/conversations/\(c.id)/handoff", token: c.token)
                let agent = try await t.login()
                _ = try await t.send(.POST, "/api/v1/agent/conversations/\(c.id)/claim", token: agent)
                _ = try await t.send(.POST, "/api/v1/agent/conversations/\(c.id)/resolve", token: agent)
                t.app.jobs?.poke()
                for _ in 0..<100 where received.withLockedValue({ $0.count }) < 2 { try await Task.sleep(for: .milliseconds(100)) }
                let deliveries = received.withLockedValue { $0 }
                #expect(deliveries.map(\.event).sorted() == ["conversation.handed_off", "conversation.resolved"])
                for delivery in deliveries {
                    // Verify the way a receiver would: HMAC of "<timestamp>.<body>".
                    var message = Data("\(delivery.timestamp).".utf8)
                    message.append(delivery.body)
                    let mac = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Data(secret.utf8)))
                    #expect(delivery.signature == "sha256=" + Data(mac).map { String(format: "%02x", $0) }.joined())
                    #expect(String(decoding: delivery.body, as: UTF8.self).contains(c.id))
                }
            }
        } catch {
            await receiver.server.shutdown()
            try? await receiver.asyncShutdown()
            throw error
        }
        await receiver.server.shutdown()
        try await receiver.asyncShutdown()
    }

    struct WebhookBody: Encodable, Sendable {
        var url: String
        var events: [String]
    }

    @Test("models: the API lists versions and queues a retrain that activates a new one", .enabled(if: Shared.hasModel || TestDatabase.isCI, "needs the model"),
          arguments: TestDatabase.available)
    func models(database: TestDatabase) async throws {
        try await TestApp.with(database) { t in
            let token = try await t.login("supervisor@demo.tandem")
            let before = try await t.send(.GET, "/api/v1/models", token: token)
            #expect(before.jsonArray.count == 1)
            #expect(before.jsonArray.first?["status"] as? String == "active")
            let queued = try await t.send(.POST, "/api/v1/models/train", token: token)
            #expect(queued.status == .accepted, "\(queued.body.string)")
            t.app.jobs?.poke()
            var versions: [[String: Any]] = []
            for _ in 0..<600 {
                versions = try await t.send(.GET, "/api/v1/models", token: token).jsonArray
                if versions.contains(where: { $0["status"] as? String == "active" }) && versions.count == 2 && !versions.contains(where: { $0["status"] as? String == "training" }) { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(versions.count == 2, "\(versions)")
            #expect(versions.filter { $0["status"] as? String == "active" }.count == 1)
            // Roll back to the first version.
            let old = try #require(versions.first { $0["status"] as? String != "active" }?["id"] as? String)
            let rollback = try await t.send(.POST, "/api/v1/models/\(old)/activate", token: token)
            #expect(rollback.status == .ok)
            let after = try await t.send(.GET, "/api/v1/models", token: token).jsonArray
            #expect(after.first { $0["id"] as? String == old }?["status"] as? String == "active")
        }
    }
}
