import Foundation
import TandemCore

/// The insights page's charts (`/console/insights`) and the staffing page's, drawn with `SVG` in
/// the `ichart` block that the server's tandem.css styles.
public enum InsightsCharts {
    static let block = "ichart"

    public static func pathLabel(_ path: ConversationRecord.Path) -> String {
        switch path {
        case .aiOnly: return "AI only"
        case .aiThenHuman: return "AI, then a person"
        case .humanOnly: return "Person only"
        }
    }

    public static func reasonLabel(_ rule: RoutingDecision.Rule) -> String {
        switch rule {
        case .killSwitch: return "Kill switch on"
        case .humanOwns: return "A person owns it"
        case .waitingForPerson: return "Waiting for a person"
        case .askedForHuman: return "Asked for a person"
        case .frustration: return "Frustrated customer"
        case .notHelpful: return "Answer did not help"
        case .smallTalk: return "Small talk"
        case .noModel: return "No model loaded"
        case .assistantBusy: return "Assistant too busy"
        case .unknownRequest: return "Unknown request"
        case .sensitive: return "Sensitive topic"
        case .automationOff: return "Automation off"
        case .draftOnly: return "Draft-only intent"
        case .guardrail: return "Quality guardrail"
        case .shadowMode: return "New intent in shadow mode"
        case .notCertified: return "No certified threshold"
        case .lowConfidence: return "Low confidence"
        case .repeatedUnresolved: return "Came back unresolved"
        case .confident: return "Confident"
        }
    }

    /// Days along the bottom of a daily chart: every label when they fit, else every other.
    static func dayLabels(_ report: InsightsSeries, left: Double, slot: Double, y: Double) -> String {
        let every = slot >= 38 ? 1 : 2
        var out = ""
        for (i, day) in report.daily.enumerated() where (report.daily.count - 1 - i) % every == 0 {
            out += SVG.text(DisplayFormat.shortDay(day.date), x: left + slot * (Double(i) + 0.5), y: y, anchor: "middle", className: "\(block)__tick")
        }
        return out
    }

    /// Conversations per day, handled by the AI alone and with a person, with the automated share.
    public static func automated(_ report: InsightsSeries) -> String {
        let width = 1160.0, height = 290.0, left = 44.0, right = 12.0, top = 34.0, bottom = 30.0
        let plotW = width - left - right, plotH = height - top - bottom
        let slot = plotW / Double(report.daily.count)
        let maxY = SVG.niceMax(Double(report.daily.map(\.conversations).max() ?? 0))
        var svg = SVG.open(width: width, height: height, title: "Conversations per day and the automated share",
                           description: "Bars: conversations started each day, handled by the AI alone or with a person; the percentage above each bar is the share the AI handled alone.",
                           id: "chart-automated", block: block)
        svg += SVG.yGrid(left: left, right: width - right, top: top, height: plotH, ticks: 4, block: block) { i in
            let v = maxY * Double(i) / 4
            return v == v.rounded() ? String(Int(v)) : String(format: "%.1f", v)
        }
        for (i, day) in report.daily.enumerated() {
            let bw = slot * 0.62, bx = left + slot * Double(i) + (slot - bw) / 2
            let hAI = Double(day.automated) / maxY * plotH, hHuman = Double(day.conversations - day.automated) / maxY * plotH
            let base = top + plotH
            let share = day.automatedShare.map { DisplayFormat.percent($0) }
            svg += SVG.openGroup(title: "\(DisplayFormat.shortDay(day.date)): \(day.conversations) conversations, \(day.automated) handled by the AI alone\(share.map { " (\($0))" } ?? "")", block: block)
            if day.automated > 0 { svg += SVG.rect(bx, base - hAI, bw, hAI, className: "ichart__bar ichart__bar--ai", radius: 1) }
            if day.conversations > day.automated { svg += SVG.rect(bx, base - hAI - hHuman, bw, hHuman, className: "ichart__bar ichart__bar--human", radius: 1) }
            if let share { svg += SVG.text(share, x: bx + bw / 2, y: base - hAI - hHuman - 5, anchor: "middle", className: "ichart__value") }
            svg += SVG.closeGroup
        }
        svg += dayLabels(report, left: left, slot: slot, y: height - 10)
        svg += SVG.legend([("Handled by the AI alone", "ichart__bar--ai"), ("With a person", "ichart__bar--human")], right: width - right, y: 14, block: block)
        return svg + SVG.close
    }

