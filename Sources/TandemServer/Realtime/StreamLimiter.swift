import Foundation
import NIOConcurrencyHelpers

/// Caps open event streams per credential (a customer token, an agent session) and per node, so
/// one client cannot hold every connection. A lease is given back when its stream ends, or at
/// the latest when the response holding it is released.
final class StreamLimiter: Sendable {
    let perToken: Int
    let total: Int
    private let counts = NIOLockedValueBox<(total: Int, byKey: [String: Int])>((0, [:]))

    init(perToken: Int = 5, total: Int = 5000) {
        self.perToken = perToken
        self.total = total
    }

    /// A lease for one more stream of `key`; `AppError.tooManyStreams` (429) when `key` has
    /// `perToken` open, `AppError.streamsFull` (503) when the node has `total`.
    func acquire(_ key: String) throws -> Lease {
        let refusal = counts.withLockedValue { c -> AppError? in
            if c.byKey[key, default: 0] >= perToken { return .tooManyStreams(limit: perToken) }
            if c.total >= total { return .streamsFull(limit: total) }
            c.total += 1
            c.byKey[key, default: 0] += 1
            return nil
        }
        if let refusal { throw refusal }
        return Lease { [weak self] in self?.release(key) }
    }

    var open: Int { counts.withLockedValue { $0.total } }

    private func release(_ key: String) {
        counts.withLockedValue { c in
            c.total -= 1
            let left = c.byKey[key, default: 1] - 1
            c.byKey[key] = left > 0 ? left : nil
        }
    }

    /// One open stream; `release()` is idempotent.
    final class Lease: Sendable {
        private let onRelease: NIOLockedValueBox<(@Sendable () -> Void)?>

        init(_ onRelease: @escaping @Sendable () -> Void) { self.onRelease = NIOLockedValueBox(onRelease) }

        func release() {
            let action = onRelease.withLockedValue { a in defer { a = nil }; return a }
            action?()
        }

        deinit { release() }
    }
}
