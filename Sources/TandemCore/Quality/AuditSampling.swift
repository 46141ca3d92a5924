import Foundation
import TandemTensor

/// Decides which automated answers go to the review queue, where a person checks them.
///
/// Every automated answer is audited with a probability (its rate): the workspace's base rate
/// (5% by default) once its intent has enough audits, and a higher build-up rate (50% by
/// default) while the intent has fewer than `evidenceTarget` audits (30 by default). The
/// guardrail and the error estimates judge each intent on its own audits, so a new or rarely
/// seen intent would otherwise stay unjudged for a long time: at 5%, 30 audits take 600
/// automated answers; at 50%, 60.
///
/// The rate is a step rather than a taper that falls as evidence grows: the aim is to reach
/// the target as soon as possible, and a taper would slow down exactly when the target is
/// close. Within an intent every answer has the same chance at any one time, so the intent's
/// audited error rate stays an unbiased estimate of its error rate.
///
/// Decisions are deterministic: the caller passes a 64-bit hash of something stable, such as
/// the conversation id (`stableHash(_:)`), and the draw is computed from it alone. The same
/// conversation gets the same decision on every server node and on every replay, and the draw
/// is stored with the decision so an auditor can check it.
public struct AuditSampling: Codable, Sendable, Equatable {
    /// Share of automated answers audited once an intent has enough evidence.
    public var baseRate: Double
    /// Audits an intent should have before its error estimate is trusted at the base rate.
    public var evidenceTarget: Int
    /// Share audited while an intent has fewer than `evidenceTarget` audits. Never lowers the
    /// rate below `baseRate`.
    public var buildUpRate: Double

    /// Rates outside 0...1 are clamped when used; a NaN rate counts as 1, so that a broken
    /// setting audits too much rather than silently stopping the audits.
    public init(baseRate: Double = 0.05, evidenceTarget: Int = 30, buildUpRate: Double = 0.5) {
        self.baseRate = baseRate
        self.evidenceTarget = evidenceTarget
        self.buildUpRate = buildUpRate
    }

    /// The rate for an intent that already has `audits` audits, and why.
    public func rate(audits: Int) -> (rate: Double, reason: AuditDecision.Reason) {
        let base = Self.clamped(baseRate)
        guard audits < evidenceTarget else { return (base, .baseRate) }
        return (max(base, Self.clamped(buildUpRate)), .buildingEvidence)
    }

    /// Whether to audit one automated answer of an intent with `audits` audits so far.
    /// `seed` is a stable hash of the conversation (or message) id.
    public func decide(audits: Int, seed: UInt64) -> AuditDecision {
        let (rate, reason) = rate(audits: audits)
        let draw = Self.draw(seed: seed)
        let audit = draw < rate
        let wanted: String
        switch reason {
        case .buildingEvidence:
            wanted = "the intent has \(audits) of the \(evidenceTarget) audits wanted: build-up rate \(percent(rate))"
                + " (base \(percent(Self.clamped(baseRate))))"
        case .baseRate:
            wanted = "the intent has \(audits) audits (target \(evidenceTarget) reached): base rate \(percent(rate))"
        }
        let verdict = "draw \(f4(draw)) \(audit ? "<" : ">=") rate \(f4(rate)): \(audit ? "audited" : "not audited")"
        return AuditDecision(audit: audit, rate: rate, draw: draw, reason: reason, audits: audits,
                             explanation: wanted + "; " + verdict)
    }

    /// A number uniform in [0, 1) determined by `seed` alone. The seed goes through the
    /// SplitMix64 mixer first, so ids hashed to nearby values (or plain counters) still give
    /// independent-looking draws.
    public static func draw(seed: UInt64) -> Double {
        var generator = SeededGenerator(seed: seed)
        return Double(generator.next() >> 11) * 0x1p-53
    }

    /// 64-bit FNV-1a hash of the UTF-8 bytes of `text`: the same on every machine and run.
    /// (Swift's `hashValue` is seeded per process, so two server nodes would disagree.)
    public static func stableHash(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return hash
    }

    private static func clamped(_ rate: Double) -> Double {
        rate.isNaN ? 1 : min(1, max(0, rate))
    }
}

/// One audit-sampling decision, kept with the audit record so it can be explained and replayed.
public struct AuditDecision: Codable, Sendable, Equatable {
    /// Which rate applied; raw values are stored with audit records, so never rename them.
    public enum Reason: String, Codable, Sendable, CaseIterable {
        /// The intent has fewer audits than the evidence target: the build-up rate applies.
        case buildingEvidence = "building-evidence"
        /// The intent has reached the evidence target: the base rate applies.
        case baseRate = "base-rate"
    }

    /// Send this answer to the review queue.
    public var audit: Bool
    /// The probability of being audited that applied.
    public var rate: Double
    /// The deterministic draw; audited when draw < rate.
    public var draw: Double
    /// Why that rate: the intent's evidence at the time.
    public var reason: Reason
    /// The intent's audits before this decision.
    public var audits: Int
    /// One sentence with the numbers, for the audit record.
    public var explanation: String
}

private func percent(_ share: Double) -> String {
    String(format: "%.1f%%", share * 100)
}

private func f4(_ value: Double) -> String {
    String(format: "%.4f", value)
}