    /// Horizontal bars with a label on the left and the value on the right.
    public static func horizontal(rows: [(label: String, value: Double, text: String, className: String)], maxValue: Double,
                           title: String, description: String, id: String) -> String {
        let width = 560.0, rowH = 32.0, top = 8.0, labelW = 170.0, valueW = 104.0
        let height = top * 2 + rowH * Double(max(rows.count, 1))
        let plotW = width - labelW - valueW
        var svg = SVG.open(width: width, height: height, title: title, description: description, id: id, block: block)
        for (i, row) in rows.enumerated() {
            let y = top + rowH * Double(i)
            let w = maxValue <= 0 ? 0 : row.value / maxValue * plotW
            svg += SVG.openGroup(title: "\(row.label): \(row.text)", block: block)
            svg += SVG.text(row.label, x: labelW - 10, y: y + rowH / 2 + 4, anchor: "end", className: "ichart__label")
            svg += SVG.rect(labelW, y + 6, plotW, rowH - 12, className: "ichart__track", radius: 3)
            if w > 0 { svg += SVG.rect(labelW, y + 6, w, rowH - 12, className: "ichart__bar \(row.className)", radius: 3) }
            svg += SVG.text(row.text, x: labelW + plotW + 8, y: y + rowH / 2 + 4, className: "ichart__value")
            svg += SVG.closeGroup
        }
        return svg + SVG.close
    }

    public static func handoffs(_ report: InsightsSeries) -> String {
        let rows = report.overview.handoffsByReason.prefix(10)
        let maxValue = Double(rows.map(\.count).max() ?? 0)
        return horizontal(rows: rows.map { (reasonLabel($0.reason), Double($0.count), "\($0.count) (\(DisplayFormat.percent($0.share)))", "ichart__bar--handoff") },
                          maxValue: maxValue, title: "Hand-offs by reason",
                          description: "Conversations handed to a person, by the routing rule that decided, with the share of all hand-offs.", id: "chart-handoffs")
    }

    public static func ratings(_ report: InsightsSeries) -> String {
        let rows = report.overview.ratings.map { r in
            (pathLabel(r.path), r.mean ?? 0, r.mean.map { String(format: "%.1f (%d)", $0, r.count) } ?? "no ratings", "ichart__bar--\(r.path.rawValue)")
        }
        return horizontal(rows: rows, maxValue: 5, title: "Average rating by path",
                          description: "Customers' average rating out of 5, by whether the AI, a person or both answered; the number of ratings in brackets.", id: "chart-ratings")
    }

    public static func durable(_ report: InsightsSeries) -> String {
        let d = report.overview.durableResolution
        let rows = [("AI alone", d.ai, "ichart__bar--ai"), ("With a person", d.people, "ichart__bar--human"), ("All", d.overall, "ichart__bar--all")].map { label, v, className in
            (label, v.durableShare ?? 0, v.durableShare.map { "\(DisplayFormat.percent($0)) of \(v.resolved)" } ?? "none yet", className)
        }
        return horizontal(rows: rows, maxValue: 1, title: "Durable resolution",
                          description: "Share of resolved conversations whose customer did not come back on the same topic within \(d.windowDays) days.",
                          id: "chart-durable")
    }

