import Foundation
import TandemOffline
import Vapor

/// The agents' session cookie. On an https public URL it is `__Host-` prefixed and `Secure`
/// (the browser then refuses it over http and from any other host); on plain http (the
/// loopback demo) it cannot be. Always HttpOnly and SameSite=Strict.
enum SessionCookie {
    static func name(_ environment: TandemEnvironment) -> String {
        environment.isHTTPS ? "__Host-tandem_session" : "tandem_session"
    }

    /// The session's lifetime goes in `Max-Age` (seconds from now), which browsers prefer over
    /// `Expires`: a browser whose clock is off from the server's would otherwise keep the cookie
    /// too long or drop it at once. `Expires` stays for clients that know only it.
    static func value(token: String, expires: Date, now: Date, _ environment: TandemEnvironment) -> HTTPCookies.Value {
        HTTPCookies.Value(string: token, expires: expires, maxAge: max(0, Int(expires.timeIntervalSince(now).rounded())), path: "/",
                          isSecure: environment.isHTTPS, isHTTPOnly: true, sameSite: .strict)
    }

    static func expired(_ environment: TandemEnvironment) -> HTTPCookies.Value {
        HTTPCookies.Value(string: "", expires: Date(timeIntervalSince1970: 0), maxAge: 0, path: "/",
                          isSecure: environment.isHTTPS, isHTTPOnly: true, sameSite: .strict)
    }

    static func token(in request: Request) -> String? {
        request.cookies[name(request.tandem.environment)]?.string
    }
}

/// Security headers on every response, errors included:
/// - pages may load only this server's scripts, styles and images (no inline script runs even
///   if markup slipped through);
/// - no page may be framed, except the chat widget by the origins in `TANDEM_WIDGET_ORIGINS`;
/// - nothing dynamic is cached (customer data passes through most responses); static files
///   keep their validators;
/// - on an https public URL, HSTS.
struct SecurityHeadersMiddleware: AsyncMiddleware {
    let environment: TandemEnvironment

    func respond(to request: Request, chainingTo next: AsyncResponder) async throws -> Response {
        let response = try await next.respond(to: request)
        let widget = request.url.path == "/chat"
        let ancestors = widget ? (["'self'"] + environment.widgetOrigins).joined(separator: " ") : "'none'"
        response.headers.replaceOrAdd(name: "Content-Security-Policy", value:
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors \(ancestors)")
        response.headers.replaceOrAdd(name: "X-Content-Type-Options", value: "nosniff")
        response.headers.replaceOrAdd(name: "Referrer-Policy", value: "same-origin")
        if !widget { response.headers.replaceOrAdd(name: "X-Frame-Options", value: "DENY") }
        // FileMiddleware marks static files with an ETag; everything else may hold customer data.
        if !response.headers.contains(name: .eTag), !response.headers.contains(name: .cacheControl) {
            response.headers.replaceOrAdd(name: .cacheControl, value: "no-store")
        }
        if environment.isHTTPS {
            response.headers.replaceOrAdd(name: "Strict-Transport-Security", value: "max-age=31536000; includeSubDomains")
        }
        return response
    }
}

/// A state change authenticated by the session cookie must come from this site's own pages:
/// `Sec-Fetch-Site: same-origin`, or an `Origin` whose host is the one the request was sent to.
/// SameSite=Strict already keeps the cookie off cross-site requests; this also refuses
/// same-site but cross-origin ones and browsers that ignore SameSite. Bearer-token requests
/// (the API, the customer widget) carry no ambient credential and are not checked; nor are
/// safe methods, which change nothing.
struct SameOriginMiddleware: AsyncMiddleware {
    static let safeMethods: [HTTPMethod] = [.GET, .HEAD, .OPTIONS]

    func respond(to request: Request, chainingTo next: AsyncResponder) async throws -> Response {
        // The console's forms (sign-in included) count as cookie-authenticated: a forged
        // sign-in would put the victim in the attacker's account.
        let ambient = request.headers.bearerAuthorization == nil
            && (SessionCookie.token(in: request) != nil || request.url.path.hasPrefix("/console/"))
        if !Self.safeMethods.contains(request.method), ambient, !Self.isSameOrigin(request) {
            throw AppError.crossOrigin
        }
        return try await next.respond(to: request)
    }

    static func isSameOrigin(_ request: Request) -> Bool {
        if let site = request.headers.first(name: "Sec-Fetch-Site") { return site == "same-origin" }
        guard let origin = request.headers.first(name: .origin), origin != "null",
              let url = URL(string: origin), let host = url.host, let requested = request.headers.first(name: .host) else { return false }
        let port = url.port.map { ":\($0)" } ?? ""
        return "\(host)\(port)".lowercased() == requested.lowercased()
    }
}
