import Fluent
import Foundation
import TandemCore
import Vapor

/// The test set replayed as conversations of two to four messages (`ConversationScripts`):
/// greetings, questions sent in two bursts, new questions after answers, the same question
/// again, short follow-ups, thanks. The model is trained once; the same conversations are then
/// replayed under each configuration in turn (bursts and follow-ups off, then on), on a manual
/// clock so a burst's window ends exactly when the script says.
public struct ConversationReplay {
    /// One configuration's figures.
    public struct Figures: Codable, Sendable {
        public var configuration: String
        public var conversations: Int
        public var messages: Int
        /// Test queries (each once, as the last message of its request).
        public var requests: Int
        public var answered: Int
        public var wrong: Int
        public var automatedShare: Double
        public var realisedErrorRate: Double?
        /// The same question again: answered again by the AI, or taken by a person.
        public var repeats: Int
        public var repeatsAnsweredAgain: Int
        /// Greetings and thanks: the assistant's reply, read with the question of their burst,
        /// a draft for the person the conversation already waits for, or (wrongly) a hand-off.
        public var smallTalk: Int
        public var smallTalkReplied: Int
        public var smallTalkReadWithQuestion: Int
        public var smallTalkWhileWithPerson: Int
        public var smallTalkHandedOff: Int
        /// Conversations that reached a person, by the rule that sent them.
        public var conversationsToPerson: Int
        public var handOffsByRule: [String: Int]
        /// Requests and their automated share and error by kind of conversation.
        public var byKind: [String: KindFigures]
        public var decisions: Int
    }

    public struct KindFigures: Codable, Sendable {
        public var requests: Int
        public var answered: Int
        public var wrong: Int
    }

    public struct Report: Codable, Sendable {
        public var before: Figures
        public var after: Figures

        public var text: String {
            func pct(_ v: Double?) -> String { v.map { String(format: "%.1f%%", $0 * 100) } ?? "–" }
            func pct2(_ v: Double?) -> String { v.map { String(format: "%.2f%%", $0 * 100) } ?? "–" }
            func share(_ a: Int, _ b: Int) -> String { b == 0 ? "–" : pct(Double(a) / Double(b)) }
            var lines = ["Conversation replay: \(after.conversations) conversations, \(after.messages) messages, \(after.requests) test queries",
                         "", "| | \(before.configuration) | \(after.configuration) |", "|---|---|---|"]
            func row(_ name: String, _ f: (Figures) -> String) { lines.append("| \(name) | \(f(before)) | \(f(after)) |") }
            row("decisions") { "\($0.decisions)" }
            row("requests answered by the AI (automated share)") { "\($0.answered) (\(pct($0.automatedShare)))" }
            row("realised error among them") { "\($0.wrong) (\(pct2($0.realisedErrorRate)))" }
            row("same question again answered again") { "\($0.repeatsAnsweredAgain) of \($0.repeats)" }
            row("small talk: replied / read with its question / drafted for the person already asked for / handed off") {
                "\($0.smallTalkReplied) / \($0.smallTalkReadWithQuestion) / \($0.smallTalkWhileWithPerson) / \($0.smallTalkHandedOff) of \($0.smallTalk)"
            }
            row("conversations that reached a person") { "\($0.conversationsToPerson) (\(share($0.conversationsToPerson, $0.conversations)))" }
            for kind in ScriptedConversation.Kind.allCases.map(\.rawValue) {
                row("\(kind): automated, error") {
                    guard let k = $0.byKind[kind] else { return "–" }
                    return "\(share(k.answered, k.requests)) of \(k.requests), \(k.answered == 0 ? "–" : pct2(Double(k.wrong) / Double(k.answered)))"
                }
            }
            let rules = Set(before.handOffsByRule.keys).union(after.handOffsByRule.keys).sorted {
                (after.handOffsByRule[$0] ?? 0, before.handOffsByRule[$0] ?? 0) > (after.handOffsByRule[$1] ?? 0, before.handOffsByRule[$1] ?? 0)
            }
            for rule in rules { row("hand-offs: \(rule)") { "\($0.handOffsByRule[rule] ?? 0)" } }
            return lines.joined(separator: "\n")
        }
    }

    public var replay: Replay
    public var seed: UInt64 = 7

    public init(_ replay: Replay) { self.replay = replay }

    public func run() async throws -> Report {
        let clock = ManualClock()
        return try await TandemApp.withScratch(replay.scratchEnvironment, clock: clock) { app, _ in
            let (_, workspace, _) = try await replay.seed(app)
            let labels = replay.test.labels.map(Replay.key)
            let scripts = ConversationScripts.make(texts: replay.test.texts, labels: labels, seed: seed)
            var settings = try workspace.settings
            settings.burstWindowSeconds = 0
            settings.readFollowUps = false
            workspace.store(settings)
            try await workspace.save(on: app.db)
            let before = try await play(scripts, labels: labels, configuration: "bursts and follow-ups off", app: app, clock: clock)
            settings.burstWindowSeconds = Turns.defaultBurstWindow
            settings.readFollowUps = true
            workspace.store(settings)
            try await workspace.save(on: app.db)
            let after = try await play(scripts, labels: labels, configuration: "on (window 2 s)", app: app, clock: clock)
            return Report(before: before, after: after)
        }
    }

