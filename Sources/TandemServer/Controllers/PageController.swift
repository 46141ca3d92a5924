import Fluent
import Foundation
import Leaf
import Vapor

/// Server-rendered pages (Leaf templates in Resources/Views; scripts and styles in
/// Resources/Public, all the project's own). Pages render the current state; the scripts keep
/// it live through the JSON API and server-sent events. Leaf escapes every `#(value)`, so
/// customer text is always shown as text.
struct PageController: RouteCollection {
    func boot(routes: RoutesBuilder) throws {
        routes.get(use: home)
        routes.get("chat", use: chat)
        routes.get("console", "login", use: loginPage)
        routes.post("console", "login", use: login)
        routes.post("console", "logout", use: logout)
        let console = routes.grouped("console").grouped(RoleGuard(role: .agent))
        console.get(use: consoleHome)
        console.get("conversations", ":id", use: conversation)
        let kb = routes.grouped("console").grouped(RoleGuard(role: .supervisor))
        kb.get("knowledge-base", use: knowledgeBase)
        kb.get("knowledge-base", ":key", use: intent)
        console.get("audits", use: auditsPage)
        kb.get("insights", use: insightsPage)
        routes.grouped("api", "v1").grouped(RoleGuard(role: .supervisor)).get("insights", "series", use: insightsSeries)
    }

    // MARK: Contexts (what each template receives)

    struct AgentContext: Encodable {
        var name: String
        var email: String
        var role: String
        var isSupervisor: Bool
        var isAdmin: Bool
    }

    struct ChatContext: Encodable {
        var title: String
        /// Rendered inside the embeddable widget (no page chrome).
        var embed: Bool
        var maxMessageCharacters: Int
    }

    struct LoginContext: Encodable {
        var title = "Sign in"
        var error: String?
        var next: String
        var email: String?
        var demo: Bool
    }

    struct QueueItem: Encodable {
        var id: String
        var customerName: String
        var status: String
        var handoffReason: String
        var waiting: String
        var late: Bool
        var urgent: Bool
        var assignedTo: String?
        var lastMessage: String
    }

    struct ConsoleContext: Encodable {
        var title = "Queue"
        var agent: AgentContext
        var queue: [QueueItem]
        var mine: [QueueItem]
        var slaSeconds: Int
    }

    struct MessageItem: Encodable {
        var seq: Int
        var role: String
        var text: String
        var time: String
        var agentName: String?
    }

    struct DecisionItem: Encodable {
        var time: String
        var action: String
        var rule: String
        var intent: String
        var confidence: String
        var threshold: String
        var reasons: [String]
    }

    struct IntentOption: Encodable {
        var key: String
        var title: String
        var selected: Bool
    }

    struct ConversationContext: Encodable {
        var title: String
        var agent: AgentContext
        var conversationID: String
        var customerName: String
        var customerEmail: String?
        var status: String
        var assignedTo: String?
        var mine: Bool
        var handoffReason: String?
        var messages: [MessageItem]
        var lastSeq: Int
        var summary: String
        var draft: String
        var suggestions: [SuggestionItem]
        var decisions: [DecisionItem]
        var intents: [IntentOption]
        var maxMessageCharacters: Int
    }

    struct SuggestionItem: Encodable {
        var key: String
        var title: String
        var probability: String
    }

    struct IntentRow: Encodable {
        var key: String
        var title: String
        var sensitive: Bool
        var automation: String
        var shadow: Bool
        var examples: Int
    }

    struct KnowledgeBaseContext: Encodable {
        var title = "Knowledge base"
        var agent: AgentContext
        var intents: [IntentRow]
        var model: ModelItem?
    }

    struct ModelItem: Encodable {
        var version: String
        var status: String
        var summary: String
        var trainedAt: String
    }

    struct IntentContext: Encodable {
        var title: String
        var agent: AgentContext
        var key: String
        var intentTitle: String
        var answer: String
        var sensitive: Bool
        var automation: String
        var shadow: Bool
        var examples: [ExampleDTO]
    }

    struct AuditsContext: Encodable {
        var title = "Audits"
        var agent: AgentContext
        var pending: Int
    }

    struct InsightsContext: Encodable {
        var title = "Insights"
        var agent: AgentContext
        var report: InsightsSeries.Page
    }

    // MARK: Handlers

    func home(_ req: Request) async throws -> Response {
        req.redirect(to: "/chat")
    }

    func chat(_ req: Request) async throws -> View {
        let embed = (try? req.query.get(Bool.self, at: "embed")) ?? false
        return try await req.view.render("chat", ChatContext(title: "Help", embed: embed, maxMessageCharacters: req.tandem.environment.maxMessageCharacters))
    }

