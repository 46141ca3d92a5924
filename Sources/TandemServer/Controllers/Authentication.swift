import Fluent
import Foundation
import Vapor

extension AgentRecord: Authenticatable {}

/// Agents authenticate with a bearer token (API) or the `tandem_session` cookie holding the
/// same kind of token (pages). Tokens are looked up by their SHA-256 and expire.
struct AgentAuthenticator: AsyncRequestAuthenticator {
    func authenticate(request: Request) async throws {
        let token = request.headers.bearerAuthorization?.token ?? SessionCookie.token(in: request)
        guard let token, !token.isEmpty else { return }
        guard let record = try await AgentTokenRecord.find(token: token, on: request.db), record.agent.active else { return }
        let now = request.tandem.clock.now
        guard Sessions.isLive(record, now: now, idle: request.tandem.environment.sessionIdleTimeout) else { return }
        if Sessions.needsRenewal(record, now: now) {
            record.lastUsedAt = now
            try await record.save(on: request.db)
        }
        request.auth.login(record.agent)
    }
}

/// Requires a logged-in agent with at least `role`: 401 without login, 403 with too little.
struct RoleGuard: AsyncMiddleware {
    let role: AgentRole

    func respond(to request: Request, chainingTo next: AsyncResponder) async throws -> Response {
        guard let agent = request.auth.get(AgentRecord.self) else { throw AppError.unauthenticated }
        guard agent.role >= role else { throw AppError.forbidden(required: role.rawValue) }
        return try await next.respond(to: request)
    }
}

extension Request {
    var agent: AgentRecord {
        get throws {
            guard let agent = auth.get(AgentRecord.self) else { throw AppError.unauthenticated }
            return agent
        }
    }

    /// The `:id` path parameter as a UUID; "not found" naming `what` when it is not one.
    func idParameter(_ what: String) throws -> UUID {
        guard let id = parameters.get("id", as: UUID.self) else { throw AppError.notFound(what) }
        return id
    }

    /// The conversation named in the path, if the signed-in agent may see it (`Teams.canSee`):
    /// one routed to another team is "not found", as one that does not exist.
    func visibleConversationID() async throws -> UUID {
        let id = try idParameter("Conversation")
        guard let conversation = try await ConversationRecord.find(id, on: db),
              try await Teams.canSee(conversation, agent: try agent, on: db) else { throw AppError.notFound("Conversation \(id)") }
        return id
    }

    /// The conversation named in the path, if the request carries its customer token. Anything
    /// else (unknown id, another conversation's token, no token) is "not found", so a customer
    /// cannot learn whether other conversations exist. The token travels in the Authorization
    /// header; only the event stream may take it from the query string (`EventSource` cannot
    /// send headers), since URLs end up in logs and histories.
    func customerConversation(tokenInQuery: Bool = false) async throws -> ConversationRecord {
        let id = try idParameter("Conversation")
        let token = headers.bearerAuthorization?.token ?? (tokenInQuery ? query[String.self, at: "token"] : nil)
        guard let token, let conversation = try await ConversationRecord.find(customerToken: token, on: db), conversation.id == id else {
            throw AppError.notFound("Conversation \(id)")
        }
        return conversation
    }

    /// The request body decoded as `T`, with errors that name the field.
    func decoded<T: Decodable>(_ type: T.Type) throws -> T {
        guard let type = headers.contentType, type.type == "application", type.subType == "json" || type.subType.hasSuffix("+json") else {
            throw AppError.unsupportedMediaType(headers.first(name: .contentType) ?? "no Content-Type")
        }
        guard let body = body.data, body.readableBytes > 0 else { throw AppError.invalidJSON("the body is empty") }
        // PostgreSQL cannot store U+0000 in text; refuse it here, once, for every JSON route.
        if Self.hasEscapedNUL(body.readableBytesView) {
            throw AppError.invalidJSON("a string contains U+0000 (NUL), which cannot be stored")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer: body))
        } catch let error as DecodingError {
            if case .dataCorrupted(let context) = error, context.codingPath.isEmpty {
                throw AppError.invalidJSON(context.underlyingError.map { "\($0.localizedDescription)" } ?? "malformed")
            }
            throw error
        }
    }

    /// Whether the JSON text has a `\u0000` escape (raw NUL bytes are not valid JSON at all).
    /// Escapes are read in order, so an escaped backslash followed by "u0000" is not one.
    static func hasEscapedNUL(_ bytes: some Collection<UInt8>) -> Bool {
        var iterator = bytes.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "\\") else { continue }
            guard let escaped = iterator.next() else { return false }
            guard escaped == UInt8(ascii: "u") else { continue }
            var digits: [UInt8] = []
            while digits.count < 4, let d = iterator.next() { digits.append(d) }
            if digits == Array("0000".utf8) { return true }
        }
        return false
    }
}
