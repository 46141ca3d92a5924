import Foundation

/// Runs inference (the encoder and the intent model) on a thread of its own instead of Swift's
/// cooperative pool. The pool has one thread per core and also serves every HTTP handler, the
/// database and the agents; a burst of customer messages encoded there would stall all of them.
/// Here the burst waits in a queue while the pool stays free.
///
/// One thread is enough: the encoder spreads each batch over every core itself (its
/// `TeamRunner`), and a second inference thread would only make the two compete for them.
///
/// Dynamic batching: work submitted with `batched(_:key:process:)` under the same key (the
/// same model) is gathered into one call of `process`, one packed batch for the encoder, and
/// each caller is resumed with its own result. There is no fixed linger: a batch is whatever
/// arrived while the previous one ran, up to `maxBatch`. The wait adapts by itself: nothing
/// at low load (a lone message starts at once, so its latency is unchanged), one batch's time
/// under load, when a bigger batch costs less per sentence than the wait adds.
///
/// Bounded: at most `capacity` pieces of work wait. One more is refused at once with
/// `Overloaded` (the caller hands that message to a person) rather than growing a wait that
/// every later customer would inherit.
final class InferenceExecutor: Sendable {
    /// The queue was full: `waiting` pieces of work were ahead, the most allowed.
    struct Overloaded: Error, Equatable {
        let waiting: Int
    }

    /// Batches run so far: how many, how many pieces of work in all, the largest.
    struct BatchSizes: Equatable, Sendable {
        var batches = 0
        var items = 0
        var largest = 0
    }

    /// One piece of work, type-erased so that work of any type shares one queue. Entries with
    /// the same `key` run together in one call of the first one's `process`.
    private struct Entry {
        let key: AnyHashable?
        let input: any Sendable
        let process: @Sendable ([any Sendable]) -> [any Sendable]
        let resume: @Sendable (any Sendable) -> Void
    }

    /// The key of batched work: the caller's key and the input type, so that entries gathered
    /// into one batch always have the input type its `process` expects.
    private struct BatchKey: Hashable {
        let type: ObjectIdentifier
        let key: AnyHashable
    }

    let capacity: Int
    let maxBatch: Int
    private let condition = NSCondition()
    // Guarded by `condition`; `nonisolated(unsafe)` because NSCondition is not a Swift lock type.
    // At most `capacity` entries, so removing from the middle costs nothing worth a deque.
    nonisolated(unsafe) private var queue: [Entry] = []
    nonisolated(unsafe) private var stopped = false
    nonisolated(unsafe) private var sizes = BatchSizes()

    /// The inference thread's and the encoder's helpers' priority (`Thread.lowerPriority`):
    /// below the request threads, whose database writes would otherwise wait behind a batch.
    static let nice: Int32 = 5

    init(capacity: Int, maxBatch: Int = 32, name: String = "tandem-inference") {
        precondition(capacity >= 1, "the inference queue must hold at least one message")
        precondition(maxBatch >= 1, "a batch holds at least one message")
        self.capacity = capacity
        self.maxBatch = maxBatch
        // The thread holds the executor until `shutdown()` lets it end.
        let thread = Thread {
            Thread.lowerPriority(nice: Self.nice)
            self.work()
        }
        thread.name = name
        thread.start()
    }

    /// Pieces of work accepted and not started yet.
    var waiting: Int { condition.withLock { queue.count } }

    /// The batches of `batched` work run so far.
    var batches: BatchSizes { condition.withLock { sizes } }

    /// Runs `body` alone on the inference thread and returns its result; throws `Overloaded`
    /// without running it when `capacity` pieces of work are already waiting, or after `shutdown()`.
    func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async throws -> T {
        try await submit(key: nil, input: ()) { _ in [body()] }
    }

    /// Runs `process` on the inference thread over `input` and the inputs of other work waiting
    /// under the same `key`, in the order they arrived, and returns this input's output.
    /// `process` must return one output per input, in order. Throws like `run`.
    func batched<Input: Sendable, Output: Sendable>(
        _ input: Input, key: some Hashable & Sendable, process: @escaping @Sendable ([Input]) -> [Output]
    ) async throws -> Output {
        try await submit(key: AnyHashable(BatchKey(type: ObjectIdentifier(Input.self), key: AnyHashable(key))), input: input) { inputs in
            // Same key, same input type (`BatchKey`): the casts cannot fail.
            let outputs = process(inputs.map { $0 as! Input })
            precondition(outputs.count == inputs.count, "a batch returns one output per input")
            return outputs
        }
    }

    private func submit<T: Sendable>(key: AnyHashable?, input: any Sendable,
                                     process: @escaping @Sendable ([any Sendable]) -> [any Sendable]) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let entry = Entry(key: key, input: input, process: process) { continuation.resume(returning: $0 as! T) }
            let refusal: Overloaded? = condition.withLock {
                let waiting = queue.count
                guard !stopped, waiting < capacity else { return Overloaded(waiting: waiting) }
                queue.append(entry)
                condition.signal()
                return nil
            }
            if let refusal { continuation.resume(throwing: refusal) }
        }
    }

    /// Lets the thread finish what was accepted, then end; later calls are refused.
    func shutdown() {
        condition.withLock {
            stopped = true
            condition.broadcast()
        }
    }

    private func work() {
        while true {
            let batch: [Entry] = condition.withLock {
                while queue.isEmpty && !stopped { condition.wait() }
                guard !queue.isEmpty else { return [] }
                let first = queue.removeFirst()
                guard let key = first.key else { return [first] }
                // The first entry, then every later one with its key, up to `maxBatch`; the
                // others keep their places.
                var batch = [first]
                var rest: [Entry] = []
                for entry in queue {
                    if batch.count < maxBatch, entry.key == key { batch.append(entry) } else { rest.append(entry) }
                }
                queue = rest
                sizes.batches += 1
                sizes.items += batch.count
                sizes.largest = max(sizes.largest, batch.count)
                return batch
            }
            guard let first = batch.first else { return }
            let outputs = first.process(batch.map(\.input))
            for (entry, output) in zip(batch, outputs) { entry.resume(output) }
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
