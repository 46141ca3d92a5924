import Fluent
import Foundation
import Vapor

/// Outgoing webhooks, delivered by the job queue with retries. Each request carries
/// `X-Tandem-Event`, `X-Tandem-Timestamp` and `X-Tandem-Signature: sha256=<HMAC-SHA256 of
/// "<timestamp>.<body>" with the subscription's secret>`, so receivers can verify origin and
/// reject replays.
enum Webhooks {
    struct Delivery: Codable {
        var webhookID: UUID
        var event: WebhookEvent
        var body: String
    }

    struct Body<T: Encodable>: Encodable {
        var event: WebhookEvent
        var createdAt: Date
        var data: T
    }

    /// Queues a delivery for every active subscription to `event` (inside the caller's transaction).
    static func enqueue(event: WebhookEvent, conversation: ConversationDTO, at now: Date, on db: Database) async throws {
        let hooks = try await WebhookRecord.query(on: db).filter(\.$active == true).all().filter { $0.eventList.contains(event) }
        guard !hooks.isEmpty else { return }
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        let body = String(decoding: try encoder.encode(Body(event: event, createdAt: now, data: conversation)), as: UTF8.self)
        for hook in hooks {
            try await JobQueue.enqueue(.webhook, payload: Delivery(webhookID: try hook.requireID(), event: event, body: body), runAt: now, on: db)
        }
    }

    static func deliver(_ job: JobRecord, app: Application) async throws {
        let delivery = try JSONDecoder().decode(Delivery.self, from: Data(job.payload.utf8))
        guard let hook = try await WebhookRecord.find(delivery.webhookID, on: app.db), hook.active else { return }
        let timestamp = Int(app.tandem.clock.now.timeIntervalSince1970)
        let body = Data(delivery.body.utf8)
        var headers = HTTPHeaders()
        headers.contentType = .json
        headers.add(name: "X-Tandem-Event", value: delivery.event.rawValue)
        headers.add(name: "X-Tandem-Timestamp", value: String(timestamp))
        headers.add(name: "X-Tandem-Signature", value: Secrets.signature(body: body, secret: hook.secret, timestamp: timestamp))
        headers.add(name: "X-Tandem-Delivery", value: job.id?.uuidString ?? UUID().uuidString)
        let response = try await app.client.post(URI(string: hook.url), headers: headers) { request in
            request.body = ByteBuffer(data: body)
        }
        guard (200..<300).contains(response.status.code) else {
            throw AppError.unavailable("webhook \(hook.url) answered \(response.status.code)")
        }
        app.tandem.metrics.webhookDelivered(delivery.event)
    }
}
