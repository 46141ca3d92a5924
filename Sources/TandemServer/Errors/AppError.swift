import Foundation
import Vapor

/// Every error the API reports on purpose, with enough context to act on. `ErrorMiddleware`
/// below is the one place that turns errors into HTTP responses.
enum AppError: Error, Equatable {
    case invalidJSON(String)
    case missingField(String)
    case invalidField(String, String)
    case tooLarge(limit: Int, what: String)
    case notFound(String)
    case unauthenticated
    case forbidden(required: String)
    case conflict(String)
    case unavailable(String)
    /// The stored workspace settings do not decode; the AI hands everything to people meanwhile.
    case corruptSettings(String)
    /// A JSON route got another content type.
    case unsupportedMediaType(String)
    /// A cookie-authenticated change from another origin (or with no origin at all).
    case crossOrigin
    /// Too many requests; try again after `retryAfter` seconds.
    case rateLimited(retryAfter: Int, what: String)
    /// This credential already holds the most event streams allowed (`TANDEM_STREAMS_PER_TOKEN`).
    case tooManyStreams(limit: Int)
    /// This node holds the most event streams allowed (`TANDEM_STREAMS_TOTAL`).
    case streamsFull(limit: Int)
    /// This node is handling the most customer messages it takes at once (`TANDEM_MESSAGES_IN_FLIGHT`).
    case overloaded(limit: Int)
    /// A customer identity whose signature is missing or wrong (`IdentityVerification`).
    case identityRefused(String)

    var status: HTTPResponseStatus {
        switch self {
        case .invalidJSON, .missingField, .invalidField: return .badRequest
        case .tooLarge: return .payloadTooLarge
        case .notFound: return .notFound
        case .unauthenticated: return .unauthorized
        case .forbidden, .crossOrigin, .identityRefused: return .forbidden
        case .unsupportedMediaType: return .unsupportedMediaType
        case .rateLimited: return .tooManyRequests
        case .conflict: return .conflict
        case .tooManyStreams: return .tooManyRequests
        case .unavailable, .corruptSettings, .streamsFull, .overloaded: return .serviceUnavailable
        }
    }

    var code: String {
        switch self {
        case .invalidJSON: return "invalid_json"
        case .missingField: return "missing_field"
        case .invalidField: return "invalid_field"
        case .tooLarge: return "too_large"
        case .notFound: return "not_found"
        case .unauthenticated: return "unauthenticated"
        case .forbidden: return "forbidden"
        case .crossOrigin: return "cross_origin"
        case .unsupportedMediaType: return "unsupported_media_type"
        case .rateLimited: return "rate_limited"
        case .conflict: return "conflict"
        case .unavailable: return "unavailable"
        case .corruptSettings: return "corrupt_settings"
        case .tooManyStreams: return "too_many_streams"
        case .streamsFull: return "streams_full"
        case .overloaded: return "overloaded"
        case .identityRefused: return "identity_refused"
        }
    }

    var message: String {
        switch self {
        case .invalidJSON(let why): return "The request body is not valid JSON: \(why)"
        case .missingField(let field): return "The field '\(field)' is required."
        case .invalidField(let field, let why): return "The field '\(field)' is invalid: \(why)"
        case .tooLarge(let limit, let what): return "\(what) is too large: the limit is \(limit)."
        case .notFound(let what): return "\(what) was not found."
        case .unauthenticated: return "Log in first (send a bearer token or the session cookie)."
        case .forbidden(let required): return "This needs the \(required) role."
        case .crossOrigin:
            return "A change made with the session cookie must come from this site's own pages (Origin or Sec-Fetch-Site did not match). API clients send a bearer token instead."
        case .unsupportedMediaType(let got): return "Send the body as application/json (got \(got))."
        case .rateLimited(let seconds, let what): return "Too many \(what); try again in \(seconds) s. Nothing was stored."
        case .conflict(let why): return why
        case .unavailable(let why): return why
        case .identityRefused(let why): return "The customer's identity was refused (nothing was created): \(why)."
        case .corruptSettings(let why):
            return "The workspace settings cannot be read (\(why)). Every conversation goes to people until an admin saves the settings again (PUT /api/v1/workspace)."
        case .tooManyStreams(let limit):
            return "This token already has \(limit) open event streams; close one (or wait for it to end) and retry."
        case .streamsFull(let limit):
            return "The server holds its maximum of \(limit) event streams; retry shortly or poll with ?once=true."
        case .overloaded(let limit):
            return "The server is handling its maximum of \(limit) messages at once; nothing was stored. Send the message again in a moment (with the same Idempotency-Key)."
        }
    }

