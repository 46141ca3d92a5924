/// Escapes text for HTML element content and attribute values, so that user text (messages,
/// intent names) is always shown as text and never interpreted.
public func escapeHTML(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for scalar in text.unicodeScalars {
        switch scalar {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out
}

/// Minimal server-side SVG charts (no scripts, no external assets).
public enum SVGChart {
    public struct Series: Sendable {
        public var label: String
        public var points: [(x: Double, y: Double)]
        public var colour: String
        public init(label: String, points: [(x: Double, y: Double)], colour: String) {
            self.label = label
            self.points = points
            self.colour = colour
        }
    }

    /// A line chart with axes, optional horizontal reference line and marked point.
    public static func line(title: String, series: [Series], xLabel: String, yLabel: String,
                            xRange: ClosedRange<Double>, yRange: ClosedRange<Double>,
                            xFormat: (Double) -> String, yFormat: (Double) -> String,
                            reference: (y: Double, label: String)? = nil, marker: (x: Double, y: Double, label: String)? = nil,
                            width: Double = 640, height: Double = 320) -> String {
        let left = 64.0, right = 16.0, top = 16.0, bottom = 48.0
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        func px(_ x: Double) -> Double { left + (x - xRange.lowerBound) / max(xRange.upperBound - xRange.lowerBound, 1e-12) * plotWidth }
        func py(_ y: Double) -> Double {
            let clamped = min(max(y, yRange.lowerBound), yRange.upperBound)
            return top + plotHeight - (clamped - yRange.lowerBound) / max(yRange.upperBound - yRange.lowerBound, 1e-12) * plotHeight
        }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        var svg = "<svg viewBox=\"0 0 \(f(width)) \(f(height))\" width=\"100%\" role=\"img\" aria-label=\"\(escapeHTML(title))\" class=\"chart\">"
        svg += "<title>\(escapeHTML(title))</title>"
        for i in 0...4 {
            let yv = yRange.lowerBound + Double(i) / 4 * (yRange.upperBound - yRange.lowerBound)
            let xv = xRange.lowerBound + Double(i) / 4 * (xRange.upperBound - xRange.lowerBound)
            svg += "<line x1=\"\(f(left))\" x2=\"\(f(left + plotWidth))\" y1=\"\(f(py(yv)))\" y2=\"\(f(py(yv)))\" class=\"grid\"/>"
            svg += "<text x=\"\(f(left - 6))\" y=\"\(f(py(yv) + 4))\" text-anchor=\"end\" class=\"tick\">\(escapeHTML(yFormat(yv)))</text>"
            svg += "<text x=\"\(f(px(xv)))\" y=\"\(f(top + plotHeight + 18))\" text-anchor=\"middle\" class=\"tick\">\(escapeHTML(xFormat(xv)))</text>"
        }
        svg += "<line x1=\"\(f(left))\" x2=\"\(f(left))\" y1=\"\(f(top))\" y2=\"\(f(top + plotHeight))\" class=\"axis\"/>"
        svg += "<line x1=\"\(f(left))\" x2=\"\(f(left + plotWidth))\" y1=\"\(f(top + plotHeight))\" y2=\"\(f(top + plotHeight))\" class=\"axis\"/>"
        svg += "<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(height - 8))\" text-anchor=\"middle\" class=\"label\">\(escapeHTML(xLabel))</text>"
        svg += "<text x=\"14\" y=\"\(f(top + plotHeight / 2))\" text-anchor=\"middle\" transform=\"rotate(-90 14 \(f(top + plotHeight / 2)))\" class=\"label\">\(escapeHTML(yLabel))</text>"
        if let reference {
            svg += "<line x1=\"\(f(left))\" x2=\"\(f(left + plotWidth))\" y1=\"\(f(py(reference.y)))\" y2=\"\(f(py(reference.y)))\" class=\"reference\"/>"
            svg += "<text x=\"\(f(left + plotWidth - 4))\" y=\"\(f(py(reference.y) - 6))\" text-anchor=\"end\" class=\"reference-label\">\(escapeHTML(reference.label))</text>"
        }
        for s in series where !s.points.isEmpty {
            let path = s.points.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
            svg += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(escapeHTML(s.colour))\" stroke-width=\"2\"><title>\(escapeHTML(s.label))</title></polyline>"
        }
        if let marker {
            svg += "<circle cx=\"\(f(px(marker.x)))\" cy=\"\(f(py(marker.y)))\" r=\"5\" class=\"marker\"><title>\(escapeHTML(marker.label))</title></circle>"
            svg += "<text x=\"\(f(px(marker.x) + 8))\" y=\"\(f(py(marker.y) - 8))\" class=\"marker-label\">\(escapeHTML(marker.label))</text>"
        }
        if series.count > 1 {
            for (i, s) in series.enumerated() {
                let y = top + 8 + Double(i) * 16
                svg += "<rect x=\"\(f(left + 8))\" y=\"\(f(y - 8))\" width=\"10\" height=\"10\" fill=\"\(escapeHTML(s.colour))\"/>"
                svg += "<text x=\"\(f(left + 24))\" y=\"\(f(y + 1))\" class=\"legend\">\(escapeHTML(s.label))</text>"
            }
        }
        return svg + "</svg>"
    }

    /// Shared styles for the charts, inlined into pages.
    public static let css = """
        .chart .grid{stroke:#e3e6ea;stroke-width:1}.chart .axis{stroke:#5b6470;stroke-width:1}
        .chart .tick,.chart .legend{font:11px system-ui,sans-serif;fill:#4a525c}.chart .label{font:12px system-ui,sans-serif;fill:#2b3138}
        .chart .reference{stroke:#b3261e;stroke-dasharray:6 4;stroke-width:1.5}.chart .reference-label{font:11px system-ui,sans-serif;fill:#b3261e}
        .chart .marker{fill:#0b57d0;stroke:#fff;stroke-width:2}.chart .marker-label{font:12px system-ui,sans-serif;fill:#0b57d0;font-weight:600}
        """
}