    /// Audited accuracy per day with its interval, against the target.
    public static func accuracy(_ report: InsightsSeries) -> String {
        let width = 560.0, height = 250.0, left = 48.0, right = 12.0, top = 30.0, bottom = 30.0
        let plotW = width - left - right, plotH = height - top - bottom
        let slot = plotW / Double(report.daily.count)
        let lows = report.daily.compactMap(\.accuracy) + [report.accuracy.interval?[0] ?? 1, report.accuracy.target - 0.02]
        // A floor that gives round ticks (4 steps up to 100%).
        let floorY = [0.98, 0.96, 0.9, 0.8, 0.6, 0.2, 0].first { $0 <= lows.min()! } ?? 0
        func px(_ i: Int) -> Double { left + slot * (Double(i) + 0.5) }
        func py(_ v: Double) -> Double { top + plotH - (min(max(v, floorY), 1) - floorY) / (1 - floorY) * plotH }
        var svg = SVG.open(width: width, height: height, title: "Audited AI accuracy",
                           description: "Line and band: accuracy of all answers reviewed so far in the period, with its Wilson interval. Dots: each day's reviews. Dashed line: the target.",
                           id: "chart-accuracy", block: block)
        svg += SVG.yGrid(left: left, right: width - right, top: top, height: plotH, ticks: 4, block: block) { i in DisplayFormat.percent(floorY + (1 - floorY) * Double(i) / 4, 1) }
        let days = report.daily.enumerated().filter { $0.element.cumulativeInterval != nil }
        if let first = days.first, let last = days.last {
            // The band: upper edge left to right, lower edge back (a single day gets a little width).
            let pad = days.count == 1 ? slot * 0.3 : 0
            var edge = days.map { (x: px($0.offset) - ($0.offset == first.offset ? pad : 0), y: py($0.element.cumulativeInterval![1])) }
            if pad > 0 { edge.append((px(last.offset) + pad, py(last.element.cumulativeInterval![1]))) }
            var lower = days.reversed().map { (x: px($0.offset) + ($0.offset == last.offset ? pad : 0), y: py($0.element.cumulativeInterval![0])) }
            if pad > 0 { lower.append((px(first.offset) - pad, py(first.element.cumulativeInterval![0]))) }
            svg += SVG.polygon(edge + lower, className: "ichart__band")
            svg += SVG.polyline(days.map { (px($0.offset), py($0.element.cumulativeAccuracy ?? 1)) }, className: "ichart__curve ichart__curve--accuracy")
        }
        let target = py(report.accuracy.target)
        svg += SVG.line(left, target, width - right, target, className: "ichart__reference")
        svg += SVG.text("target \(DisplayFormat.percent(report.accuracy.target, 1))", x: left + 6, y: target + 14, className: "ichart__reference-label")
        for (i, day) in report.daily.enumerated() {
            guard let accuracy = day.accuracy, let interval = day.cumulativeInterval, let cumulative = day.cumulativeAccuracy else { continue }
            svg += SVG.openGroup(title: "\(DisplayFormat.shortDay(day.date)): \(day.auditedCorrect) of \(day.audited) reviewed answers correct (\(DisplayFormat.percent(accuracy, 1))); so far \(DisplayFormat.percent(cumulative, 1)), interval \(DisplayFormat.percent(interval[0], 1))–\(DisplayFormat.percent(interval[1], 1))", block: block)
            svg += SVG.circle(cx: px(i), cy: py(accuracy), r: min(7, 2.5 + Double(day.audited)), className: "ichart__dot")
            svg += SVG.closeGroup
        }
        svg += dayLabels(report, left: left, slot: slot, y: height - 10)
        svg += SVG.legend([("So far, with interval", "ichart__swatch--band"), ("Each day", "ichart__swatch--dot")], right: width - right, y: 14, block: block)
        return svg + SVG.close
    }

    /// Cost per resolved conversation per day, against a person handling every one.
    public static func cost(_ report: InsightsSeries) -> String {
        let width = 560.0, height = 250.0, left = 52.0, right = 12.0, top = 16.0, bottom = 30.0
        let plotW = width - left - right, plotH = height - top - bottom
        let slot = plotW / Double(report.daily.count)
        let money = { (v: Double) in DisplayFormat.money(v, currency: report.currency) }
        let maxY = SVG.niceMax(max(report.humanCostPerContact, report.daily.compactMap(\.costPerResolved).max() ?? 0) * 1.05)
        func py(_ v: Double) -> Double { top + plotH - v / maxY * plotH }
        var svg = SVG.open(width: width, height: height, title: "Cost per resolved conversation per day",
                           description: "Bars: average cost of the conversations resolved each day; the dashed line is the cost when a person handles a conversation.",
                           id: "chart-cost", block: block)
        svg += SVG.yGrid(left: left, right: width - right, top: top, height: plotH, ticks: 4, block: block) { i in money(maxY * Double(i) / 4) }
        for (i, day) in report.daily.enumerated() {
            guard let value = day.costPerResolved else { continue }
            let bw = slot * 0.62, bx = left + slot * Double(i) + (slot - bw) / 2
            svg += SVG.openGroup(title: "\(DisplayFormat.shortDay(day.date)): \(money(value)) per resolved conversation (\(day.resolved) of \(day.conversations) resolved)", block: block)
            svg += SVG.rect(bx, py(value), bw, top + plotH - py(value), className: "ichart__bar ichart__bar--cost", radius: 1)
            svg += SVG.closeGroup
        }
        let human = py(report.humanCostPerContact)
        svg += SVG.line(left, human, width - right, human, className: "ichart__reference")
        svg += SVG.text("a person: \(money(report.humanCostPerContact))", x: width - right - 4, y: human - 5, anchor: "end", className: "ichart__reference-label")
        svg += dayLabels(report, left: left, slot: slot, y: height - 10)
        return svg + SVG.close
    }

