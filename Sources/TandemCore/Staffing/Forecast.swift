import Foundation

/// A conversation forecast as read from CSV, keeping the line of every interval so that checks
/// made after parsing (the interval length, the order of the starts) can still name the line.
public struct Forecast: Codable, Hashable, Sendable {
    /// The forecast's rows in file order: what `StaffingInput.intervals` takes.
    public var intervals: [StaffingInput.Interval]
    /// The 1-based CSV line of each interval, parallel to `intervals`.
    public var lineNumbers: [Int]

    /// `lineNumbers` defaults to 2, 3, … (one header line, one line per interval).
    public init(intervals: [StaffingInput.Interval], lineNumbers: [Int]? = nil) {
        precondition(lineNumbers == nil || lineNumbers!.count == intervals.count, "one line number per interval")
        self.intervals = intervals
        self.lineNumbers = lineNumbers ?? intervals.indices.map { $0 + 2 }
    }

    /// Header names accepted for the start column, after lowercasing and turning spaces and
    /// hyphens into underscores, so that "Interval start" works as well as "interval_start".
    public static let startColumnNames = ["interval_start", "start", "interval"]
    /// Header names accepted for the conversations column, normalised the same way.
    public static let conversationsColumnNames = ["conversations"]

    /// Reads a forecast from CSV with a header row; columns other than the start and the
    /// conversations are ignored, and fields are trimmed of spaces.
    /// - Throws: `StaffingError.csv` for malformed CSV or a missing column, `.noIntervals` for a
    ///   header without rows, and errors naming the line for an empty start, a non-number, or a
    ///   negative or non-finite count.
    public static func parse(csv text: String) throws -> Forecast {
        let table: CSVTable
        do {
            table = try CSVTable(parsing: text)
        } catch let error as CSVTable.ParseError {
            throw StaffingError.csv(error)
        }
        let startIndex = try column(startColumnNames, in: table)
        let countIndex = try column(conversationsColumnNames, in: table)
        guard !table.rows.isEmpty else { throw StaffingError.noIntervals }
        let startName = StaffingPlanner.startColumn, countName = StaffingPlanner.conversationsColumn
        let intervals = try zip(table.lineNumbers, table.rows).map { line, row in
            let start = row[startIndex].trimmingCharacters(in: .whitespaces)
            guard !start.isEmpty else { throw StaffingError.emptyField(line: line, column: startName) }
            let raw = row[countIndex]
            guard let conversations = Double(raw.trimmingCharacters(in: .whitespaces)) else {
                throw StaffingError.invalidNumber(line: line, column: countName, text: raw)
            }
            guard conversations.isFinite && conversations >= 0 else {
                throw StaffingError.negativeOrNonFinite(line: line, column: countName, text: raw)
            }
            return StaffingInput.Interval(start: start, conversations: conversations)
        }
        return Forecast(intervals: intervals, lineNumbers: table.lineNumbers)
    }

    /// The index of the first header that normalises to one of `names`; the error names the canonical one.
    private static func column(_ names: [String], in table: CSVTable) throws -> Int {
        let normalised = table.header.map {
            $0.trimmingCharacters(in: .whitespaces).lowercased().replacingOccurrences(of: " ", with: "_")
                .replacingOccurrences(of: "-", with: "_")
        }
        for name in names {
            if let index = normalised.firstIndex(of: name) { return index }
        }
        throw StaffingError.csv(.missingColumn(names[0], available: table.header))
    }

    // MARK: Interval length

    /// The interval length in minutes: `given` if there is one, else inferred from the starts.
    ///
    /// When the starts are times (see `inferredIntervalMinutes()`), a given length is checked
    /// against them, because a wrong length silently scales every agent count. Starts that are
    /// plain labels ("Monday AM") are accepted with a given length.
    /// - Throws: `StaffingError.invalidParameter` for a length that is not a positive number,
    ///   `.intervalMismatch` when it disagrees with the starts, and the errors of
    ///   `inferredIntervalMinutes()`.
    public func intervalMinutes(given: Double?) throws -> (minutes: Double, inferred: Bool) {
        guard let given else { return (try inferredIntervalMinutes(), true) }
        guard given.isFinite && given > 0 else {
            throw StaffingError.invalidParameter(field: "intervalMinutes", value: given, allowed: "a finite number above 0")
        }
        // Labels that do not even start like a time are not checked.
        guard intervals.count >= 2, ForecastTime(intervals[0].start) != nil else { return (given, false) }
        let inferred = try inferredIntervalMinutes()
        guard abs(inferred - given) <= 1e-9 * given else { throw StaffingError.intervalMismatch(given: given, inferred: inferred) }
        return (given, false)
    }

