import Foundation
import TandemCore
@testable import TandemServer
import Testing
import VaporTesting

/// The staffing planner in the console and the API: the same numbers as `tandem plan`, with
/// defaults from the serving model, and every bad input named.
@Suite("Staffing page", .serialized)
struct StaffingPageTests {
    static let forecast = "interval_start,conversations\n09:00,120\n09:30,180\n10:00,240\n10:30,150\n"

    @Test("the API plans a forecast exactly as TandemCore does; defaults come from the serving model",
          .enabled(if: Shared.hasModel || TestDatabase.isCI, "needs the model for the default AI share"))
    func api() async throws {
        try await TestApp.with(.sqlite) { t in
            let supervisor = try await t.login("supervisor@demo.tandem")
            let response = try await t.send(.POST, "/api/v1/staffing/plan", json: StaffingRequest(
                forecast: Self.forecast, automatedShare: 0.7, handleTimeSeconds: 300, costPerAgentHour: 25), token: supervisor)
            #expect(response.status == .ok, "\(response.body.string)")
            let result = try JSONDecoder().decode(StaffingResult.self, from: Data(response.body.string.utf8))
            let expected = try StaffingReport(input: StaffingInput(
                intervals: try Forecast.parse(csv: Self.forecast).intervals, intervalMinutes: 30, automatedShare: 0.7,
                handleTimeSeconds: 300, serviceLevelTarget: 0.8, answerWithinSeconds: 60, maxOccupancy: 0.85, shrinkage: 0.3,
                costPerAgentHour: 25, aiErrorRate: result.request.aiErrorRate, fullAutomationErrorRate: result.request.fullAutomationErrorRate),
                intervalMinutesInferred: true)
            #expect(result.report == expected)
            let withoutAI = try StaffingInput(
                intervals: Forecast.parse(csv: Self.forecast).intervals, intervalMinutes: 30, automatedShare: 0, handleTimeSeconds: 300,
                serviceLevelTarget: 0.8, answerWithinSeconds: 60, maxOccupancy: 0.85, shrinkage: 0.3, costPerAgentHour: 25)
            #expect(result.scheduledWithoutAI == (try StaffingPlanner.plan(withoutAI)).intervals.map(\.agentsScheduled))
            #expect(result.report.comparison.map(\.peakAgentsScheduled)[0] >= result.report.comparison.map(\.peakAgentsScheduled)[1])

            // With no inputs at all: a sample day, the share the serving model is certified for.
            let defaults = try await t.send(.POST, "/api/v1/staffing/plan", body: "{}", token: supervisor)
            #expect(defaults.status == .ok, "\(defaults.body.string)")
            let planned = try JSONDecoder().decode(StaffingResult.self, from: Data(defaults.body.string.utf8))
            let artifact = try #require(t.app.tandem.intelligence.active?.artifact)
            let certificate = artifact.report.certificate
            #expect(abs((planned.request.automatedShare ?? -1) - (certificate.threshold == nil ? 0 : certificate.coverage)) < 0.001)
            #expect(planned.request.sampleConversations == StaffingService.defaultSampleConversations)
            #expect(abs(planned.report.plan.conversations - 2_000) < 1e-6)
            #expect(planned.report.settings.intervals == 48)
            #expect(planned.sources.contains { $0.contains(artifact.version) })
            // At the certified share, the target bounds the AI's errors; the plan counts them.
            let settings = try await t.app.tandem.workspace(on: t.app.db).settings
            if certificate.threshold != nil {
                #expect(planned.request.aiErrorRate == settings.targetRisk)
                let atTarget = try #require(planned.report.comparison.dropFirst().first?.expectedWrongAIAnswers)
                #expect(abs(atTarget - 2_000 * (planned.request.automatedShare ?? 0) * settings.targetRisk) < 1e-6)
            }
        }
    }

