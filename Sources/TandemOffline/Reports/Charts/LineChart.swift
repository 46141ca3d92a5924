/// Line charts for the offline evaluation report, drawn with `SVG` in the `chart` block and
/// styled by `css` (the report is one self-contained file).
public enum SVGChart {
    public struct Series: Sendable {
        public var label: String
        public var points: [(x: Double, y: Double)]
        /// The modifier of the line's and the swatch's classes (`chart__curve--<style>`), defined in `css`.
        public var style: String
        public init(label: String, points: [(x: Double, y: Double)], style: String = "primary") {
            self.label = label
            self.points = points
            self.style = style
        }
    }

    /// A line chart with axes, optional horizontal reference line and marked point.
    public static func line(title: String, series: [Series], xLabel: String, yLabel: String,
                            xRange: ClosedRange<Double>, yRange: ClosedRange<Double>,
                            xFormat: (Double) -> String, yFormat: (Double) -> String,
                            reference: (y: Double, label: String)? = nil, marker: (x: Double, y: Double, label: String)? = nil,
                            width: Double = 640, height: Double = 320, id: String = "chart") -> String {
        let block = "chart"
        let left = 64.0, right = 16.0, top = 16.0, bottom = 48.0
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        func px(_ x: Double) -> Double { left + (x - xRange.lowerBound) / max(xRange.upperBound - xRange.lowerBound, 1e-12) * plotWidth }
        func py(_ y: Double) -> Double {
            let clamped = min(max(y, yRange.lowerBound), yRange.upperBound)
            return top + plotHeight - (clamped - yRange.lowerBound) / max(yRange.upperBound - yRange.lowerBound, 1e-12) * plotHeight
        }
        var svg = SVG.open(width: width, height: height, title: title, description: "\(yLabel) against \(xLabel).", id: id, block: block)
        svg += SVG.yGrid(left: left, right: left + plotWidth, top: top, height: plotHeight, ticks: 4, block: block) { i in
            yFormat(yRange.lowerBound + Double(i) / 4 * (yRange.upperBound - yRange.lowerBound))
        }
        for i in 0...4 {
            let xv = xRange.lowerBound + Double(i) / 4 * (xRange.upperBound - xRange.lowerBound)
            svg += SVG.text(xFormat(xv), x: px(xv), y: top + plotHeight + 18, anchor: "middle", className: "\(block)__tick")
        }
        svg += SVG.line(left, top, left, top + plotHeight, className: "\(block)__axis")
        svg += SVG.text(xLabel, x: left + plotWidth / 2, y: height - 8, anchor: "middle", className: "\(block)__label")
        svg += SVG.text(yLabel, x: 14, y: top + plotHeight / 2, anchor: "middle", className: "\(block)__label", rotation: -90)
        if let reference {
            svg += SVG.line(left, py(reference.y), left + plotWidth, py(reference.y), className: "\(block)__reference")
            svg += SVG.text(reference.label, x: left + plotWidth - 4, y: py(reference.y) - 6, anchor: "end", className: "\(block)__reference-label")
        }
        for s in series where !s.points.isEmpty {
            svg += SVG.polyline(s.points.map { (px($0.x), py($0.y)) }, className: "\(block)__curve \(block)__curve--\(s.style)", title: s.label)
        }
        if let marker {
            svg += SVG.circle(cx: px(marker.x), cy: py(marker.y), r: 5, className: "\(block)__marker", title: marker.label)
            // Labelled on the side with room, so it never runs off the chart.
            let onRight = px(marker.x) < left + plotWidth / 2
            svg += SVG.text(marker.label, x: px(marker.x) + (onRight ? 8 : -8), y: py(marker.y) - 8, anchor: onRight ? "start" : "end",
                            className: "\(block)__marker-label")
        }
        if series.count > 1 {
            svg += SVG.legend(series.map { ($0.label, "\(block)__swatch--\($0.style)") }, right: left + plotWidth, y: top + 10, block: block)
        }
        return svg + SVG.close
    }

    /// The charts' styles, inlined into the report's `<style>`.
    public static let css = """
        .chart{display:block;width:100%;height:auto}
        .chart__grid{stroke:#e3e6ea;stroke-width:1}.chart__axis{stroke:#5b6470;stroke-width:1}
        .chart__tick,.chart__legend{font:11px system-ui,sans-serif;fill:#4a525c}.chart__label{font:12px system-ui,sans-serif;fill:#2b3138}
        .chart__reference{stroke:#b3261e;stroke-dasharray:6 4;stroke-width:1.5}.chart__reference-label{font:11px system-ui,sans-serif;fill:#b3261e}
        .chart__curve{fill:none;stroke-width:2}.chart__curve--primary{stroke:#0b57d0}.chart__swatch--primary{fill:#0b57d0}
        .chart__marker{fill:#0b57d0;stroke:#fff;stroke-width:2}.chart__marker-label{font:12px system-ui,sans-serif;fill:#0b57d0;font-weight:600}
        """
}
