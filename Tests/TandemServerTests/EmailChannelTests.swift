import Fluent
import Foundation
import TandemMail
@testable import TandemServer
import Testing
import VaporTesting

/// E-mail as a channel through the real Postfix `make mailserver` sets up: the customer's mail
/// goes into Postfix, which relays it by LMTP to Tandem; the agent's reply goes out through
/// Postfix into the customer's real Maildir with its threading headers; the customer's answer
/// threads back. On each database.
@Suite("E-mail through real Postfix", .serialized)
struct EmailChannelTests {
    static let env = ProcessInfo.processInfo.environment
    static let smtp = env["TANDEM_TEST_SMTP_URL"], maildir = env["TANDEM_TEST_MAILDIR"], lmtp = env["TANDEM_TEST_LMTP_ADDRESS"]
    static let configured = smtp != nil && maildir != nil && lmtp != nil
    static let support = "help@support.example.test"

    /// Waits for something an external process (Postfix) does, up to `seconds`.
    private func eventually<T>(_ what: String, within seconds: Double = 30, _ probe: () async throws -> T?) async throws -> T {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let value = try await probe() { return value }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestSetupError("\(what) did not happen within \(Int(seconds)) s (Postfix log: /var/log/postfix-tandem-test.log)")
    }

    /// The customer's mails in the Maildir, parsed, with their raw text.
    private func inbox() -> [(mail: MailMessage, raw: String)] {
        let folders = ["new", "cur"].map { URL(fileURLWithPath: Self.maildir!).appendingPathComponent("customer.example.test/\($0)") }
        return folders.flatMap { (try? FileManager.default.contentsOfDirectory(at: $0, includingPropertiesForKeys: nil)) ?? [] }
            .compactMap { try? Data(contentsOf: $0) }.map { (MailMessage(parsing: Array($0)), String(decoding: $0, as: UTF8.self)) }
    }

    private func raw(from: String, subject: String, messageID: String, inReplyTo: String? = nil, references: [String] = [],
                     extraHeaders: [String] = [], body: String) -> String {
        var lines = ["From: Ann Example <\(from)>", "To: Fernpay <\(Self.support)>", "Subject: \(subject)",
                     "Date: Tue, 01 Dec 2026 10:00:00 +0000", "Message-ID: <\(messageID)>"]
        if let inReplyTo { lines.append("In-Reply-To: <\(inReplyTo)>") }
        if !references.isEmpty { lines.append("References: " + references.map { "<\($0)>" }.joined(separator: " ")) }
        lines += extraHeaders
        lines += ["MIME-Version: 1.0", "Content-Type: multipart/alternative; boundary=\"b1\"", "", "--b1",
                  "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: quoted-printable", "", body, "--b1",
                  "Content-Type: text/html; charset=utf-8", "", "<p>html version</p>", "--b1--", ""]
        return lines.joined(separator: "\r\n")
    }

