import TandemCore

/// The staffing page's chart (`/console/staffing`), drawn with `SVG` in the `ichart` block that
/// the server's tandem.css styles.
public enum StaffingChart {
    static let block = "ichart"

    /// Agents scheduled per interval: with no AI (behind) and with the AI at the target (in front).
    public static func agents(_ plan: StaffingPlan, withoutAI: [Int]) -> String {
        let width = 1160.0, height = 300.0, left = 44.0, right = 12.0, top = 34.0, bottom = 30.0
        let plotW = width - left - right, plotH = height - top - bottom
        let count = max(plan.intervals.count, 1)
        let slot = plotW / Double(count)
        let maxY = SVG.niceMax(Double(max(withoutAI.max() ?? 0, plan.intervals.map(\.agentsScheduled).max() ?? 0)))
        var svg = SVG.open(width: width, height: height, title: "Agents scheduled per interval, with and without the AI",
                           description: "For each interval of the forecast: the agents to schedule if people answered everything, and in front of it, the agents to schedule with the AI answering its share.",
                           id: "chart-staffing", block: block)
        svg += SVG.yGrid(left: left, right: width - right, top: top, height: plotH, ticks: 4, block: block) { i in String(Int(maxY * Double(i) / 4)) }
        let every = max(1, Int((Double(count) / 12).rounded(.up)))
        for (i, interval) in plan.intervals.enumerated() {
            let base = top + plotH, bw = max(slot * 0.72, 1), bx = left + slot * Double(i) + (slot - bw) / 2
            let none = i < withoutAI.count ? withoutAI[i] : 0
            svg += SVG.openGroup(title: "\(interval.start): \(interval.agentsScheduled) agents with the AI, \(none) without", block: block)
            if none > 0 { svg += SVG.rect(bx, base - Double(none) / maxY * plotH, bw, Double(none) / maxY * plotH, className: "ichart__bar ichart__bar--human", radius: 1) }
            if interval.agentsScheduled > 0 {
                let h = Double(interval.agentsScheduled) / maxY * plotH
                svg += SVG.rect(bx, base - h, bw, h, className: "ichart__bar ichart__bar--ai", radius: 1)
            }
            svg += SVG.closeGroup
            if i % every == 0 { svg += SVG.text(interval.start, x: bx + bw / 2, y: height - 10, anchor: "middle", className: "ichart__tick") }
        }
        svg += SVG.legend([("With the AI at the target", "ichart__bar--ai"), ("No AI", "ichart__bar--human")], right: width - right, y: 14, block: block)
        return svg + SVG.close
    }
}
