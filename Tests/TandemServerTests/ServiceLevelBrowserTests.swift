import Fluent
import Foundation
import TandemCore
@testable import TandemServer
import Testing

extension BrowserTests {
    @Test("service levels in Chromium: the queue flags a breach with the time over; the chat page out of hours says when people are back, the expected wait, and takes an e-mail address",
          .enabled(if: runnable, "needs /usr/bin/chromedriver and /usr/bin/chromium (apt-get install chromium chromium-driver) and the MiniLM model (make model)"),
          .timeLimit(.minutes(3)))
    func serviceLevels() async throws {
        if TestDatabase.isCI, let missing = WebDriver.missingBrowser { throw TestSetupError("CI=true: the browser test cannot run: \(missing)") }
        let clock = ManualClock(ServiceLevelTests.at("2026-12-02T10:00:00Z"))  // Wednesday 10:00, London
        try await TestApp.with(.sqlite, model: false, clock: clock) { t in
            // setup: a conversation 11 business minutes past hand-off (target 10), then the evening
            try await ServiceLevelTests.configure(t)
            let late = try await t.startConversation(name: "Bea <i>late</i>")
            _ = try await t.send(.POST, "/api/v1/conversations/\(late.id)/handoff", token: late.token)
            clock.advance(by: 660)
            try await ServiceLevelTests.check(t)
            clock.advance(by: ServiceLevelTests.at("2026-12-02T18:30:00Z").timeIntervalSince(clock.now))

            try await t.browse("Service levels browser test") { base, driver in
                // The chat page out of hours.
                let customer = try await driver.newSession(name: "customer")
                try await customer.navigate(base + "/chat")
                try await waitUntilChatReady(customer)
                try await customer.click("#talk-to-person")
                try await customer.waitForText("#messages .message--system .message__text", containing: "back tomorrow at 09:00 (Europe/London time)")
                try await customer.waitForText("#status", containing: "expected wait about 15 hours")
                try await customer.waitUntil("the e-mail form is offered") { try await customer.isDisplayed("#email-form") }
                try await customer.sendKeys("#email-input", "bea@example.com")
                try await customer.click("#email-send")
                try await customer.waitUntil("the address is taken") { try await customer.isDisplayed("#email-thanks") }
                #expect(try await !customer.isDisplayed("#email-form"))
                try await shoot(customer, "chat-out-of-hours.png")
                let stored = try await TandemServer.ConversationRecord.query(on: t.app.db).filter(\.$customerEmail == "bea@example.com").count()
                #expect(stored == 1)

                // The queue: the breach flagged, its time over shown, the name inert.
                let agent = try await driver.newSession(name: "agent")
                try await agent.navigate(base + "/console")
                try await signIn(agent, as: "agent@demo.tandem")
                try await agent.waitForText("#queue .queue-item[data-id=\"\(late.id)\" i] .queue-item__badges", containing: "SLA breached")
                try await agent.waitForText("#queue .queue-item[data-id=\"\(late.id)\" i] .queue-item__badges", containing: "Late")
                try await agent.waitForText("#queue .queue-item[data-id=\"\(late.id)\" i] .queue-item__sla", containing: "First response")
                try await agent.waitForText("#queue .queue-item[data-id=\"\(late.id)\" i] .queue-item__sla", containing: "over")
                try await waitForExactText(agent, "#queue .queue-item__name", "Bea <i>late</i>")
                #expect(try await agent.findAll("#queue i").isEmpty, "the customer's name became markup")
                try await shoot(agent, "console-queue-sla-breach.png")
                for session in [customer, agent] {
                    let errors = try await session.severeConsoleErrors()
                    #expect(errors.isEmpty, "browser console errors:\n\(errors.map { "  \($0)" }.joined(separator: "\n"))")
                }
            }
        }
    }
}