    /// The interval length in minutes shown by the starts: the smallest gap between consecutive
    /// starts, every other gap having to be a whole number of it (a gap of several intervals is
    /// a stretch with nothing forecast, such as a night).
    ///
    /// Starts are times of day ("09:30", "9:30:00"), which wrap past midnight, or dates with a
    /// time ("2025-03-03 09:30", "2025-03-03T09:30:00+01:00"; without an offset they are read as
    /// UTC), or plain dates for daily forecasts; all must have the same form.
    /// - Throws: `StaffingError.intervalNotInferable` for a single interval, `.invalidStart` for a
    ///   start that is not a time, `.startNotAfterPrevious` for a duplicate or out-of-order start,
    ///   `.irregularStart` for a gap that is not a whole number of intervals.
    public func inferredIntervalMinutes() throws -> Double {
        guard intervals.count >= 2 else { throw StaffingError.intervalNotInferable("the forecast has a single interval") }
        var times: [ForecastTime] = []
        for (interval, line) in zip(intervals, lineNumbers) {
            guard let time = ForecastTime(interval.start), times.first.map({ $0.sameForm(as: time) }) ?? true else {
                throw StaffingError.invalidStart(line: line, text: interval.start)
            }
            times.append(time)
        }
        var gaps: [Double] = []
        for index in 1..<times.count {
            let gap = times[index].minutes(after: times[index - 1])
            guard gap > 1e-9 else {
                throw StaffingError.startNotAfterPrevious(line: lineNumbers[index], start: intervals[index].start,
                                                          previous: intervals[index - 1].start)
            }
            gaps.append(gap)
        }
        let interval = gaps.min()!
        for (offset, gap) in gaps.enumerated() {
            let ratio = gap / interval
            if abs(ratio - ratio.rounded()) > 1e-6 {
                throw StaffingError.irregularStart(line: lineNumbers[offset + 1], start: intervals[offset + 1].start,
                                                   minutesAfterPrevious: gap, intervalMinutes: interval)
            }
        }
        return interval
    }

    // MARK: Sample

    /// Relative volume of each half hour of a typical weekday for a consumer support queue: a
    /// quiet night, a morning peak around 10:30, a lunchtime dip, a smaller afternoon peak around 14:30 and an
    /// evening bump after dinner. Only its shape matters.
    static func typicalDayWeight(hour: Double) -> Double {
        func bump(_ centre: Double, _ width: Double, _ height: Double) -> Double {
            height * exp(-0.5 * pow((hour - centre) / width, 2))
        }
        return 0.02 + bump(10.5, 1.4, 1) + bump(14.75, 1.5, 0.85) + bump(19.75, 1.3, 0.35)
    }

    /// A typical day of 48 half-hour intervals ("00:00" … "23:30") whose whole-number counts add
    /// up to exactly `totalConversations`, for trying `tandem plan` without a forecast of one's own.
    /// Counts are the daytime curve scaled to the total and rounded by largest remainder.
    /// - Precondition: `totalConversations >= 0`.
    public static func sample(totalConversations: Int) -> Forecast {
        precondition(totalConversations >= 0, "a forecast cannot have a negative number of conversations")
        let weights = (0..<48).map { typicalDayWeight(hour: Double($0) / 2 + 0.25) }
        let sum = weights.reduce(0, +)
        let exact = weights.map { $0 / sum * Double(totalConversations) }
        var counts = exact.map { Int($0.rounded(.down)) }
        let remainders = exact.indices.sorted { (exact[$0] - exact[$0].rounded(.down), $1) > (exact[$1] - exact[$1].rounded(.down), $0) }
        for index in remainders.prefix(totalConversations - counts.reduce(0, +)) { counts[index] += 1 }
        let intervals = counts.enumerated().map { index, count in
            StaffingInput.Interval(start: String(format: "%02d:%02d", index / 2, index % 2 * 30), conversations: Double(count))
        }
        return Forecast(intervals: intervals)
    }