    private func play(_ scripts: [ScriptedConversation], labels: [String], configuration: String,
                      app: Application, clock: ManualClock) async throws -> Figures {
        let db = app.db
        let conversations = Conversations(db: db, services: app.tandem, logger: app.logger)
        replay.log("replaying \(scripts.count) conversations, \(configuration) …")
        var sent: [(conversation: UUID, kind: ScriptedConversation.Kind, turns: [(UUID, ScriptedConversation.Role)])] = []
        for (n, script) in scripts.enumerated() {
            let (conversation, _, _) = try await conversations.create(name: nil, email: nil, channel: "replay", address: "replay")
            var turns: [(UUID, ScriptedConversation.Role)] = []
            for turn in script.turns {
                clock.advance(by: turn.after)
                try await conversations.decideDueHolds()
                let fresh = try await ConversationRecord.find(conversation.requireID(), on: db) ?? conversation
                let outcome = try await conversations.customerMessage(fresh, text: turn.text, idempotencyKey: nil)
                turns.append((outcome.message.id, turn.role))
            }
            clock.advance(by: Turns.maximumHoldSeconds)
            try await conversations.decideDueHolds()
            sent.append((try conversation.requireID(), script.kind, turns))
            if (n + 1) % 500 == 0 { replay.log("… \(n + 1) conversations") }
        }

        let ids = sent.map(\.conversation)
        var decisions: [UUID: DecisionRecord] = [:]
        var decisionCount = 0
        for chunk in Self.chunks(ids, of: 500) {
            for d in try await DecisionRecord.query(on: db).filter(\.$conversation.$id ~~ chunk).all() {
                decisions[d.$message.id] = d
                decisionCount += 1
            }
        }
        var f = Figures(configuration: configuration, conversations: sent.count, messages: sent.reduce(0) { $0 + $1.turns.count },
                        requests: 0, answered: 0, wrong: 0, automatedShare: 0, realisedErrorRate: nil, repeats: 0, repeatsAnsweredAgain: 0,
                        smallTalk: 0, smallTalkReplied: 0, smallTalkReadWithQuestion: 0, smallTalkWhileWithPerson: 0, smallTalkHandedOff: 0,
                        conversationsToPerson: 0, handOffsByRule: [:], byKind: [:], decisions: decisionCount)
        for conversation in sent {
            var kind = f.byKind[conversation.kind.rawValue] ?? KindFigures(requests: 0, answered: 0, wrong: 0)
            for (message, role) in conversation.turns {
                let decision = decisions[message]
                switch role {
                case .request(let i):
                    f.requests += 1
                    kind.requests += 1
                    if decision?.action == .answer {
                        f.answered += 1
                        kind.answered += 1
                        if decision?.intent != labels[i] { f.wrong += 1; kind.wrong += 1 }
                    }
                case .repeated:
                    f.repeats += 1
                    if decision?.action == .answer { f.repeatsAnsweredAgain += 1 }
                case .smallTalk:
                    f.smallTalk += 1
                    switch (decision?.action, decision?.rule) {
                    case (.answer?, _): f.smallTalkReplied += 1
                    case (nil, _): f.smallTalkReadWithQuestion += 1
                    case (_, .waitingForPerson?), (_, .humanOwns?): f.smallTalkWhileWithPerson += 1
                    default: f.smallTalkHandedOff += 1
                    }
                case .part: break
                }
            }
            f.byKind[conversation.kind.rawValue] = kind
        }
        for chunk in Self.chunks(ids, of: 500) {
            for c in try await ConversationRecord.query(on: db).filter(\.$id ~~ chunk).all() {
                guard let rule = c.handoffRule else { continue }
                f.conversationsToPerson += 1
                f.handOffsByRule[rule.rawValue, default: 0] += 1
            }
        }
        f.automatedShare = Double(f.answered) / Double(max(f.requests, 1))
        f.realisedErrorRate = f.answered > 0 ? Double(f.wrong) / Double(f.answered) : nil
        return f
    }
}

extension ConversationReplay {
    /// `ids` in pieces of at most `size`, so an `IN (...)` stays under the databases' bind limits.
    static func chunks(_ ids: [UUID], of size: Int) -> [ArraySlice<UUID>] {
        stride(from: 0, to: ids.count, by: size).map { ids[$0..<min($0 + size, ids.count)] }
    }
}
