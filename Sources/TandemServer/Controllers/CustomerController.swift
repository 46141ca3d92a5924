import Fluent
import Foundation
import Vapor

/// The customer's API: one conversation per token.
struct CustomerController: RouteCollection {
    func boot(routes: RoutesBuilder) throws {
        let conversations = routes.grouped("api", "v1", "conversations")
        conversations.post(use: create)
        conversations.get(":id", use: show)
        conversations.get(":id", "messages", use: messages)
        conversations.post(":id", "messages", use: post)
        conversations.post(":id", "handoff", use: handoff)
        conversations.post(":id", "resolve", use: resolve)
        conversations.post(":id", "rating", use: rate)
        conversations.get(":id", "events", use: events)
        conversations.put(":id", "email", use: setEmail)
    }

    struct CreateBody: Decodable {
        var name: String?
        var email: String?
        var channel: String?
        /// The host site's user id and its signature (`IdentityVerification`).
        var userId: String?
        var userHash: String?
    }

    func create(_ req: Request) async throws -> Response {
        let body = (req.body.data?.readableBytes ?? 0) > 0 ? try req.decoded(CreateBody.self) : CreateBody()
        if let name = body.name, name.count > 120 { throw AppError.invalidField("name", "at most 120 characters") }
        if let email = body.email, email.count > 254 || !email.contains("@") { throw AppError.invalidField("email", "not an e-mail address") }
        let channel = body.channel ?? "web"
        guard channel.count <= 32 else { throw AppError.invalidField("channel", "at most 32 characters") }
        // Checked before anything is counted or stored: a refused identity creates nothing.
        let verified = try await IdentityVerification.verify(userID: body.userId, userHash: body.userHash) {
            try await IdentityVerification.secret(on: req.db)
        }
        try req.limit("conversations:\(req.clientAddress)", req.tandem.rateLimits.conversationsPerAddress, "new conversations from this address")
        let (conversation, token, greeting) = try await req.conversations.create(name: body.name, email: body.email, verifiedUserID: verified,
                                                                                 channel: channel, address: req.clientAddress)
        let response = CreatedConversationResponse(conversation: req.conversations.dto(conversation), token: token, messages: greeting.map(MessageDTO.init))
        return try await response.encodeResponse(status: .created, for: req)
    }

    func show(_ req: Request) async throws -> CustomerConversationResponse {
        let conversation = try await req.customerConversation()
        let messages = try await req.conversations.messages(of: try conversation.requireID())
        // Where they stand, while they wait: the chat page refreshes it.
        let position: Int? = if conversation.status == .queued, let queuedAt = conversation.queuedAt {
            try await ConversationRecord.queuePosition(priority: conversation.priority, queuedAt: queuedAt, excluding: conversation.id, on: req.db)
        } else { nil }
        // A figure that cannot be worked out (settings that do not decode) is left out, never an error.
        let wait = await position.asyncMap { try? await ServiceLevels.expectedWait(position: $0, db: req.db, services: req.tandem) } ?? nil
        return CustomerConversationResponse(conversation: req.conversations.dto(conversation), messages: try await Self.named(messages, on: req),
                                            queuePosition: position, expectedWaitSeconds: wait, hasEmail: conversation.customerEmail != nil)
    }

    struct EmailBody: Decodable { var email: String }

    /// The customer leaves an e-mail address to continue by e-mail (out of hours): only while
    /// the conversation has none, so a leaked token cannot redirect the replies.
    func setEmail(_ req: Request) async throws -> ConversationDTO {
        let conversation = try await req.customerConversation()
        let body = try req.decoded(EmailBody.self)
        let email = CustomerKeys.normalise(email: body.email)
        guard Self.isEmail(email) else { throw AppError.invalidField("email", "not an e-mail address") }
        return req.conversations.dto(try await req.conversations.setEmail(email, on: try conversation.requireID()))
    }

