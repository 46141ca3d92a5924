import Fluent
import Foundation
import Vapor

/// Logging in and out.
struct AuthController: RouteCollection {
    static let sessionLength: TimeInterval = 12 * 3600

    func boot(routes: RoutesBuilder) throws {
        let auth = routes.grouped("api", "v1", "auth")
        auth.post("login", use: login)
        auth.grouped(RoleGuard(role: .agent)).post("logout", use: logout)
    }

    struct LoginBody: Decodable {
        var email: String
        var password: String
    }

    struct LoginResponse: Content {
        var token: String
        var expiresAt: Date
        var agent: AgentDTO
    }

    func login(_ req: Request) async throws -> Response {
        let body = try req.decoded(LoginBody.self)
        guard let (token, expires, agent) = try await Self.verify(email: body.email, password: body.password, on: req) else {
            throw AppError.unauthenticated
        }
        let response = try await LoginResponse(token: token, expiresAt: expires, agent: AgentDTO(agent)).encodeResponse(for: req)
        response.cookies[SessionCookie.name(req.tandem.environment)] = SessionCookie.value(token: token, expires: expires, now: req.tandem.clock.now, req.tandem.environment)
        return response
    }

    func logout(_ req: Request) async throws -> HTTPStatus {
        try await Self.revoke(req)
        return .noContent
    }

    /// Checks the password (Bcrypt) and issues a session token.
    /// Sign-ins are limited per address and per e-mail before any password is checked, so
    /// guessing is slow and bcrypt cannot be used to exhaust the server.
    static func verify(email: String, password: String, on req: Request) async throws -> (String, Date, AgentRecord)? {
        guard !email.contains("\0") else { return nil }  // no account has one; PostgreSQL cannot compare it
        let limits = req.tandem.rateLimits
        try req.limit("login:\(req.clientAddress)", limits.loginsPerAddress, "sign-in attempts from this address")
        try req.limit("login:\(email.lowercased().trimmingCharacters(in: .whitespaces))", limits.loginsPerEmail, "sign-in attempts for this account")
        guard let agent = try await AgentRecord.find(email: email, on: req.db),
              agent.active else {
            // Spend the same time as a real check so response times do not reveal which e-mails exist.
            _ = try? await req.password.async.verify(password, created: dummyHash)
            return nil
        }
        guard try await req.password.async.verify(password, created: agent.passwordHash) else { return nil }
        let token = Secrets.token()
        let expires = req.tandem.clock.now.addingTimeInterval(sessionLength)
        try await AgentTokenRecord(agentID: try agent.requireID(), tokenHash: Secrets.digest(token), expiresAt: expires).create(on: req.db)
        return (token, expires, agent)
    }

    private static let dummyHash = (try? Bcrypt.hash("tandem-timing-equaliser")) ?? ""

    static func revoke(_ req: Request) async throws {
        let token = req.headers.bearerAuthorization?.token ?? SessionCookie.token(in: req)
        guard let token else { return }
        try await AgentTokenRecord.revoke(token: token, on: req.db)
    }
}

/// The agent console's API: queue, claiming, replying, resolving.
struct AgentController: RouteCollection {
    func boot(routes: RoutesBuilder) throws {
        let agent = routes.grouped("api", "v1", "agent").grouped(RoleGuard(role: .agent))
        agent.get("me", use: me)
        agent.post("password", use: changePassword)
        agent.get("queue", use: queue)
        agent.get("conversations", use: list)
        agent.get("conversations", ":id", use: show)
        agent.post("conversations", ":id", "claim", use: claim)
        agent.post("conversations", ":id", "release", use: release)
        agent.grouped(RoleGuard(role: .supervisor)).post("conversations", ":id", "reassign", use: reassign)
        agent.post("conversations", ":id", "messages", use: reply)
        agent.post("conversations", ":id", "resolve", use: resolve)
        agent.post("conversations", ":id", "return-to-ai", use: returnToAI)
        agent.post("conversations", ":id", "tags", use: addTag)
        agent.delete("conversations", ":id", "tags", ":tag", use: removeTag)
        agent.get("events", use: events)
        agent.get("search", use: search)
        agent.get("contacts", ":key", use: contact)
        routes.grouped("api", "v1").grouped(RoleGuard(role: .agent)).get("tags", use: tagCounts)
    }

    func me(_ req: Request) async throws -> AgentDTO { AgentDTO(try req.agent) }

    struct ChangePasswordBody: Decodable {
        var currentPassword: String
        var newPassword: String
    }

