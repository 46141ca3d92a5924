import Fluent
import Foundation
import SQLKit
import TandemCore
import Vapor

/// The conversation flow: customer messages are stored first and then decided; AI answers,
/// hand-offs, claims, agent replies, resolution and ratings. Every state change and the
/// events describing it are written in one transaction.
struct Conversations {
    let db: Database
    let services: TandemServices
    let logger: Logger

    // MARK: Customers

    /// Starts a conversation for a customer at `address`. An address with
    /// `openConversationsPerAddress` unresolved conversations from the last 24 hours gets a 429
    /// (the count and the insert are not one transaction: two racing requests may pass one over
    /// the cap, which a cap against abuse can afford).
    /// A `verifiedUserID` (checked by `IdentityVerification`) makes the customer's key theirs.
    func create(name: String?, email: String?, verifiedUserID: String? = nil, channel: String,
                address: String) async throws -> (ConversationRecord, token: String, [MessageRecord]) {
        let origin = try services.addressKey(address)
        let limits = services.environment.limits
        if limits.enabled {
            let open = try await ConversationRecord.openCount(originKey: origin, since: services.clock.now.addingTimeInterval(-86_400), on: db)
            if open >= limits.openConversationsPerAddress {
                throw AppError.rateLimited(retryAfter: 3600, what: "open conversations from this address (\(open), the most allowed: resolve one first)")
            }
        }
        let token = Secrets.token()
        let normalizedEmail = email.map(CustomerKeys.normalise)
        let keys = try services.customerKeys
        let conversation = ConversationRecord(
            tokenHash: Secrets.digest(token), customerName: name?.trimmingCharacters(in: .whitespacesAndNewlines),
            customerEmail: normalizedEmail,
            customerKey: verifiedUserID.map { keys.key(verifiedUserID: $0) } ?? normalizedEmail.map { keys.key(email: $0) } ?? CustomerKeys.anonymous(),
            channel: channel)
        conversation.customerVerified = verifiedUserID != nil
        conversation.originKey = origin
        let greeting = try await db.writeTransaction { db in
            try await conversation.create(on: db)
            let name = conversation.customerName.flatMap { $0.isEmpty ? nil : $0 }
            let text = "Hello\(name.map { " \($0)" } ?? "")! I'm Tandem's assistant. Ask me anything; you can ask for a person at any time."
            let greeting = try await append(.system, text: text, to: conversation, on: db)
            try await EventBus.record(.conversationCreated, conversationID: conversation.id, payload: dto(conversation), on: db)
            return greeting
        }
        services.events.poke()
        return (conversation, token, [greeting])
    }

    /// Stores the message, then lets the AI decide, then records the outcome. A repeat with the
    /// same idempotency key returns the first outcome without storing anything.
    func customerMessage(_ conversation: ConversationRecord, text raw: String, idempotencyKey: String?) async throws -> PostMessageResponse {
        let text = try validatedText(raw)
        let conversationID = try conversation.requireID()
        if let key = idempotencyKey, let existing = try await PhaseTimings.measure("store", {
            try await MessageRecord.query(on: db).filter(\.$conversation.$id == conversationID).filter(\.$idempotencyKey == key).first()
        }) {
            return try await replay(existing, conversation: conversation)
        }
        guard conversation.status != .resolved else {
            throw AppError.conflict("This conversation is resolved; start a new one.")
        }
        // 1. Store the message (committed before any decision is made).
        let message: MessageRecord
        do {
            message = try await PhaseTimings.measure("store") { try await db.writeTransaction { db in
                // The number, and with people the customer's wait for a reply, in one statement.
                let seq = try await ConversationRecord.takeCustomerSeq(conversationID, at: services.clock.now, on: db)
                let message = MessageRecord(conversationID: conversationID, seq: seq, role: .customer, text: text, idempotencyKey: idempotencyKey)
                try await message.create(on: db)
                try await EventBus.record(.message, conversationID: conversationID, payload: MessageDTO(message), on: db)
                return message
            } }
        } catch let error where (error as? any DatabaseError)?.isConstraintFailure == true {
            // Two requests with the same key at once: the other one stored it.
            if let key = idempotencyKey, let existing = try await MessageRecord.query(on: db)
                .filter(\.$conversation.$id == conversationID).filter(\.$idempotencyKey == key).first() {
                return try await replay(existing, conversation: conversation)
            }
            throw error
        }
        services.events.poke()
        services.metrics.customerMessage()

        // 2. Decide and record the outcome.
        let outcome = try await decide(message: message, conversationID: conversationID)
        services.events.poke()
        return outcome
    }

    /// The AI's turn for a stored customer message, read together with the earlier messages of
    /// its burst that wait for it (or with the previous turn, for a short follow-up). The encoder
    /// runs first, outside any transaction (it needs only the text); the routing decision and
    /// everything it changes happen in one write transaction that holds the conversation (FOR
    /// UPDATE on PostgreSQL, the single writer on SQLite), so concurrent messages never decide on
    /// a stale state. When the burst changed meanwhile (a later message, or a node's sweeper,
    /// decided it first), the turn is read again.
    ///
    /// `final`: the burst's window has ended (the sweeper's call): decide now, never wait again.
    func decide(message: MessageRecord, conversationID: UUID, final: Bool = false) async throws -> PostMessageResponse {
        for _ in 0..<5 {
            // The sweeper's call: another node's sweeper, or a later message, may have decided the
            // burst since it was found due; then there is nothing left to do.
            if final, let fresh = try await MessageRecord.find(message.id, on: db), fresh.heldUntil == nil {
                return try await replay(fresh, conversation: try await reload(conversationID, on: db))
            }
            if let outcome = try await decideTurn(message: message, conversationID: conversationID, final: final) { return outcome }
        }
        // Many messages at once in one conversation kept changing its burst. The message is
        // stored; it joins the burst, due now, and the sweeper decides it with the rest.
        try await MessageRecord.query(on: db).filter(\.$id == message.requireID()).set(\.$heldUntil, to: services.clock.now).update()
        services.holds.signal()
        return PostMessageResponse(message: MessageDTO(message), reply: nil, action: .pending,
                                   conversation: dto(try await reload(conversationID, on: db)), duplicate: false)
    }

