import Fluent
import Foundation
import TandemCore
import Vapor

/// Knowledge base: intents, approved answers, examples; import and export.
struct KnowledgeBaseController: RouteCollection {
    func boot(routes: RoutesBuilder) throws {
        let api = routes.grouped("api", "v1")
        let read = api.grouped(RoleGuard(role: .agent))
        read.get("intents", use: list)
        read.get("intents", ":key", use: show)
        let write = api.grouped(RoleGuard(role: .supervisor))
        write.post("intents", use: create)
        write.put("intents", ":key", use: update)
        write.delete("intents", ":key", use: delete)
        write.post("intents", ":key", "examples", use: addExample)
        write.delete("intents", ":key", "examples", ":exampleID", use: deleteExample)
        write.get("knowledge-base", "export", use: export)
        write.on(.POST, "knowledge-base", "import", body: .collect(maxSize: "8mb"), use: importDocument)
    }

    func list(_ req: Request) async throws -> [IntentDTO] {
        try await IntentRecord.allWithExamples(on: req.db).map(IntentDTO.init)
    }

    func show(_ req: Request) async throws -> IntentDTO { IntentDTO(try await intent(req)) }

    struct IntentBody: Decodable {
        var key: String?
        var title: String
        var answer: String
        var sensitive: Bool?
        var automation: String?
        var examples: [String]?
    }

    func create(_ req: Request) async throws -> Response {
        let body = try req.decoded(IntentBody.self)
        guard let key = body.key else { throw AppError.missingField("key") }
        guard KnowledgeBaseDocument.isValidKey(key) else { throw AppError.invalidField("key", "1–64 lower-case letters, digits or _") }
        if try await IntentRecord.find(key: key, on: req.db) != nil {
            throw AppError.conflict("An intent with key '\(key)' exists already.")
        }
        // New intents start in shadow mode: people answer with the AI's drafts until their labels
        // prove the target; then the intent answers as `automation` says.
        let document = KnowledgeBaseDocument(name: nil, description: nil, settings: nil, intents: [.init(
            key: key, title: body.title, answer: body.answer, sensitive: body.sensitive ?? false,
            automation: body.automation ?? AutomationMode.auto.rawValue, examples: body.examples ?? [])])
        _ = try await document.apply(to: req.db, maxExample: req.tandem.environment.maxMessageCharacters, newIntentsInShadow: true)
        let created = try await IntentRecord.require(key: key, withExamples: true, on: req.db)
        try await AuditLog.record(.intentCreate, by: try req.agent, target: "intent:\(key)", after: IntentDTO(created), on: req.db)
        try await changed(req)
        return try await IntentDTO(created).encodeResponse(status: .created, for: req)
    }

    func update(_ req: Request) async throws -> IntentDTO {
        let existing = try await intent(req)
        let body = try req.decoded(IntentBody.self)
        if let key = body.key, key != existing.key { throw AppError.invalidField("key", "the key cannot be changed (create a new intent)") }
        let document = KnowledgeBaseDocument(name: nil, description: nil, settings: nil, intents: [.init(
            key: existing.key, title: body.title, answer: body.answer, sensitive: body.sensitive ?? existing.sensitive,
            automation: body.automation ?? existing.automation.rawValue, examples: body.examples ?? [])])
        _ = try await document.apply(to: req.db, maxExample: req.tandem.environment.maxMessageCharacters)
        let updated = IntentDTO(try await intent(req))
        try await AuditLog.record(.intentUpdate, by: try req.agent, target: "intent:\(existing.key)", before: IntentDTO(existing), after: updated, on: req.db)
        if body.examples != nil { try await changed(req) }
        return updated
    }

    func delete(_ req: Request) async throws -> HTTPStatus {
        let intent = try await intent(req)
        let actor = try req.agent
        try await req.db.writeTransaction { db in
            try await intent.delete(on: db)
            try await AuditLog.record(.intentDelete, by: actor, target: "intent:\(intent.key)", before: IntentDTO(intent), on: db)
        }
        try await changed(req)
        return .noContent
    }

