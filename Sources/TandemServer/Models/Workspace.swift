import Fluent
import Foundation
import TandemCore

/// The business's settings. Tandem serves one workspace per installation.
final class WorkspaceRecord: Model, @unchecked Sendable {
    static let schema = "workspaces"

    @ID(key: .id) var id: UUID?
    @Field(key: "name") var name: String
    @Field(key: "settings") var settingsJSON: String
    @OptionalField(key: "created_at") var createdAt: Date?
    @OptionalField(key: "updated_at") var updatedAt: Date?

    init() {}

    init(name: String, settings: WorkspaceSettings) {
        self.name = name
        store(settings)
    }

    /// The stored settings. A row that does not decode is an error, never the defaults: they
    /// would quietly turn the kill switch off.
    var settings: WorkspaceSettings {
        get throws(AppError) {
            do {
                return try JSONDecoder().decode(WorkspaceSettings.self, from: Data(settingsJSON.utf8))
            } catch {
                throw .corruptSettings(String(describing: error))
            }
        }
    }

    func store(_ settings: WorkspaceSettings) {
        // Encoding a struct of numbers, strings and arrays cannot fail.
        settingsJSON = String(decoding: try! JSONEncoder().encode(settings), as: UTF8.self)
    }
}

/// Workspace settings, editable by admins. Every field has a default so that older rows
/// decode after new settings are added.
public struct WorkspaceSettings: Codable, Sendable, Equatable {
    /// Largest acceptable error rate among automatic answers (α).
    public var targetRisk = 0.01
    /// Confidence of the guarantee (1 − δ).
    public var confidenceLevel = 0.95
    /// Share of simulated unknown requests the unknown gate keeps from the AI.
    public var unknownKeepAway = 0.9
    public var humanCostPerContact = 4.5
    public var aiCostPerMessage = 0.02
    public var currency = "GBP"
    public var businessHours = BusinessHours()
    /// Days off (`YYYY-MM-DD` in the business hours' time zone).
    public var holidays: [String] = []
    /// Everything goes to people while set.
    public var killSwitch = false
    /// The first-response target of settings saved before `slaPolicies`: older rows that have
    /// only this decode into policies built from it (`SLATargets.defaults`).
    public var slaSeconds = 120
    /// Service-level targets in business seconds, by priority: index 0 normal, 1 urgent; a higher
    /// priority (after escalation) uses the last entry.
    public var slaPolicies = SLATargets.defaults(firstResponse: 120)
    /// Concurrent conversations per agent unless the agent has their own limit.
    public var maxConcurrentPerAgent = 4
    /// Share of AI-answered conversations sent to review.
    public var auditRate = 0.05
    /// Days within which a new conversation on the same topic counts as a re-contact.
    public var recontactDays = 7
    /// The assistant's replies to greetings, thanks, goodbyes and "are you a bot?".
    public var smallTalk = SmallTalkReplies()
    /// Conversations untouched for this many days are anonymised (`Privacy.applyRetention`);
    /// nil keeps them. A workspace setting, not an environment variable: it is the business's
    /// policy, the same on every node, changed by an admin and recorded in the audit log.
    public var retentionDays: Int? = nil
    /// κ of the guardrail's change detector: it switches an intent to draft-only on evidence
    /// that its error rate is κ·α or more (between α and κ·α it may or may not).
    public var guardrailKappa = ChangeDetector.defaultKappa
    /// Audits within which an intent whose error rate is at most α has at most δ (1 − confidence)
    /// chance of being switched by mistake. Longer: fewer false switches, slower to catch a bad intent.
    public var guardrailHorizon = ChangeDetector.defaultHorizon
    /// Seconds a message the model cannot place, a sentence that trails off, or a bare greeting waits for the rest of its burst before it is
    /// decided alone (`Turns`); 0 decides every message as it comes.
    public var burstWindowSeconds = Turns.defaultBurstWindow
    /// Whether a short follow-up that leans on the previous turn ("and for 12-month plans?") is
    /// read with it.
    public var readFollowUps = true
    /// Whether waiting conversations are given to online agents of their team automatically
    /// (`Assignment`); claiming by hand works either way.
    public var autoAssign = true