    /// Accuracy against the share the AI answers, with the certified points of each target.
    public static func frontier(_ frontier: InsightsSeries.Frontier) -> String {
        let width = 540.0, height = 310.0, left = 52.0, right = 16.0, top = 30.0, bottom = 44.0
        let plotW = width - left - right, plotH = height - top - bottom
        let lowest = min(frontier.curve.map(\.accuracy).min() ?? 0.9, frontier.points.map(\.targetAccuracy).min() ?? 0.9)
        let floorY = max(0, min(0.9, (lowest * 20).rounded(.down) / 20))
        func px(_ v: Double) -> Double { left + v * plotW }
        func py(_ v: Double) -> Double { top + plotH - (min(max(v, floorY), 1) - floorY) / (1 - floorY) * plotH }
        var svg = SVG.open(width: width, height: height, title: "Cost–quality frontier of the serving model",
                           description: "The line is the accuracy among the most confident share of the calibration messages; each point is the share the AI may answer with the accuracy target beside it certified.",
                           id: "chart-frontier", block: block)
        svg += SVG.yGrid(left: left, right: width - right, top: top, height: plotH, ticks: 4, block: block) { i in DisplayFormat.percent(floorY + (1 - floorY) * Double(i) / 4, 1) }
        for i in 0...4 {
            let v = Double(i) / 4
            svg += SVG.text(DisplayFormat.percent(v), x: px(v), y: top + plotH + 18, anchor: "middle", className: "ichart__tick")
        }
        svg += SVG.text("share of messages the AI answers", x: left + plotW / 2, y: height - 6, anchor: "middle", className: "ichart__axis-label")
        if let reach = frontier.curve.last {
            svg += SVG.polyline(frontier.curve.map { (px($0.coverage), py($0.accuracy)) }, className: "ichart__curve")
            if reach.coverage < 0.97 {
                // Beyond this the unknown-request gate keeps messages from the AI at any threshold.
                svg += SVG.area(px(reach.coverage), top, px(1) - px(reach.coverage), plotH, className: "ichart__gated")
                svg += SVG.text("kept from the AI by the", x: (px(reach.coverage) + px(1)) / 2, y: top + 22, anchor: "middle", className: "ichart__gated-label")
                svg += SVG.text("unknown-request gate", x: (px(reach.coverage) + px(1)) / 2, y: top + 38, anchor: "middle", className: "ichart__gated-label")
            }
        }
        for point in frontier.points where point.threshold != nil {
            let cx = px(point.automatedShare), cy = py(point.targetAccuracy)
            svg += SVG.openGroup(title: "Target \(DisplayFormat.percent(point.targetAccuracy, 1)): the AI may answer \(DisplayFormat.percent(point.automatedShare, 1)) of messages (threshold \(String(format: "%.3f", point.threshold ?? 0)))", block: block)
            svg += SVG.line(left, cy, cx, cy, className: "ichart__guide")
            svg += SVG.circle(cx: cx, cy: cy, r: point.current ? 6.5 : 5, className: "ichart__point\(point.current ? " ichart__point--current" : "")")
            let label = "\(DisplayFormat.percent(point.targetAccuracy, 1)) → \(DisplayFormat.percent(point.automatedShare))"
            let anchor = cx > left + plotW * 0.8 ? "end" : "start"
            svg += SVG.text(label, x: cx + (anchor == "end" ? -10 : 10), y: cy - 8, anchor: anchor, className: "ichart__point-label")
            svg += SVG.closeGroup
        }
        svg += SVG.legend([("Accuracy on calibration data", "ichart__swatch--curve"), ("Certified target", "ichart__swatch--point")], right: width - right, y: 14, block: block)
        return svg + SVG.close
    }
}
