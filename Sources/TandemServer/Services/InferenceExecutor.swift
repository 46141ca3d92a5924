import Foundation

/// Runs inference (the encoder and the intent model) on a thread of its own instead of Swift's
/// cooperative pool. The pool has one thread per core and also serves every HTTP handler, the
/// database and the agents; a burst of customer messages encoded there would stall all of them.
/// Here the burst waits in a queue while the pool stays free.
///
/// One thread is enough: the encoder spreads each sentence over every core itself (its
/// `TeamRunner`), and a second inference thread would only make the two compete for them.
///
/// Bounded: at most `capacity` pieces of work wait. One more is refused at once with
/// `Overloaded` (the caller hands that message to a person) rather than growing a wait that
/// every later customer would inherit.
final class InferenceExecutor: Sendable {
    /// The queue was full: `waiting` pieces of work were ahead, the most allowed.
    struct Overloaded: Error, Equatable {
        let waiting: Int
    }

    let capacity: Int
    private let condition = NSCondition()
    // Guarded by `condition`; `nonisolated(unsafe)` because NSCondition is not a Swift lock type.
    // At most `capacity` entries, so removing from the front costs nothing worth a deque.
    nonisolated(unsafe) private var queue: [@Sendable () -> Void] = []
    nonisolated(unsafe) private var stopped = false

    init(capacity: Int, name: String = "tandem-inference") {
        precondition(capacity >= 1, "the inference queue must hold at least one message")
        self.capacity = capacity
        // The thread holds the executor until `shutdown()` lets it end.
        let thread = Thread { self.work() }
        thread.name = name
        thread.qualityOfService = .userInitiated
        thread.start()
    }

    /// Pieces of work accepted and not started yet.
    var waiting: Int { condition.withLock { queue.count } }

    /// Runs `body` on the inference thread and returns its result; throws `Overloaded` without
    /// running it when `capacity` pieces of work are already waiting, or after `shutdown()`.
    func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let refusal: Overloaded? = condition.withLock {
                let waiting = queue.count
                guard !stopped, waiting < capacity else { return Overloaded(waiting: waiting) }
                queue.append { continuation.resume(returning: body()) }
                condition.signal()
                return nil
            }
            if let refusal { continuation.resume(throwing: refusal) }
        }
    }

    /// Lets the thread finish what was accepted, then end; later `run` calls are refused.
    func shutdown() {
        condition.withLock {
            stopped = true
            condition.broadcast()
        }
    }

    private func work() {
        while true {
            let job: (@Sendable () -> Void)? = condition.withLock {
                while queue.isEmpty && !stopped { condition.wait() }
                return queue.isEmpty ? nil : queue.removeFirst()
            }
            guard let job else { return }
            job()
        }
    }

    /// Runs long work (training: seconds of encoding and optimisation) on a new thread and
    /// returns its result, leaving both the cooperative pool and the inference thread free.
    static func onThreadOfItsOwn<T: Sendable>(name: String, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let thread = Thread { continuation.resume(with: Result { try body() }) }
            thread.name = name
            thread.start()
        }
    }
}
