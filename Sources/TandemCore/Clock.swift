import Foundation

/// Where the time comes from. TandemCore never reads a clock itself: whoever needs the time
/// passes one in, the system's in production and a manual one in tests.
public protocol WallClock: Sendable {
    var now: Date { get }
}

/// A clock that says what it is told: tests and simulations move it by hand.
public final class ManualClock: WallClock, @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date

    public init(_ start: Date = Date(timeIntervalSince1970: 1_780_000_000)) { current = start }

    public var now: Date { lock.withLock { current } }

    public func advance(by seconds: TimeInterval) { lock.withLock { current += seconds } }
}
