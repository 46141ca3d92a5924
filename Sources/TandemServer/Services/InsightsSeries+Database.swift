import Fluent
import Foundation
import TandemCore
import Vapor

/// `GET /api/v1/insights/series` returns the series as it is.
extension InsightsSeries: Content {}

extension InsightsSeries.Settings {
    init(_ settings: WorkspaceSettings) {
        self.init(targetRisk: settings.targetRisk, confidenceLevel: settings.confidenceLevel, currency: settings.currency,
                  costs: CostModel(aiCostPerMessage: settings.aiCostPerMessage, humanCostPerContact: settings.humanCostPerContact),
                  recontactDays: settings.recontactDays)
    }
}

/// Loading the insights series: the database's conversations, messages, decisions and audits
/// as the TandemCore values `InsightsSeries` is computed from.
extension InsightsSeries {
    /// The series of the `requested` days (clamped to 1...90) up to `now`.
    static func build(on db: Database, settings: WorkspaceSettings, artifact: ModelArtifact?, days requested: Int = 14,
                      now: Date) async throws -> InsightsSeries {
        let (from, days) = period(days: requested, endingAt: now)
        return InsightsSeries(records: try await records(on: db, from: from, until: now), verdicts: try await verdicts(on: db, since: from),
                              pendingAudits: try await AuditRecord.count(.pending, on: db),
                              settings: Settings(settings), artifact: artifact, from: from, days: days, now: now)
    }

    /// The conversations started in the period as `QualityMetrics` sees them.
    static func records(on db: Database, from: Date, until now: Date) async throws -> [TandemCore.ConversationRecord] {
        // A conversation starts with the customer's first message, never before it was created.
        let margin = from.addingTimeInterval(-86_400)
        let conversations = try await ConversationRecord.query(on: db).filter(\.$createdAt >= margin).all()
        guard !conversations.isEmpty else { return [] }
        var started: [UUID: (seq: Int, at: Date)] = [:]
        for m in try await MessageRecord.query(on: db).filter(\.$createdAt >= margin)
            .filter(\.$role == .customer).all() {
            guard let at = m.createdAt else { continue }
            let id = m.$conversation.id
            if let known = started[id], known.seq < m.seq { continue }
            started[id] = (m.seq, at)
        }
        // Every answer and draft the AI wrote costs a message.
        var aiMessages: [UUID: Int] = [:]
        for d in try await DecisionRecord.query(on: db).filter(\.$createdAt >= margin).all() where !(d.draft ?? "").isEmpty {
            aiMessages[d.$conversation.id, default: 0] += 1
        }
        return conversations.compactMap { c -> TandemCore.ConversationRecord? in
            guard let id = c.id, let start = started[id]?.at, start >= from, start <= now else { return nil }
            let path: TandemCore.ConversationRecord.Path = c.humanInvolved ? (c.aiAnswers > 0 ? .aiThenHuman : .humanOnly) : .aiOnly
            let firstResponse = c.firstResponseAt.map { $0.timeIntervalSince(start) }.flatMap { $0 >= 0 ? $0 : nil }
            return TandemCore.ConversationRecord(
                id: id.uuidString, customerKey: c.customerKey, intent: c.lastIntent, startedAt: start,
                resolvedAt: c.status == .resolved ? c.resolvedAt : nil, path: path, firstResponseSeconds: firstResponse,
                handoffReason: c.handoffRule, rating: c.rating,
                aiMessages: max(aiMessages[id] ?? 0, c.aiAnswers))
        }
    }

    /// The verdicts of the audits reviewed since `from`.
    static func verdicts(on db: Database, since from: Date) async throws -> [Verdict] {
        try await AuditRecord.query(on: db).filter(\.$status == .reviewed).filter(\.$reviewedAt >= from).all()
            .compactMap { audit in
                guard let correct = audit.correct, let at = audit.reviewedAt else { return nil }
                return Verdict(reviewedAt: at, correct: correct)
            }
    }
}
