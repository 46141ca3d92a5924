import Fluent
import Foundation
import Vapor

/// Data-subject requests (find, export, erase one customer) and the audit log of admin
/// actions. Admins only; every export and erasure is itself in the audit log.
struct PrivacyController: RouteCollection {
    func boot(routes: RoutesBuilder) throws {
        let admin = routes.grouped("api", "v1").grouped(RoleGuard(role: .admin))
        // A POST, so that an e-mail address never sits in a URL (and so in access logs).
        admin.post("customers", "search", use: search)
        admin.get("customers", ":key", "export", use: export)
        admin.delete("customers", ":key", use: erase)
        admin.get("audit-log", use: auditLog)
    }

    struct SearchBody: Decodable {
        var email: String?
        var conversationID: UUID?
    }

    func search(_ req: Request) async throws -> [Privacy.CustomerSummary] {
        let body = try req.decoded(SearchBody.self)
        guard body.email != nil || body.conversationID != nil else { throw AppError.missingField("email") }
        return try await Privacy.find(email: body.email, conversationID: body.conversationID, keys: try req.tandem.customerKeys, on: req.db)
    }

    /// Everything stored about the customer, as one JSON document.
    func export(_ req: Request) async throws -> Response {
        let key = try customerKey(req)
        let export = try await Privacy.export(key: key, now: req.tandem.clock.now, on: req.db)
        struct Exported: Encodable { var conversations: Int }
        // Logged before the data leaves: an export that could not be logged is not given.
        try await AuditLog.record(.customerExport, by: try req.agent, target: "customer:\(key)",
                                  after: Exported(conversations: export.conversations.count), on: req.db)
        let response = try await export.encodeResponse(for: req)
        response.headers.contentDisposition = .init(.attachment, filename: "tandem-customer-export.json")
        return response
    }

    /// Erases the customer; the report says what went and what it means for the model.
    func erase(_ req: Request) async throws -> Privacy.EraseReport {
        let key = try customerKey(req)
        var report = try await Privacy.erase(key: key, by: try req.agent, on: req.db)
        if report.labels > 0 {
            // Their labels are gone, so the next training set is without them; train it now.
            if try await ModelLifecycle.requestTraining(reason: "customer data erased", at: req.tandem.clock.now, on: req.db) {
                req.application.jobs?.poke()
            }
            report.model.retrainQueued = true
        }
        // This node serves the redacted texts at once; the others on their next check (revision).
        try await ModelLifecycle.sync(app: req.application)
        report.model.note = switch (report.labels > 0, report.modelVersionsRedacted > 0) {
        case (true, true):
            "Their texts are gone from every stored model version. The serving model still holds the embeddings (numbers, not text) of their labelled messages until the queued retrain, which no longer sees them, replaces it."
        case (true, false):
            "Their labelled messages are no longer training data; the queued retrain runs without them. No stored model had learnt from them."
        default:
            "None of their messages was training data; no model holds anything of theirs."
        }
        return report
    }

    /// `GET /api/v1/audit-log?actor=E&action=A&before=ID&limit=N`: newest first.
    func auditLog(_ req: Request) async throws -> AuditLog.PageDTO {
        func integer(_ name: String) throws -> Int? {
            guard let text = req.query[String.self, at: name] else { return nil }
            guard let value = Int(text) else { throw AppError.invalidField(name, "an integer") }
            return value
        }
        return try await AuditLog.page(actor: req.query[String.self, at: "actor"], action: req.query[String.self, at: "action"],
                                       before: try integer("before"), limit: try integer("limit") ?? 50, on: req.db)
    }

    private func customerKey(_ req: Request) throws -> String {
        guard let key = req.parameters.get("key"), CustomerKeys.isWellFormed(key) else { throw AppError.notFound("Customer") }
        return key
    }
}