    @Test("a customer's e-mail becomes a conversation; the agent's reply reaches their real mailbox with In-Reply-To; their answer threads back; notes never go out",
          .enabled(if: configured || TestDatabase.isCI, "needs the test mail server: make mailserver (make test runs it and sets TANDEM_TEST_SMTP_URL, TANDEM_TEST_MAILDIR, TANDEM_TEST_LMTP_ADDRESS)"),
          arguments: TestDatabase.available)
    func roundTrip(database: TestDatabase) async throws {
        guard let smtp = Self.smtp, let lmtp = Self.lmtp, Self.maildir != nil else {
            Issue.record("CI=true: TANDEM_TEST_SMTP_URL, TANDEM_TEST_MAILDIR and TANDEM_TEST_LMTP_ADDRESS are required (make mailserver)")
            return
        }
        try await TestApp.with(database, adjust: { environment in
            environment.lmtpAddress = lmtp
            environment.smtpURL = smtp
            environment.mailFrom = Self.support
        }) { t in
            let unique = UUID().uuidString.lowercased().prefix(12)
            let customer = "ann.\(unique)@customer.example.test"
            let firstID = "question-\(unique)@customer.example.test"
            let client = try SMTPClient(url: smtp, heloName: "customer.example.test", group: t.app.eventLoopGroup)

            // 1. Into Postfix, by LMTP into Tandem: a conversation on the e-mail channel, decided
            // like a chat (asking for a person hands it off), the signature not read.
            let question = raw(from: customer, subject: "=?utf-8?q?Talk_to_a_person_please?=", messageID: firstID,
                               body: "I want to speak to a human about my account=\r\n please.\r\n\r\n-- \r\nAnn Example, Flat 3")
            try await client.send(from: customer, to: Self.support, data: question)
            let conversationID = try await eventually("the e-mail becoming a conversation") {
                try await EmailMessageRecord.query(on: t.app.db).filter(\.$messageID == firstID).first()?.conversationID
            }
            // The e-mail is recorded before its message is decided: wait for the decision.
            let decision = try await eventually("the e-mail's message decided") {
                try await DecisionRecord.query(on: t.app.db).filter(\.$conversation.$id == conversationID).first()
            }
            let conversation = try #require(try await ConversationRecord.find(conversationID, on: t.app.db))
            #expect(conversation.channel == "email" && conversation.customerEmail == customer && conversation.customerEmailConfirmed)
            #expect(conversation.status == .queued, "asking for a person in an e-mail hands it off: \(conversation.status), decided \(decision.rule) \(decision.action)")
            let read = try await MessageRecord.query(on: t.app.db).filter(\.$conversation.$id == conversationID).filter(\.$role == .customer).all()
            #expect(read.map(\.text) == ["Talk to a person please\nI want to speak to a human about my account please."], "\(read.map(\.text))")

            // 2. An agent takes it, writes a private note and replies.
            let agent = try await t.login()
            let path = "/api/v1/agent/conversations/\(conversationID.uuidString)"
            #expect(try await t.send(.POST, path + "/claim", token: agent).status == .ok)
            let secret = "private note \(unique): check her file"
            #expect(try await t.send(.POST, path + "/notes", json: ["text": secret], token: agent).status == .created)
            let answer = "Hello Ann, I have unlocked your account (\(unique))."
            #expect(try await t.send(.POST, path + "/messages", json: ["text": answer], token: agent).status == .created)

            // 3. The reply arrives in the customer's real mailbox, threaded under their e-mail.
            let (reply, rawReply) = try await eventually("the reply arriving in the customer's Maildir") {
                inbox().first { $0.mail.inReplyTo == [firstID] && $0.mail.text.contains(String(unique)) }
            }
            #expect(reply.subject == "Re: Talk to a person please")
            #expect(reply.references == [firstID])
            #expect(reply.newText == answer)
            #expect(reply.headers["To"]?.contains(customer) == true)
            #expect(reply.headers["Auto-Submitted"] == nil, "a person's reply is not marked automatic")
            #expect(!rawReply.contains("private note"), "a note left in an e-mail")
            let replyID = try #require(reply.messageID)

            // 4. The customer answers the reply, quoting it: the answer threads into the same
            // conversation, and the model reads only what they wrote.
            let answerBack = raw(from: customer, subject: "Re: Talk to a person please", messageID: "answer-\(unique)@customer.example.test",
                                 inReplyTo: replyID, references: [firstID, replyID],
                                 body: "Thanks, it works now.\r\n\r\nOn Tue, 1 Dec 2026 at 10:05, Fernpay <\(Self.support)> wrote:\r\n> \(answer)")
            try await client.send(from: customer, to: Self.support, data: answerBack)
            let threaded = try await eventually("the customer's answer threading back") {
                try await MessageRecord.query(on: t.app.db).filter(\.$conversation.$id == conversationID).filter(\.$role == .customer)
                    .filter(\.$text == "Thanks, it works now.").first()
            }
            #expect(threaded.$conversation.id == conversationID)
            #expect(try await ConversationRecord.query(on: t.app.db).filter(\.$customerEmail == customer).count() == 1)
            _ = try await eventually("the answer decided (a draft for the agent)") {
                try await DecisionRecord.query(on: t.app.db).filter(\.$conversation.$id == conversationID).count() == 2 ? true : nil
            }

            // 5. The same message delivered again is stored once; an automatic reply starts nothing.
            let channel = EmailChannel(db: t.app.db, services: t.app.tandem, logger: t.app.logger)
            let before = try await MessageRecord.query(on: t.app.db).count()
            _ = try await channel.receive(Array(question.utf8))
            let outOfOffice = raw(from: "away.\(unique)@customer.example.test", subject: "Out of office", messageID: "ooo-\(unique)@customer.example.test",
                                  extraHeaders: ["Auto-Submitted: auto-replied"], body: "I am away until Monday.")
            _ = try await channel.receive(Array(outOfOffice.utf8))
            #expect(try await MessageRecord.query(on: t.app.db).count() == before)
            #expect(try await ConversationRecord.query(on: t.app.db).filter(\.$customerEmail == "away.\(unique)@customer.example.test").count() == 0)
            guard case .refused = try await channel.receive(Array("Subject: no sender\r\n\r\nhello".utf8)) else {
                Issue.record("a message without a From was stored")
                return
            }
        }
    }
}
