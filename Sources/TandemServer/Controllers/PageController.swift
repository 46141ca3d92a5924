import Foundation
import Leaf
import TandemCore
import Vapor

/// Server-rendered pages (Leaf templates in Resources/Views; scripts and styles in
/// Resources/Public, all the project's own). Pages render the current state; the scripts keep
/// it live through the JSON API and server-sent events. Leaf escapes every `#(value)`, so
/// customer text is always shown as text.
///
/// Each handler authenticates, loads the page's view model (one per page, in `Pages/`) and
/// renders it.
struct PageController: RouteCollection {
    func boot(routes: RoutesBuilder) throws {
        routes.get(use: home)
        routes.get("chat", use: chat)
        routes.get("console", "login", use: loginPage)
        routes.post("console", "login", use: login)
        routes.post("console", "logout", use: logout)
        let console = routes.grouped("console").grouped(RoleGuard(role: .agent))
        console.get(use: consoleHome)
        console.get("conversations", use: conversationsPage)
        console.get("conversations", ":id", use: conversation)
        console.get("contacts", ":key", use: contact)
        let kb = routes.grouped("console").grouped(RoleGuard(role: .supervisor))
        kb.get("knowledge-base", use: knowledgeBase)
        kb.get("knowledge-base", ":key", use: intent)
        console.get("audits", use: auditsPage)
        kb.get("insights", use: insightsPage)
        routes.grouped("console").grouped(RoleGuard(role: .admin)).get("audit-log", use: auditLogPage)
        routes.grouped("api", "v1").grouped(RoleGuard(role: .supervisor)).get("insights", "series", use: insightsSeries)
    }

    func home(_ req: Request) async throws -> Response {
        req.redirect(to: "/chat")
    }

    func chat(_ req: Request) async throws -> View {
        let embed = (try? req.query.get(Bool.self, at: "embed")) ?? false
        return try await req.view.render("chat", ChatPage(embed: embed, maxMessageCharacters: req.tandem.environment.maxMessageCharacters))
    }

    func loginPage(_ req: Request) async throws -> View {
        try await req.view.render("login", LoginPage(next: try? req.query.get(String.self, at: "next"), demo: req.tandem.environment.showsDemoLogins))
    }

    func login(_ req: Request) async throws -> Response {
        let form = try req.content.decode(LoginForm.self)
        guard let email = form.email, let password = form.password,
              let (token, expires, _) = try await AuthController.verify(email: email, password: password, on: req) else {
            let page = LoginPage(error: "That e-mail and password do not match an active agent.", next: form.next, email: form.email,
                                 demo: req.tandem.environment.showsDemoLogins)
            let response = try await req.view.render("login", page).encodeResponse(for: req)
            response.status = .unauthorized
            return response
        }
        let response = req.redirect(to: LoginPage.safeNext(form.next))
        response.cookies[SessionCookie.name(req.tandem.environment)] = SessionCookie.value(token: token, expires: expires, now: req.tandem.clock.now, req.tandem.environment)
        return response
    }

    func logout(_ req: Request) async throws -> Response {
        try await AuthController.revoke(req)
        let response = req.redirect(to: "/console/login")
        response.cookies[SessionCookie.name(req.tandem.environment)] = SessionCookie.expired(req.tandem.environment)
        return response
    }

    func consoleHome(_ req: Request) async throws -> View {
        let agent = try req.agent
        let page = try await ConsolePage.load(agent: agent, queue: try await req.conversations.queue(for: agent),
                                              settings: try await req.tandem.workspace(on: req.db).settings, now: req.tandem.clock.now,
                                              on: req.db)
        return try await req.view.render("console", page)
    }

    /// Every conversation, filtered by `?status=&tag=` (and the API list's other parameters).
    func conversationsPage(_ req: Request) async throws -> Response {
        let page = try await ConversationsPage.load(agent: try req.agent, query: { req.query[String.self, at: $0] },
                                                    conversations: req.conversations, on: req.db)
        let response = try await req.view.render("conversations", page).encodeResponse(for: req)
        if page.error != nil { response.status = .badRequest }
        return response
    }

    func conversation(_ req: Request) async throws -> View {
        let agent = try req.agent
        let id = try await req.visibleConversationID()
        let page = try await ConversationPage.load(agent: agent, view: try await req.conversations.agentView(id),
                                                   maxMessageCharacters: req.tandem.environment.maxMessageCharacters, on: req.db)
        return try await req.view.render("conversation", page)
    }

    /// A customer's past conversations (`Contacts`).
    func contact(_ req: Request) async throws -> View {
        let agent = try req.agent
        guard let key = req.parameters.get("key") else { throw AppError.notFound("Contact") }
        let contact = try await Contacts.contact(key, for: agent, on: req.db)
        return try await req.view.render("contact", ContactPage(agent: agent, contact: contact))
    }

    func knowledgeBase(_ req: Request) async throws -> View {
        try await req.view.render("knowledge-base", try await KnowledgeBasePage.load(agent: try req.agent, settings: try await req.tandem.settings(on: req.db), on: req.db))
    }

    func intent(_ req: Request) async throws -> View {
        let agent = try req.agent
        guard let key = req.parameters.get("key") else { throw AppError.notFound("Intent") }
        return try await req.view.render("intent", try await IntentPage.load(agent: agent, key: key, on: req.db))
    }

    /// The review queue of sampled AI answers; audits.js loads and reviews them through the API.
    func auditsPage(_ req: Request) async throws -> View {
        let settings = try await req.tandem.settings(on: req.db)
        return try await req.view.render("audits", try await AuditsPage.load(agent: try req.agent, settings: settings,
                                                                             now: req.tandem.clock.now, on: req.db))
    }

    /// Admin actions, newest first; `?actor=&action=&before=` filter and page it.
    func auditLogPage(_ req: Request) async throws -> View {
        let page = try await AuditLogPage.load(agent: try req.agent, actor: req.query[String.self, at: "actor"],
                                               action: req.query[String.self, at: "action"],
                                               before: req.query[String.self, at: "before"].flatMap { Int($0) }, on: req.db)
        return try await req.view.render("audit-log", page)
    }

    /// Quality, speed and cost over the last 14 days, with charts drawn on the server.
    func insightsPage(_ req: Request) async throws -> View {
        let agent = try req.agent
        let series = try await insightsSeries(req)
        let titles = try await req.tandem.intentTitles(on: req.db)
        let answers = try await DecisionRecord.automaticAnswers(since: series.from, on: req.db)
        var page = InsightsPage(agent: agent, series: series, titles: titles, automaticAnswers: answers)
        page.tags = try await ConversationTagRecord.counts(on: req.db).map { .init(tag: $0.tag, conversations: $0.conversations) }
        page.sla = InsightsPage.slaRows(try await ServiceLevels.attainment(since: series.from, now: req.tandem.clock.now,
                                                                           settings: try await req.tandem.settings(on: req.db), on: req.db))
        return try await req.view.render("insights", page)
    }

    /// `GET /api/v1/insights/series?days=14`: the insights page's figures as JSON.
    func insightsSeries(_ req: Request) async throws -> InsightsSeries {
        let days = (try? req.query.get(Int.self, at: "days")) ?? 14
        guard (1...90).contains(days) else { throw AppError.invalidField("days", "1–90") }
        let settings = try await req.tandem.workspace(on: req.db).settings
        return try await InsightsSeries.build(on: req.db, settings: settings, artifact: req.tandem.intelligence.active?.artifact, days: days,
                                              now: req.tandem.clock.now)
    }
}