    struct ExampleBody: Decodable { var text: String }

    func addExample(_ req: Request) async throws -> Response {
        let intent = try await intent(req)
        let body = try req.decoded(ExampleBody.self)
        let text = body.text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { throw AppError.invalidField("text", "must not be empty") }
        guard text.count <= req.tandem.environment.maxMessageCharacters else {
            throw AppError.tooLarge(limit: req.tandem.environment.maxMessageCharacters, what: "The example")
        }
        let example = ExampleRecord(intentID: try intent.requireID(), text: text)
        let actor = try req.agent
        try await req.db.writeTransaction { db in
            try await example.create(on: db)
            try await AuditLog.record(.exampleAdd, by: actor, target: "intent:\(intent.key)", after: ExampleDTO(id: example.id, text: example.text), on: db)
        }
        try await changed(req)
        return try await ExampleDTO(id: example.id, text: example.text).encodeResponse(status: .created, for: req)
    }

    func deleteExample(_ req: Request) async throws -> HTTPStatus {
        let intent = try await intent(req)
        guard let id = req.parameters.get("exampleID", as: UUID.self),
              let example = try await ExampleRecord.find(id, of: intent, on: req.db) else {
            throw AppError.notFound("Example")
        }
        let actor = try req.agent
        try await req.db.writeTransaction { db in
            try await example.delete(on: db)
            try await AuditLog.record(.exampleDelete, by: actor, target: "intent:\(intent.key)", before: ExampleDTO(id: example.id, text: example.text), on: db)
        }
        try await changed(req)
        return .noContent
    }

    func export(_ req: Request) async throws -> Response {
        let document = try await KnowledgeBaseDocument.export(from: req.db)
        let format = (try? req.query.get(String.self, at: "format")) ?? "json"
        switch format {
        case "csv":
            var headers = HTTPHeaders()
            headers.contentType = HTTPMediaType(type: "text", subType: "csv", parameters: ["charset": "utf-8"])
            headers.contentDisposition = .init(.attachment, filename: "knowledge-base.csv")
            return Response(status: .ok, headers: headers, body: .init(string: document.csv))
        case "json":
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            var headers = HTTPHeaders()
            headers.contentType = .json
            headers.contentDisposition = .init(.attachment, filename: "knowledge-base.json")
            return Response(status: .ok, headers: headers, body: .init(data: try encoder.encode(document)))
        default:
            throw AppError.invalidField("format", "json or csv")
        }
    }

    struct ImportResult: Content {
        var created: Int
        var updated: Int
        var examplesAdded: Int
    }

    /// JSON (the export's shape) or CSV (`?format=csv` or a text/csv body).
    func importDocument(_ req: Request) async throws -> ImportResult {
        let isCSV = (try? req.query.get(String.self, at: "format")) == "csv" || req.headers.contentType?.subType == "csv"
        let document: KnowledgeBaseDocument
        if isCSV {
            guard let body = req.body.data, let text = String(data: Data(buffer: body), encoding: .utf8) else {
                throw AppError.invalidField("body", "CSV must be UTF-8 text")
            }
            guard !text.contains("\0") else { throw AppError.invalidField("body", "the CSV contains a NUL character (U+0000)") }
            document = try KnowledgeBaseDocument(csv: text)
        } else {
            document = try req.decoded(KnowledgeBaseDocument.self)
        }
        let result = try await document.apply(to: req.db, maxExample: req.tandem.environment.maxMessageCharacters, newIntentsInShadow: true)
        let imported = ImportResult(created: result.created, updated: result.updated, examplesAdded: result.examples)
        struct Imported: Encodable { var intents: [String]; var result: ImportResult }
        try await AuditLog.record(.knowledgeBaseImport, by: try req.agent, target: "knowledge-base",
                                  after: Imported(intents: document.intents.map(\.key), result: imported), on: req.db)
        try await changed(req)
        return imported
    }