    /// One @, something on each side, a dot in the domain, no spaces, at most 254 characters.
    static func isEmail(_ email: String) -> Bool {
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard email.count <= 254, parts.count == 2, !parts[0].isEmpty, parts[1].contains("."),
              !parts[1].hasPrefix("."), !parts[1].hasSuffix(".") else { return false }
        return !email.contains { $0.isWhitespace || $0.isNewline || $0 == "<" || $0 == ">" || $0 == "," }
    }

    func messages(_ req: Request) async throws -> [MessageDTO] {
        let conversation = try await req.customerConversation()
        let after = (try? req.query.get(Int.self, at: "after")) ?? 0
        return try await Self.named(try await req.conversations.messages(of: try conversation.requireID(), after: after), on: req)
    }

    struct PostBody: Decodable { var text: String }

    func post(_ req: Request) async throws -> Response {
        let conversation = try await req.customerConversation()
        let body = try req.decoded(PostBody.self)
        let key = req.headers.first(name: "Idempotency-Key")
        if let key, key.isEmpty || key.count > 200 { throw AppError.invalidField("Idempotency-Key", "1–200 characters") }
        let limits = req.tandem.rateLimits
        let cap = req.tandem.environment.limits.messagesPerConversationCap
        guard conversation.nextSeq <= cap else {
            throw AppError.conflict("This conversation has reached \(cap) messages, the most one may hold; please start a new one.")
        }
        try req.limit("messages:\(try conversation.requireID())", limits.messagesPerConversation, "messages in this conversation")
        try req.limit("messages:\(req.clientAddress)", limits.messagesPerAddress, "messages from this address")
        let timings = PhaseTimings()
        let started = ContinuousClock.now
        let result = try await PhaseTimings.$current.withValue(timings) {
            try await req.tandem.admission.admit {
                try await req.conversations.customerMessage(conversation, text: body.text, idempotencyKey: key)
            }
        }
        timings.add("handler", since: started)
        let response = try await result.encodeResponse(status: result.duplicate ? .ok : .created, for: req)
        response.headers.replaceOrAdd(name: "Server-Timing", value: timings.header)
        return response
    }

    func handoff(_ req: Request) async throws -> ConversationDTO {
        let conversation = try await req.customerConversation()
        try req.limit("handoffs:\(try conversation.requireID())", req.tandem.rateLimits.handoffsPerConversation, "requests for a person")
        return req.conversations.dto(try await req.conversations.requestHuman(conversation))
    }

    func resolve(_ req: Request) async throws -> ConversationDTO {
        let conversation = try await req.customerConversation()
        return req.conversations.dto(try await req.conversations.customerResolves(conversation))
    }

    struct RatingBody: Decodable {
        var score: Int
        var comment: String?
    }

    func rate(_ req: Request) async throws -> ConversationDTO {
        let conversation = try await req.customerConversation()
        let body = try req.decoded(RatingBody.self)
        return req.conversations.dto(try await req.conversations.rate(conversation, score: body.score, comment: body.comment))
    }

    /// Server-sent events for this conversation: `message` (a MessageDTO), status changes
    /// (`conversation.*` with a ConversationDTO). `Last-Event-ID` or `after` resumes; the replay
    /// reads only this conversation's events, at most 500 at a time.
    func events(_ req: Request) async throws -> Response {
        let conversation = try await req.customerConversation(tokenInQuery: true)
        let id = try conversation.requireID()
        let scope = EventBus.Scope(conversationID: id, kinds: EventKind.allCases.filter(\.isCustomerVisible))
        return try await EventStream.response(for: req, scope: scope, key: "conversation:\(id)")
    }

    /// Agents' messages show the agent's name.
    static func named(_ messages: [MessageRecord], on req: Request) async throws -> [MessageDTO] {
        let names = try await AgentRecord.names(of: Set(messages.compactMap(\.agentID)), on: req.db)
        return messages.map { m in
            var dto = MessageDTO(m)
            dto.agentName = m.agentID.flatMap { names[$0] }
            return dto
        }
    }
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