    /// An agent changes their own password, proving the current one; their other sessions end.
    func changePassword(_ req: Request) async throws -> HTTPStatus {
        let agent = try req.agent
        let body = try req.decoded(ChangePasswordBody.self)
        guard try await req.password.async.verify(body.currentPassword, created: agent.passwordHash) else {
            throw AppError.invalidField("currentPassword", "does not match")
        }
        try Accounts.validate(password: body.newPassword, field: "newPassword")
        guard body.newPassword != body.currentPassword else { throw AppError.invalidField("newPassword", "the same as the current one") }
        let hash = try await req.password.async.hash(body.newPassword)
        let current = req.headers.bearerAuthorization?.token ?? SessionCookie.token(in: req)
        try await req.db.writeTransaction { db in
            agent.passwordHash = hash
            try await agent.save(on: db)
            try await Accounts.revokeSessions(of: agent, keeping: current, on: db)
            try await AuditLog.record(.agentPasswordChange, by: agent, target: "agent:\(try agent.requireID())",
                                      after: ["otherSessionsRevoked": true], on: db)
        }
        return .noContent
    }

    func queue(_ req: Request) async throws -> [AgentConversationItem] {
        try await req.conversations.items(try await req.conversations.queue(for: try req.agent))
    }

    /// `?status=&tag=&agent=&intent=&from=&to=&mine=&limit=`, all optional and combined.
    func list(_ req: Request) async throws -> [AgentConversationItem] {
        let filter = try Self.listFilter({ req.query[String.self, at: $0] }, me: try req.agent)
        return try await req.conversations.items(try await ConversationRecord.list(filter, on: req.db))
    }

    /// The list's filters from query parameters (`value(name)`); an invalid one is a 400 naming
    /// it. The console's list page reads the same parameters.
    static func listFilter(_ value: (String) -> String?, me: AgentRecord) throws -> ConversationRecord.ListFilter {
        var filter = ConversationRecord.ListFilter()
        filter.viewer = me
        if let team = value("team") {
            guard let id = UUID(uuidString: team) else { throw AppError.invalidField("team", "not a team id (a UUID)") }
            filter.teamID = id
        }
        filter.status = try value("status").map { try ConversationStatus.parse($0, field: "status") }
        filter.tag = try value("tag").map { try ConversationTag.normalise($0, field: "tag") }
        if let agent = value("agent") {
            guard let id = UUID(uuidString: agent) else { throw AppError.invalidField("agent", "not an agent id (a UUID)") }
            filter.assignedAgentID = id
        }
        if let mine = value("mine") {
            guard let flag = Bool(mine) else { throw AppError.invalidField("mine", "true or false") }
            if flag {
                let myID = try me.requireID()
                if let other = filter.assignedAgentID, other != myID { throw AppError.invalidField("agent", "another agent than mine=true") }
                filter.assignedAgentID = myID
            }
        }
        if let intent = value("intent") {
            guard KnowledgeBaseDocument.isValidKey(intent) else { throw AppError.invalidField("intent", "an intent key: 1–64 lower-case letters, digits or _") }
            filter.intent = intent
        }
        filter.from = try value("from").map { try ISODate.parse($0, field: "from") }
        filter.to = try value("to").map { try ISODate.parse($0, field: "to") }
        if let from = filter.from, let to = filter.to, to <= from { throw AppError.invalidField("to", "must be after from") }
        // Out-of-range limits are clamped, as before filters existed.
        filter.limit = min(max(value("limit").flatMap { Int($0) } ?? 100, 1), 500)
        return filter
    }

    /// `?q=words&limit=`: messages and notes of the conversations the agent may see, best first.
    func search(_ req: Request) async throws -> [SearchHit] {
        guard let q = try req.query[String.self, at: "q"] else { throw AppError.missingField("q") }
        guard q.count <= 200 else { throw AppError.invalidField("q", "at most 200 characters") }
        let limit = try req.query[String.self, at: "limit"].map { raw in
            guard let n = Int(raw), (1...100).contains(n) else { throw AppError.invalidField("limit", "an integer from 1 to 100") }
            return n
        } ?? 20
        return try await req.search.search(q, for: try req.agent, limit: limit)
    }

    /// A customer's past conversations (`Contacts`), by a conversation's `contactKey`.
    func contact(_ req: Request) async throws -> ContactDTO {
        guard let key = req.parameters.get("key") else { throw AppError.missingField("key") }
        return try await Contacts.contact(key, for: try req.agent, on: req.db)
    }

    /// Every tag in use with its number of conversations.
    func tagCounts(_ req: Request) async throws -> [TagCountDTO] {
        try await ConversationTagRecord.counts(on: req.db).map { TagCountDTO(tag: $0.tag, conversations: $0.conversations) }
    }

    struct TagBody: Decodable { var tag: String }