    private func intent(_ req: Request) async throws -> IntentRecord {
        guard let key = req.parameters.get("key") else { throw AppError.notFound("Intent") }
        return try await IntentRecord.require(key: key, withExamples: true, on: req.db)
    }

    /// Examples changed: the model is retrained in the background (the current one keeps serving).
    private func changed(_ req: Request) async throws {
        if try await ModelLifecycle.requestTraining(reason: "knowledge base changed", at: req.tandem.clock.now, on: req.db) { req.application.jobs?.poke() }
    }
}

extension IntentDTO {
    init(_ i: IntentRecord) {
        self.init(key: i.key, title: i.title, answer: i.answer, sensitive: i.sensitive, automation: i.automation, shadow: i.shadow,
                  examples: (i.$examples.value ?? []).sorted { ($0.createdAt ?? .distantPast) < ($1.createdAt ?? .distantPast) }.map { ExampleDTO(id: $0.id, text: $0.text) })
    }
}

/// Workspace settings, agents, model versions, webhooks.
struct AdminController: RouteCollection {
    func boot(routes: RoutesBuilder) throws {
        let api = routes.grouped("api", "v1")
        let supervisor = api.grouped(RoleGuard(role: .supervisor))
        let admin = api.grouped(RoleGuard(role: .admin))
        supervisor.get("workspace", use: workspace)
        admin.put("workspace", use: updateWorkspace)
        supervisor.get("agents", use: agents)
        admin.post("agents", use: createAgent)
        admin.patch("agents", ":id", use: updateAgent)
        admin.post("agents", ":id", "password", use: resetPassword)
        admin.delete("agents", ":id", "sessions", use: revokeSessions)
        supervisor.get("models", use: models)
        supervisor.post("models", "train", use: train)
        supervisor.post("models", ":id", "activate", use: activate)
        admin.get("webhooks", use: webhooks)
        admin.post("webhooks", use: createWebhook)
        admin.delete("webhooks", ":id", use: deleteWebhook)
        admin.get("identity-secret", use: identitySecret)
        admin.post("identity-secret", "rotate", use: rotateIdentitySecret)
    }

    /// The secret the host site signs its users' ids with (`IdentityVerification`).
    struct IdentitySecretDTO: Content { var secret: String }

    func identitySecret(_ req: Request) async throws -> IdentitySecretDTO {
        IdentitySecretDTO(secret: try await IdentityVerification.secret(on: req.db))
    }

    func rotateIdentitySecret(_ req: Request) async throws -> IdentitySecretDTO {
        let actor = try req.agent
        let secret = try await req.db.writeTransaction { db in
            let secret = try await IdentityVerification.rotate(on: db)
            // The log says that it changed, never the secret.
            try await AuditLog.record(.identitySecretRotate, by: actor, target: "workspace", after: ["rotated": true], on: db)
            return secret
        }
        return IdentitySecretDTO(secret: secret)
    }

    struct WorkspaceDTO: Content {
        var name: String
        var settings: WorkspaceSettings
    }

    func workspace(_ req: Request) async throws -> WorkspaceDTO {
        let w = try await req.tandem.workspace(on: req.db)
        return WorkspaceDTO(name: w.name, settings: try w.settings)
    }

