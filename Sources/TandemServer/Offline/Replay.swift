import Fluent
import Foundation
import TandemOffline
import TandemCore
import TandemEmbedding
import Vapor

/// Replays a labelled test set through a real workspace, as customers would send it: a
/// workspace seeded with the training set's intents, its model trained and served, every test
/// message posted to a conversation and decided by the routing policy, the AI's answers
/// sampled for audit and reviewed against the true labels, then a staffing plan for the
/// observed automated share. The figures of issue "Quality and cost" come from here.
public struct Replay {
    public struct Report: Codable, Sendable {
        public var messages: Int
        public var intents: Int
        public var answered: Int
        public var automatedShare: Double
        public var realisedErrorRate: Double?
        public var actions: [String: Int]
        public var rules: [String: Int]
        public var audits: Int
        public var auditedWrong: Int
        public var auditedErrorRate: Double?
        public var auditedInterval: [Double]
        public var upperBound: Double
        public var guardedIntents: [String]
        public var staffing: StaffingReport

        public var text: String {
            func pct(_ v: Double?) -> String { v.map { String(format: "%.2f%%", $0 * 100) } ?? "–" }
            return """
            Replay: \(messages) test messages through a workspace of \(intents) intents
              AI answered \(answered) (\(pct(automatedShare))); realised error among them \(pct(realisedErrorRate))
              decisions: \(actions.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
              rules: \(rules.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
              audits: \(audits) sampled answers reviewed, \(auditedWrong) wrong → error \(pct(auditedErrorRate)), \
            95% interval \(pct(auditedInterval[0]))–\(pct(auditedInterval[1])), one-sided bound \(pct(upperBound))
              guardrail: \(guardedIntents.isEmpty ? "no intent switched to draft-only" : "draft-only: " + guardedIntents.joined(separator: ", "))

            \(staffing.table())
            """
        }
    }

    public var train: LabelledData
    public var test: LabelledData
    public var environment: TandemEnvironment
    public var targetRisk = 0.01
    public var confidenceLevel = 0.95
    public var auditRate = 0.05
    public var dailyConversations = 2000
    /// Service targets and costs of the staffing plan at the replayed automated share.
    public var staffingParameters = StaffingParameters.standard
    public var log: @Sendable (String) -> Void

    public init(train: LabelledData, test: LabelledData, environment: TandemEnvironment, log: @escaping @Sendable (String) -> Void) {
        self.train = train
        self.test = test
        self.environment = environment
        self.log = log
    }

    public func run() async throws -> Report {
        try await TandemApp.withScratch(scratchEnvironment) { app, _ in try await replay(app) }
    }

    /// The environment of a scratch replay: an embedded database, no demo, no training at start.
    var scratchEnvironment: TandemEnvironment {
        var environment = environment
        environment.databaseURL = nil
        environment.loadDemo = false
        environment.trainOnStart = false
        return environment
    }

    /// A dataset label as an intent key (lower-case letters, digits, `_`).
    static func key(_ label: String) -> String {
        String(label.lowercased().unicodeScalars.map { ("a"..."z").contains($0) || ("0"..."9").contains($0) ? Character($0) : "_" }.prefix(64))
    }

    /// The workspace: one intent per training label (its examples the training texts), the
    /// replay's settings, a reviewer, and the model trained on it and served.
    func seed(_ app: Application) async throws -> (intents: [String: [String]], WorkspaceRecord, AgentRecord) {
        let db = app.db

        // The workspace: one intent per training label, its examples the training texts.
        var grouped: [String: [String]] = [:]
        for (text, label) in zip(train.texts, train.labels) { grouped[Self.key(label), default: []].append(text) }
        let document = KnowledgeBaseDocument(name: "Replay", description: nil, settings: nil, intents: grouped.keys.sorted().map { key in
            .init(key: key, title: key.replacingOccurrences(of: "_", with: " ").capitalized,
                  answer: "The approved answer for \(key.replacingOccurrences(of: "_", with: " ")).", sensitive: false,
                  automation: AutomationMode.auto.rawValue, examples: grouped[key]!)
        })
        _ = try await document.apply(to: db, maxExample: 100_000)
        let workspace = try await app.tandem.workspace(on: db)
        var settings = try workspace.settings
        settings.targetRisk = targetRisk
        settings.confidenceLevel = confidenceLevel
        settings.auditRate = auditRate
        // Each test message is a conversation of its own: nothing follows it to wait for.
        settings.burstWindowSeconds = 0
        workspace.store(settings)
        try await workspace.save(on: db)
        let reviewer = AgentRecord(email: "replay@tandem.local", name: "Replay reviewer", role: .supervisor, passwordHash: "-")
        try await reviewer.create(on: db)

        log("training the workspace's model on \(train.texts.count) examples of \(grouped.count) intents …")
        let (artifact, files) = try ModelLifecycle.fit(texts: train.texts, labels: train.labels.map(Self.key), settings: workspace.settings,
                                                       encoder: app.tandem.intelligence.encoder, threads: app.tandem.environment.threads,
                                                       clock: app.tandem.clock, progress: log)
        try await ModelLifecycle.install(version: artifact.version, summary: artifact.summary, files: files,
                                         examples: train.texts.count, app: app)
        return (grouped, workspace, reviewer)
    }