    @Test("bad planner input is a 400 naming the field or the forecast line; agents may not plan", arguments: TestDatabase.available)
    func badInput(database: TestDatabase) async throws {
        try await TestApp.with(database, model: false) { t in
            let supervisor = try await t.login("supervisor@demo.tandem")
            let cases: [(StaffingRequest, String, String)] = [
                (StaffingRequest(automatedShare: 1.5), "automatedShare", "1.5"),
                (StaffingRequest(maxOccupancy: 0), "maxOccupancy", "0"),
                (StaffingRequest(forecast: "interval_start,conversations\n09:00,12\n09:30,lots\n"), "forecast", "line 3"),
                (StaffingRequest(forecast: "when,how many\n09:00,1\n"), "forecast", "interval_start"),
                (StaffingRequest(sampleConversations: -5), "sampleConversations", "0"),
                (StaffingRequest(maxAbandonment: 0.05), "maxAbandonment", "patience"),
            ]
            for (request, field, mention) in cases {
                let response = try await t.send(.POST, "/api/v1/staffing/plan", json: request, token: supervisor)
                #expect(response.status == .badRequest, "\(request): \(response.status) \(response.body.string)")
                let error = response.json["error"] as? [String: Any]
                #expect(error?["field"] as? String == field, "\(response.body.string)")
                #expect((error?["message"] as? String)?.contains(mention) == true, "\(response.body.string)")
            }
            #expect(try await t.send(.POST, "/api/v1/staffing/plan", body: "{not json", token: supervisor).status == .badRequest)
            let agent = try await t.login()
            #expect(try await t.send(.POST, "/api/v1/staffing/plan", body: "{}", token: agent).status == .forbidden)
            #expect(try await t.send(.GET, "/console/staffing", token: agent).status == .forbidden)

            // The form keeps what was typed and says what was wrong, in the form's own words.
            let form = "forecast=&sampleConversations=1000&automatedSharePercent=abc&handleTimeSeconds=300"
            let page = try await t.send(.POST, "/console/staffing", body: form, contentType: "application/x-www-form-urlencoded", token: supervisor)
            #expect(page.status == .badRequest)
            let html = page.body.string
            #expect(html.contains("AI share: &#39;abc&#39; is not a number") || html.contains("AI share: 'abc' is not a number"), "\(html.prefix(3000))")
            #expect(html.contains("value=\"abc\""), "the typed value is kept")
            #expect(!html.contains("id=\"staffing-result\""))
        }
    }

    @Test("the console page plans on the defaults and re-plans a posted form, with its chart",
          arguments: TestDatabase.available)
    func page(database: TestDatabase) async throws {
        try await TestApp.with(database, model: false) { t in
            let supervisor = try await t.login("supervisor@demo.tandem")
            let first = try await t.send(.GET, "/console/staffing", token: supervisor)
            #expect(first.status == .ok)
            #expect(first.body.string.contains("<svg id=\"chart-staffing\""))
            #expect(first.body.string.contains("href=\"/console/staffing\" aria-current=\"page\""))
            #expect(first.body.string.contains("AI share 0%: no model is serving."))

            let form = "forecast=" + (Self.forecast.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")
                + "&automatedSharePercent=70&handleTimeSeconds=300&serviceLevelPercent=80&answerWithinSeconds=60"
                + "&maxOccupancyPercent=85&shrinkagePercent=30&costPerAgentHour=25&fullAutomationErrorPercent=6"
            let page = try await t.send(.POST, "/console/staffing", body: form, contentType: "application/x-www-form-urlencoded", token: supervisor)
            #expect(page.status == .ok, "\(page.body.string.prefix(2000))")
            let html = page.body.string
            let report = try StaffingReport(input: StaffingInput(
                intervals: try Forecast.parse(csv: Self.forecast).intervals, intervalMinutes: 30, automatedShare: 0.7,
                handleTimeSeconds: 300, serviceLevelTarget: 0.8, answerWithinSeconds: 60, maxOccupancy: 0.85, shrinkage: 0.3,
                costPerAgentHour: 25, fullAutomationErrorRate: 0.06))
            for scenario in report.comparison {
                #expect(html.contains("<td class=\"num\">\(scenario.peakAgentsScheduled)</td>"), "\(scenario.name) peak agents")
                #expect(html.contains(DisplayFormat.number(scenario.agentHoursScheduled, decimals: 1)), "\(scenario.name) agent-hours")
            }
            #expect(html.contains("<th scope=\"row\">10:00</th>"), "the interval table")
            #expect(html.contains("<td class=\"num\">\(DisplayFormat.number(690 * 0.06, decimals: 1))</td>"), "expected wrong answers when the AI answers everything")
            #expect(!html.contains("style="), "inline styles would break under the CSP")
            #expect(!html.contains("<script>"), "no inline scripts")
        }
    }
}