    func updateWorkspace(_ req: Request) async throws -> WorkspaceDTO {
        let body = try req.decoded(WorkspaceDTO.self)
        if let problem = body.settings.problems.first { throw AppError.invalidField("settings", problem) }
        guard !body.name.isEmpty, body.name.count <= 120 else { throw AppError.invalidField("name", "1–120 characters") }
        let w = try await req.tandem.workspace(on: req.db)
        // Saving is also how an admin repairs settings that no longer decode.
        let old = try? w.settings
        let retrain = old?.targetRisk != body.settings.targetRisk || old?.confidenceLevel != body.settings.confidenceLevel
            || old?.unknownKeepAway != body.settings.unknownKeepAway
        let killSwitchChanged = old?.killSwitch != body.settings.killSwitch
        struct Stored: Encodable { var name: String; var settings: WorkspaceSettings?; var unreadable: Bool? }
        let before = Stored(name: w.name, settings: old, unreadable: old == nil ? true : nil)
        let actor = try req.agent
        try await req.db.writeTransaction { db in
            w.name = body.name
            w.store(body.settings)
            try await w.save(on: db)
            if killSwitchChanged {
                let on = body.settings.killSwitch
                try await GuardrailEventRecord(intent: nil, kind: on ? .killSwitchOn : .killSwitchOff,
                                               evidence: [on ? "every message goes to a person" : "automated answers resume where allowed"],
                                               actor: actor.email).create(on: db)
            }
            try await AuditLog.record(.workspaceUpdate, by: actor, target: "workspace", before: before,
                                      after: Stored(name: body.name, settings: body.settings, unreadable: nil), on: db)
        }
        _ = try await req.tandem.workspace(on: req.db)
        // New targets need thresholds certified for them.
        if retrain, try await ModelLifecycle.requestTraining(reason: "targets changed", at: req.tandem.clock.now, on: req.db) { req.application.jobs?.poke() }
        return WorkspaceDTO(name: w.name, settings: body.settings)
    }

    func agents(_ req: Request) async throws -> [AgentDTO] {
        try await AgentRecord.allByName(on: req.db).map(AgentDTO.init)
    }

    struct CreateAgentBody: Decodable {
        var email: String
        var name: String
        var role: String
        var password: String
        var maxConcurrent: Int?
    }

    func createAgent(_ req: Request) async throws -> Response {
        let body = try req.decoded(CreateAgentBody.self)
        let role = try AgentRole.parse(body.role, field: "role")
        try Accounts.validate(email: body.email, name: body.name, password: body.password)
        // Hashed before the transaction, so the write lock is not held through bcrypt.
        let hash = try await req.password.async.hash(body.password)
        let actor = try req.agent
        let agent = try await req.db.writeTransaction { db in
            let agent = try await Accounts.create(email: body.email, name: body.name, role: role, password: body.password,
                                                  maxConcurrent: body.maxConcurrent, hash: { _ in hash }, on: db)
            try await AuditLog.record(.agentCreate, by: actor, target: "agent:\(try agent.requireID())", after: AgentDTO(agent), on: db)
            return agent
        }
        return try await AgentDTO(agent).encodeResponse(status: .created, for: req)
    }

    struct UpdateAgentBody: Decodable {
        var active: Bool?
        var role: String?
        var maxConcurrent: Int?
    }

    /// Deactivate or reactivate, change the role or the concurrency limit. Deactivation ends
    /// the agent's sessions at once; the last active admin cannot be deactivated or demoted.
    func updateAgent(_ req: Request) async throws -> AgentDTO {
        let agent = try await targetAgent(req)
        let body = try req.decoded(UpdateAgentBody.self)
        let role = try body.role.map { try AgentRole.parse($0, field: "role") }
        if let max = body.maxConcurrent, !(1...50).contains(max) { throw AppError.invalidField("maxConcurrent", "1–50") }
        let losesAdmin = agent.role == .admin && agent.active && (body.active == false || (role != nil && role != .admin))
        if losesAdmin, try await !Accounts.anotherAdminRemains(besides: agent, on: req.db) {
            throw AppError.conflict("\(agent.email) is the last active admin; make another admin first.")
        }
        let before = AgentDTO(agent)
        let admin = try req.agent
        try await req.db.writeTransaction { db in
            if let active = body.active { agent.active = active }
            if let role { agent.role = role }
            if let max = body.maxConcurrent { agent.maxConcurrent = max }
            try await agent.save(on: db)
            if body.active == false { try await Accounts.revokeSessions(of: agent, on: db) }
            try await AuditLog.record(.agentUpdate, by: admin, target: "agent:\(try agent.requireID())", before: before, after: AgentDTO(agent), on: db)
        }
        let actor = admin.email
        req.logger.notice("agent changed", metadata: ["agent": .string(agent.email), "by": .string(actor),
                                                       "active": .stringConvertible(agent.active), "role": .string(agent.role.rawValue)])
        return AgentDTO(agent)
    }

