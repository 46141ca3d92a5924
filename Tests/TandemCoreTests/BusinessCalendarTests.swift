import Foundation
import TandemCore
import Testing

/// Opening hours in a time zone: open or not, business seconds between instants, the next opening.
@Suite("Business calendar")
struct BusinessCalendarTests {
    static func at(_ iso: String) -> Date { try! Date(iso, strategy: .iso8601) }
    /// Mon–Fri 09:00–17:00, London; 2026-12-25 a holiday.
    static let london = try! BusinessCalendar(timezone: "Europe/London", days: ["Mon", "Tue", "Wed", "Thu", "Fri"],
                                              open: "09:00", close: "17:00", holidays: ["2026-12-25"])

    @Test("open inside the hours of a working day; closed before, after, at the weekend and on a holiday")
    func openOrNot() {
        let c = Self.london
        #expect(c.isOpen(at: Self.at("2026-12-02T09:00:00Z")), "Wednesday 09:00 GMT")
        #expect(c.isOpen(at: Self.at("2026-12-02T16:59:59Z")))
        #expect(!c.isOpen(at: Self.at("2026-12-02T17:00:00Z")), "closing time is closed")
        #expect(!c.isOpen(at: Self.at("2026-12-02T08:59:59Z")))
        #expect(!c.isOpen(at: Self.at("2026-12-05T12:00:00Z")), "Saturday")
        #expect(!c.isOpen(at: Self.at("2026-12-25T12:00:00Z")), "holiday (a Friday)")
        // Summer time: 09:00 local is 08:00 UTC.
        #expect(c.isOpen(at: Self.at("2026-07-01T08:30:00Z")))
        #expect(!c.isOpen(at: Self.at("2026-07-01T16:30:00Z")))
    }

    @Test("business seconds: within a day, over a night, over a weekend, over a holiday, across several days")
    func seconds() {
        let c = Self.london
        #expect(c.businessSeconds(from: Self.at("2026-12-02T10:00:00Z"), to: Self.at("2026-12-02T10:30:00Z")) == 1800)
        #expect(c.businessSeconds(from: Self.at("2026-12-02T16:50:00Z"), to: Self.at("2026-12-03T09:10:00Z")) == 1200, "the night does not count")
        #expect(c.businessSeconds(from: Self.at("2026-12-04T16:00:00Z"), to: Self.at("2026-12-07T10:00:00Z")) == 7200, "Friday 1 h + Monday 1 h")
        #expect(c.businessSeconds(from: Self.at("2026-12-24T16:00:00Z"), to: Self.at("2026-12-28T10:00:00Z")) == 7200, "Christmas and the weekend skipped")
        #expect(c.businessSeconds(from: Self.at("2026-11-30T00:00:00Z"), to: Self.at("2026-12-05T00:00:00Z")) == 5 * 8 * 3600, "a full week")
        #expect(c.businessSeconds(from: Self.at("2026-12-05T00:00:00Z"), to: Self.at("2026-12-06T23:59:00Z")) == 0, "a weekend")
        #expect(c.businessSeconds(from: Self.at("2026-12-03T00:00:00Z"), to: Self.at("2026-12-02T00:00:00Z")) == 0, "end before start")
    }

    @Test("DST: the day the clocks go forward still opens at local 09:00, which moved by an hour in UTC")
    func daylightSaving() {
        // 2026-03-29 (Sunday) London goes from GMT to BST. Friday 27th opens 09:00Z, Monday 30th 08:00Z.
        let c = Self.london
        #expect(c.nextOpening(atOrAfter: Self.at("2026-03-27T18:00:00Z")) == Self.at("2026-03-30T08:00:00Z"))
        #expect(c.businessSeconds(from: Self.at("2026-03-27T16:00:00Z"), to: Self.at("2026-03-30T09:00:00Z")) == 7200)
        // A calendar open on Sundays 00:00–24:00: the DST Sunday has 23 hours.
        let always = try! BusinessCalendar(timezone: "Europe/London", days: ["Sun"], open: "00:00", close: "24:00")
        #expect(always.businessSeconds(from: Self.at("2026-03-28T12:00:00Z"), to: Self.at("2026-03-30T12:00:00Z")) == 23 * 3600)
    }

