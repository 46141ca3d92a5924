import Foundation

/// Quality, speed and cost over the last days, side by side: the figures behind the insights
/// page (`/console/insights`) and `GET /api/v1/insights/series`, computed from values the
/// server has loaded (no database here).
///
/// The conversation figures are `QualityMetrics` (`overview`) over the conversations whose
/// customer wrote first in the period, each counted on the UTC day of that first message
/// (conversations nobody wrote in, such as chat windows opened and left, are not conversations
/// here). To them this adds every day of the period (`daily`, empty days included), the audited
/// accuracy of the AI's answers with its interval (counted on the day an audit was reviewed),
/// and the cost–quality frontier of the serving model.
public struct InsightsSeries: Codable, Sendable {
    /// One UTC day.
    public struct Day: Codable, Sendable {
        /// `YYYY-MM-DD`.
        public var date: String
        /// Conversations started that day.
        public var conversations: Int
        /// Of those, handled by the AI alone.
        public var automated: Int
        public var automatedShare: Double?
        /// Of those, handed to a person.
        public var handoffs: Int
        /// Of those, resolved.
        public var resolved: Int
        /// What that day's conversations cost (AI messages and human contacts).
        public var cost: Double
        /// `cost / resolved`, as `CostSummary.costPerResolved`.
        public var costPerResolved: Double?
        /// AI answers reviewed that day, and how many were right.
        public var audited: Int
        public var auditedCorrect: Int
        public var accuracy: Double?
        /// Two-sided Wilson interval [lower, upper] of the accuracy at the workspace's confidence level.
        public var accuracyInterval: [Double]?
        /// The same over every audit reviewed in the period up to and including this day.
        public var cumulativeAccuracy: Double?
        public var cumulativeInterval: [Double]?
    }

    /// The AI's answers as the audits judged them.
    public struct Accuracy: Codable, Sendable {
        public var audited: Int
        public var correct: Int
        public var wrong: Int
        public var accuracy: Double?
        /// Two-sided Wilson interval at `level`.
        public var interval: [Double]?
        /// One-sided Clopper–Pearson: with confidence `level`, the accuracy is at least this.
        public var lowerBound: Double?
        public var level: Double
        /// 1 − the workspace's target risk.
        public var target: Double
        /// Sampled answers still waiting for a verdict.
        public var pending: Int
    }

    /// What the serving model may automate at one accuracy target.
    public struct FrontierPoint: Codable, Sendable {
        public var targetAccuracy: Double
        /// The workspace's own target.
        public var current: Bool
        /// The certified confidence threshold (nil: none could be certified, nothing is automated).
        public var threshold: Double?
        /// Share the AI may answer: calibration messages at or above the threshold.
        public var automatedShare: Double
        /// Share left to people.
        public var humanShare: Double
        /// Clopper–Pearson bound on the error among the calibration messages answered.
        public var errorUpperBound: Double?
        /// Conversations a day left to people, at the period's daily volume.
        public var humanConversationsPerDay: Double
        /// Cost of 1,000 conversations at that share (`QualityMetrics.frontier`).
        public var costPerThousand: Double
    }

    /// The risk–coverage curve of the calibration data: accuracy among the most confident share.
    public struct CurvePoint: Codable, Sendable {
        public var threshold: Double
        public var coverage: Double
        public var accuracy: Double
    }

    public struct Frontier: Codable, Sendable {
        public var modelVersion: String
        public var calibrationSize: Int
        /// Confidence of each certification (the model's 1 − δ).
        public var confidenceLevel: Double
        public var conversationsPerDay: Double
        public var aiMessagesPerConversation: Double
        public var points: [FrontierPoint]
        public var curve: [CurvePoint]
    }

    public var generatedAt: Date
    /// 00:00 UTC of the first day.
    public var from: Date
    public var days: Int
    public var currency: String
    public var aiCostPerMessage: Double
    public var humanCostPerContact: Double
    public var overview: InsightsReport
    public var daily: [Day]
    public var accuracy: Accuracy
    public var frontier: Frontier?

    public static let targetAccuracies = [0.95, 0.98, 0.99, 0.995]

    /// The workspace settings the series depends on.
    public struct Settings: Sendable {
        /// The workspace's target risk (α): the accuracy target is 1 − α.
        public var targetRisk: Double
        /// Confidence of the accuracy intervals.
        public var confidenceLevel: Double
        public var currency: String
        public var costs: CostModel
        /// Days within which a new conversation on the same topic counts as a re-contact.
        public var recontactDays: Int