    public init() {}

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = WorkspaceSettings()
        targetRisk = try c.decodeIfPresent(Double.self, forKey: .targetRisk) ?? d.targetRisk
        confidenceLevel = try c.decodeIfPresent(Double.self, forKey: .confidenceLevel) ?? d.confidenceLevel
        unknownKeepAway = try c.decodeIfPresent(Double.self, forKey: .unknownKeepAway) ?? d.unknownKeepAway
        humanCostPerContact = try c.decodeIfPresent(Double.self, forKey: .humanCostPerContact) ?? d.humanCostPerContact
        aiCostPerMessage = try c.decodeIfPresent(Double.self, forKey: .aiCostPerMessage) ?? d.aiCostPerMessage
        currency = try c.decodeIfPresent(String.self, forKey: .currency) ?? d.currency
        businessHours = try c.decodeIfPresent(BusinessHours.self, forKey: .businessHours) ?? d.businessHours
        killSwitch = try c.decodeIfPresent(Bool.self, forKey: .killSwitch) ?? d.killSwitch
        slaSeconds = try c.decodeIfPresent(Int.self, forKey: .slaSeconds) ?? d.slaSeconds
        holidays = try c.decodeIfPresent([String].self, forKey: .holidays) ?? d.holidays
        slaPolicies = try c.decodeIfPresent([SLATargets].self, forKey: .slaPolicies) ?? SLATargets.defaults(firstResponse: slaSeconds)
        maxConcurrentPerAgent = try c.decodeIfPresent(Int.self, forKey: .maxConcurrentPerAgent) ?? d.maxConcurrentPerAgent
        auditRate = try c.decodeIfPresent(Double.self, forKey: .auditRate) ?? d.auditRate
        recontactDays = try c.decodeIfPresent(Int.self, forKey: .recontactDays) ?? d.recontactDays
        smallTalk = try c.decodeIfPresent(SmallTalkReplies.self, forKey: .smallTalk) ?? d.smallTalk
        retentionDays = try c.decodeIfPresent(Int.self, forKey: .retentionDays)
        guardrailKappa = try c.decodeIfPresent(Double.self, forKey: .guardrailKappa) ?? d.guardrailKappa
        guardrailHorizon = try c.decodeIfPresent(Int.self, forKey: .guardrailHorizon) ?? d.guardrailHorizon
        burstWindowSeconds = try c.decodeIfPresent(Double.self, forKey: .burstWindowSeconds) ?? d.burstWindowSeconds
        readFollowUps = try c.decodeIfPresent(Bool.self, forKey: .readFollowUps) ?? d.readFollowUps
        autoAssign = try c.decodeIfPresent(Bool.self, forKey: .autoAssign) ?? d.autoAssign
    }

    /// Problems with the values, each naming the field; empty when valid.
    public var problems: [String] {
        var problems: [String] = []
        if !(targetRisk > 0 && targetRisk < 1) { problems.append("targetRisk must be between 0 and 1") }
        if !(confidenceLevel > 0 && confidenceLevel < 1) { problems.append("confidenceLevel must be between 0 and 1") }
        if !(unknownKeepAway > 0 && unknownKeepAway < 1) { problems.append("unknownKeepAway must be between 0 and 1") }
        if !(humanCostPerContact >= 0 && humanCostPerContact.isFinite) { problems.append("humanCostPerContact must be a non-negative number") }
        if !(aiCostPerMessage >= 0 && aiCostPerMessage.isFinite) { problems.append("aiCostPerMessage must be a non-negative number") }
        if currency.isEmpty || currency.count > 8 { problems.append("currency must be a short code such as GBP") }
        if slaSeconds < 1 { problems.append("slaSeconds must be positive") }
        problems += BusinessCalendar.problems(timezone: businessHours.timezone, days: businessHours.days, open: businessHours.open,
                                              close: businessHours.close, holidays: holidays)
        if slaPolicies.isEmpty || slaPolicies.count > 10 { problems.append("slaPolicies must have 1 to 10 entries (index: priority)") }
        for (i, p) in slaPolicies.enumerated() {
            for (name, v) in [("firstResponseSeconds", p.firstResponseSeconds), ("nextResponseSeconds", p.nextResponseSeconds),
                              ("resolutionSeconds", p.resolutionSeconds)] {
                if let v, !(1...31_536_000).contains(v) { problems.append("slaPolicies[\(i)].\(name) must be from 1 to 31536000 seconds, or null for no target") }
            }
        }
        if maxConcurrentPerAgent < 1 { problems.append("maxConcurrentPerAgent must be at least 1") }
        if !(auditRate >= 0 && auditRate <= 1) { problems.append("auditRate must be between 0 and 1") }
        if recontactDays < 1 { problems.append("recontactDays must be at least 1") }
        problems += smallTalk.problems
        if let days = retentionDays, !(1...36_500).contains(days) { problems.append("retentionDays must be from 1 to 36500, or null to keep conversations") }
        if !(guardrailKappa > 1 && guardrailKappa <= 100 && guardrailKappa * targetRisk < 1) {
            problems.append("guardrailKappa must be above 1 (at most 100) with guardrailKappa × targetRisk below 1")
        }
        if !(50...ChangeDetector.maximumHorizon).contains(guardrailHorizon) {
            problems.append("guardrailHorizon must be 50...\(ChangeDetector.maximumHorizon) audits")
        }
        if !(burstWindowSeconds >= 0 && burstWindowSeconds <= Turns.maximumHoldSeconds) {
            problems.append("burstWindowSeconds must be from 0 to \(Int(Turns.maximumHoldSeconds)) seconds")
        }
        return problems
    }
}

extension WorkspaceSettings {
    /// The opening hours with the holidays; nil while they are invalid (only settings saved
    /// before they were validated can be), which the callers read as always open.
    var calendar: BusinessCalendar? {
        try? BusinessCalendar(timezone: businessHours.timezone, days: businessHours.days, open: businessHours.open,
                              close: businessHours.close, holidays: holidays)
    }

    /// The targets for a priority (the last entry for any higher one).
    func slaTargets(priority: Int) -> SLATargets {
        slaPolicies.isEmpty ? SLATargets() : slaPolicies[min(max(priority, 0), slaPolicies.count - 1)]
    }
}

extension SLATargets {
    /// Normal: the first response within `firstResponse`, each next one within as long, resolved
    /// within a working day; urgent: half of each.
    static func defaults(firstResponse: Int) -> [SLATargets] {
        [SLATargets(firstResponseSeconds: firstResponse, nextResponseSeconds: firstResponse, resolutionSeconds: 8 * 3600),
         SLATargets(firstResponseSeconds: max(1, firstResponse / 2), nextResponseSeconds: max(1, firstResponse / 2), resolutionSeconds: 4 * 3600)]
    }
}

public struct BusinessHours: Codable, Sendable, Equatable {
    public var timezone = "Europe/London"
    public var days = ["Mon", "Tue", "Wed", "Thu", "Fri"]
    public var open = "09:00"
    public var close = "17:00"
    public init() {}
}

extension WorkspaceRecord {
    /// Listed, not reflected (see `ModelProperties`).
    var properties: [any AnyProperty] { [_id, _name, _settingsJSON, _createdAt, _updatedAt] }
}
