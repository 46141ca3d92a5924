import Foundation

/// The hours people work: the same opening hours on each working weekday, in one IANA time
/// zone, minus holidays (local dates). Pure: the instants come from the caller. Local times
/// are resolved by `Calendar`, so a day with a DST change still opens at its local 09:00.
public struct BusinessCalendar: Sendable, Equatable {
    public let timeZone: TimeZone
    /// `Calendar` weekdays (1 = Sunday … 7 = Saturday).
    public let weekdays: Set<Int>
    /// Minutes after local midnight.
    public let openMinute: Int
    public let closeMinute: Int
    /// `YYYY-MM-DD` in the calendar's time zone.
    public let holidays: Set<String>

    public static let dayNames = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    /// Days looked ahead for an opening before giving up (a calendar with no working day never opens).
    static let horizonDays = 400

    public init(timezone: String, days: [String], open: String, close: String, holidays: [String] = []) throws(Invalid) {
        let problems = Self.problems(timezone: timezone, days: days, open: open, close: close, holidays: holidays)
        guard problems.isEmpty, let zone = TimeZone(identifier: timezone),
              let o = Self.minutes(open), let c = Self.minutes(close) else { throw Invalid(problems: problems) }
        timeZone = zone
        weekdays = Set(days.compactMap { d in Self.dayNames.firstIndex(of: d).map { $0 + 1 } })
        openMinute = o
        closeMinute = c
        self.holidays = Set(holidays)
    }

    public struct Invalid: Error, Sendable { public let problems: [String] }

    /// Problems with the values, each naming the field; empty when valid.
    public static func problems(timezone: String, days: [String], open: String, close: String, holidays: [String]) -> [String] {
        var problems: [String] = []
        if TimeZone(identifier: timezone) == nil { problems.append("businessHours.timezone must be an IANA time zone such as Europe/London") }
        if let bad = days.first(where: { !dayNames.contains($0) }) {
            problems.append("businessHours.days must be day names Mon, Tue, Wed, Thu, Fri, Sat, Sun (not \(bad))")
        }
        let o = minutes(open), c = minutes(close)
        if o == nil { problems.append("businessHours.open must be a time HH:MM such as 09:00") }
        if c == nil { problems.append("businessHours.close must be a time HH:MM such as 17:00 (24:00 for midnight)") }
        if let o, let c, o >= c { problems.append("businessHours.close must be after businessHours.open") }
        if let bad = holidays.first(where: { !isDate($0) }) { problems.append("holidays must be dates YYYY-MM-DD (not \(bad))") }
        return problems
    }