    struct PasswordBody: Decodable { var password: String }

    /// An admin sets a new password for an agent (who forgot theirs); their sessions end.
    func resetPassword(_ req: Request) async throws -> HTTPStatus {
        let agent = try await targetAgent(req)
        let body = try req.decoded(PasswordBody.self)
        try Accounts.validate(password: body.password, field: "password")
        let hash = try await req.password.async.hash(body.password)
        let admin = try req.agent
        try await req.db.writeTransaction { db in
            agent.passwordHash = hash
            try await agent.save(on: db)
            try await Accounts.revokeSessions(of: agent, on: db)
            try await AuditLog.record(.agentPasswordReset, by: admin, target: "agent:\(try agent.requireID())",
                                      after: SessionsEnded(), on: db)
        }
        let actor = admin.email
        req.logger.notice("password reset", metadata: ["agent": .string(agent.email), "by": .string(actor)])
        return .noContent
    }

    /// Signs the agent out everywhere.
    func revokeSessions(_ req: Request) async throws -> HTTPStatus {
        let agent = try await targetAgent(req)
        let admin = try req.agent
        try await req.db.writeTransaction { db in
            try await Accounts.revokeSessions(of: agent, on: db)
            try await AuditLog.record(.agentSessionsRevoke, by: admin, target: "agent:\(try agent.requireID())", after: SessionsEnded(), on: db)
        }
        return .noContent
    }

    /// The audit log's `after` for changes that end an agent's sessions.
    struct SessionsEnded: Encodable { var sessionsRevoked = true }

    private func targetAgent(_ req: Request) async throws -> AgentRecord {
        guard let id = req.parameters.get("id", as: UUID.self), let agent = try await AgentRecord.find(id, on: req.db) else {
            throw AppError.notFound("Agent")
        }
        return agent
    }

    func models(_ req: Request) async throws -> [ModelVersionDTO] {
        try await ModelVersionRecord.summaries(on: req.db)
            .map { ModelVersionDTO(id: $0.id!, version: $0.version, status: $0.status, examples: $0.examples, summary: $0.summary,
                                   error: $0.error, createdAt: $0.createdAt, activatedAt: $0.activatedAt) }
    }

    struct TrainResponse: Content { var queued: Bool }

    func train(_ req: Request) async throws -> Response {
        let queued = try await ModelLifecycle.requestTraining(reason: "requested by \(try req.agent.email)", at: req.tandem.clock.now, on: req.db)
        if queued { req.application.jobs?.poke() }
        try await AuditLog.record(.modelTrain, by: try req.agent, target: "models", after: TrainResponse(queued: queued), on: req.db)
        return try await TrainResponse(queued: queued).encodeResponse(status: .accepted, for: req)
    }

    func activate(_ req: Request) async throws -> HTTPStatus {
        let id = try req.idParameter("Model version")
        try await ModelLifecycle.activate(id, at: req.tandem.clock.now, by: try req.agent, on: req.db)
        try await ModelLifecycle.sync(app: req.application)
        return .ok
    }

    struct WebhookDTO: Content {
        var id: UUID?
        var url: String
        var events: [String]
        var active: Bool?
        /// Shown once, when the webhook is created.
        var secret: String?
    }

    func webhooks(_ req: Request) async throws -> [WebhookDTO] {
        try await WebhookRecord.query(on: req.db).all().map { WebhookDTO(id: $0.id, url: $0.url, events: $0.eventList.map(\.rawValue), active: $0.active, secret: nil) }
    }

