import Fluent
import Foundation
import TandemOffline
@testable import TandemServer
import Testing
import Vapor
import VaporTesting

/// Web security: where the login form may send you, which state changes the session cookie
/// may make, which bodies JSON routes accept, and the headers every response carries.
@Suite("Web security", .serialized)
struct WebSecurityTests {
    @Test("next is a same-site path without control characters; anything else goes to /console")
    func safeNext() {
        for hostile in ["/\r\nSet-Cookie: x=1", "/\n/evil.example", "/\t/evil.example", "/%09/evil.example", "/%0d%0a/x",
                        "//evil.example", "/\\evil.example", "https://evil.example/", "javascript:alert(1)", "console", "", "/ x"] {
            #expect(LoginPage.safeNext(hostile) == "/console", "accepted \(hostile.debugDescription)")
        }
        #expect(LoginPage.safeNext(nil) == "/console")
        for fine in ["/console/insights", "/console/conversations/6F9619FF-8B86-D011-B42D-00C04FC964FF?tab=notes", "/console"] {
            #expect(LoginPage.safeNext(fine) == fine)
        }
    }

    @Test("the sign-in form redirects only to a safe next, and only from this site", arguments: [TestDatabase.sqlite])
    func signInForm(database: TestDatabase) async throws {
        try await TestApp.with(database) { t in
            func signIn(next: String, headers: HTTPHeaders) async throws -> TestingHTTPResponse {
                let form = "email=agent%40demo.tandem&password=tandem-demo&next=" + next.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
                return try await t.send(.POST, "/console/login", body: form, contentType: "application/x-www-form-urlencoded", headers: headers)
            }
            let sameSite: HTTPHeaders = ["Sec-Fetch-Site": "same-origin"]
            let good = try await signIn(next: "/console/insights", headers: sameSite)
            #expect(good.status == .seeOther)
            #expect(good.headers.first(name: .location) == "/console/insights")
            let tab = try await signIn(next: "/\t/evil.example", headers: sameSite)
            #expect(tab.headers.first(name: .location) == "/console")
            // A sign-in posted from another site (login CSRF) is refused before the password is checked.
            let forged = try await signIn(next: "/console", headers: ["Origin": "https://evil.example", "Host": "tandem.test"])
            #expect(forged.status == .forbidden)
            #expect((forged.json["error"] as? [String: Any])?["code"] as? String == "cross_origin")
        }
    }

    @Test("a change made with the session cookie must come from this site; bearer tokens are not affected", arguments: TestDatabase.available)
    func sameOrigin(database: TestDatabase) async throws {
        try await TestApp.with(database) { t in
            let login = try await t.send(.POST, "/api/v1/auth/login", json: ["email": "agent@demo.tandem", "password": "tandem-demo"])
            let setCookie = try #require(login.headers.first(name: .setCookie))
            #expect(setCookie.hasPrefix("tandem_session="), "plain http: no __Host- prefix (\(setCookie))")
            #expect(!setCookie.contains("Secure"))
            // The lifetime is relative (Max-Age): a browser with a clock off from the server's keeps it 12 hours all the same.
            #expect(setCookie.contains("Max-Age=43200"), "\(setCookie)")
            let token = try #require(login.json["token"] as? String)
            let cookie = "tandem_session=\(token)"

            func queued() async throws -> String {
                let c = try await t.startConversation()
                let handoff = try await t.send(.POST, "/api/v1/conversations/\(c.id)/handoff", token: c.token)
                #expect(handoff.status == .ok)
                return c.id
            }
            let first = try await queued()
            for hostile: HTTPHeaders in [["Cookie": cookie, "Origin": "https://evil.example", "Host": "tandem.test"],
                                         ["Cookie": cookie, "Sec-Fetch-Site": "same-site"],
                                         ["Cookie": cookie, "Origin": "null", "Host": "tandem.test"],
                                         ["Cookie": cookie]] {
                let refused = try await t.send(.POST, "/api/v1/agent/conversations/\(first)/claim", headers: hostile)
                #expect(refused.status == .forbidden, "\(hostile)")
                #expect((refused.json["error"] as? [String: Any])?["code"] as? String == "cross_origin")
            }
            let stored = try await ConversationRecord.find(UUID(uuidString: first)!, on: t.app.db)
            #expect(stored?.status == .queued, "a refused claim changed nothing")

            let sameOrigin = try await t.send(.POST, "/api/v1/agent/conversations/\(first)/claim",
                                              headers: ["Cookie": cookie, "Origin": "http://tandem.test", "Host": "tandem.test"])
            #expect(sameOrigin.status == .ok, "\(sameOrigin.body.string)")
            let second = try await queued()
            let fetchSite = try await t.send(.POST, "/api/v1/agent/conversations/\(second)/claim",
                                             headers: ["Cookie": cookie, "Sec-Fetch-Site": "same-origin"])
            #expect(fetchSite.status == .ok)
            let third = try await queued()
            let bearer = try await t.send(.POST, "/api/v1/agent/conversations/\(third)/claim", token: token,
                                          headers: ["Origin": "https://evil.example"])
            #expect(bearer.status == .ok, "a bearer token is no ambient credential")
        }
    }