    static func minutes(_ text: String) -> Int? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2,
              let h = Int(parts[0]), let m = Int(parts[1]), (0...59).contains(m), (0...24).contains(h), h < 24 || m == 0 else { return nil }
        return h * 60 + m
    }

    static func isDate(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]) else { return false }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        // Rejects 2026-02-30: the date must come back as written.
        guard let date = calendar.date(from: DateComponents(year: y, month: m, day: d)) else { return false }
        let back = calendar.dateComponents([.year, .month, .day], from: date)
        return back.year == y && back.month == m && back.day == d
    }

    private var calendar: Calendar {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = timeZone
        return c
    }

    /// The opening interval of the local day that contains `instant`, nil on a day off.
    private func hours(ofDayContaining instant: Date) -> (open: Date, close: Date)? {
        let calendar = calendar
        let day = calendar.startOfDay(for: instant)
        let c = calendar.dateComponents([.year, .month, .day, .weekday], from: day)
        guard let weekday = c.weekday, weekdays.contains(weekday), let y = c.year, let m = c.month, let d = c.day else { return nil }
        if holidays.contains(String(format: "%04d-%02d-%02d", y, m, d)) { return nil }
        func at(_ minute: Int) -> Date? {
            if minute == 24 * 60 { return calendar.date(byAdding: .day, value: 1, to: day) }
            return calendar.date(bySettingHour: minute / 60, minute: minute % 60, second: 0, of: day)
        }
        guard let open = at(openMinute), let close = at(closeMinute), close > open else { return nil }
        return (open, close)
    }

    /// The local days from the one containing `start` on, at most `horizonDays`.
    private func days(from start: Date) -> some Sequence<Date> {
        let calendar = calendar
        let first = calendar.startOfDay(for: start)
        return (0..<Self.horizonDays).lazy.compactMap { calendar.date(byAdding: .day, value: $0, to: first) }
    }

    public func isOpen(at instant: Date) -> Bool {
        guard let h = hours(ofDayContaining: instant) else { return false }
        return instant >= h.open && instant < h.close
    }

    /// Seconds of opening hours between two instants (0 when `end` is not after `start`).
    public func businessSeconds(from start: Date, to end: Date) -> TimeInterval {
        guard end > start else { return 0 }
        var total: TimeInterval = 0
        for day in days(from: start) {
            guard day < end else { break }
            guard let h = hours(ofDayContaining: day) else { continue }
            let from = max(h.open, start), to = min(h.close, end)
            if to > from { total += to.timeIntervalSince(from) }
        }
        return total
    }

    /// `instant` itself when open, else the next opening; nil when none within `horizonDays`.
    public func nextOpening(atOrAfter instant: Date) -> Date? {
        for day in days(from: instant) {
            guard let h = hours(ofDayContaining: day), h.close > instant else { continue }
            return max(h.open, instant)
        }
        return nil
    }

    /// The instant at which `seconds` of opening hours have passed since `start` (a deadline in
    /// business time); nil when the calendar does not open enough within `horizonDays`.
    public func adding(businessSeconds seconds: TimeInterval, to start: Date) -> Date? {
        var left = seconds
        for day in days(from: start) {
            guard let h = hours(ofDayContaining: day) else { continue }
            let from = max(h.open, start)
            guard h.close > from else { continue }
            let available = h.close.timeIntervalSince(from)
            if left <= available { return from.addingTimeInterval(left) }
            left -= available
        }
        return nil
    }

    /// "Monday at 09:00", "today at 09:00" or "tomorrow at 09:00" as seen at `now`, local time.
    public func describe(_ instant: Date, now: Date) -> String {
        let calendar = calendar
        let c = calendar.dateComponents([.hour, .minute, .weekday], from: instant)
        let time = String(format: "%02d:%02d", c.hour ?? 0, c.minute ?? 0)
        let days = calendar.dateComponents([.day], from: calendar.startOfDay(for: now), to: calendar.startOfDay(for: instant)).day ?? 0
        let names = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
        let day: String
        switch days {
        case 0: day = "today"
        case 1: day = "tomorrow"
        case 2..<7: day = names[((c.weekday ?? 1) - 1) % 7]
        default:
            let f = DateFormatter()
            f.locale = Locale(identifier: "en_GB")
            f.timeZone = timeZone
            f.dateFormat = "EEEE d MMMM"
            day = f.string(from: instant)
        }
        return "\(day) at \(time) (\(timeZone.identifier) time)"
    }
}

/// Service-level targets in seconds of business time; nil: no target.
public struct SLATargets: Codable, Sendable, Equatable {
    /// From hand-off to a person's first reply.
    public var firstResponseSeconds: Int?
    /// From a customer's message to a person's next reply, once a person has replied.
    public var nextResponseSeconds: Int?
    /// From hand-off to resolution.
    public var resolutionSeconds: Int?

    public init(firstResponseSeconds: Int? = nil, nextResponseSeconds: Int? = nil, resolutionSeconds: Int? = nil) {
        self.firstResponseSeconds = firstResponseSeconds
        self.nextResponseSeconds = nextResponseSeconds
        self.resolutionSeconds = resolutionSeconds
    }
}

/// Which target a conversation missed.
public enum SLAKind: String, Codable, Sendable, CaseIterable {
    case firstResponse = "first_response"
    case nextResponse = "next_response"
    case resolution
}

/// What a conversation's clocks say against its targets. Pure.
public enum ServiceLevel {
    public struct Status: Sendable, Equatable {
        public var kind: SLAKind
        /// Business seconds left (negative: over).
        public var secondsLeft: TimeInterval
        public var breached: Bool { secondsLeft < 0 }
        public init(kind: SLAKind, secondsLeft: TimeInterval) { self.kind = kind; self.secondsLeft = secondsLeft }
    }

    /// The most pressing target: the one with the least business time left. `waitingSince`: when
    /// the customer started waiting for a person's reply (nil: not waiting); `replied`: whether a
    /// person replied already; `queuedAt`: the hand-off, for resolution.
    public static func status(targets: SLATargets, calendar: BusinessCalendar, now: Date, queuedAt: Date?,
                              waitingSince: Date?, replied: Bool) -> Status? {
        var candidates: [Status] = []
        if let since = waitingSince {
            let kind: SLAKind = replied ? .nextResponse : .firstResponse
            if let target = replied ? targets.nextResponseSeconds : targets.firstResponseSeconds {
                candidates.append(Status(kind: kind, secondsLeft: Double(target) - calendar.businessSeconds(from: since, to: now)))
            }
        }
        if let queuedAt, let target = targets.resolutionSeconds {
            candidates.append(Status(kind: .resolution, secondsLeft: Double(target) - calendar.businessSeconds(from: queuedAt, to: now)))
        }
        return candidates.min { $0.secondsLeft < $1.secondsLeft }
    }
}
