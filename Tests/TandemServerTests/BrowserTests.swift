import Fluent
import Foundation
import TandemCore
@testable import TandemServer
import Testing
import Vapor

/// The product in a real browser: headless Chromium driven over WebDriver against the app as
/// `tandem serve` builds it, with a customer window and an agent window side by side.
/// Screenshots are left for people to look at (TANDEM_SCREENSHOTS, or `screenshots/` at the
/// package root).
@Suite("Browser", .serialized)
struct BrowserTests {
    /// Runs where Chromium, chromedriver and the sentence model are installed; in CI always,
    /// where anything missing is a failure rather than a skip.
    static let runnable = TestDatabase.isCI || (WebDriver.missingBrowser == nil && Shared.hasModel)

    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var screenshotFolder: URL {
        if let folder = ProcessInfo.processInfo.environment["TANDEM_SCREENSHOTS"], !folder.isEmpty {
            return URL(fileURLWithPath: folder, isDirectory: true)
        }
        return packageRoot.appendingPathComponent("screenshots", isDirectory: true)
    }

    static let password = "tandem-demo"
    static let plainQuestion = "How do I reset my password?"
    static let fraudMessage = "There's a payment I didn't make, I think my card was stolen"
    static let draftAddition = " I've frozen your card."
    static let imagePayload = #"<img src=x onerror="document.title='pwned'">"#
    static let scriptPayload = "<script>document.title='pwned'</script>"

    @Test("customer chat and agent console in Chromium: AI answer, hand-off, claim, edited draft, live reply, resolve, rating; customer text stays inert",
          .enabled(if: runnable, "needs /usr/bin/chromedriver and /usr/bin/chromium (apt-get install chromium chromium-driver) and the MiniLM model (make model)"),
          .timeLimit(.minutes(5)))
    func customerAndAgent() async throws {
        if TestDatabase.isCI {
            if let missing = WebDriver.missingBrowser { throw TestSetupError("CI=true: the browser test cannot run: \(missing)") }
            try #require(Shared.hasModel, "CI=true: the MiniLM model must be installed at \(Shared.modelDirectory) (make model)")
        }
        print("Browser test screenshots: \(Self.screenshotFolder.path)")

        try await TestApp.with(.sqlite) { t in
            try await t.browse("Browser test") { base, driver in try await flow(t, base: base, driver: driver) }
        }
    }