    /// The forecast as CSV with the columns `interval_start` and `conversations`, which `parse(csv:)` reads back.
    public func csv() -> String {
        let rows = intervals.map { interval -> [String] in
            let count = interval.conversations
            let text = count == count.rounded() && abs(count) < 1e15 ? String(Int(count)) : String(count)
            return [interval.start, text]
        }
        return CSVTable(header: [StaffingPlanner.startColumn, StaffingPlanner.conversationsColumn], rows: rows).rendered()
    }
}

/// An interval start read as a time: a time of day (minutes since midnight) or an instant
/// (minutes since 1970-01-01 00:00 UTC).
enum ForecastTime: Equatable {
    case timeOfDay(Double)
    case instant(Double)

    /// nil when `text` is none of the accepted forms.
    init?(_ text: String) {
        let text = Substring(text.trimmingCharacters(in: .whitespaces))
        if let day = Self.days(text.prefix(10)) {
            var rest = text.dropFirst(10)
            if rest.isEmpty { self = .instant(Double(day) * 1440); return }
            guard rest.first == "T" || rest.first == " " else { return nil }
            rest = rest.dropFirst()
            var offset = 0.0
            if rest.hasSuffix("Z") {
                rest = rest.dropLast()
            } else if let sign = rest.lastIndex(where: { $0 == "+" || $0 == "-" }) {
                guard let parsed = Self.offset(rest[sign...]) else { return nil }
                offset = parsed
                rest = rest[..<sign]
            }
            guard let minutes = Self.timeOfDay(rest) else { return nil }
            self = .instant(Double(day) * 1440 + minutes - offset)
            return
        }
        guard let minutes = Self.timeOfDay(text) else { return nil }
        self = .timeOfDay(minutes)
    }

    func sameForm(as other: ForecastTime) -> Bool {
        switch (self, other) {
        case (.timeOfDay, .timeOfDay), (.instant, .instant): return true
        default: return false
        }
    }

    /// Minutes from `previous` to this time; times of day wrap past midnight, so never negative.
    func minutes(after previous: ForecastTime) -> Double {
        switch (previous, self) {
        case let (.timeOfDay(a), .timeOfDay(b)):
            let gap = (b - a).truncatingRemainder(dividingBy: 1440)
            return gap < 0 ? gap + 1440 : gap
        case let (.instant(a), .instant(b)):
            return b - a
        default:
            return .nan
        }
    }

    /// "H:mm", "HH:mm" or "HH:mm:ss[.fff]" as minutes since midnight.
    private static func timeOfDay(_ text: Substring) -> Double? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3,
              (1...2).contains(parts[0].count), parts[0].allSatisfy(\.isASCIIDigit), let hours = Int(parts[0]), hours < 24,
              parts[1].count == 2, parts[1].allSatisfy(\.isASCIIDigit), let minutes = Int(parts[1]), minutes < 60 else { return nil }
        var seconds = 0.0
        if parts.count == 3 {
            guard parts[2].count >= 2, parts[2].prefix(2).allSatisfy(\.isASCIIDigit),
                  parts[2].allSatisfy({ $0.isASCIIDigit || $0 == "." }), let value = Double(parts[2]), value < 60 else { return nil }
            seconds = value
        }
        return Double(hours * 60 + minutes) + seconds / 60
    }

    /// "+hh:mm", "+hhmm" or "+hh" (or "-…") as minutes east of UTC.
    private static func offset(_ text: Substring) -> Double? {
        let sign: Double = text.first == "-" ? -1 : 1
        let digits = text.dropFirst().filter { $0 != ":" }
        guard digits.count == 2 || digits.count == 4, digits.allSatisfy(\.isASCIIDigit),
              let hours = Int(digits.prefix(2)), let minutes = Int(digits.dropFirst(2).isEmpty ? "0" : digits.dropFirst(2)),
              hours <= 23, minutes < 60 else { return nil }
        return sign * Double(hours * 60 + minutes)
    }

    /// "YYYY-MM-DD" as days since 1970-01-01 (proleptic Gregorian; Howard Hinnant's days_from_civil).
    private static func days(_ text: Substring) -> Int? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard text.count == 10, parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              parts.allSatisfy({ $0.allSatisfy(\.isASCIIDigit) }),
              let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]), (1...12).contains(month) else { return nil }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let lengths = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard (1...lengths[month - 1]).contains(day) else { return nil }
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}

private extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