    @Test("JSON routes refuse other content types with 415 and store nothing", arguments: TestDatabase.available)
    func jsonOnly(database: TestDatabase) async throws {
        try await TestApp.with(database, model: false) { t in
            let before = try await ConversationRecord.query(on: t.app.db).count()
            for type in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"] {
                let response = try await t.send(.POST, "/api/v1/conversations", body: #"{"name": "Ana"}"#, contentType: type)
                #expect(response.status == .unsupportedMediaType, "\(type)")
                #expect((response.json["error"] as? [String: Any])?["code"] as? String == "unsupported_media_type")
            }
            #expect(try await ConversationRecord.query(on: t.app.db).count() == before)
            let json = try await t.send(.POST, "/api/v1/conversations", body: #"{"name": "Ana"}"#, contentType: "application/json; charset=utf-8")
            #expect(json.status == .created)
        }
    }

    @Test("the customer token is taken from the query string only by the event stream", arguments: [TestDatabase.sqlite])
    func queryToken(database: TestDatabase) async throws {
        try await TestApp.with(database, model: false) { t in
            let c = try await t.startConversation()
            let byQuery = try await t.send(.GET, "/api/v1/conversations/\(c.id)/messages?token=\(c.token)")
            #expect(byQuery.status == .notFound)
            let byHeader = try await t.send(.GET, "/api/v1/conversations/\(c.id)/messages", token: c.token)
            #expect(byHeader.status == .ok)
        }
    }

    @Test("every response, errors included, carries the security headers and is not cached", arguments: [TestDatabase.sqlite])
    func headers(database: TestDatabase) async throws {
        try await TestApp.with(database, model: false) { t in
            for path in ["/no-such-page", "/api/v1/conversations/not-a-uuid/messages", "/console/login"] {
                let response = try await t.send(.GET, "\(path)")
                #expect(response.headers.first(name: "Content-Security-Policy")?.contains("frame-ancestors 'none'") == true, "\(path)")
                #expect(response.headers.first(name: "X-Content-Type-Options") == "nosniff", "\(path)")
                #expect(response.headers.first(name: .cacheControl) == "no-store", "\(path)")
                #expect(response.headers.first(name: "Strict-Transport-Security") == nil, "plain http: no HSTS")
            }
            let script = try await t.send(.GET, "/common.js")
            #expect(script.status == .ok)
            #expect(script.headers.first(name: .cacheControl) != "no-store", "static files keep their validators")
            let chat = try await t.send(.GET, "/chat")
            #expect(chat.headers.first(name: "Content-Security-Policy")?.hasSuffix("frame-ancestors 'self'") == true)
        }
    }

    @Test("on an https public URL: a __Host- Secure cookie, HSTS, and the widget framed only by listed origins", arguments: [TestDatabase.sqlite])
    func https(database: TestDatabase) async throws {
        try await TestApp.with(database, model: false, adjust: {
            $0.publicURLOverride = "https://help.example.com"
            $0.widgetOrigins = TandemEnvironment(["TANDEM_WIDGET_ORIGINS": "https://shop.example.com, https://x.example;script-src *,not a url"]).widgetOrigins
        }) { t in
            #expect(t.app.tandem.environment.widgetOrigins == ["https://shop.example.com"], "malformed origins are dropped")
            let login = try await t.send(.POST, "/api/v1/auth/login", json: ["email": "agent@demo.tandem", "password": "tandem-demo"])
            let setCookie = try #require(login.headers.first(name: .setCookie))
            #expect(setCookie.hasPrefix("__Host-tandem_session="), "\(setCookie)")
            #expect(setCookie.contains("Secure") && setCookie.contains("HttpOnly") && setCookie.contains("Path=/"), "\(setCookie)")
            #expect(login.headers.first(name: "Strict-Transport-Security")?.hasPrefix("max-age=") == true)
            let token = try #require(login.json["token"] as? String)
            let me = try await t.send(.GET, "/api/v1/agent/me", headers: ["Cookie": "__Host-tandem_session=\(token)"])
            #expect(me.status == .ok, "the prefixed cookie authenticates")
            let chat = try await t.send(.GET, "/chat")
            #expect(chat.headers.first(name: "Content-Security-Policy")?.hasSuffix("frame-ancestors 'self' https://shop.example.com") == true)
        }
    }

    @Test("U+0000 in any JSON string is a 400 naming it, on both databases (PostgreSQL cannot store it)", arguments: TestDatabase.available)
    func nul(database: TestDatabase) async throws {
        #expect(Request.hasEscapedNUL(Array(#"{"a": "x\u0000y"}"#.utf8)))
        #expect(!Request.hasEscapedNUL(Array(#"{"a": "x\\u0000y"}"#.utf8)), "an escaped backslash, then the text u0000")
        #expect(!Request.hasEscapedNUL(Array(#"{"a": "\u00e9"}"#.utf8)))
        try await TestApp.with(database, model: false) { t in
            let admin = try await t.login("admin@demo.tandem")
            let body = #"{"intents": [{"key": "nul_test", "title": "A\u0000B", "answer": "x"}]}"#
            let response = try await t.send(.POST, "/api/v1/knowledge-base/import", body: body, token: admin)
            #expect(response.status == .badRequest, "\(response.body.string)")
            #expect(((response.json["error"] as? [String: Any])?["message"] as? String)?.contains("U+0000") == true)
            let c = try await t.startConversation()
            let message = try await t.send(.POST, "/api/v1/conversations/\(c.id)/messages", body: #"{"text": "hi\u0000"}"#, token: c.token)
            #expect(message.status == .badRequest)
            let csv = try await t.send(.POST, "/api/v1/knowledge-base/import?format=csv", body: "key,title,answer\nk,a\u{0}b,c\n",
                                       contentType: "text/csv", token: admin)
            #expect(csv.status == .badRequest)
        }
    }
}