    func loginPage(_ req: Request) async throws -> View {
        let next = safeNext(try? req.query.get(String.self, at: "next"))
        return try await req.view.render("login", LoginContext(error: nil, next: next, email: nil, demo: req.tandem.environment.loadDemo))
    }

    struct LoginForm: Content {
        var email: String?
        var password: String?
        var next: String?
    }

    func login(_ req: Request) async throws -> Response {
        let form = try req.content.decode(LoginForm.self)
        let next = safeNext(form.next)
        guard let email = form.email, let password = form.password,
              let (token, expires, _) = try await AuthController.verify(email: email, password: password, on: req) else {
            let view = try await req.view.render("login", LoginContext(error: "That e-mail and password do not match an active agent.",
                                                                       next: next, email: form.email, demo: req.tandem.environment.loadDemo))
            let response = try await view.encodeResponse(for: req)
            response.status = .unauthorized
            return response
        }
        let response = req.redirect(to: next)
        response.cookies[AgentAuthenticator.cookie] = AuthController.cookie(token: token, expires: expires)
        return response
    }

    func logout(_ req: Request) async throws -> Response {
        try await AuthController.revoke(req)
        let response = req.redirect(to: "/console/login")
        response.cookies[AgentAuthenticator.cookie] = .expired
        return response
    }

    func consoleHome(_ req: Request) async throws -> View {
        let agent = try req.agent
        let conversations = req.conversations
        let queue = try await conversations.queue()
        let mine = try await ConversationRecord.query(on: req.db).filter(\.$assignedAgentID == agent.id)
            .filter(\.$status == .assigned).sort(\.$claimedAt).all()
        let settings = try await req.tandem.settings(on: req.db)
        return try await req.view.render("console", ConsoleContext(
            agent: Self.context(agent), queue: try await items(queue, on: req), mine: try await items(mine, on: req), slaSeconds: settings.slaSeconds))
    }

    func conversation(_ req: Request) async throws -> View {
        let agent = try req.agent
        guard let id = req.parameters.get("id", as: UUID.self) else { throw AppError.notFound("Conversation") }
        let view = try await req.conversations.agentView(id)
        let intents = try await IntentRecord.query(on: req.db).sort(\.$title).all()
        let predicted = view.suggestions?.intents.first?.intent
        let c = view.conversation
        return try await req.view.render("conversation", ConversationContext(
            title: c.customerName.map { "Conversation with \($0)" } ?? "Conversation",
            agent: Self.context(agent), conversationID: c.id.uuidString, customerName: c.customerName ?? "Customer",
            customerEmail: view.customerEmail, status: c.status.rawValue, assignedTo: view.assignedAgentName,
            mine: c.assignedAgentID == agent.id, handoffReason: c.handoffReason,
            messages: view.messages.map { MessageItem(seq: $0.seq, role: $0.role.rawValue, text: $0.text, time: Self.time($0.createdAt), agentName: $0.agentName) },
            lastSeq: view.messages.last?.seq ?? 0,
            summary: view.suggestions?.summary ?? "No customer messages yet.", draft: view.suggestions?.draft ?? "",
            suggestions: (view.suggestions?.intents ?? []).map { SuggestionItem(key: $0.intent, title: $0.title ?? $0.intent, probability: String(format: "%.0f%%", $0.probability * 100)) },
            decisions: view.decisions.reversed().map { d in
                DecisionItem(time: Self.time(d.createdAt), action: d.action.rawValue, rule: d.rule.rawValue, intent: d.intentTitle ?? d.intent ?? "—",
                             confidence: d.confidence.map { String(format: "%.3f", $0) } ?? "—",
                             threshold: d.threshold.map { String(format: "%.3f", $0) } ?? "—", reasons: d.reasons)
            },
            intents: intents.map { IntentOption(key: $0.key, title: $0.title, selected: $0.key == predicted) },
            maxMessageCharacters: req.tandem.environment.maxMessageCharacters))
    }

    func knowledgeBase(_ req: Request) async throws -> View {
        let agent = try req.agent
        let intents = try await IntentRecord.query(on: req.db).with(\.$examples).sort(\.$title).all()
        let active = try await ModelVersionRecord.query(on: req.db).filter(\.$status == .active).first()
        return try await req.view.render("knowledge-base", KnowledgeBaseContext(
            agent: Self.context(agent),
            intents: intents.map { IntentRow(key: $0.key, title: $0.title, sensitive: $0.sensitive, automation: $0.automation.rawValue, shadow: $0.shadow, examples: $0.examples.count) },
            model: active.map { ModelItem(version: $0.version, status: $0.status.rawValue, summary: $0.summary ?? "", trainedAt: Self.time($0.createdAt)) }))
    }

