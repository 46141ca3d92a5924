import Foundation
import TandemCore

/// The system's clock: the one production passes wherever time is needed.
public struct SystemClock: WallClock {
    public init() {}
    public var now: Date { Date() }
}
