import Fluent
import Foundation
import TandemMail
import Vapor

/// E-mail as a channel. Inbound: a message the MTA delivers (`LMTPServer`) starts a
/// conversation on channel `email`, decided by the same routing and guarantee as a chat (the
/// classifier reads what the customer wrote, without quoted history or signature), or threads
/// into the conversation one of its In-Reply-To/References ids belongs to; a delivery of a
/// Message-ID already stored changes nothing. Outbound: every AI answer and agent reply in an
/// e-mail conversation is a job (`queueReply`, in the reply's own transaction) that sends it
/// through the relay with Message-ID, In-Reply-To and References, retried while the relay is
/// down. Notes are not messages: nothing here can send one.
struct EmailChannel {
    static let channel = "email"

    let db: Database
    let services: TandemServices
    let logger: Logger

    /// Stores one delivered message; `.refused` for mail that must not become a conversation.
    func receive(_ bytes: [UInt8]) async throws -> LMTPServer.Outcome {
        let mail = MailMessage(parsing: bytes)
        guard let from = mail.fromAddress.map(CustomerKeys.normalise), from.contains("@"), from.count <= 254 else {
            return .refused("No sender address (From) to answer")
        }
        // Bounces and out-of-office replies never start or feed a conversation (no mail loops).
        if mail.isAutomatic {
            logger.info("e-mail: an automatic message from \(from) was dropped")
            return .stored
        }
        let messageID = mail.messageID ?? "tandem-\(UUID().uuidString.lowercased())@\(Self.domain(services.environment.mailFrom))"
        if try await EmailMessageRecord.query(on: db).filter(\.$messageID == messageID).first() != nil { return .stored }

        let conversations = Conversations(db: db, services: services, logger: logger)
        let limit = services.environment.maxMessageCharacters
        var text = mail.newText.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.isEmpty { text = mail.text.trimmingCharacters(in: .whitespacesAndNewlines) }
        let ancestors = mail.threadIDs
        var thread: ConversationRecord?
        if !ancestors.isEmpty, let known = try await EmailMessageRecord.query(on: db).filter(\.$messageID ~~ ancestors).first() {
            thread = try await ConversationRecord.find(known.conversationID, on: db)
        }
        // A reply to a resolved conversation starts a new one (its history stays where it was).
        let conversation: ConversationRecord
        if let thread, thread.status != .resolved, thread.customerEmail == from {
            conversation = thread
        } else {
            // A new conversation reads the subject too: it is often the whole question.
            if !mail.subject.isEmpty, thread == nil { text = mail.subject + "\n" + text }
            let created = try await conversations.create(name: mail.fromName, email: from, channel: Self.channel, address: "mail:" + from).0
            // The MTA delivered it from this address: a confirmed e-mail (the contact page joins on it).
            created.customerEmailConfirmed = true
            try await created.save(on: db)
            conversation = created
        }
        if text.isEmpty { text = "(an e-mail with no text)" }
        if text.count > limit { text = String(text.prefix(limit)) }
        try await EmailMessageRecord(conversationID: try conversation.requireID(), messageID: messageID, direction: .inbound,
                                     subject: mail.subject).create(on: db)
        _ = try await conversations.customerMessage(conversation, text: text, idempotencyKey: "mail:" + String(messageID.prefix(190)))
        return .stored
    }

    /// Queues `message` (an AI answer or an agent's reply) to be e-mailed when its conversation
    /// is an e-mail one; called inside the transaction that stores the message.
    static func queueReply(_ message: MessageRecord, in conversation: ConversationRecord, at now: Date, on db: Database) async throws {
        guard conversation.channel == channel, conversation.customerEmail != nil, message.role == .ai || message.role == .agent else { return }
        try await JobQueue.enqueue(.email, payload: Job(messageID: try message.requireID()), runAt: now, on: db)
    }

    struct Job: Codable { var messageID: UUID }

    /// The job: composes the reply in its thread and hands it to the relay. Its Message-ID comes
    /// from the message's id, so a retry after an unclear failure sends the same message again
    /// (which the customer's client shows once).
    static func send(_ job: JobRecord, app: Application) async throws {
        let payload = try JSONDecoder().decode(Job.self, from: Data(job.payload.utf8))
        let environment = app.tandem.environment
        guard let url = environment.smtpURL else { throw MailProtocolError("TANDEM_SMTP_URL is not set: the reply cannot be e-mailed") }
        guard let message = try await MessageRecord.find(payload.messageID, on: app.db),
              let conversation = try await ConversationRecord.find(message.$conversation.id, on: app.db),
              let to = conversation.customerEmail else { return }
        let thread = try await EmailMessageRecord.query(on: app.db).filter(\.$conversationID == conversation.requireID())
            .sort(\.$createdAt).all()
        let domain = domain(environment.mailFrom)
        let id = OutboundMail.messageID(unique: try message.requireID().uuidString, domain: domain)
        let workspace = try await app.tandem.workspace(on: app.db)
        let mail = OutboundMail(
            fromAddress: environment.mailFrom, fromName: workspace.name, toAddress: to, toName: conversation.customerName,
            subject: OutboundMail.replySubject(thread.first?.subject ?? ""), text: message.text, messageID: id,
            inReplyTo: thread.last(where: { $0.direction == .inbound })?.messageID ?? thread.last?.messageID,
            references: thread.map(\.messageID), date: Int64(app.tandem.clock.now.timeIntervalSince1970), isAutomatic: message.role == .ai)
        try await SMTPClient(url: url, heloName: domain, group: app.eventLoopGroup).send(from: environment.mailFrom, to: to, data: mail.rendered())
        if try await EmailMessageRecord.query(on: app.db).filter(\.$messageID == id).first() == nil {
            try await EmailMessageRecord(conversationID: try conversation.requireID(), messageID: id, direction: .outbound,
                                         subject: thread.first?.subject ?? "").create(on: app.db)
        }
        app.logger.info("e-mailed a reply", metadata: ["conversation-id": .string(conversation.id?.uuidString ?? "-")])
    }

    static func domain(_ address: String) -> String {
        address.split(separator: "@").last.map(String.init) ?? "localhost"
    }
}