    func intent(_ req: Request) async throws -> View {
        let agent = try req.agent
        guard let key = req.parameters.get("key"), let intent = try await IntentRecord.query(on: req.db).filter(\.$key == key).with(\.$examples).first() else {
            throw AppError.notFound("Intent")
        }
        return try await req.view.render("intent", IntentContext(
            title: intent.title, agent: Self.context(agent), key: intent.key, intentTitle: intent.title, answer: intent.answer,
            sensitive: intent.sensitive, automation: intent.automation.rawValue, shadow: intent.shadow,
            examples: intent.examples.sorted { ($0.createdAt ?? .distantPast) < ($1.createdAt ?? .distantPast) }.map { ExampleDTO(id: $0.id, text: $0.text) }))
    }

    /// The review queue of sampled AI answers; audits.js loads and reviews them through the API.
    func auditsPage(_ req: Request) async throws -> View {
        let agent = try req.agent
        let pending = try await AuditRecord.query(on: req.db).filter(\.$status == .pending).count()
        return try await req.view.render("audits", AuditsContext(agent: Self.context(agent), pending: pending))
    }

    /// Quality, speed and cost over the last 14 days, with charts drawn on the server.
    func insightsPage(_ req: Request) async throws -> View {
        let agent = try req.agent
        let report = try await insightsReport(req)
        let titles = try await req.tandem.intentTitles(on: req.db)
        return try await req.view.render("insights", InsightsContext(agent: Self.context(agent), report: report.page(titles: titles)))
    }

    /// `GET /api/v1/insights/series?days=14`: the insights page's figures as JSON.
    func insightsSeries(_ req: Request) async throws -> InsightsSeries {
        try await insightsReport(req)
    }

    private func insightsReport(_ req: Request) async throws -> InsightsSeries {
        let days = (try? req.query.get(Int.self, at: "days")) ?? 14
        guard (1...90).contains(days) else { throw AppError.invalidField("days", "1–90") }
        let settings = try await req.tandem.settings(on: req.db)
        return try await InsightsSeries.build(on: req.db, settings: settings, artifact: req.tandem.intelligence.active?.artifact, days: days,
                                           now: req.tandem.clock.now)
    }

    // MARK: Helpers

    static func context(_ agent: AgentRecord) -> AgentContext {
        AgentContext(name: agent.name, email: agent.email, role: agent.role.rawValue,
                     isSupervisor: agent.role >= .supervisor, isAdmin: agent.role >= .admin)
    }

    private func items(_ conversations: [ConversationRecord], on req: Request) async throws -> [QueueItem] {
        let settings = req.tandem.cachedSettings
        let agents = try await AgentRecord.query(on: req.db).all()
        let names = Dictionary(uniqueKeysWithValues: agents.compactMap { a in a.id.map { ($0, a.name) } })
        var items: [QueueItem] = []
        for c in conversations {
            let last = try await MessageRecord.query(on: req.db).filter(\.$conversation.$id == c.requireID())
                .filter(\.$role == .customer).sort(\.$seq, .descending).first()
            let waited = c.queuedAt.map { req.tandem.clock.now.timeIntervalSince($0) } ?? 0
            items.append(QueueItem(id: try c.requireID().uuidString, customerName: c.customerName ?? "Customer", status: c.status.rawValue,
                                   handoffReason: c.handoffReason ?? "", waiting: Self.duration(waited),
                                   late: c.status == .queued && waited > Double(settings.slaSeconds), urgent: c.priority > 0,
                                   assignedTo: c.assignedAgentID.flatMap { names[$0] }, lastMessage: last.map { String($0.text.prefix(140)) } ?? ""))
        }
        return items
    }

    /// Only same-site paths, so the login form cannot redirect elsewhere.
    private func safeNext(_ next: String?) -> String {
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"), !next.contains("\\") else { return "/console" }
        return next
    }

    static func time(_ date: Date?) -> String {
        guard let date else { return "" }
        let formatter = DateFormatter()
        formatter.dateFormat = "HH:mm"
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }

    static func duration(_ seconds: TimeInterval) -> String {
        let s = Int(seconds)
        if s < 60 { return "\(s) s" }
        if s < 3600 { return "\(s / 60) min" }
        return "\(s / 3600) h \(s % 3600 / 60) min"
    }
}