    /// Seconds a client should wait before retrying (`Retry-After`), for refusals that pass.
    var retryAfter: Int? {
        switch self {
        case .tooManyStreams: return 10
        case .streamsFull: return 30
        case .overloaded: return 2
        case .rateLimited(let seconds, _): return seconds
        default: return nil
        }
    }

    var field: String? {
        switch self {
        case .missingField(let field), .invalidField(let field, _): return field
        default: return nil
        }
    }
}

/// The JSON body of every error response.
struct ErrorBody: Content {
    struct Detail: Content {
        var code: String
        var message: String
        var field: String?
    }
    var error: Detail
}

/// Maps every error to a JSON response: `AppError` as designed, decoding errors as 400 naming
/// the field, Vapor's own aborts with their status, anything else as a logged 500 without
/// internals.
struct TandemErrorMiddleware: AsyncMiddleware {
    func respond(to request: Request, chainingTo next: AsyncResponder) async throws -> Response {
        do {
            return try await next.respond(to: request)
        } catch {
            let (status, detail) = Self.describe(error)
            if status == .internalServerError {
                request.logger.error("unhandled error: \(String(reflecting: error))")
            }
            let response = Response(status: status)
            try response.content.encode(ErrorBody(error: detail))
            if let seconds = (error as? AppError)?.retryAfter { response.headers.replaceOrAdd(name: .retryAfter, value: "\(seconds)") }
            if status == .unauthorized, request.url.path.hasPrefix("/console") {
                // Pages send the browser to the login screen instead.
                return request.redirect(to: "/console/login?next=\(request.url.path.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? "/console")")
            }
            return response
        }
    }

    static func describe(_ error: Error) -> (HTTPResponseStatus, ErrorBody.Detail) {
        switch error {
        case let app as AppError:
            return (app.status, .init(code: app.code, message: app.message, field: app.field))
        case let decoding as DecodingError:
            let (field, why) = describe(decoding)
            if field.isEmpty && why.contains("JSON") {
                return (.badRequest, .init(code: "invalid_json", message: "The request body is not valid JSON.", field: nil))
            }
            let code = why == "missing" ? "missing_field" : "invalid_field"
            let message = why == "missing" ? "The field '\(field)' is required." : "The field '\(field)' is invalid: \(why)."
            return (.badRequest, .init(code: code, message: message, field: field.isEmpty ? nil : field))
        case let abort as AbortError:
            let status = abort.status
            let code = status == .payloadTooLarge ? "too_large" : (status == .notFound ? "not_found" : "http_\(status.code)")
            return (status, .init(code: code, message: abort.reason, field: nil))
        default:
            return (.internalServerError, .init(code: "internal", message: "Something went wrong on our side; it has been logged.", field: nil))
        }
    }

    private static func describe(_ error: DecodingError) -> (field: String, why: String) {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            let parent = path(context)
            return (parent.isEmpty ? key.stringValue : parent + "." + key.stringValue, "missing")
        case .typeMismatch(let type, let context):
            return (path(context), "expected \(type)")
        case .valueNotFound(let type, let context):
            return (path(context), "expected \(type), got null")
        case .dataCorrupted(let context):
            let p = path(context)
            return (p, p.isEmpty ? "not valid JSON" : context.debugDescription)
        @unknown default:
            return ("", "invalid")
        }
    }
}