    func createWebhook(_ req: Request) async throws -> Response {
        let body = try req.decoded(WebhookDTO.self)
        guard let url = URL(string: body.url), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
            throw AppError.invalidField("url", "an http(s) URL")
        }
        guard !body.events.isEmpty else {
            throw AppError.invalidField("events", "one or more of \(WebhookEvent.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let events = try body.events.map { try WebhookEvent.parse($0, field: "events") }
        let secret = Secrets.token()
        let hook = WebhookRecord(url: body.url, secret: secret, events: events)
        let actor = try req.agent
        try await req.db.writeTransaction { db in
            try await hook.create(on: db)
            // Never the secret.
            try await AuditLog.record(.webhookCreate, by: actor, target: "webhook:\(try hook.requireID())",
                                      after: WebhookDTO(id: hook.id, url: hook.url, events: hook.eventList.map(\.rawValue), active: true, secret: nil), on: db)
        }
        return try await WebhookDTO(id: hook.id, url: hook.url, events: hook.eventList.map(\.rawValue), active: true, secret: secret).encodeResponse(status: .created, for: req)
    }

    func deleteWebhook(_ req: Request) async throws -> HTTPStatus {
        guard let id = req.parameters.get("id", as: UUID.self), let hook = try await WebhookRecord.find(id, on: req.db) else {
            throw AppError.notFound("Webhook")
        }
        let actor = try req.agent
        try await req.db.writeTransaction { db in
            try await hook.delete(on: db)
            try await AuditLog.record(.webhookDelete, by: actor, target: "webhook:\(id)",
                                      before: WebhookDTO(id: hook.id, url: hook.url, events: hook.eventList.map(\.rawValue), active: hook.active, secret: nil), on: db)
        }
        return .noContent
    }
}

/// Liveness, readiness, metrics and the API description.
struct OperationsController: RouteCollection {
    func boot(routes: RoutesBuilder) throws {
        routes.get("health", use: health)
        routes.get("ready", use: ready)
        routes.get("metrics", use: metrics)
        routes.get("api", "v1", "openapi.json", use: openAPI)
    }

    struct Health: Content {
        var status: String
        var node: String
    }

    func health(_ req: Request) async throws -> Health { Health(status: "ok", node: req.tandem.environment.nodeID) }

    struct Readiness: Content {
        var ready: Bool
        var database: Bool
        var model: String?
        var encoder: String
        var fallbackEncoder: Bool
    }

    /// Ready when the database answers; a missing model is reported but not fatal (everything
    /// then goes to people).
    func ready(_ req: Request) async throws -> Response {
        let database = (try? await WorkspaceRecord.query(on: req.db).count()) != nil
        let intelligence = req.tandem.intelligence
        let body = Readiness(ready: database, database: database, model: intelligence.active?.artifact.version,
                             encoder: intelligence.encoder.identifier, fallbackEncoder: intelligence.encoder.isFallback)
        return try await body.encodeResponse(status: database ? .ok : .serviceUnavailable, for: req)
    }

    func metrics(_ req: Request) async throws -> Response {
        let queued = try await ConversationRecord.count(.queued, on: req.db)
        let assigned = try await ConversationRecord.count(.assigned, on: req.db)
        let text = req.tandem.metrics.exposition(queued: queued, assigned: assigned, modelLoaded: req.tandem.intelligence.active != nil,
                                                      inferenceWaiting: req.tandem.intelligence.executor.waiting,
                                                      inferenceBatches: req.tandem.intelligence.executor.batches)
        var headers = HTTPHeaders()
        headers.contentType = HTTPMediaType(type: "text", subType: "plain", parameters: ["version": "0.0.4", "charset": "utf-8"])
        return Response(status: .ok, headers: headers, body: .init(string: text))
    }

    func openAPI(_ req: Request) async throws -> Response {
        let url = try resourcesDirectory().appendingPathComponent("openapi.json")
        var headers = HTTPHeaders()
        headers.contentType = .json
        return Response(status: .ok, headers: headers, body: .init(data: try Data(contentsOf: url)))
    }
}