    /// Decides the bursts whose window has ended (held messages due by the services' clock), on
    /// whichever node gets there first. The sweeper of every node calls it, and tests call it
    /// after moving their clock: when it returns, every burst it found due is decided (by this
    /// call or a concurrent one). Returns how many it found.
    @discardableResult
    func decideDueHolds() async throws -> Int {
        let due = try await MessageRecord.query(on: db).filter(\.$heldUntil <= services.clock.now).sort(\.$seq, .descending).all()
        var last: [UUID: MessageRecord] = [:]
        for message in due where last[message.$conversation.id] == nil { last[message.$conversation.id] = message }
        for (conversationID, message) in last {
            _ = try await decide(message: message, conversationID: conversationID, final: true)
        }
        if !last.isEmpty { services.events.poke() }
        return last.count
    }

    /// The rules under which a message waits for the rest of its burst: the model could not
    /// place it, and more words may place it. (It would wait for a person anyway, who takes
    /// longer than the window.)
    private static let rulesThatWait: Set<RoutingDecision.Rule> = [.unknownRequest, .lowConfidence]

    /// One attempt at `decide`; nil when the burst changed under it.
    private func decideTurn(message: MessageRecord, conversationID: UUID, final: Bool) async throws -> PostMessageResponse? {
        let started = DispatchTime.now().uptimeNanoseconds
        let (settings, settingsProblem) = try await PhaseTimings.measure("settings") { try await decisionSettings() }
        let messageID = try message.requireID()
        // The burst: earlier customer messages still waiting, then this one.
        let held = try await PhaseTimings.measure("context") { try await heldMessages(conversationID, before: message.seq, on: db) }
        let burst = Turns.joined(held.map(\.text) + [message.text])
        // A short follow-up ("and for 12-month plans?") is read with the customer's previous turn.
        let opening = held.isEmpty && settings.readFollowUps ? Turns.followUpOpening(message.text) : nil
        let previous: MessageRecord? = if opening != nil {
            try await PhaseTimings.measure("context") {
                try await MessageRecord.query(on: db).filter(\.$conversation.$id == conversationID)
                    .filter(\.$role == .customer).filter(\.$seq < message.seq).sort(\.$seq, .descending).first()
            }
        } else { nil }
        let followUp = previous != nil ? opening : nil
        let read = previous.map { Turns.joined([$0.text, message.text]) } ?? burst
        let signals = MessageSignals.detect(burst)
        // "hi" alone needs no model; "hi, my card is blocked" is decided by the request alone.
        let reading = SmallTalk.read(read)
        let smallTalk = SmallTalk.read(burst).onlySmallTalk
        // Too many messages waiting for the model: this one goes to a person at once (it is
        // stored already and the customer gets an answer now), instead of a wait every later
        // customer would inherit.
        let (analysis, busy): (Intelligence.Analysis?, RoutingInput.Busy?)
        do {
            (analysis, busy) = smallTalk != nil ? (nil, nil)
                : (try await PhaseTimings.measure("inference") { try await services.intelligence.analyse(reading.request ?? read) }, nil)
            // Of the inference time, the part its batch took to encode and score (the rest is the wait).
            if let analysis { PhaseTimings.current?.add("encode", milliseconds: analysis.batchMilliseconds) }
            if analysis?.reused == true { services.metrics.readingReused() }
        } catch let overloaded as InferenceExecutor.Overloaded {
            services.metrics.inferenceRefused()
            (analysis, busy) = (nil, RoutingInput.Busy(waiting: overloaded.waiting))
        }
        let intentRecord: IntentSnapshot? = if let analysis {
            try await PhaseTimings.measure("intent") { try await services.intent(key: analysis.intent, on: db) }
        } else { nil }
        // The audit sampling rate of an answer by this intent comes from its reviewed audits so
        // far: read before the write lock is taken (it is held for every statement inside), and
        // only when the confidence allows an answer at all.
        let reviewedAudits: Int? = if let analysis, intentRecord != nil, let threshold = analysis.threshold, analysis.scores.confidence >= threshold {
            try await PhaseTimings.measure("intent") { try await QualityService.reviewedAudits(intent: analysis.intent, on: db) }
        } else { nil }
        let prediction = analysis.map {
            Prediction(intent: $0.intent, confidence: $0.scores.confidence, threshold: $0.threshold,
                       unknownThreshold: $0.unknownThreshold, knownScore: $0.scores.knownScore,
                       familiarity: $0.scores.familiarity, alternatives: $0.alternatives)
        }
        let titles = try await PhaseTimings.measure("intent") { try await services.intentTitles(on: db) }

        let result = try await PhaseTimings.measure("decide") { try await db.writeTransaction { db -> (RoutingDecision, DecisionRecord?, MessageRecord?, ConversationRecord, Duration)? in
            let conversation = try await reload(conversationID, on: db)
            // Read again under the lock: if the burst changed, this reading is stale.
            let heldNow = try await heldMessages(conversationID, before: message.seq + 1, on: db)
            let expected = final ? held.map(\.id) + [message.id] : held.map(\.id)
            guard heldNow.map(\.id) == expected else { return nil }
            let unresolvedBefore = conversation.unresolvedTurns
            // After an AI answer, the same problem again counts against the loop guard; a new
            // question starts the count afresh.
            let comesBack = conversation.lastTurnAIAnswer
                && LoopGuard.comesBack(answeredIntent: conversation.lastIntent, prediction: prediction, saysNotHelpful: signals.saysNotHelpful)
            let unresolved = comesBack ? unresolvedBefore + 1 : conversation.lastTurnAIAnswer ? 0 : unresolvedBefore
            let input = RoutingInput(
                signals: signals, prediction: prediction, intent: intentRecord?.settings,
                conversation: ConversationState(humanOwns: conversation.status == .assigned, waitingForPerson: conversation.status == .queued,
                                                lastTurnWasAIAnswer: conversation.lastTurnAIAnswer,
                                                consecutiveUnresolvedTurns: comesBack ? unresolved : 0),
                // Only the predicted intent's guard matters, and its record is at hand.
                workspace: WorkspaceState(killSwitch: settings.killSwitch,
                                          guardrailDraftOnly: intentRecord.map { $0.guarded ? [$0.key] : [] } ?? [],
                                          shadowDraftOnly: intentRecord.map { $0.shadow ? [$0.key] : [] } ?? []),
                busy: busy, smallTalk: smallTalk)
            let decision = RoutingPolicy.decide(input)
            let now = services.clock.now

            // A message the model cannot place, a sentence that trails off, or a bare greeting
            // waits for the rest of its burst (the first of it at most `Turns.maximumHoldSeconds`).
            let burstStarted = held.first?.createdAt ?? message.createdAt ?? now
            // An e-mail is a whole turn: it never waits for more.
            let waits = !final && settings.burstWindowSeconds > 0 && conversation.status == .ai && followUp == nil
                && conversation.channel != EmailChannel.channel
                && held.count + 1 < Turns.maximumBurst && now.timeIntervalSince(burstStarted) < Turns.maximumHoldSeconds
                && (smallTalk == .greeting || Self.rulesThatWait.contains(decision.rule) || Turns.trailsOff(burst) && decision.action == .answer)
            if waits {
                let until = now.addingTimeInterval(settings.burstWindowSeconds)
                let ids = held.compactMap(\.id) + [messageID]
                try await MessageRecord.query(on: db).filter(\.$id ~~ ids)
                    .set(\.$heldUntil, to: until).update()
                return (decision, nil, nil, conversation, .zero)
            }
            if !heldNow.isEmpty || final {
                try await MessageRecord.query(on: db).filter(\.$conversation.$id == conversationID).filter(\.$heldUntil != nil)
                    .set(\.$heldUntil, to: nil).update()
            }

            let draft = smallTalk.map { settings.smallTalk[$0] }
                ?? intentRecord.map { Assistance.draft(answer: $0.answer, customerName: conversation.customerName) }
            let elapsed = Duration.nanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - started))

            let record = DecisionRecord()
            record.$conversation.id = conversationID
            record.$message.id = messageID
            record.modelVersion = analysis?.modelVersion
            record.encoder = services.intelligence.encoder.identifier
            record.intent = analysis?.intent
            record.confidence = analysis?.scores.confidence
            record.threshold = analysis?.threshold
            record.knownScore = analysis?.scores.knownScore
            record.unknownThreshold = analysis?.unknownThreshold
            record.familiarity = analysis?.scores.familiarity
            record.rule = decision.rule
            record.action = decision.action
            record.draft = draft
            record.latencyMilliseconds = Double(elapsed / .nanoseconds(1)) / 1e6
            var reasons = decision.reasons
            if let settingsProblem { reasons.insert(settingsProblem, at: 0) }
            // What the model saw, when it was not this message alone.
            if !held.isEmpty {
                let count = held.count == 1 ? "the customer's message before it" : "the customer's \(held.count) messages before it"
                reasons.append("read together with \(count), sent within \(Self.seconds(settings.burstWindowSeconds)) of each other: “\(burst)”")
            }
            if let followUp, let previous {
                reasons.append("a short follow-up (it starts with “\(followUp)”), read with the customer's previous message “\(previous.text)”")
            }
            if smallTalk == nil, let request = reading.request, !reading.kinds.isEmpty {
                let aside = reading.kinds.map(\.described).joined(separator: " and ")
                reasons.append("the model read “\(request)”, with \(aside) at the start set aside")
            }
            if decision.rule == .guardrail, let key = analysis?.intent {
                // Explainable after the fact: the evidence that switched the intent.
                reasons += try await QualityService.latestEvidence(intent: key, on: db)
            }
            if decision.rule == .shadowMode, let intentRecord {
                reasons += try await QualityService.shadowDecision(intentRecord.settings, settings: settings, on: db).evidence
            }
            record.details = DecisionDetails(
                reasons: reasons, signals: signals,
                alternatives: (analysis?.alternatives ?? []).map { AlternativeDTO(intent: $0.intent, title: titles[$0.intent], probability: $0.probability) },
                neighbours: (analysis?.neighbours ?? []).map { NeighbourDTO(text: $0.text, intent: $0.intent, similarity: $0.similarity) }
            ).json
            try await record.create(on: db)

            // "That did not help" is about the answered intent, and counts against it, not
            // against whatever the complaint's own words resemble.
            if decision.rule != .notHelpful && smallTalk == nil || conversation.lastIntent == nil { conversation.lastIntent = analysis?.intent }
            conversation.unresolvedTurns = unresolved
            var reply: MessageRecord?
            var notice: MessageRecord?
            switch decision.action {
            case .answer where decision.rule == .smallTalk:
                reply = try await append(.ai, text: draft ?? "", to: conversation, saving: false, on: db)
                // Small talk is neither an answer nor a complaint: the loop guard counts around a
                // greeting, and thanks or a goodbye says the last answer did its job.
                if smallTalk == .thanks || smallTalk == .goodbye {
                    conversation.unresolvedTurns = 0
                    conversation.lastTurnAIAnswer = false
                } else {
                    conversation.unresolvedTurns = unresolvedBefore
                }
                if conversation.firstResponseAt == nil { conversation.firstResponseAt = now }
            case .answer:
                reply = try await append(.ai, text: draft ?? "", to: conversation, saving: false, on: db)
                if let intent = analysis?.intent {
                    let reviewed = if let reviewedAudits { reviewedAudits } else { try await QualityService.reviewedAudits(intent: intent, on: db) }
                    try await QualityService.sampleAudit(decision: record, intent: intent, reviewed: reviewed, settings: settings, on: db)
                }
                conversation.lastTurnAIAnswer = true
                conversation.aiAnswers += 1
                if conversation.firstResponseAt == nil { conversation.firstResponseAt = now }
            case .draftForHuman, .handOff:
                conversation.lastTurnAIAnswer = false
                if conversation.status == .ai || conversation.status == .resolved {
                    let urgent = intentRecord?.sensitive == true || signals.isFrustrated || signals.asksForHuman
                    notice = try await queue(conversation, rule: decision.rule, reason: settingsProblem ?? decision.rule.explanation,
                                             urgent: urgent, calendar: settingsProblem == nil ? settings.calendar : nil, on: db)
                }
            }
            try await conversation.save(on: db)
            var events = try await notice.asyncMap { try await handedOff(conversation, notice: $0, on: db) } ?? []
            if let reply {
                events.append(try EventBus.event(.message, conversationID: conversationID, payload: MessageDTO(reply)))
                try await EmailChannel.queueReply(reply, in: conversation, at: now, on: db)
            }
            events.append(try EventBus.event(.decision, conversationID: conversationID,
                                             payload: ["action": decision.action.rawValue, "rule": decision.rule.rawValue]))
            try await EventBus.record(events, on: db)
            return (decision, record, reply, conversation, elapsed)
        } }
        guard let (decision, record, reply, updated, elapsed) = result else { return nil }
        guard let record else {
            // Waiting for the rest of the burst; the customer sees their message accepted.
            services.holds.signal()
            return PostMessageResponse(message: MessageDTO(message), reply: nil, action: .pending, conversation: dto(updated), duplicate: false)
        }
        services.metrics.decision(action: decision.action, rule: decision.rule, latency: elapsed)
        if updated.status == .queued { services.assignments.signal() }
        logger.debug("decided", metadata: [
            "conversation-id": .string(conversationID.uuidString), "message-id": .string(messageID.uuidString),
            "action": .string(decision.action.rawValue), "rule": .string(decision.rule.rawValue),
            "intent": .string(analysis?.intent ?? "-"), "confidence": .stringConvertible(analysis?.scores.confidence ?? 0),
            "burst": .stringConvertible(held.count + 1), "latency-ms": .stringConvertible(record.latencyMilliseconds),
        ])
        return PostMessageResponse(message: MessageDTO(message), reply: reply.map(MessageDTO.init), action: MessageOutcome(decision.action),
                                   conversation: dto(updated), duplicate: false)
    }

    /// The conversation's customer messages waiting for the rest of their burst, before `seq`.
    private func heldMessages(_ conversationID: UUID, before seq: Int, on db: Database) async throws -> [MessageRecord] {
        try await MessageRecord.query(on: db).filter(\.$conversation.$id == conversationID).filter(\.$heldUntil != nil)
            .filter(\.$seq < seq).sort(\.$seq).all()
    }

    private static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value)) s" : String(format: "%.1f s", value)
    }

    /// The settings a decision uses. Settings that no longer decode keep the AI off (the kill
    /// switch, with the reason first among the decision's reasons) instead of falling back to
    /// defaults that would turn it on; the problem is logged on every message until fixed.
    private func decisionSettings() async throws -> (WorkspaceSettings, problem: String?) {
        do {
            return (try await services.settings(on: db), nil)
        } catch AppError.corruptSettings(let why) {
            logger.error("workspace settings do not decode; every conversation goes to people", metadata: ["error": .string(why)])
            var safe = WorkspaceSettings()
            safe.killSwitch = true
            return (safe, "The workspace settings cannot be read, so every conversation goes to a person until an admin saves them again.")
        }
    }

    /// Stores the customer's e-mail address (normalised) and the customer key it gives, as at
    /// creation; a conflict when the conversation has one already.
    func setEmail(_ email: String, on id: UUID) async throws -> ConversationRecord {
        let keys = try services.customerKeys
        let updated = try await db.writeTransaction { db -> ConversationRecord in
            let c = try await reload(id, on: db)
            if c.customerEmail == email { return c }
            guard c.customerEmail == nil else { throw AppError.conflict("This conversation has an e-mail address already.") }
            guard c.anonymisedAt == nil, c.status != .resolved else { throw AppError.conflict("This conversation is resolved; start a new one.") }
            c.customerEmail = email
            c.customerKey = keys.key(email: email)
            try await c.save(on: db)
            return c
        }
        return updated
    }

    /// The "talk to a person" button.
    func requestHuman(_ conversation: ConversationRecord) async throws -> ConversationRecord {
        let id = try conversation.requireID()
        let updated = try await db.writeTransaction { db -> ConversationRecord in
            let fresh = try await reload(id, on: db)
            switch fresh.status {
            case .queued, .assigned: return fresh
            case .resolved: throw AppError.conflict("This conversation is resolved; start a new one.")
            case .ai:
                // Settings that do not decode (the kill switch's case) still hand off, without the hours.
                let notice = try await queue(fresh, rule: .askedForHuman, reason: "The customer pressed “talk to a person”.", urgent: true,
                                             calendar: (try? await services.settings(on: db))?.calendar, on: db)
                try await fresh.save(on: db)
                try await EventBus.record(try await handedOff(fresh, notice: notice, on: db), on: db)
                return fresh
            }
        }
        services.events.poke()
        services.assignments.signal()
        return updated
    }

    /// Moves a conversation to the human queue and tells the customer (the returned notice).
    /// The caller saves the conversation once, then records `handedOff`'s events with the rest
    /// of its change (one insert, one NOTIFY). `calendar`: the business hours, nil when the
    /// settings do not decode (the hand-off still happens, without the hours).
    private func queue(_ conversation: ConversationRecord, rule: RoutingDecision.Rule, reason: String, urgent: Bool,
                       calendar: BusinessCalendar?, on db: Database) async throws -> MessageRecord {
        conversation.status = .queued
        conversation.queuedAt = services.clock.now
        conversation.handoffRule = rule
        conversation.handoffReason = reason
        conversation.priority = urgent ? 1 : 0
        conversation.humanInvolved = true
        conversation.slaWaitingSince = services.clock.now
        conversation.teamID = try await Teams.route(intent: conversation.lastIntent,
                                                    tags: try await ConversationTagRecord.tags(of: conversation.requireID(), on: db), on: db)
        let position = try await ConversationRecord.queuePosition(priority: conversation.priority, queuedAt: services.clock.now,
                                                                  excluding: conversation.id, on: db)
        let place = position == 1 ? "You're next in the queue" : "You're number \(position) in the queue"
        var text = "I'm passing you to a person now; they can see this conversation. \(place); you'll get their reply here."
        let now = services.clock.now
        if let calendar, !calendar.isOpen(at: now) {
            // Out of hours: when people are back, and e-mail as the way to continue meanwhile.
            let back = calendar.nextOpening(atOrAfter: now).map { "Our team is away now and back \(calendar.describe($0, now: now))." }
                ?? "Our team is away now."
            let email = conversation.customerEmail == nil
                ? " You can leave your e-mail address below and we'll continue by e-mail."
                : " We'll also reply to your e-mail address, so you needn't wait here."
            text += " " + back + email
        }
        services.metrics.handoff(rule: rule)
        logger.info("handed off", metadata: ["conversation-id": .string(conversation.id?.uuidString ?? "-"), "rule": .string(rule.rawValue)])
        return try await append(.system, text: text, to: conversation, saving: false, on: db)
    }

    /// A saved hand-off: its webhooks queued, and its events (the notice, then the hand-off).
    private func handedOff(_ conversation: ConversationRecord, notice: MessageRecord, on db: Database) async throws -> [EventRecord] {
        try await Webhooks.enqueue(event: .conversationHandedOff, conversation: dto(conversation), at: services.clock.now, on: db)
        return [try EventBus.event(.message, conversationID: conversation.id, payload: MessageDTO(notice)),
                try EventBus.event(.conversationHandedOff, conversationID: conversation.id, payload: dto(conversation))]
    }

    func rate(_ conversation: ConversationRecord, score: Int, comment: String?) async throws -> ConversationRecord {
        guard (1...5).contains(score) else { throw AppError.invalidField("score", "must be an integer from 1 to 5") }
        if let comment, comment.count > services.environment.maxMessageCharacters {
            throw AppError.tooLarge(limit: services.environment.maxMessageCharacters, what: "The comment")
        }
        let id = try conversation.requireID()
        let updated = try await db.writeTransaction { db -> ConversationRecord in
            let fresh = try await reload(id, on: db)
            guard fresh.status == .resolved else { throw AppError.conflict("Ratings are asked for once the conversation is resolved.") }
            fresh.rating = score
            fresh.ratingComment = comment
            try await fresh.save(on: db)
            try await EventBus.record(.conversationRated, conversationID: id, payload: dto(fresh), on: db)
            return fresh
        }
        services.events.poke()
        return updated
    }

    /// The customer says the answer solved it.
    func customerResolves(_ conversation: ConversationRecord) async throws -> ConversationRecord {
        try await resolve(try conversation.requireID(), by: nil)
    }

    // MARK: Agents

    /// Claims a queued conversation for `agent`. Atomic: one UPDATE that succeeds only while the
    /// conversation is unclaimed and the agent is under their limit, so concurrent claims on
    /// SQLite or PostgreSQL leave exactly one owner. On PostgreSQL one agent's claims also take
    /// turns (the agent's row is locked first): the limit is counted across rows, and two claims
    /// of different conversations at once would each count from a snapshot without the other
    /// and both pass.
    func claim(_ id: UUID, agent: AgentRecord) async throws -> ConversationRecord {
        let agentID = try agent.requireID()
        let settings = try await services.settings(on: db)
        let limit = agent.maxConcurrent ?? settings.maxConcurrentPerAgent
        let now = services.clock.now
        // The claim and its event commit together, or neither does.
        let fresh = try await db.writeTransaction { db -> ConversationRecord in
            guard let sql = db as? any SQLDatabase else { throw AppError.unavailable("claims need an SQL database") }
            if sql.dialect.name == "postgresql" {
                try await sql.raw("SELECT id FROM agents WHERE id = \(bind: agentID) FOR UPDATE").run()
            }
            let claimed = try await sql.raw("""
                UPDATE conversations SET status = 'assigned', assigned_agent_id = \(bind: agentID), claimed_at = \(bind: now),
                       human_involved = \(bind: true), updated_at = \(bind: now)
                WHERE id = \(bind: id) AND status = 'queued' AND assigned_agent_id IS NULL
                  AND (SELECT COUNT(*) FROM conversations WHERE assigned_agent_id = \(bind: agentID) AND status = 'assigned') < \(bind: limit)
                RETURNING id
                """).all()
            guard !claimed.isEmpty else {
                guard let current = try await ConversationRecord.find(id, on: db) else { throw AppError.notFound("Conversation \(id)") }
                if current.status == .queued {
                    throw AppError.conflict("You already have \(limit) conversations open, the most allowed; resolve or release one first.")
                }
                throw AppError.conflict("This conversation is not waiting in the queue (it is \(current.status.rawValue)\(current.assignedAgentID == agentID ? ", and already yours" : "")).")
            }
            let fresh = try await reload(id, on: db)
            try await EventBus.record(.conversationClaimed, conversationID: id, payload: dto(fresh), on: db)
            return fresh
        }
        services.events.poke()
        return fresh
    }

    /// Puts a claimed conversation back into the queue.
    func release(_ id: UUID, by agent: AgentRecord) async throws -> ConversationRecord {
        try await ownedChange(id, by: agent) { conversation in
            conversation.status = .queued
            conversation.assignedAgentID = nil
            conversation.claimedAt = nil
            return .conversationReleased
        }
    }

    /// A supervisor hands the conversation to another agent.
    func reassign(_ id: UUID, to target: AgentRecord, by supervisor: AgentRecord) async throws -> ConversationRecord {
        let targetID = try target.requireID()
        guard target.active else { throw AppError.invalidField("agentID", "that agent is deactivated") }
        return try await change(id) { conversation in
            guard conversation.status == .queued || conversation.status == .assigned else {
                throw AppError.conflict("Only waiting or open conversations can be reassigned (this one is \(conversation.status)).")
            }
            conversation.status = .assigned
            conversation.assignedAgentID = targetID
            conversation.claimedAt = services.clock.now
            conversation.humanInvolved = true
            return .conversationReassigned
        }
    }

    /// An agent's reply; the intent they confirm or correct becomes a label of the customer
    /// message it answers.
    func agentReply(_ id: UUID, text raw: String, intent: String?, by agent: AgentRecord, idempotencyKey: String?) async throws -> MessageRecord {
        let text = try validatedText(raw)
        let agentID = try agent.requireID()
        if let intent, try await IntentRecord.query(on: db).filter(\.$key == intent).first() == nil {
            throw AppError.invalidField("intent", "no intent '\(intent)' in the knowledge base")
        }
        if let key = idempotencyKey, let existing = try await MessageRecord.query(on: db)
            .filter(\.$conversation.$id == id).filter(\.$idempotencyKey == key).first() {
            return existing
        }
        let (message, predicted) = try await db.writeTransaction { db -> (MessageRecord, String?) in
            let conversation = try await reload(id, on: db)
            guard conversation.status == .assigned, conversation.assignedAgentID == agentID || agent.role >= .supervisor else {
                throw AppError.conflict(conversation.status == .queued ? "Claim the conversation before replying." : "This conversation is not assigned to you.")
            }
            let message = try await append(.agent, text: text, to: conversation, agentID: agentID, idempotencyKey: idempotencyKey, on: db)
            if conversation.firstResponseAt == nil { conversation.firstResponseAt = services.clock.now }
            ServiceLevels.agentReplied(conversation, now: services.clock.now, settings: (try? await services.settings(on: db)) ?? WorkspaceSettings())
            conversation.lastTurnAIAnswer = false
            conversation.unresolvedTurns = 0
            try await conversation.save(on: db)
            var predicted: String?
            if let intent, let customerMessage = try await MessageRecord.query(on: db).filter(\.$conversation.$id == id)
                .filter(\.$role == .customer).sort(\.$seq, .descending).first() {
                let customerMessageID = try customerMessage.requireID()
                predicted = try await DecisionRecord.query(on: db).filter(\.$message.$id == customerMessageID).first()?.intent
                let existingLabel = try await LabelRecord.query(on: db).filter(\.$message.$id == customerMessageID).filter(\.$source == .agentReply).first()
                if let existingLabel {
                    existingLabel.intent = intent
                    try await existingLabel.save(on: db)
                } else {
                    try await LabelRecord(messageID: customerMessageID, conversationID: id, intent: intent, predicted: predicted,
                                          source: .agentReply, agentID: agentID).create(on: db)
                }
            }
            var dtoMessage = MessageDTO(message)
            dtoMessage.agentName = agent.name
            try await EventBus.record(.message, conversationID: id, payload: dtoMessage, on: db)
            try await EmailChannel.queueReply(message, in: conversation, at: services.clock.now, on: db)
            return (message, predicted)
        }
        // The label is evidence for the predicted intent if it is in shadow mode, or held at
        // draft-only by the guardrail (where enough agreeing labels restore it).
        if let predicted, let record = try await IntentRecord.query(on: db).filter(\.$key == predicted).first(), record.shadow || record.guarded {
            let settings = try await services.settings(on: db)
            if record.shadow { try await QualityService.evaluateShadow(intent: predicted, settings: settings, actor: agent.email, on: db) }
            if record.guarded { try await QualityService.evaluate(intent: predicted, settings: settings, actor: agent.email, on: db) }
        }
        services.events.poke()
        return message
    }

    func agentResolve(_ id: UUID, by agent: AgentRecord) async throws -> ConversationRecord {
        let conversation = try await reload(id, on: db)
        guard conversation.status != .resolved else { return conversation }
        guard conversation.assignedAgentID == agent.id || agent.role >= .supervisor || conversation.status == .ai else {
            throw AppError.conflict("This conversation is not assigned to you.")
        }
        return try await resolve(id, by: agent)
    }

    /// Hands the conversation back to the AI.
    func returnToAI(_ id: UUID, by agent: AgentRecord) async throws -> ConversationRecord {
        try await ownedChange(id, by: agent) { conversation in
            conversation.status = .ai
            conversation.assignedAgentID = nil
            conversation.unresolvedTurns = 0
            conversation.lastTurnAIAnswer = false
            return .conversationReturnedToAI
        }
    }

    private func resolve(_ id: UUID, by agent: AgentRecord?) async throws -> ConversationRecord {
        let updated = try await db.writeTransaction { db -> ConversationRecord in
            let conversation = try await reload(id, on: db)
            guard conversation.status != .resolved else { return conversation }
            conversation.status = .resolved
            conversation.resolvedAt = services.clock.now
            let notice = try await append(.system, text: "This conversation is resolved. How did we do? Please rate it from 1 to 5.", to: conversation, on: db)
            try await conversation.save(on: db)
            try await EventBus.record(.message, conversationID: id, payload: MessageDTO(notice), on: db)
            try await EventBus.record(.conversationResolved, conversationID: id, payload: dto(conversation), on: db)
            try await Webhooks.enqueue(event: .conversationResolved, conversation: dto(conversation), at: services.clock.now, on: db)
            return conversation
        }
        services.metrics.resolved(path: updated.humanInvolved ? (updated.aiAnswers > 0 ? .aiThenHuman : .human) : .ai)
        services.events.poke()
        services.assignments.signal()
        return updated
    }

    private func ownedChange(_ id: UUID, by agent: AgentRecord, _ body: @escaping @Sendable (ConversationRecord) throws -> EventKind) async throws -> ConversationRecord {
        let agentID = try agent.requireID()
        let isSupervisor = agent.role >= .supervisor
        return try await change(id) { conversation in
            guard conversation.status == .assigned, conversation.assignedAgentID == agentID || isSupervisor else {
                throw AppError.conflict("This conversation is not assigned to you.")
            }
            return try body(conversation)
        }
    }

    private func change(_ id: UUID, _ body: @escaping @Sendable (ConversationRecord) throws -> EventKind) async throws -> ConversationRecord {
        let updated = try await db.writeTransaction { db -> ConversationRecord in
            let conversation = try await reload(id, on: db)
            let event = try body(conversation)
            try await conversation.save(on: db)
            try await EventBus.record(event, conversationID: id, payload: dto(conversation), on: db)
            return conversation
        }
        services.events.poke()
        services.assignments.signal()  // a release queues it again, and any change may free a place
        return updated
    }

    // MARK: Reading

    func messages(of id: UUID, after seq: Int = 0) async throws -> [MessageRecord] {
        try await MessageRecord.query(on: db).filter(\.$conversation.$id == id).filter(\.$seq > seq).sort(\.$seq).all()
    }

    func agentView(_ id: UUID) async throws -> AgentConversationResponse {
        let conversation = try await reload(id, on: db)
        let messages = try await self.messages(of: id)
        let decisions = try await DecisionRecord.query(on: db).filter(\.$conversation.$id == id).sort(\.$createdAt).all()
        let titles = try await services.intentTitles(on: db)
        let names = try await AgentRecord.names(of: Set(messages.compactMap(\.agentID) + [conversation.assignedAgentID].compactMap { $0 }), on: db)
        let decisionDTOs = decisions.map { DecisionDTO($0, titles: titles) }
        let byMessage = Dictionary(decisions.map { ($0.$message.id, $0) }, uniquingKeysWith: { $1 })
        let turns = messages.map { m -> Assistance.Turn in
            let d = m.id.flatMap { byMessage[$0] }
            return Assistance.Turn(role: m.role, text: m.text, intent: d?.intent, confidence: d?.confidence, rule: d?.rule)
        }
        var suggestions: AgentConversationResponse.Suggestions?
        if let latest = decisionDTOs.last {
            suggestions = .init(intents: latest.alternatives, draft: latest.draft,
                                summary: Assistance.summary(turns: turns, titles: titles, handoffReason: conversation.handoffReason),
                                handoffReason: conversation.handoffReason)
        }
        return AgentConversationResponse(
            conversation: dto(conversation, agents: true), customerEmail: conversation.customerEmail,
            messages: messages.map { m in var d = MessageDTO(m); d.agentName = m.agentID.flatMap { names[$0] }; return d },
            decisions: decisionDTOs, suggestions: suggestions,
            assignedAgentName: conversation.assignedAgentID.flatMap { names[$0] },
            tags: try await ConversationTagRecord.tags(of: id, on: db),
            customerVerified: conversation.customerVerified, customerEmailConfirmed: conversation.customerEmailConfirmed,
            contactKey: Contacts.key(of: conversation))
    }

    /// The human queue as `agent` sees it (their teams' and no team's), most urgent first,
    /// then longest waiting.
    func queue(for agent: AgentRecord) async throws -> [ConversationRecord] {
        let query = ConversationRecord.query(on: db).filter(\.$status == .queued)
        try await ConversationRecord.visible(to: agent, query, on: db)
        return try await query.sort(\.$priority, .descending).sort(\.$queuedAt, .ascending).all()
    }

    /// `agents`: with the service-level fields, which customers never see.
    func dto(_ c: ConversationRecord, agents: Bool = false) -> ConversationDTO {
        let now = services.clock.now
        let waiting = c.status == .queued ? c.queuedAt.map { now.timeIntervalSince($0) } : nil
        let level = ServiceLevels.status(c, now: now, settings: services.cachedSettings)
        var dto = ConversationDTO(id: c.id!, status: c.status, priority: c.priority, customerName: c.customerName, channel: c.channel,
                               assignedAgentID: c.assignedAgentID, queuedAt: c.queuedAt, claimedAt: c.claimedAt, resolvedAt: c.resolvedAt,
                               handoffReason: c.handoffReason, handoffRule: c.handoffRule, rating: c.rating,
                               createdAt: c.createdAt, updatedAt: c.updatedAt, late: waiting.map { _ in level?.breached ?? false }, waitingSeconds: waiting)
        guard agents else { return dto }
        dto.slaBreachedAt = c.slaBreachedAt
        dto.slaBreachKind = c.slaBreachKind
        dto.slaKind = level?.kind
        dto.slaSecondsLeft = level?.secondsLeft
        return dto
    }

    // MARK: Helpers

    private func replay(_ message: MessageRecord, conversation: ConversationRecord) async throws -> PostMessageResponse {
        let id = try conversation.requireID()
        let decision = try await DecisionRecord.query(on: db).filter(\.$message.$id == message.requireID()).first()
        let reply = decision?.action == .answer
            ? try await MessageRecord.query(on: db).filter(\.$conversation.$id == id).filter(\.$seq == message.seq + 1).filter(\.$role == .ai).first()
            : nil
        let fresh = try await reload(id, on: db)
        return PostMessageResponse(message: MessageDTO(message), reply: reply.map(MessageDTO.init), action: decision.map { MessageOutcome($0.action) } ?? .pending,
                                   conversation: dto(fresh), duplicate: true)
    }

    func validatedText(_ raw: String) throws -> String {
        let text = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { throw AppError.invalidField("text", "must not be empty") }
        let limit = services.environment.maxMessageCharacters
        guard text.count <= limit else { throw AppError.tooLarge(limit: limit, what: "The message (\(text.count) characters)") }
        return text
    }

    /// Reads the conversation inside a write transaction. On PostgreSQL the row is locked as
    /// it is read (`FOR UPDATE`) so concurrent messages in one conversation take turns and never
    /// take the same sequence number; SQLite's writers already take turns.
    func reload(_ id: UUID, on db: Database) async throws -> ConversationRecord {
        let found: ConversationRecord? = if let sql = db as? SQLDatabase, sql.dialect.name == "postgresql" {
            // One round trip (Fluent's query builder has no FOR UPDATE).
            try await sql.select().column("*").from(ConversationRecord.schema).where("id", .equal, id).for(.update)
                .first(decodingFluent: ConversationRecord.self).get()
        } else {
            try await ConversationRecord.find(id, on: db)
        }
        guard let found else { throw AppError.notFound("Conversation \(id)") }
        return found
    }

    /// Appends a message with the conversation's next sequence number. `saving: false` when the caller
    /// saves the conversation itself later in the same transaction (one UPDATE, not two).
    private func append(_ role: MessageRole, text: String, to conversation: ConversationRecord, agentID: UUID? = nil,
                        idempotencyKey: String? = nil, saving: Bool = true, on db: Database) async throws -> MessageRecord {
        let message = MessageRecord(conversationID: try conversation.requireID(), seq: conversation.nextSeq, role: role, text: text,
                                    agentID: agentID, idempotencyKey: idempotencyKey)
        conversation.nextSeq += 1
        try await message.create(on: db)
        if saving { try await conversation.save(on: db) }
        return message
    }
}