        public init(targetRisk: Double, confidenceLevel: Double, currency: String, costs: CostModel, recontactDays: Int) {
            self.targetRisk = targetRisk
            self.confidenceLevel = confidenceLevel
            self.currency = currency
            self.costs = costs
            self.recontactDays = recontactDays
        }
    }

    /// A reviewed audit: when its verdict was given and whether the AI's answer was right.
    public struct Verdict: Sendable {
        public var reviewedAt: Date
        public var correct: Bool

        public init(reviewedAt: Date, correct: Bool) {
            self.reviewedAt = reviewedAt
            self.correct = correct
        }
    }

    /// The period ending on `now`'s UTC day: its first day at 00:00 UTC and its length, `requested`
    /// days clamped to 1...90.
    public static func period(days requested: Int, endingAt now: Date) -> (from: Date, days: Int) {
        let days = min(max(requested, 1), 90)
        let calendar = DisplayFormat.utc
        return (calendar.date(byAdding: .day, value: -(days - 1), to: calendar.startOfDay(for: now))!, days)
    }

    /// The series of the period starting at `from` (`period(days:endingAt:)`): `records` are the
    /// conversations started in it, `verdicts` the audits reviewed in it, `pendingAudits` the
    /// sampled answers still waiting; `artifact` is the serving model, if any.
    public init(records: [ConversationRecord], verdicts: [Verdict], pendingAudits: Int, settings: Settings,
                artifact: ModelArtifact?, from: Date, days: Int, now: Date) {
        let calendar = DisplayFormat.utc
        func day(_ date: Date?) -> Int? {
            guard let date, date >= from else { return nil }
            let index = Int(date.timeIntervalSince(from) / 86_400)
            return index < days ? index : nil
        }
        let costs = settings.costs
        let overview = InsightsReport(records: records, costs: costs, asOf: now, timeZone: QualityMetrics.utc,
                                      durableWindowDays: settings.recontactDays)

        var byDay = [[ConversationRecord]](repeating: [], count: days)
        for record in records { if let i = day(record.startedAt) { byDay[i].append(record) } }
        var audits = [AuditCounts](repeating: .zero, count: days)
        var allAudits = AuditCounts.zero
        for verdict in verdicts {
            guard let i = day(verdict.reviewedAt) else { continue }
            let counts = AuditCounts(correct: verdict.correct ? 1 : 0, wrong: verdict.correct ? 0 : 1)
            audits[i] = audits[i] + counts
            allAudits = allAudits + counts
        }
        func wilson(_ e: ErrorEstimate) -> [Double]? { e.errorRate == nil ? nil : [1 - e.wilson.upper, 1 - e.wilson.lower] }
        var running = AuditCounts.zero
        let daily = (0..<days).map { i -> Day in
            let members = byDay[i]
            running = running + audits[i]
            let cumulative = ErrorEstimate(running, level: settings.confidenceLevel)
            let automated = members.filter { $0.path == .aiOnly }.count
            let cost = QualityMetrics.cost(members, costs: costs)
            let estimate = ErrorEstimate(audits[i], level: settings.confidenceLevel)
            return Day(date: DisplayFormat.dateKey(calendar.date(byAdding: .day, value: i, to: from)!),
                       conversations: members.count, automated: automated,
                       automatedShare: members.isEmpty ? nil : Double(automated) / Double(members.count),
                       handoffs: members.filter { $0.handoffReason != nil }.count, resolved: cost.resolved,
                       cost: cost.totalCost, costPerResolved: cost.costPerResolved,
                       audited: audits[i].audited, auditedCorrect: audits[i].correct,
                       accuracy: estimate.errorRate.map { 1 - $0 }, accuracyInterval: wilson(estimate),
                       cumulativeAccuracy: cumulative.errorRate.map { 1 - $0 }, cumulativeInterval: wilson(cumulative))
        }
        let estimate = ErrorEstimate(allAudits, level: settings.confidenceLevel)
        let accuracy = Accuracy(audited: allAudits.audited, correct: allAudits.correct, wrong: allAudits.wrong,
                                accuracy: estimate.errorRate.map { 1 - $0 }, interval: wilson(estimate),
                                lowerBound: estimate.errorRate == nil ? nil : 1 - estimate.upperBound,
                                level: settings.confidenceLevel, target: 1 - settings.targetRisk, pending: pendingAudits)

        // The frontier at the period's volume; an automated conversation costs as many AI
        // messages as the AI-only conversations of the period did (at least one).
        let aiOnly = records.filter { $0.path == .aiOnly }
        let perConversation = aiOnly.isEmpty ? 1 : max(1, Double(aiOnly.reduce(0) { $0 + $1.aiMessages }) / Double(aiOnly.count))
        let frontier = artifact.flatMap {
            Self.frontier(of: $0, targetRisk: settings.targetRisk, costs: costs, conversationsPerDay: Double(records.count) / Double(days),
                          aiMessagesPerConversation: perConversation)
        }
        generatedAt = now
        self.from = from
        self.days = days
        currency = settings.currency
        aiCostPerMessage = costs.aiCostPerMessage
        humanCostPerContact = costs.humanCostPerContact
        self.overview = overview
        self.daily = daily
        self.accuracy = accuracy
        self.frontier = frontier
    }