    func addTag(_ req: Request) async throws -> ConversationTagsDTO {
        let body = try req.decoded(TagBody.self)
        return try await req.conversations.addTag(body.tag, to: try await id(req), by: try req.agent)
    }

    func removeTag(_ req: Request) async throws -> ConversationTagsDTO {
        guard let tag = req.parameters.get("tag") else { throw AppError.missingField("tag") }
        return try await req.conversations.removeTag(tag, from: try await id(req))
    }

    func show(_ req: Request) async throws -> AgentConversationResponse {
        try await req.conversations.agentView(try await id(req))
    }

    func claim(_ req: Request) async throws -> ConversationDTO {
        req.conversations.dto(try await req.conversations.claim(try await id(req), agent: try req.agent))
    }

    func release(_ req: Request) async throws -> ConversationDTO {
        req.conversations.dto(try await req.conversations.release(try await id(req), by: try req.agent))
    }

    struct ReassignBody: Decodable { var agentID: UUID }

    func reassign(_ req: Request) async throws -> ConversationDTO {
        let body = try req.decoded(ReassignBody.self)
        guard let target = try await AgentRecord.find(body.agentID, on: req.db) else { throw AppError.invalidField("agentID", "no such agent") }
        let conversationID = try await id(req), supervisor = try req.agent
        guard let before = try await ConversationRecord.find(conversationID, on: req.db) else { throw AppError.notFound("Conversation \(conversationID)") }
        let updated = try await req.conversations.reassign(conversationID, to: target, by: supervisor)
        struct Assignment: Encodable { var status: ConversationStatus; var assignedAgentID: UUID? }
        // Ids and statuses only: the log keeps nothing of the customer's.
        try await AuditLog.record(.conversationReassign, by: supervisor, target: "conversation:\(conversationID)",
                                  before: Assignment(status: before.status, assignedAgentID: before.assignedAgentID),
                                  after: Assignment(status: updated.status, assignedAgentID: updated.assignedAgentID), on: req.db)
        return req.conversations.dto(updated)
    }

    struct ReplyBody: Decodable {
        var text: String
        /// The intent the agent confirms (or corrects) for the customer's message.
        var intent: String?
    }

    func reply(_ req: Request) async throws -> Response {
        let body = try req.decoded(ReplyBody.self)
        let key = req.headers.first(name: "Idempotency-Key")
        if let key, key.isEmpty || key.count > 200 { throw AppError.invalidField("Idempotency-Key", "1–200 characters") }
        let agent = try req.agent
        let message = try await req.conversations.agentReply(try await id(req), text: body.text, intent: body.intent, by: agent, idempotencyKey: key)
        var dto = MessageDTO(message)
        dto.agentName = agent.name
        return try await dto.encodeResponse(status: .created, for: req)
    }

    func resolve(_ req: Request) async throws -> ConversationDTO {
        req.conversations.dto(try await req.conversations.agentResolve(try await id(req), by: try req.agent))
    }

    func returnToAI(_ req: Request) async throws -> ConversationDTO {
        req.conversations.dto(try await req.conversations.returnToAI(try await id(req), by: try req.agent))
    }

    /// Every event (queue changes, messages of all conversations); `?conversation=ID` narrows it.
    func events(_ req: Request) async throws -> Response {
        let only = try? req.query.get(UUID.self, at: "conversation")
        return try await EventStream.response(for: req, scope: EventBus.Scope(conversationID: only), key: try Self.streamKey(req))
    }

    /// The session a stream counts against (`TANDEM_STREAMS_PER_TOKEN`): its token's digest.
    private static func streamKey(_ req: Request) throws -> String {
        let token = req.headers.bearerAuthorization?.token ?? SessionCookie.token(in: req)
        if let token { return "agent:" + Secrets.digest(token) }
        return "agent:\(try req.agent.requireID())"
    }

    private func id(_ req: Request) async throws -> UUID { try await req.visibleConversationID() }
}

/// ISO 8601 in query parameters: a date-time (`2025-01-02T03:04:05Z`, fractions and offsets
/// allowed) or a date (`2025-01-02`, its start in UTC).
enum ISODate {
    static func parse(_ text: String, field: String) throws -> Date {
        for options in [[.withInternetDateTime, .withFractionalSeconds], [.withInternetDateTime], [.withFullDate]] as [ISO8601DateFormatter.Options] {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = options
            if let date = formatter.date(from: text) { return date }
        }
        throw AppError.invalidField(field, "an ISO 8601 date-time (2025-01-02T03:04:05Z) or date (2025-01-02)")
    }
}

extension AgentDTO {
    init(_ a: AgentRecord) {
        self.init(id: a.id!, email: a.email, name: a.name, role: a.role, maxConcurrent: a.maxConcurrent, active: a.active)
    }
}
