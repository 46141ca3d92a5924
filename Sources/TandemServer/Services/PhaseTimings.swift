import Foundation
import NIOConcurrencyHelpers

/// Where the time of one request goes, phase by phase (wall time), sent back to the client in
/// a `Server-Timing` header (`store;dur=1.20, encode;dur=4.10, ...`, milliseconds). The
/// benchmark adds these up over many messages to say where the time of one message goes; a
/// browser's developer tools show them too. Recorded through a task-local, so the services
/// measure their phases without any parameter for it, and nothing is recorded outside a
/// request that asked for it.
final class PhaseTimings: Sendable {
    @TaskLocal static var current: PhaseTimings?

    private let phases = NIOLockedValueBox<[(name: String, milliseconds: Double)]>([])

    /// Runs `body` and, inside a timed request, adds its wall time to phase `name`.
    static func measure<T>(_ name: String, _ body: () async throws -> T) async rethrows -> T {
        guard let timings = current else { return try await body() }
        let start = ContinuousClock.now
        defer { timings.add(name, since: start) }
        return try await body()
    }

    func add(_ name: String, since start: ContinuousClock.Instant) {
        add(name, milliseconds: (ContinuousClock.now - start).milliseconds)
    }

    /// Adds `milliseconds` to phase `name` (a figure measured elsewhere, e.g. on the inference thread).
    func add(_ name: String, milliseconds: Double) {
        phases.withLockedValue { phases in
            if let i = phases.firstIndex(where: { $0.name == name }) { phases[i].milliseconds += milliseconds } else { phases.append((name, milliseconds)) }
        }
    }

    /// The `Server-Timing` header value: the phases in the order they first ran.
    var header: String {
        phases.withLockedValue { $0.map { "\($0.name);dur=\(String(format: "%.3f", $0.milliseconds))" }.joined(separator: ", ") }
    }
}

extension Duration {
    var milliseconds: Double { Double(components.seconds) * 1e3 + Double(components.attoseconds) / 1e15 }
}
