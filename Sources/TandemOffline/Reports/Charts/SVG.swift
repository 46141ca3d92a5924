import Foundation

/// The primitives every chart is drawn with: the server's pages (insights, staffing) and the
/// offline evaluation report. Charts are inline SVG markup, written as text.
///
/// Styling is by CSS class only, never inline: the pages' Content-Security-Policy allows only
/// the stylesheet. A chart's classes hang off one block (`ichart` on the pages, `chart` in the
/// report): `block__grid`, `block__tick`, `block__legend`, `block__group`. Every piece of text
/// is XML-escaped.
public enum SVG {
    public static func escape(_ text: String) -> String { escapeHTML(text) }

    /// A coordinate with one decimal.
    public static func n(_ v: Double) -> String { String(format: "%.1f", v) }

    /// The opening tag, with the title and description screen readers announce.
    public static func open(width: Double, height: Double, title: String, description: String, id: String, block: String) -> String {
        let id = escape(id)
        return "<svg id=\"\(id)\" class=\"\(block)\" viewBox=\"0 0 \(n(width)) \(n(height))\" role=\"img\" aria-labelledby=\"\(id)-title \(id)-desc\" preserveAspectRatio=\"xMidYMid meet\">"
            + "<title id=\"\(id)-title\">\(escape(title))</title><desc id=\"\(id)-desc\">\(escape(description))</desc>"
    }

    public static let close = "</svg>"

    /// Text at (x, y); `rotation` in degrees about that point.
    public static func text(_ content: String, x: Double, y: Double, anchor: String = "start", className: String,
                            rotation: Double? = nil) -> String {
        let transform = rotation.map { " transform=\"rotate(\(n($0)) \(n(x)) \(n(y)))\"" } ?? ""
        return "<text x=\"\(n(x))\" y=\"\(n(y))\" text-anchor=\"\(anchor)\"\(transform) class=\"\(className)\">\(escape(content))</text>"
    }

    public static func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, className: String) -> String {
        "<line x1=\"\(n(x1))\" y1=\"\(n(y1))\" x2=\"\(n(x2))\" y2=\"\(n(y2))\" class=\"\(className)\"/>"
    }

    /// A rectangle; a negative width or height draws nothing visible rather than failing.
    public static func rect(_ x: Double, _ y: Double, _ width: Double, _ height: Double, className: String, radius: Double = 2) -> String {
        "<rect x=\"\(n(x))\" y=\"\(n(y))\" width=\"\(n(max(width, 0)))\" height=\"\(n(max(height, 0)))\" rx=\"\(n(radius))\" class=\"\(className)\"/>"
    }

    /// A rectangle with square corners.
    public static func area(_ x: Double, _ y: Double, _ width: Double, _ height: Double, className: String) -> String {
        "<rect x=\"\(n(x))\" y=\"\(n(y))\" width=\"\(n(max(width, 0)))\" height=\"\(n(max(height, 0)))\" class=\"\(className)\"/>"
    }

    public static func circle(cx: Double, cy: Double, r: Double, className: String, title: String? = nil) -> String {
        let open = "<circle cx=\"\(n(cx))\" cy=\"\(n(cy))\" r=\"\(n(r))\" class=\"\(className)\""
        return title.map { open + "><title>\(escape($0))</title></circle>" } ?? open + "/>"
    }

    public static func polyline(_ points: [(x: Double, y: Double)], className: String, title: String? = nil) -> String {
        let open = "<polyline points=\"\(coordinates(points))\" class=\"\(className)\""
        return title.map { open + "><title>\(escape($0))</title></polyline>" } ?? open + "/>"
    }

    public static func polygon(_ points: [(x: Double, y: Double)], className: String) -> String {
        "<polygon points=\"\(coordinates(points))\" class=\"\(className)\"/>"
    }

    static func coordinates(_ points: [(x: Double, y: Double)]) -> String {
        points.map { "\(n($0.x)),\(n($0.y))" }.joined(separator: " ")
    }

    /// Opens marks that belong together (a day's bars and their label), with the tooltip they
    /// show; `closeGroup` ends them.
    public static func openGroup(title: String, block: String) -> String {
        "<g class=\"\(block)__group\"><title>\(escape(title))</title>"
    }

    public static let closeGroup = "</g>"

    /// A row of swatches with labels, ending at `right`: `items` are (label, the swatch's class).
    public static func legend(_ items: [(label: String, className: String)], right: Double, y: Double, block: String) -> String {
        var out = "", cursor = right
        for (label, className) in items.reversed() {
            let width = Double(label.count) * 6.6 + 22
            cursor -= width
            out += rect(cursor, y - 9, 10, 10, className: className, radius: 2)
            out += text(label, x: cursor + 15, y: y, className: "\(block)__legend")
            cursor -= 10
        }
        return out
    }

    /// Horizontal grid lines at `ticks` + 1 even steps from the bottom (the bottom one the axis),
    /// each labelled on the left with `label(step)`.
    public static func yGrid(left: Double, right: Double, top: Double, height: Double, ticks: Int, block: String,
                             label: (Int) -> String) -> String {
        var out = ""
        for i in 0...ticks {
            let py = top + height - Double(i) / Double(ticks) * height
            out += line(left, py, right, py, className: i == 0 ? "\(block)__axis" : "\(block)__grid")
            out += text(label(i), x: left - 6, y: py + 4, anchor: "end", className: "\(block)__tick")
        }
        return out
    }

    /// A rounded-up axis maximum with a step that divides it into `ticks`.
    public static func niceMax(_ value: Double, ticks: Int = 4) -> Double {
        guard value > 0 else { return Double(ticks) }
        let raw = value / Double(ticks)
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
        return step * Double(ticks)
    }
}