    @Test("next opening: now when open, the next working morning otherwise; never for a calendar without days")
    func nextOpening() {
        let c = Self.london
        let now = Self.at("2026-12-02T10:00:00Z")
        #expect(c.nextOpening(atOrAfter: now) == now)
        #expect(c.nextOpening(atOrAfter: Self.at("2026-12-02T20:00:00Z")) == Self.at("2026-12-03T09:00:00Z"))
        #expect(c.nextOpening(atOrAfter: Self.at("2026-12-04T20:00:00Z")) == Self.at("2026-12-07T09:00:00Z"), "Friday night: Monday")
        #expect(c.nextOpening(atOrAfter: Self.at("2026-12-24T18:00:00Z")) == Self.at("2026-12-28T09:00:00Z"), "over Christmas and the weekend")
        #expect(c.describe(Self.at("2026-12-07T09:00:00Z"), now: Self.at("2026-12-04T20:00:00Z")) == "Monday at 09:00 (Europe/London time)")
        #expect(c.describe(Self.at("2026-12-03T09:00:00Z"), now: Self.at("2026-12-02T20:00:00Z")) == "tomorrow at 09:00 (Europe/London time)")
        let never = try! BusinessCalendar(timezone: "UTC", days: [], open: "09:00", close: "17:00")
        #expect(never.nextOpening(atOrAfter: now) == nil)
        #expect(c.adding(businessSeconds: 7200, to: Self.at("2026-12-04T16:00:00Z")) == Self.at("2026-12-07T10:00:00Z"))
    }

    @Test("invalid values are named: zone, day, times, holidays")
    func problems() {
        let p = BusinessCalendar.problems(timezone: "Mars/Olympus", days: ["Mon", "Funday"], open: "9am", close: "17:00",
                                          holidays: ["2026-02-30"])
        #expect(p.count == 4, "\(p)")
        #expect(p.contains { $0.contains("timezone") } && p.contains { $0.contains("Funday") } && p.contains { $0.contains("open") }
                && p.contains { $0.contains("2026-02-30") })
        #expect(BusinessCalendar.problems(timezone: "UTC", days: [], open: "17:00", close: "09:00", holidays: []).count == 1)
        #expect(throws: BusinessCalendar.Invalid.self) { try BusinessCalendar(timezone: "UTC", days: [], open: "x", close: "09:00") }
    }

    @Test("service level: business time against the most pressing target; the night does not count")
    func serviceLevel() {
        let c = Self.london
        let targets = SLATargets(firstResponseSeconds: 3600, nextResponseSeconds: 1800, resolutionSeconds: 8 * 3600)
        let queued = Self.at("2026-12-02T16:30:00Z")
        let night = ServiceLevel.status(targets: targets, calendar: c, now: Self.at("2026-12-03T08:59:00Z"), queuedAt: queued,
                                        waitingSince: queued, replied: false)
        #expect(night == .init(kind: .firstResponse, secondsLeft: 1800), "16 h 29 min of wall clock, 30 min of business time")
        let late = ServiceLevel.status(targets: targets, calendar: c, now: Self.at("2026-12-03T09:31:00Z"), queuedAt: queued,
                                       waitingSince: queued, replied: false)
        #expect(late?.kind == .firstResponse && late?.breached == true)
        let next = ServiceLevel.status(targets: targets, calendar: c, now: Self.at("2026-12-03T10:00:00Z"), queuedAt: queued,
                                       waitingSince: Self.at("2026-12-03T09:40:00Z"), replied: true)
        #expect(next == .init(kind: .nextResponse, secondsLeft: 600))
    }
}
