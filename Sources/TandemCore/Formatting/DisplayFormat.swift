import Foundation

/// Figures as people read them: percentages, money, counts, durations and UTC days. One
/// formatter for the server's pages, the offline HTML report and the text of `tandem plan`.
///
/// Written out rather than with `NumberFormatter` or `DateFormatter`, whose settings differ
/// between Foundation implementations and follow the machine's locale.
public enum DisplayFormat {
    /// `0.995` → "99.5%", `0.99` with one digit → "99%" (trailing zeros dropped unless `fixed`).
    public static func percent(_ share: Double, _ digits: Int = 0, fixed: Bool = false) -> String {
        var text = String(format: "%.\(max(0, digits))f", share * 100)
        if !fixed, digits > 0, text.hasSuffix(String(repeating: "0", count: digits)) { text = String(text.dropLast(digits + 1)) }
        return text + "%"
    }

    /// An amount with its currency's symbol (`£4.50`), or its code after it (`1.00 CHF`).
    public static func money(_ value: Double, currency: String, digits: Int = 2) -> String {
        let symbols = ["GBP": "£", "USD": "$", "EUR": "€", "JPY": "¥", "INR": "₹"]
        let amount = number(abs(value), decimals: digits)
        let sign = value < 0 && amount.contains(where: { $0 != "0" && $0 != "." && $0 != "," }) ? "-" : ""
        if let symbol = symbols[currency.uppercased()] { return sign + symbol + amount }
        return sign + amount + " " + currency
    }

    /// A number with thousands separated by commas and exactly `decimals` decimals, or at most
    /// that many when `trimmingZeros`. Not-a-number reads `notANumber`.
    public static func number(_ value: Double, decimals: Int = 0, trimmingZeros: Bool = false, notANumber: String = "—") -> String {
        guard value.isFinite else { return value.isNaN ? notANumber : (value > 0 ? "∞" : "-∞") }
        var plain = String(format: "%.\(max(0, decimals))f", abs(value))
        if trimmingZeros && plain.contains(".") {
            while plain.hasSuffix("0") { plain.removeLast() }
            if plain.hasSuffix(".") { plain.removeLast() }
        }
        let parts = plain.split(separator: ".", maxSplits: 1)
        var whole = String(parts[0])
        var grouped = ""
        while whole.count > 3 {
            grouped = "," + whole.suffix(3) + grouped
            whole = String(whole.dropLast(3))
        }
        let sign = value < 0 && plain.contains(where: { $0 != "0" && $0 != "." }) ? "-" : ""
        return sign + whole + grouped + (parts.count > 1 ? "." + parts[1] : "")
    }

    /// "42 ms", "1 min 35 s", "2 h 3 min", "3 d 4 h".
    public static func duration(_ seconds: Double) -> String {
        if seconds < 1 { return String(format: "%.0f ms", seconds * 1000) }
        if seconds < 60 { return String(format: "%.0f s", seconds) }
        let s = Int(seconds.rounded())
        if s < 3600 { return "\(s / 60) min\(s % 60 == 0 || s >= 600 ? "" : " \(s % 60) s")" }
        if s < 86_400 { return "\(s / 3600) h\(s % 3600 / 60 == 0 ? "" : " \(s % 3600 / 60) min")" }
        return "\(s / 86_400) d\(s % 86_400 / 3600 == 0 ? "" : " \(s % 86_400 / 3600) h")"
    }

    /// A time waited, coarsely: "45 s", "12 min", "2 h 5 min".
    public static func waited(_ seconds: Double) -> String {
        let s = Int(seconds)
        if s < 60 { return "\(s) s" }
        if s < 3600 { return "\(s / 60) min" }
        return "\(s / 3600) h \(s % 3600 / 60) min"
    }

    /// "HH:mm" in UTC; empty without a date.
    public static func clockTime(_ date: Date?) -> String {
        guard let date else { return "" }
        let c = utc.dateComponents([.hour, .minute], from: date)
        return String(format: "%02d:%02d", c.hour ?? 0, c.minute ?? 0)
    }

    /// The Gregorian calendar in UTC, where the reports' days begin.
    public static var utc: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = QualityMetrics.utc
        return calendar
    }

    /// `YYYY-MM-DD` of the UTC day.
    public static func dateKey(_ date: Date) -> String {
        let c = utc.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0)
    }

    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// "3 Mar" from "YYYY-MM-DD".
    public static func shortDay(_ key: String) -> String {
        let parts = key.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3, (1...12).contains(parts[1]) else { return key }
        return "\(parts[2]) \(months[parts[1] - 1])"
    }

    /// "3 Mar 2025".
    public static func longDay(_ date: Date) -> String {
        let key = dateKey(date)
        return "\(shortDay(key)) \(key.prefix(4))"
    }
}
