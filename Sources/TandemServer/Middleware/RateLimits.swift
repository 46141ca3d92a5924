import Foundation
import NIOConcurrencyHelpers
import TandemCore
import TandemOffline
import Vapor

/// Token buckets: each key may spend `burst` at once and earns `perMinute` back over a minute.
/// A refused request costs nothing, so a client that waits `Retry-After` gets through. Buckets
/// live in this node's memory (a node counts only what it served: behind a load balancer that
/// spreads one client over N nodes the limit is N times as loose), and full buckets are
/// dropped, so memory grows with active clients only.
final class RateLimiter: Sendable {
    struct Limit: Sendable, Equatable {
        var perMinute: Double
        var burst: Double
        static let unlimited = Limit(perMinute: .infinity, burst: .infinity)
    }

    private struct Bucket {
        var tokens: Double
        var at: Date
        let limit: Limit
        func tokens(at now: Date) -> Double { min(limit.burst, tokens + max(0, now.timeIntervalSince(at)) * limit.perMinute / 60) }
    }
    private let buckets = NIOLockedValueBox<[String: Bucket]>([:])
    private let clock: any WallClock

    init(clock: any WallClock) { self.clock = clock }

    /// Spends one token for `key`, or says how many seconds until one is there.
    func take(_ key: String, _ limit: Limit) -> TimeInterval? {
        guard limit.perMinute.isFinite else { return nil }
        let now = clock.now
        return buckets.withLockedValue { buckets in
            var bucket = buckets[key] ?? Bucket(tokens: limit.burst, at: now, limit: limit)
            bucket.tokens = bucket.tokens(at: now)
            bucket.at = now
            guard bucket.tokens >= 1 else {
                buckets[key] = bucket
                return (1 - bucket.tokens) * 60 / limit.perMinute
            }
            bucket.tokens -= 1
            buckets[key] = bucket
            // A full bucket is the same as none; each refills at its own limit's rate.
            if buckets.count > 10_000 { buckets = buckets.filter { $0.value.tokens(at: now) < $0.value.limit.burst } }
            return nil
        }
    }
}

/// The limits, from the environment (`TANDEM_LIMIT_*`, per minute; see the README).
struct RateLimits: Sendable {
    var conversationsPerAddress: RateLimiter.Limit
    var messagesPerAddress: RateLimiter.Limit
    var messagesPerConversation: RateLimiter.Limit
    var handoffsPerConversation: RateLimiter.Limit
    var loginsPerAddress: RateLimiter.Limit
    var loginsPerEmail: RateLimiter.Limit

    init(_ environment: TandemEnvironment) {
        let l = environment.limits
        func limit(_ perMinute: Double, burst: Double? = nil) -> RateLimiter.Limit {
            l.enabled ? .init(perMinute: perMinute, burst: burst ?? perMinute) : .unlimited
        }
        conversationsPerAddress = limit(l.conversationsPerAddress)
        messagesPerAddress = limit(l.messagesPerAddress)
        messagesPerConversation = limit(l.messagesPerConversation, burst: max(1, l.messagesPerConversation / 2))
        handoffsPerConversation = limit(3)
        loginsPerAddress = limit(l.loginsPerAddress)
        loginsPerEmail = limit(l.loginsPerEmail)
    }
}

extension Request {
    /// The client's address: the connection's peer, or, when that peer is a trusted proxy
    /// (`TANDEM_TRUSTED_PROXIES`), the right-most `X-Forwarded-For` entry that is not one.
    var clientAddress: String {
        let peer = remoteAddress?.ipAddress ?? "local"
        let trusted = tandem.environment.trustedProxies
        guard trusted.contains(peer), let forwarded = headers.first(name: .xForwardedFor) else { return peer }
        let hops = forwarded.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return hops.last { !trusted.contains($0) } ?? peer
    }

    /// Spends one request of `limit` for `key`, or throws 429 with the wait.
    func limit(_ key: String, _ limit: RateLimiter.Limit, _ what: String) throws {
        if let wait = tandem.rateLimiter.take(key, limit) {
            throw AppError.rateLimited(retryAfter: max(1, Int(wait.rounded(.up))), what: what)
        }
    }
}

/// Customer messages this node is handling right now, at most `limit`. Beyond it a message is
/// refused before anything is stored (503, `Retry-After`): the latency of those accepted stays
/// bounded by `limit` over the node's throughput instead of growing with the offered load until
/// clients time out, which would leave them unsure whether their message arrived.
final class Admission: Sendable {
    let limit: Int
    private let current = NIOLockedValueBox(0)

    init(limit: Int) { self.limit = limit }

    var inFlight: Int { current.withLockedValue { $0 } }

    /// Runs `body` if there is room, else throws `AppError.overloaded`.
    func admit<T>(_ body: () async throws -> T) async throws -> T {
        let admitted = current.withLockedValue { count in
            guard count < limit else { return false }
            count += 1
            return true
        }
        guard admitted else { throw AppError.overloaded(limit: limit) }
        defer { current.withLockedValue { $0 -= 1 } }
        return try await body()
    }
}