    private func replay(_ app: Application) async throws -> Report {
        let db = app.db
        let (grouped, workspace, reviewer) = try await seed(app)

        log("replaying \(test.texts.count) customer messages …")
        let conversations = Conversations(db: db, services: app.tandem, logger: app.logger)
        var truth: [UUID: String] = [:]
        var actions: [String: Int] = [:]
        for (i, (text, label)) in zip(test.texts, test.labels).enumerated() {
            let (conversation, _, _) = try await conversations.create(name: nil, email: nil, channel: "replay", address: "replay")
            let outcome = try await conversations.customerMessage(conversation, text: text, idempotencyKey: nil)
            truth[outcome.message.id] = Self.key(label)
            actions[outcome.action.rawValue, default: 0] += 1
            if (i + 1) % 500 == 0 { log("… \(i + 1) messages") }
        }
        var answered = 0, wrong = 0, topWrong = 0
        var rules: [String: Int] = [:]
        for decision in try await DecisionRecord.query(on: db).all() {
            rules[decision.rule.rawValue, default: 0] += 1
            if decision.intent != truth[decision.$message.id] { topWrong += 1 }
            guard decision.action == .answer else { continue }
            answered += 1
            if decision.intent != truth[decision.$message.id] { wrong += 1 }
        }

        // Reviewers check the sampled answers against the truth; the guardrail reacts.
        let pending = try await AuditRecord.query(on: db).filter(\.$status == .pending).all()
        log("reviewing \(pending.count) sampled answers …")
        for audit in pending {
            let label = truth[audit.messageID] ?? "unknown"
            let known = grouped[label] != nil
            _ = try await QualityService.review(try audit.requireID(), correct: audit.intent == label, correctedIntent: known ? label : "unknown",
                                                reviewer: reviewer, settings: workspace.settings, at: app.tandem.clock.now, on: db)
        }
        let counts = try await QualityService.verdicts(AuditRecord.query(on: db))
        let estimate = ErrorEstimate(counts, level: confidenceLevel)
        let guarded = try await IntentRecord.query(on: db).filter(\.$guarded == true).all().map(\.key).sorted()

        let share = Double(answered) / Double(max(test.texts.count, 1))
        let forecast = Forecast.sample(totalConversations: dailyConversations)
        // If the AI answered everything, every wrong top prediction would reach a customer.
        let fullAutomationError = Double(topWrong) / Double(max(test.texts.count, 1))
        let staffing = try StaffingReport(input: StaffingInput(
            intervals: forecast.intervals, intervalMinutes: try forecast.inferredIntervalMinutes(), automatedShare: share,
            parameters: staffingParameters, aiErrorRate: answered > 0 ? Double(wrong) / Double(answered) : nil,
            fullAutomationErrorRate: fullAutomationError), intervalMinutesInferred: true)
        return Report(messages: test.texts.count, intents: grouped.count, answered: answered, automatedShare: share,
                      realisedErrorRate: answered > 0 ? Double(wrong) / Double(answered) : nil, actions: actions, rules: rules,
                      audits: counts.audited, auditedWrong: counts.wrong, auditedErrorRate: estimate.errorRate,
                      auditedInterval: [estimate.clopperPearson.lower, estimate.clopperPearson.upper], upperBound: estimate.upperBound,
                      guardedIntents: guarded, staffing: staffing)
    }
}