/// The explanatory part of a decision record, stored as JSON.
struct DecisionDetails: Codable {
    var reasons: [String]
    var signals: MessageSignals
    var alternatives: [AlternativeDTO]
    var neighbours: [NeighbourDTO]

    var json: String { String(decoding: (try? JSONEncoder().encode(self)) ?? Data("{}".utf8), as: UTF8.self) }

    static func decode(_ json: String) -> DecisionDetails? { try? JSONDecoder().decode(DecisionDetails.self, from: Data(json.utf8)) }
}

extension MessageDTO {
    init(_ m: MessageRecord) {
        self.init(id: m.id!, seq: m.seq, role: m.role, text: m.text, createdAt: m.createdAt, agentName: nil)
    }
}

extension DecisionDTO {
    init(_ d: DecisionRecord, titles: [String: String]) {
        let details = DecisionDetails.decode(d.details)
        self.init(id: d.id!, messageID: d.$message.id, action: d.action, rule: d.rule, explanation: d.rule.explanation, reasons: details?.reasons ?? [],
                  modelVersion: d.modelVersion, intent: d.intent, intentTitle: d.intent.flatMap { titles[$0] },
                  confidence: d.confidence, threshold: d.threshold, knownScore: d.knownScore, unknownThreshold: d.unknownThreshold,
                  alternatives: details?.alternatives ?? [], neighbours: details?.neighbours ?? [], draft: d.draft,
                  latencyMilliseconds: d.latencyMilliseconds, createdAt: d.createdAt)
    }
}
