import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A fixed group of threads running one forward pass together: each member computes its
/// share of every product's columns (and of the attention heads and LayerNorm rows), and
/// all meet at a barrier before the next step needs the whole result. This is how a single
/// short sentence uses both cores; a lone thread is a team of one whose barrier is free.
public final class Team: @unchecked Sendable {
    public let size: Int
    private let arrived = Atomic<Int>(0)
    private let generation = Atomic<Int>(0)

    public init(size: Int) { self.size = max(1, size) }

    public static let solo = Team(size: 1)

    /// Waits until every member has arrived. Spins briefly (the steps between barriers take
    /// tens of microseconds), then yields so that an oversubscribed machine still progresses.
    public func barrier() {
        guard size > 1 else { return }
        let current = generation.load(ordering: .acquiring)
        if arrived.add(1, ordering: .acquiringAndReleasing).newValue == size {
            arrived.store(0, ordering: .relaxed)
            generation.add(1, ordering: .releasing)
            return
        }
        var spins = 0
        while generation.load(ordering: .acquiring) == current {
            spins += 1
            if spins > 20_000 { sched_yield() }
        }
    }
}

/// One member's share of the work: member `index` of a team of `size`.
public struct WorkShare: Sendable {
    public let index: Int
    public let team: Team

    public static let all = WorkShare(index: 0, team: .solo)

    public init(index: Int, team: Team) {
        self.index = index
        self.team = team
    }

    /// This member's contiguous part of `0..<count`.
    @inline(__always)
    public func part(of count: Int) -> Range<Int> {
        (count * index / team.size)..<(count * (index + 1) / team.size)
    }

    @inline(__always)
    public func barrier() { team.barrier() }
}

/// Dedicated threads for a team. Dispatch's `concurrentPerform` may run iterations one after
/// another, which would deadlock members waiting at a barrier for each other, so the other
/// members are real threads that always exist. One job at a time: `tryRun` returns false when
/// the team is busy, and the caller then works alone.
public final class TeamRunner: @unchecked Sendable {
    public let team: Team
    private let exclusive = NSLock()
    private var job: (@Sendable (Int) -> Void)?
    private let start: [DispatchSemaphore]
    private let finished = DispatchSemaphore(value: 0)

    /// `nice`: the members' scheduling priority, as `Thread.lowerPriority` (the caller, member
    /// 0, sets its own).
    public init(size: Int, nice: Int32 = 0) {
        team = Team(size: size)
        start = (1..<max(2, team.size)).map { _ in DispatchSemaphore(value: 0) }
        for member in 1..<team.size {
            let thread = Thread { [unowned self] in
                Thread.lowerPriority(nice: nice)
                self.serve(member)
            }
            thread.name = "tandem-encoder-\(member)"
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    private let posted = Atomic<Int>(0)

    private func serve(_ member: Int) {
        var seen = 0
        while true {
            // Spin a little before sleeping: sentences often arrive back to back, and waking
            // a sleeping thread costs tens of microseconds.
            // Every job signals the semaphore exactly once, so one wait per job consumes it;
            // after a successful spin that wait returns at once.
            var spins = 0
            while posted.load(ordering: .acquiring) == seen && spins < 50_000 { spins += 1 }
            start[member - 1].wait()
            seen += 1
            job?(member)
            finished.signal()
        }
    }

    /// Runs `body(member)` on every member, the caller being member 0; false if busy.
    public func tryRun(_ body: @escaping @Sendable (Int) -> Void) -> Bool {
        guard exclusive.try() else { return false }
        defer { exclusive.unlock() }
        job = body
        posted.add(1, ordering: .releasing)
        for semaphore in start.prefix(team.size - 1) { semaphore.signal() }
        body(0)
        for _ in 1..<team.size { finished.wait() }
        job = nil
        return true
    }
}

extension Thread {
    /// Gives the calling thread a lower scheduling priority (a nice value, 0 to 19; 0 leaves it
    /// as it is). A server's encoder threads run below its request threads, so the requests'
    /// short steps (a database write holding SQLite's one writer) are not queued behind a batch
    /// that takes the cores for tens of milliseconds; the encoder still has every idle cycle.
    /// Linux only (elsewhere a thread's nice value is its process's).
    public static func lowerPriority(nice: Int32) {
        guard nice > 0 else { return }
        #if os(Linux)
        // 0: the calling thread, whose nice value is its own on Linux (setpriority(2), BUGS).
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, nice)
        #endif
    }
}

/// Hands out the numbers 0, 1, 2 … below a limit to worker threads, each number once.
public final class WorkCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0

    public init() {}

    public func take(below limit: Int) -> Int? {
        lock.lock(); defer { lock.unlock() }
        guard value < limit else { return nil }
        value += 1
        return value - 1
    }
}