    /// The steps, with a customer window and an agent window (and a supervisor's at the end).
    func flow(_ t: TestApp, base: String, driver: WebDriver) async throws {
        let customer = try await driver.newSession(name: "customer")
        let agent = try await driver.newSession(name: "agent")

        // 1. A plain question gets the knowledge base's approved answer from the AI.
        try await customer.navigate(base + "/chat")
        try await waitUntilChatReady(customer)
        // Opening the page stores nothing (visitors and crawlers create no conversations)...
        let onLoad = try await ConversationRecord.query(on: t.app.db).count()
        #expect(onLoad == 0, "loading the chat page created \(onLoad) conversation(s)")
        try await customerSays(Self.plainQuestion, in: customer)
        // ... the first message does, with the server's greeting in place of the page's own.
        let afterFirst = try await ConversationRecord.query(on: t.app.db).count()
        #expect(afterFirst == 1, "the first message should create exactly one conversation, found \(afterFirst)")
        #expect(try await customer.execute("return document.querySelectorAll('#messages [data-local]').length;") as? Int == 0,
                "the page's own welcome line is still shown beside the server's greeting")
        try await customer.waitForText("#messages .message--ai .message__text", containing: "password")
        let approved = try #require(try DemoWorkspace.document.intents.first { $0.key == "login_password_reset" }?.answer)
        let answers = try await texts(customer, "#messages .message--ai .message__text")
        #expect(answers.contains { $0.hasPrefix(String(approved.prefix(60))) },
                "the AI's answer is not the approved one: \(answers) vs \(approved)")
        try await shoot(customer, "chat-answer.png")

        // 1b. A bare greeting waits for what may follow it (the page says the assistant is
        // reading); nothing follows, so the node's sweeper decides it when the window ends and
        // the reply arrives on the stream.
        try await customerSays("hi there", in: customer)
        try await customer.waitUntil("the page shows the assistant reading") {
            try await customer.execute("return !document.getElementById('typing').hidden;") as? Bool == true
        }
        try await customer.waitForText("#messages .message--ai:last-child .message__text", containing: SmallTalkReplies().greeting)
        #expect(try await customer.execute("return document.getElementById('typing').hidden;") as? Bool == true,
                "the reading notice stays after the reply")

        // 2. A fraud report is handed to a person, not answered.
        try await customerSays(Self.fraudMessage, in: customer)
        try await customer.waitForText("#status", containing: "Waiting for a person: you're next")
        try await customer.waitForText("#messages .message--system .message__text", containing: "passing you to a person")
        let lastRoles = try await customer.execute("""
            return Array.from(document.querySelectorAll('#messages .message')).map(m => m.className);
            """) as? [String] ?? []
        #expect(lastRoles.last?.contains("message--ai") == false, "the AI answered a fraud report: \(lastRoles)")
        try await shoot(customer, "chat-handoff.png")
        let conversationID = try #require(try await customer.execute("return sessionStorage.getItem('tandem.conversation');") as? String,
                                          "the chat page stored no conversation id")
        // Set a marker: if the customer's page reloads, it is gone.
        try await customer.execute("window.__tandemNoReload = 'still here';")

        // 3. The agent signs in through the form, finds the conversation in the queue and claims it.
        try await agent.navigate(base + "/console")
        try await agent.waitUntil("the console redirects to /console/login") {
            URLComponents(string: try await agent.currentURL())?.path == "/console/login"
        }
        try await signIn(agent, as: "agent@demo.tandem")
        try await agent.waitUntil("signed in and back on /console") {
            URLComponents(string: try await agent.currentURL())?.path == "/console"
        }
        let queueItem = "#queue .queue-item[data-id=\"\(conversationID)\" i]"
        try await agent.waitFor(queueItem)
        try await agent.waitForText(queueItem + " .queue-item__last", containing: "card was stolen")
        #expect(try await !agent.text(queueItem + " .queue-item__reason").isEmpty, "the queue item shows no hand-off reason")
        try await shoot(agent, "console-queue.png")
        try await agent.click(queueItem + " .claim")
        try await agent.waitUntil("the claim opens /console/conversations/\(conversationID)") {
            URLComponents(string: try await agent.currentURL())?.path.lowercased() == "/console/conversations/\(conversationID.lowercased())"
        }
        try await agent.waitForText("#conversation-status", containing: "Assigned to you")
        try await agent.waitForText("#messages .message--customer .message__text", containing: "card was stolen")
        var draft = ""
        try await agent.waitUntil("#reply-text holds the assistant's draft") {
            draft = try await agent.value("#reply-text")
            return !draft.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
        }
        let summary = try await agent.text("#summary")
        #expect(!summary.isEmpty && summary != "No customer messages yet.", "#summary: \(summary)")
        let reason = try await agent.text("#handoff-reason")
        #expect(reason == RoutingDecision.Rule.sensitive.explanation, "#handoff-reason in plain words: \(reason)")
        let suggestions = try await agent.findAll("#suggestions .suggestion")
        #expect(!suggestions.isEmpty, "#suggestions is empty")
        print("  draft: \(draft)\n  summary: \(summary)\n  hand-off reason: \(reason)")
        // Each decision in plain words; its numbers one click away.
        try await agent.waitFor("#decisions .decision__explanation")
        let explanation = try await agent.text("#decisions .decision:first-child .decision__explanation")
        #expect(explanation.hasSuffix(".") && !explanation.contains("threshold"), "plain words: \(explanation)")
        #expect(try await !agent.isDisplayed("#decisions .decision:first-child .decision__reasons"), "the numbers start folded away")
        try await agent.click("#decisions .decision:first-child .decision__numbers summary")
        try await agent.waitUntil("the numbers unfold") { try await agent.isDisplayed("#decisions .decision:first-child .decision__reasons") }
        try await shoot(agent, "console-conversation.png")

        // The agent edits the draft and sends it.
        // WebDriver puts the caret after the existing text of an unfocused field.
        try await agent.sendKeys("#reply-text", Self.draftAddition)
        let edited = try await agent.value("#reply-text")
        #expect(edited == draft + Self.draftAddition, "the edited draft is \(edited)")
        try await agent.click("#send-reply")
        try await agent.waitForText("#messages .message--agent .message__text", containing: "I've frozen your card.")
        try await agent.waitUntil("#reply-text is emptied after sending") { try await agent.value("#reply-text").isEmpty }

        // 3a. A saved reply from the reply box: search, choose, and it is in the reply.
        try await agent.sendKeys("#canned-search", "password")
        try await agent.waitFor("#canned-results .canned__use")
        try await shoot(agent, "console-canned.png")
        try await agent.click("#canned-results .canned__use")
        let inserted = try await agent.value("#reply-text")
        let passwordAnswer = try #require(try DemoWorkspace.document.intents.first { $0.key == "login_password_reset" }?.answer)
        #expect(inserted.hasPrefix(String(passwordAnswer.prefix(30))), "the saved reply inserted: \(inserted)")
        try await agent.clear("#reply-text")

        // 3b. A private note for the team, mentioning the supervisor: shown to agents as text,
        // never to the customer; the supervisor finds it among their mentions and marks it read.
        let note = "<img src=x onerror=\"window.__noteRan=1\"> call back tomorrow, @supervisor"
        try await agent.sendKeys("#note-text", note)
        try await agent.click("#add-note")
        try await waitForExactText(agent, "#notes .note__text", note)
        try await agent.waitForText("#notes .note__mentions", containing: "Notified:")
        #expect(try await agent.execute("return document.querySelectorAll('#notes img').length + (window.__noteRan || 0);") as? Int == 0,
                "the note became markup")
        try await shoot(agent, "console-note.png")
        let lead = try await driver.newSession(name: "lead")
        try await lead.navigate(base + "/console/login")
        try await signIn(lead, as: "supervisor@demo.tandem")
        try await lead.waitUntil("signed in and on /console") { URLComponents(string: try await lead.currentURL())?.path == "/console" }
        try await waitForExactText(lead, "#mentions .mention__text", note)
        try await lead.waitForText("#mentions-count", containing: "1")
        try await shoot(lead, "console-mentions.png")
        try await lead.click("#mentions .mention__read")
        try await lead.waitUntil("the mention is gone once read") { try await lead.isDisplayed("#mentions-empty") }
        await lead.delete()
        #expect(try await customer.execute("return document.body.textContent.includes('call back tomorrow');") as? Bool == false,
                "the customer's page shows the note")

        // 4. The customer sees the reply without reloading.
        try await customer.waitForText("#messages .message--agent .message__text", containing: "I've frozen your card.")
        let shown = try await texts(customer, "#messages .message--agent .message__text")
        let sentText = edited.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(shown.contains(sentText), "the customer sees \(shown), not the sent reply \(sentText)")
        #expect(try await customer.execute("return window.__tandemNoReload || null;") as? String == "still here",
                "the customer's page reloaded to show the reply")
        try await customer.waitForText("#status", containing: "helping you")
        try await shoot(customer, "chat-agent-reply.png")

        // 5. The agent resolves; the customer rates.
        try await agent.click("#resolve")
        try await agent.waitForText("#conversation-status", containing: "Resolved")
        try await customer.waitUntil("the rating form #rating is shown") { try await customer.isDisplayed("#rating") }
        try await customer.click("#score-5")
        try await customer.click("#rate")
        try await customer.waitUntil("#rating-thanks is shown") { try await customer.isDisplayed("#rating-thanks") }
        #expect(try await !customer.isDisplayed("#rating"), "the rating form is still shown after rating")
        let stored = try await ConversationRecord.find(UUID(uuidString: conversationID) as UUID?, on: t.app.db)
        #expect(stored?.rating == 5, "the rating was not stored: \(String(describing: stored?.rating))")
        try await shoot(customer, "chat-rated.png")

        // 6. Markup a customer types stays text, for the customer and for the agent.
        try await customer.click("#new-conversation")
        try await customer.waitUntil("a fresh chat is ready, the old conversation forgotten") {
            let id = try await customer.execute("return sessionStorage.getItem('tandem.conversation');") as? String
            guard id == nil else { return false }
            return try await customer.allEnabled("#send", "#message-input")
        }
        var xssID = ""
        for payload in [Self.imagePayload, Self.scriptPayload] {
            try await customerSays(payload, in: customer)
            if xssID.isEmpty {
                // The first message started the new conversation.
                xssID = try await customer.execute("return sessionStorage.getItem('tandem.conversation');") as? String ?? ""
                #expect(!xssID.isEmpty && xssID.lowercased() != conversationID.lowercased(), "a new conversation: \(xssID)")
            }
            try await waitForExactText(customer, "#messages .message--customer .message__text", payload)
        }
        try await Task.sleep(nanoseconds: 500_000_000) // an onerror handler would have fired by now
        try await expectInert(customer, page: "customer chat")
        try await shoot(customer, "chat-xss.png")

        try await agent.navigate(base + "/console/conversations/\(xssID)")
        for payload in [Self.imagePayload, Self.scriptPayload] {
            try await waitForExactText(agent, "#messages .message--customer .message__text", payload)
        }
        try await Task.sleep(nanoseconds: 500_000_000)
        try await expectInert(agent, page: "agent conversation")
        try await shoot(agent, "console-xss.png")

        // The queue shows the last customer message too, when the conversation is waiting there.
        try await agent.navigate(base + "/console")
        try await agent.waitFor("#queue")
        let xssItem = "#queue .queue-item[data-id=\"\(xssID)\" i]"
        if try await agent.exists(xssItem) {
            try await waitForExactText(agent, xssItem + " .queue-item__last", Self.scriptPayload)
            try await Task.sleep(nanoseconds: 500_000_000)
            try await expectInert(agent, page: "agent queue")
        } else {
            print("  (the markup conversation is not waiting in the queue, so the queue page was not checked)")
        }

        // 7. An admin's knowledge base, where the small-talk replies are edited too.
        let supervisor = try await driver.newSession(name: "supervisor")
        try await supervisor.navigate(base + "/console/knowledge-base")
        try await supervisor.waitUntil("/console/knowledge-base redirects to /console/login") {
            URLComponents(string: try await supervisor.currentURL())?.path == "/console/login"
        }
        try await signIn(supervisor, as: "admin@demo.tandem")
        try await supervisor.waitUntil("signed in and sent on to /console/knowledge-base") {
            URLComponents(string: try await supervisor.currentURL())?.path == "/console/knowledge-base"
        }
        let intentCount = try DemoWorkspace.document.intents.count
        try await supervisor.waitUntil("#intents lists the \(intentCount) demo intents") {
            try await supervisor.findAll("#intents tbody tr").count == intentCount
        }
        try await supervisor.waitFor("#model-version")
        try await shoot(supervisor, "knowledge-base.png")
        let greeting = "Hi from the Fernpay team! What can we do for you?"
        try await supervisor.clear("#small-talk-greeting")
        try await supervisor.sendKeys("#small-talk-greeting", greeting)
        try await supervisor.click("#save-small-talk")
        try await supervisor.waitForText("#kb-status", containing: "Saved")
        let replies = try await t.app.tandem.settings(on: t.app.db).smallTalk
        #expect(replies.greeting == greeting, "the page saved the greeting: \(replies)")
        #expect(replies.thanks == SmallTalkReplies().thanks, "the other replies are kept")

        // No JavaScript errors or failed requests in any window.
        for session in [customer, agent, supervisor] {
            let errors = try await session.severeConsoleErrors()
            #expect(errors.isEmpty, "\(session.name) browser console errors:\n\(errors.map { "  \($0)" }.joined(separator: "\n"))")
            let all = session.consoleLog
            if !all.isEmpty { print("  \(session.name) console:\n" + all.map { "    \($0)" }.joined(separator: "\n")) }
        }
        // And the console log is really being read: a marker logged now must come back.
        try await supervisor.execute("console.error('tandem-webdriver-log-check');")
        let check = try await supervisor.collectLog()
        #expect(check.contains { $0.level == "SEVERE" && $0.message.contains("tandem-webdriver-log-check") },
                "the browser console log cannot be read, so JavaScript errors would go unnoticed: \(check)")
    }

    @Test("tags in Chromium: markup refused, a chip added live, the queue shows it, the list filters by it, removed again",
          .enabled(if: runnable, "needs /usr/bin/chromedriver and /usr/bin/chromium (apt-get install chromium chromium-driver) and the MiniLM model (make model)"),
          .timeLimit(.minutes(3)))
    func tags() async throws {
        if TestDatabase.isCI, let missing = WebDriver.missingBrowser { throw TestSetupError("CI=true: the browser test cannot run: \(missing)") }
        try await TestApp.with(.sqlite, model: false) { t in
            // setup: one conversation waiting for a person, one not
            let tagged = try await t.startConversation(name: "Vera <b>VIP</b>")
            let other = try await t.startConversation(name: "Otto")
            _ = try await t.send(.POST, "/api/v1/conversations/\(tagged.id)/handoff", token: tagged.token)
            try await t.browse("Tags browser test") { base, driver in
                let agent = try await driver.newSession(name: "agent")
                try await agent.navigate(base + "/console/conversations/\(tagged.id)")
                try await signIn(agent, as: "agent@demo.tandem")
                try await agent.waitFor("#tag-form")

                // Markup is refused by the server's rules and stays text in the error.
                try await agent.sendKeys("#tag-input", "<b>vip</b>")
                try await agent.click("#add-tag")
                try await agent.waitForText("#conversation-error", containing: "tag")
                #expect(try await agent.findAll("#tags .tag-chip").isEmpty)
                #expect(try await agent.findAll("#tags b, #conversation-error b").isEmpty, "markup became elements")

                // A valid tag becomes a chip at once.
                try await agent.clear("#tag-input")
                try await agent.sendKeys("#tag-input", " VIP ")
                try await agent.click("#add-tag")
                try await waitForExactText(agent, "#tags .tag-chip__label", "vip")
                #expect(try await agent.value("#tag-input").isEmpty)
                #expect(try await !agent.isDisplayed("#tags-empty"))
                try await shoot(agent, "console-conversation-tags.png")

                // The queue shows it on the waiting conversation.
                try await agent.navigate(base + "/console")
                try await waitForExactText(agent, "#queue .queue-item[data-id=\"\(tagged.id)\" i] .queue-item__tags .tag-chip", "vip")
                try await shoot(agent, "console-queue-tags.png")

                // The list, filtered by the tag, holds only the tagged conversation.
                try await agent.navigate(base + "/console/conversations")
                try await agent.waitFor("#conversation-list")
                try await agent.click("#filter-tag option[value=\"vip\"]")
                try await agent.click("#apply-filters")
                try await agent.waitUntil("the list is filtered by tag=vip") {
                    URLComponents(string: try await agent.currentURL())?.queryItems?.contains { $0.name == "tag" && $0.value == "vip" } == true
                }
                let rows = try await agent.execute("return Array.from(document.querySelectorAll('#conversation-list tbody tr')).map(r => r.dataset.id);") as? [String]
                #expect(rows?.map { $0.lowercased() } == [tagged.id.lowercased()], "rows \(rows ?? []), not \(other.id)")
                try await waitForExactText(agent, "#conversation-list .open-conversation", "Vera <b>VIP</b>")
                #expect(try await agent.findAll("#conversation-list b").isEmpty, "the customer's name became markup")
                try await shoot(agent, "console-conversations-by-tag.png")

                // Removed from the conversation page again.
                try await agent.navigate(base + "/console/conversations/\(tagged.id)")
                try await waitForExactText(agent, "#tags .tag-chip__label", "vip")
                try await agent.click("#tags .tag-chip__remove[data-tag=\"vip\"]")
                try await agent.waitUntil("#tags-empty is shown after removing the tag") { try await agent.isDisplayed("#tags-empty") }
                #expect(try await ConversationTagRecord.query(on: t.app.db).count() == 0)

                let errors = try await agent.severeConsoleErrors().filter { !$0.message.contains("400") }
                #expect(errors.isEmpty, "browser console errors:\n\(errors.map { "  \($0)" }.joined(separator: "\n"))")
            }
        }
    }

    @Test("verified customers in Chromium: badges on the queue and the conversation, its contact page with the history and links; customer text stays inert",
          .enabled(if: runnable, "needs /usr/bin/chromedriver and /usr/bin/chromium (apt-get install chromium chromium-driver) and the MiniLM model (make model)"),
          .timeLimit(.minutes(3)))
    func contactPage() async throws {
        if TestDatabase.isCI, let missing = WebDriver.missingBrowser { throw TestSetupError("CI=true: the browser test cannot run: \(missing)") }
        try await TestApp.with(.sqlite, model: false) { t in
            // setup: two verified conversations of one user whose name is markup, one waiting
            let admin = try await t.login("admin@demo.tandem")
            let secret = try #require(try await t.send(.GET, "/api/v1/identity-secret", token: admin).json["secret"] as? String)
            let hostile = "<img src=x onerror=alert(1)>"
            let body = ["name": hostile, "userId": "user-7", "userHash": IdentityVerification.hash(userID: "user-7", secret: secret)]
            var ids: [String] = []
            for _ in 0..<2 {
                let created = try await t.send(.POST, "/api/v1/conversations", json: body)
                try #require(created.status == .created, "\(created.body.string)")
                ids.append(try #require((created.json["conversation"] as? [String: Any])?["id"] as? String))
                let token = try #require(created.json["token"] as? String)
                if ids.count == 1 {
                    _ = try await t.send(.POST, "/api/v1/conversations/\(ids[0])/resolve", token: token)
                    _ = try await t.send(.POST, "/api/v1/conversations/\(ids[0])/rating", json: ["score": 5], token: token)
                    _ = try await t.send(.POST, "/api/v1/agent/conversations/\(ids[0])/tags", json: ["tag": "billing"], token: admin)
                } else { _ = try await t.send(.POST, "/api/v1/conversations/\(ids[1])/handoff", token: token) }
            }
            let unverified = try await t.startConversation(name: "Otto")
            _ = try await t.send(.POST, "/api/v1/conversations/\(unverified.id)/handoff", token: unverified.token)

            try await t.browse("Contact browser test") { base, driver in
                let agent = try await driver.newSession(name: "agent")
                // The queue: verified and unverified badges, kept by the live script.
                try await agent.navigate(base + "/console")
                try await signIn(agent, as: "agent@demo.tandem")
                try await waitForExactText(agent, "#queue .queue-item[data-id=\"\(ids[1])\" i] .badge--verified", "Verified")
                try await waitForExactText(agent, "#queue .queue-item[data-id=\"\(unverified.id)\" i] .badge--unverified", "Unverified")
                try await expectInert(agent, page: "queue")

                // The conversation page: the badge and the link to the contact.
                try await agent.navigate(base + "/console/conversations/\(ids[1])")
                try await waitForExactText(agent, ".conversation-meta .badge--verified", "Verified")
                try await agent.click("#contact-link")
                try await agent.waitFor("#contact-history")

                // The contact page: both conversations, the name as text, each linked.
                try await waitForExactText(agent, "#contact-name", hostile + " Verified")
                let rows = try await agent.execute("return Array.from(document.querySelectorAll('#contact-history tbody tr')).map(r => r.dataset.id.toLowerCase());") as? [String]
                #expect(Set(rows ?? []) == Set(ids.map { $0.lowercased() }))
                try await waitForExactText(agent, "#contact-history tr[data-id=\"\(ids[0])\" i] .tag-chip", "billing")
                try await expectInert(agent, page: "contact")
                try await shoot(agent, "contact.png")
                try await agent.click("#contact-history tr[data-id=\"\(ids[0])\" i] .open-conversation")
                try await agent.waitUntil("the conversation page opens from the contact") {
                    try await agent.currentURL().lowercased().hasSuffix("/console/conversations/\(ids[0].lowercased())")
                }

                let errors = try await agent.severeConsoleErrors()
                #expect(errors.isEmpty, "browser console errors:\n\(errors.map { "  \($0)" }.joined(separator: "\n"))")
            }
        }
    }

    @Test("the widget passes the host page's signed identity: the conversation it starts is verified",
          .enabled(if: runnable, "needs /usr/bin/chromedriver and /usr/bin/chromium (apt-get install chromium chromium-driver) and the MiniLM model (make model)"),
          .timeLimit(.minutes(3)))
    func widgetIdentity() async throws {
        if TestDatabase.isCI, let missing = WebDriver.missingBrowser { throw TestSetupError("CI=true: the browser test cannot run: \(missing)") }
        try await TestApp.with(.sqlite, model: false) { t in
            // setup: a host page that signs in user-9 (its identity in a script of its own: the
            // pages' policy runs no inline script), registered before the first request
            let secret = try await IdentityVerification.secret(on: t.app.db)
            let identity = "window.TandemIdentity = { userId: 'user-9', userHash: '\(IdentityVerification.hash(userID: "user-9", secret: secret))', name: 'Wanda' };"
            t.app.get("test-host", "identity.js") { _ in
                Response(status: .ok, headers: ["Content-Type": "application/javascript"], body: .init(string: identity))
            }
            t.app.get("test-host") { _ in
                Response(status: .ok, headers: ["Content-Type": "text/html; charset=utf-8"], body: .init(string: """
                    <!DOCTYPE html><html lang="en"><head><title>Shop</title></head><body><h1>Shop</h1>
                    <script src="/test-host/identity.js"></script><script src="/widget.js" async></script></body></html>
                    """))
            }
            try await t.browse("Widget identity browser test") { base, driver in
                let host = try await driver.newSession(name: "host")
                try await host.navigate(base + "/test-host")
                try await host.waitFor("button[aria-haspopup=\"dialog\"]")
                try await host.click("button[aria-haspopup=\"dialog\"]")
                let frame = try await host.waitFor("#tandem-widget-panel iframe")
                try await host.command("POST", "/frame", body: ["id": [BrowserSession.elementKey: frame.id]])
                try await host.waitFor("#message-input")
                try await host.waitUntil("the chat is ready") { try await host.isEnabled("#send") }
                try await host.sendKeys("#message-input", "hello")
                try await host.click("#send")
                try await waitForExactText(host, "#messages .message--customer .message__text", "hello")

                // validate: the conversation it started is the verified user's
                let conversation = try #require(try await ConversationRecord.query(on: t.app.db).sort(\.$createdAt, .descending).first())
                #expect(conversation.customerVerified)
                #expect(conversation.customerKey == (try t.app.tandem.customerKeys.key(verifiedUserID: "user-9")))
                #expect(conversation.customerName == "Wanda", "the host page gave the name too")
            }
        }
    }

    @Test("teams, presence and search in Chromium: going online assigns the team's waiting conversation; search marks the word; customer text stays inert",
          .enabled(if: runnable, "needs /usr/bin/chromedriver and /usr/bin/chromium (apt-get install chromium chromium-driver) and the MiniLM model (make model)"),
          .timeLimit(.minutes(3)))
    func teamsPresenceAndSearch() async throws {
        if TestDatabase.isCI, let missing = WebDriver.missingBrowser { throw TestSetupError("CI=true: the browser test cannot run: \(missing)") }
        try await TestApp.with(.sqlite, model: false) { t in
            try await t.decideEachMessageAlone()
            // setup: the demo agent in team Cards, which the tag "cards" routes to; a customer
            // whose name and message are markup waits, routed to it.
            let supervisor = try await t.login("supervisor@demo.tandem"), agentToken = try await t.login()
            let me = try await t.send(.GET, "/api/v1/agent/me", token: agentToken).json["id"] as! String
            let team = try await t.send(.POST, "/api/v1/teams", json: TeamsJSON(name: "Cards", memberIDs: [me], tags: ["cards"]), token: supervisor)
            try #require(team.status == .created, "\(team.body.string)")
            let waiting = try await t.startConversation(name: "<img src=x onerror=alert(1)>")
            try await t.say("my parcel <script>document.title='pwned'</script> never arrived", in: waiting)
            _ = try await t.send(.POST, "/api/v1/conversations/\(waiting.id)/handoff", token: waiting.token)
            _ = try await t.send(.POST, "/api/v1/agent/conversations/\(waiting.id)/tags", json: ["tag": "cards"], token: supervisor)

            try await t.browse("Teams browser test") { base, driver in
                let agent = try await driver.newSession(name: "agent")
                try await agent.navigate(base + "/console")
                try await signIn(agent, as: "agent@demo.tandem")
                try await agent.waitFor("#presence-status")
                try await waitForExactText(agent, "#queue .queue-item .badge--team", "Cards")
                #expect(try await agent.value("#presence-status") == "offline")

                // Online: the waiting conversation of my team becomes mine, live.
                try await agent.click("#presence-status option[value=\"online\"]")
                try await agent.waitUntil("the conversation moved to my open conversations") {
                    try await agent.findAll("#mine .mine-item[data-id=\"\(waiting.id)\" i]").count == 1
                }
                try await agent.waitForText("#presence-note", containing: "automatically")
                let row = try #require(try await ConversationRecord.find(UUID(uuidString: waiting.id), on: t.app.db))
                #expect(row.status == .assigned && row.assignedAgentID?.uuidString == me)
                try await expectInert(agent, page: "console")
                try await shoot(agent, "console-presence-online.png")

                // Search: the word marked, the customer's markup text.
                try await agent.navigate(base + "/console/conversations")
                try await agent.sendKeys("#search-q", "parcels")
                try await agent.click("#search-button")
                try await agent.waitFor("#search-results")
                try await waitForExactText(agent, "#search-results mark", "parcel")
                try await waitForExactText(agent, "#search-results .open-conversation", "<img src=x onerror=alert(1)>")
                #expect(try await agent.findAll("#search-results img, #search-results script").isEmpty, "result text became markup")
                try await expectInert(agent, page: "search")
                try await shoot(agent, "console-search.png")

                let errors = try await agent.severeConsoleErrors()
                #expect(errors.isEmpty, "browser console errors:\n\(errors.map { "  \($0)" }.joined(separator: "\n"))")
            }
        }
    }

    // MARK: Steps

    /// Saves what `session` shows as `file` in the screenshot folder, for people to look at.
    func shoot(_ session: BrowserSession, _ file: String) async throws {
        try FileManager.default.createDirectory(at: Self.screenshotFolder, withIntermediateDirectories: true)
        let url = Self.screenshotFolder.appendingPathComponent(file)
        try await session.screenshot(to: url)
        print("  screenshot \(url.path)")
    }

    /// The chat page is ready for the first message (or has resumed its conversation).
    func waitUntilChatReady(_ customer: BrowserSession) async throws {
        try await customer.waitUntil("the chat has connected (#status set, #message-input and #send enabled)") {
            let status = try await customer.text("#status")
            guard !status.isEmpty, !status.hasPrefix("Connecting") else { return false }
            return try await customer.allEnabled("#message-input", "#send")
        }
    }

    /// Types `text` into the composer and clicks Send; waits until the message is on the page.
    func customerSays(_ text: String, in customer: BrowserSession) async throws {
        try await customer.waitUntil("#send is enabled") { try await customer.allEnabled("#send", "#message-input") }
        try await customer.clear("#message-input")
        try await customer.sendKeys("#message-input", text)
        try await customer.click("#send")
        try await waitForExactText(customer, "#messages .message--customer .message__text", text)
        try await customer.waitUntil("#message-input is emptied after sending") { try await customer.value("#message-input").isEmpty }
    }

    func signIn(_ session: BrowserSession, as email: String) async throws {
        try await session.waitFor("#login-form #email")
        try await session.clear("#email")
        try await session.sendKeys("#email", email)
        try await session.clear("#password")
        try await session.sendKeys("#password", Self.password)
        try await session.click("#login")
    }

    func texts(_ session: BrowserSession, _ css: String) async throws -> [String] {
        var result: [String] = []
        for element in try await session.findAll(css) { result.append(try await session.text(element)) }
        return result
    }

    /// Waits until some element matching `css` shows exactly `text` (as text, not markup).
    func waitForExactText(_ session: BrowserSession, _ css: String, _ text: String) async throws {
        try await session.waitUntil("an element '\(css)' shows exactly the text \(text)") {
            let found = try await session.execute("""
                return Array.from(document.querySelectorAll(arguments[0])).some(e => e.textContent.trim() === arguments[1]);
                """, [css, text]) as? Bool
            return found == true
        }
    }

    /// Customer text did not become markup: no image or script from it, the title untouched.
    func expectInert(_ session: BrowserSession, page: String) async throws {
        let report = try await session.execute("""
            return {
              title: document.title,
              images: document.querySelectorAll('#messages img, #queue img, #summary img, img[src="x"]').length,
              scripts: Array.from(document.scripts).filter(s => s.text.includes('pwned')).length,
              onerror: document.querySelectorAll('[onerror]').length,
            };
            """) as? [String: Any] ?? [:]
        #expect(report["title"] as? String != "pwned", "\(page): document.title became 'pwned'")
        #expect((report["images"] as? Int) == 0, "\(page): customer text created an <img> element: \(report)")
        #expect((report["scripts"] as? Int) == 0, "\(page): customer text created a <script> element: \(report)")
        #expect((report["onerror"] as? Int) == 0, "\(page): an element with an onerror attribute exists: \(report)")
        #expect(try await session.title() != "pwned", "\(page): the window title is 'pwned'")
    }
}

private struct TeamsJSON: Encodable, Sendable {
    var name: String
    var memberIDs: [String]
    var tags: [String]
}