    // MARK: The cost–quality frontier

    /// Re-runs the model's risk control at other targets on its own calibration counts.
    ///
    /// The certificate keeps, for every threshold of its grid, how many calibration messages
    /// reached it and how many of those were wrong. Those counts are all that certification
    /// uses, so messages rebuilt from them (each at the first grid threshold it reached)
    /// certify exactly as the originals would: at the model's own target this gives back the
    /// model's threshold.
    public static func frontier(of artifact: ModelArtifact, targetRisk: Double, costs: CostModel, conversationsPerDay: Double,
                                aiMessagesPerConversation: Double, targets: [Double] = targetAccuracies) -> Frontier? {
        let certificate = artifact.report.certificate
        let tests = certificate.tests.sorted { $0.threshold > $1.threshold }
        guard !tests.isEmpty, certificate.calibrationSize > 0 else { return nil }
        var confidences: [Double] = [], correct: [Bool] = []
        var seen = 0, wrong = 0
        for test in tests {
            let n = test.automated - seen, k = test.errors - wrong
            guard n >= 0, k >= 0, k <= n else { return nil }
            confidences += repeatElement(test.threshold, count: n)
            correct += repeatElement(false, count: k)
            correct += repeatElement(true, count: n - k)
            seen = test.automated
            wrong = test.errors
        }
        if certificate.calibrationSize > seen {  // below every threshold: never answered
            confidences += repeatElement(-1, count: certificate.calibrationSize - seen)
            correct += repeatElement(true, count: certificate.calibrationSize - seen)
        }
        let grid = tests.map(\.threshold)
        let own = 1 - targetRisk
        var wanted = targets
        if !wanted.contains(where: { abs($0 - own) < 1e-9 }) { wanted.append(own) }
        let certified = wanted.sorted().compactMap { target -> (target: Double, certificate: RiskControl.Certificate)? in
            let risk = 1 - target
            guard risk > 0 && risk < 1 else { return nil }
            return (target, RiskControl(targetRisk: risk, delta: certificate.delta, grid: grid).certify(confidences: confidences, correct: correct))
        }
        let rows = QualityMetrics.frontier(
            certified.map { TandemCore.FrontierPoint(targetAccuracy: $0.target, automatedShare: $0.certificate.threshold == nil ? 0 : min(1, $0.certificate.coverage)) },
            conversationsPerDay: conversationsPerDay, aiMessagesPerConversation: aiMessagesPerConversation,
            costs: costs)
        let points = zip(certified, rows).map { c, row in
            FrontierPoint(targetAccuracy: row.targetAccuracy, current: abs(row.targetAccuracy - own) < 1e-9, threshold: c.certificate.threshold,
                          automatedShare: row.automatedShare, humanShare: 1 - row.automatedShare,
                          errorUpperBound: c.certificate.threshold == nil ? nil : c.certificate.upperBound,
                          humanConversationsPerDay: row.humanConversationsPerDay, costPerThousand: row.costPerThousand)
        }
        var curve: [CurvePoint] = []
        for test in tests where test.automated > 0 {
            let coverage = Double(test.automated) / Double(certificate.calibrationSize)
            if curve.last?.coverage == coverage { continue }
            curve.append(CurvePoint(threshold: test.threshold, coverage: coverage, accuracy: 1 - Double(test.errors) / Double(test.automated)))
        }
        return Frontier(modelVersion: artifact.version, calibrationSize: certificate.calibrationSize, confidenceLevel: 1 - certificate.delta,
                        conversationsPerDay: conversationsPerDay, aiMessagesPerConversation: aiMessagesPerConversation,
                        points: points, curve: curve)
    }
}
