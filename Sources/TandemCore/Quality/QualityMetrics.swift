import Foundation

/// One conversation as the insights page sees it; the server fills it from its database.
public struct ConversationRecord: Codable, Sendable, Equatable {
    /// Who handled the conversation.
    public enum Path: String, Codable, Sendable, CaseIterable {
        /// The AI answered and no person took part.
        case aiOnly = "ai-only"
        /// The AI started and handed over to a person.
        case aiThenHuman = "ai-then-human"
        /// A person handled it from the first message.
        case humanOnly = "human-only"

        /// The side the conversation counts for: any human involvement makes it people's.
        public var handler: Handler { self == .aiOnly ? .ai : .people }
    }

    /// The two sides the page compares: conversations with any human involvement count as people's.
    public enum Handler: String, Codable, Sendable, CaseIterable {
        case ai
        case people
    }

    /// Unique per conversation; tells a re-contact apart from the conversation itself.
    public var id: String
    /// Identifies the customer across conversations (for re-contacts).
    public var customerKey: String
    /// The conversation's intent; nil when none was recognised.
    public var intent: String?
    /// When the customer's first message arrived: the day the conversation counts for.
    public var startedAt: Date
    /// nil while unresolved.
    public var resolvedAt: Date?
    /// Who handled it: decides which side of every comparison it counts for.
    public var path: Path
    /// Seconds from the customer's first message to the first reply; nil when nobody replied.
    public var firstResponseSeconds: Double?
    /// The routing rule that handed the conversation to a person, if one did.
    public var handoffReason: RoutingDecision.Rule?
    /// The customer's rating on the 1...5 scale; other values are ignored.
    public var rating: Int?
    /// Messages the AI generated (answers and drafts), each costing `CostModel.aiCostPerMessage`.
    public var aiMessages: Int

    public init(id: String, customerKey: String, intent: String?, startedAt: Date, resolvedAt: Date?, path: Path,
                firstResponseSeconds: Double? = nil, handoffReason: RoutingDecision.Rule? = nil, rating: Int? = nil,
                aiMessages: Int = 0) {
        self.id = id
        self.customerKey = customerKey
        self.intent = intent
        self.startedAt = startedAt
        self.resolvedAt = resolvedAt
        self.path = path
        self.firstResponseSeconds = firstResponseSeconds
        self.handoffReason = handoffReason
        self.rating = rating
        self.aiMessages = aiMessages
    }
}

/// What a conversation costs: every AI message, plus one human contact when people handled it.
public struct CostModel: Codable, Sendable, Hashable {
    /// What one generated AI message (answer or draft) costs.
    public var aiCostPerMessage: Double
    /// What one conversation handled by a person costs, all in.
    public var humanCostPerContact: Double

    public init(aiCostPerMessage: Double, humanCostPerContact: Double) {
        self.aiCostPerMessage = aiCostPerMessage
        self.humanCostPerContact = humanCostPerContact
    }
}

/// Share of one day's conversations the AI handled alone.
public struct DailyAutomation: Codable, Sendable, Equatable {
    /// yyyy-MM-dd in the report's time zone.
    public var day: String
    /// Conversations started that day.
    public var conversations: Int
    /// Of those, handled by the AI alone.
    public var automated: Int
    /// automated / conversations.
    public var share: Double
}

/// How often one routing rule handed a conversation to a person.
public struct HandoffCount: Codable, Sendable, Equatable {
    /// The rule that handed over.
    public var reason: RoutingDecision.Rule
    /// Hand-offs by that rule.
    public var count: Int
    /// Share of all hand-offs with a recorded reason.
    public var share: Double
}

/// Customer ratings of one path, so AI-only and human-handled conversations can be compared.
public struct RatingSummary: Codable, Sendable, Equatable {
    public var path: ConversationRecord.Path
    /// Ratings on the 1...5 scale.
    public var count: Int
    /// nil without ratings.
    public var mean: Double?
    /// Ratings per star, index 0 for 1 star through index 4 for 5 stars.
    public var distribution: [Int]
}

/// p50 and p90 of a sample, by linear interpolation between closest ranks (NumPy's default):
/// for sorted x₀…xₙ₋₁, the q-quantile is at position h = (n−1)·q, between x⌊h⌋ and x⌊h⌋₊₁.
public struct Percentiles: Codable, Sendable, Equatable {
    /// Sample size, so a reader can tell a p90 of 3 values from one of 3,000.
    public var count: Int
    /// nil for an empty sample.
    public var p50: Double?
    public var p90: Double?

    /// Summarises `values` in any order.
    public init(_ values: [Double]) {
        let sorted = values.sorted()
        count = sorted.count
        p50 = Self.quantile(sorted, 0.5)
        p90 = Self.quantile(sorted, 0.9)
    }

    /// The q-quantile of ascending `sorted`; nil when empty.
    public static func quantile(_ sorted: [Double], _ q: Double) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let position = Double(sorted.count - 1) * min(1, max(0, q))
        let below = Int(position.rounded(.down))
        guard below + 1 < sorted.count else { return sorted[below] }
        return sorted[below] + (position - Double(below)) * (sorted[below + 1] - sorted[below])
    }
}

/// First-response and resolution times (seconds) of one side.
public struct TimingSummary: Codable, Sendable, Equatable {
    public var handler: ConversationRecord.Handler
    /// From the customer's first message to the first reply, over conversations with a reply.
    public var firstResponse: Percentiles
    /// From start to resolution, over resolved conversations.
    public var resolution: Percentiles
}

/// What the conversations cost, split by side, and per resolved conversation.
public struct CostSummary: Codable, Sendable, Equatable {
    public var conversations: Int
    public var resolved: Int
    /// AI messages generated (answers and drafts).
    public var aiMessages: Int
    /// Conversations people handled (each one contact).
    public var humanContacts: Int
    /// aiMessages × the AI's cost per message.
    public var aiCost: Double
    /// humanContacts × the cost per human contact.
    public var humanCost: Double
    /// aiCost + humanCost.
    public var totalCost: Double
    /// Everything spent divided by the conversations resolved: unresolved conversations cost
    /// money too, and a cheap channel that resolves little should not look cheap. nil when
    /// nothing was resolved.
    public var costPerResolved: Double?
}

/// Resolved conversations and how many of them the customer had to come back on.
public struct Durability: Codable, Sendable, Equatable {
    /// Resolved conversations whose re-contact window has closed.
    public var resolved: Int
    /// Of those, the customer came back on with the same intent within the window.
    public var recontacted: Int
    /// (resolved − recontacted) / resolved; nil when nothing was resolved.
    public var durableShare: Double?
}

/// Durable resolution overall and per side, so a cheap channel that does not last shows up.
public struct DurableResolution: Codable, Sendable, Equatable {
    /// Days after a resolution in which a re-contact counts against it.
    public var windowDays: Int
    /// Resolved conversations whose window has not closed yet at the report time, left out.
    public var pending: Int
    /// Every evaluated resolution.
    public var overall: Durability
    /// Resolutions by the AI alone.
    public var ai: Durability
    /// Resolutions with human involvement.
    public var people: Durability
}

/// "That didn't help" hand-offs after an AI answer, for one intent.
public struct NotHelpfulCount: Codable, Sendable, Equatable {
    /// nil for conversations without a recognised intent.
    public var intent: String?
    /// Hand-offs by rule `not-helpful`.
    public var notHelpful: Int
    /// All conversations of the intent, for scale.
    public var conversations: Int
}

/// One point the server computed by re-certifying at a target accuracy.
public struct FrontierPoint: Codable, Sendable, Equatable {
    /// 1 − α of the re-certification.
    public var targetAccuracy: Double
    /// Share of conversations the AI may answer at that target, 0...1.
    public var automatedShare: Double

    public init(targetAccuracy: Double, automatedShare: Double) {
        self.targetAccuracy = targetAccuracy
        self.automatedShare = automatedShare
    }
}

/// One point of the cost–quality frontier, in the units the page shows.
public struct FrontierRow: Codable, Sendable, Equatable {
    public var targetAccuracy: Double
    /// Share of conversations the AI may answer at that target, 0...1.
    public var automatedShare: Double
    /// Conversations per day left for people.
    public var humanConversationsPerDay: Double
    /// Cost of 1,000 conversations at that share.
    public var costPerThousand: Double
}

/// Everything the insights page shows, computed from one list of conversations.
public struct InsightsReport: Codable, Sendable, Equatable {
    /// Conversations the report covers; each section is documented on its `QualityMetrics` function.
    public var conversations: Int
    public var automatedByDay: [DailyAutomation]
    public var handoffsByReason: [HandoffCount]
    public var ratings: [RatingSummary]
    public var timings: [TimingSummary]
    public var cost: CostSummary
    public var durableResolution: DurableResolution
    public var notHelpfulByIntent: [NotHelpfulCount]

    /// Computes every section; `asOf` decides which re-contact windows have closed, `timeZone` where days begin.
    public init(records: [ConversationRecord], costs: CostModel, asOf: Date,
                timeZone: TimeZone = QualityMetrics.utc, durableWindowDays: Int = 7) {
        conversations = records.count
        automatedByDay = QualityMetrics.automatedByDay(records, timeZone: timeZone)
        handoffsByReason = QualityMetrics.handoffsByReason(records)
        ratings = QualityMetrics.ratingsByPath(records)
        timings = QualityMetrics.timings(records)
        cost = QualityMetrics.cost(records, costs: costs)
        durableResolution = QualityMetrics.durableResolution(records, windowDays: durableWindowDays, asOf: asOf)
        notHelpfulByIntent = QualityMetrics.notHelpfulByIntent(records)
    }
}

/// The insights page's aggregations: pure functions of the records.
public enum QualityMetrics {
    /// The default time zone for days, so that reports do not depend on the server's setting.
    public static let utc = TimeZone(identifier: "UTC")!
    /// Valid customer ratings; anything else is a client bug and is ignored.
    public static let ratingScale = 1...5

    /// Share of conversations handled by the AI alone, per day of `startedAt` in `timeZone`,
    /// oldest first. Days without conversations are absent.
    public static func automatedByDay(_ records: [ConversationRecord], timeZone: TimeZone = utc) -> [DailyAutomation] {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let byDay = Dictionary(grouping: records) { record in
            let day = calendar.dateComponents([.year, .month, .day], from: record.startedAt)
            return String(format: "%04d-%02d-%02d", day.year!, day.month!, day.day!)
        }
        return byDay.keys.sorted().map { day in
            let members = byDay[day]!
            let automated = members.filter { $0.path == .aiOnly }.count
            return DailyAutomation(day: day, conversations: members.count, automated: automated,
                                   share: Double(automated) / Double(members.count))
        }
    }

    /// Hand-offs per routing rule, most frequent first.
    public static func handoffsByReason(_ records: [ConversationRecord]) -> [HandoffCount] {
        let reasons = records.compactMap(\.handoffReason)
        let counts = Dictionary(grouping: reasons) { $0 }.mapValues(\.count)
        return counts.sorted { ($1.value, $0.key.rawValue) < ($0.value, $1.key.rawValue) }
            .map { HandoffCount(reason: $0.key, count: $0.value, share: Double($0.value) / Double(reasons.count)) }
    }

    /// Ratings per path (every path, even without ratings), ignoring values off the 1...5 scale.
    public static func ratingsByPath(_ records: [ConversationRecord]) -> [RatingSummary] {
        ConversationRecord.Path.allCases.map { path in
            let ratings = records.filter { $0.path == path }.compactMap(\.rating).filter(ratingScale.contains)
            var distribution = [Int](repeating: 0, count: ratingScale.count)
            for rating in ratings { distribution[rating - ratingScale.lowerBound] += 1 }
            let mean = ratings.isEmpty ? nil : Double(ratings.reduce(0, +)) / Double(ratings.count)
            return RatingSummary(path: path, count: ratings.count, mean: mean, distribution: distribution)
        }
    }

    /// First-response and resolution percentiles for the AI and for people.
    public static func timings(_ records: [ConversationRecord]) -> [TimingSummary] {
        ConversationRecord.Handler.allCases.map { handler in
            let members = records.filter { $0.path.handler == handler }
            let resolution = members.compactMap { record in record.resolvedAt.map { $0.timeIntervalSince(record.startedAt) } }
            return TimingSummary(handler: handler, firstResponse: Percentiles(members.compactMap(\.firstResponseSeconds)),
                                 resolution: Percentiles(resolution))
        }
    }

    /// What the conversations cost: AI cost per message × AI messages, plus a human contact for
    /// every conversation people handled.
    public static func cost(_ records: [ConversationRecord], costs: CostModel) -> CostSummary {
        let aiMessages = records.reduce(0) { $0 + $1.aiMessages }
        let humanContacts = records.filter { $0.path.handler == .people }.count
        let resolved = records.filter { $0.resolvedAt != nil }.count
        let aiCost = Double(aiMessages) * costs.aiCostPerMessage
        let humanCost = Double(humanContacts) * costs.humanCostPerContact
        let total = aiCost + humanCost
        return CostSummary(conversations: records.count, resolved: resolved, aiMessages: aiMessages, humanContacts: humanContacts,
                           aiCost: aiCost, humanCost: humanCost, totalCost: total,
                           costPerResolved: resolved == 0 ? nil : total / Double(resolved))
    }

    /// Durable resolution: the share of resolved conversations the same customer did not come
    /// back on, with the same intent, within `windowDays` (24-hour days) after the resolution.
    ///
    /// A resolution that did not last is not a resolution, so re-contacts count against it.
    /// A re-contact is another conversation of the same customer that starts after the
    /// resolution and at most `windowDays` later. An unknown intent on either side matches any
    /// intent: the two cannot be told apart, and counting them as a re-contact errs towards
    /// understating quality rather than overstating it. Conversations resolved less than
    /// `windowDays` before `asOf` are left out (counted as pending): their customers have not
    /// had the whole window to come back, and counting them would flatter recent days.
    public static func durableResolution(_ records: [ConversationRecord], windowDays: Int = 7, asOf: Date) -> DurableResolution {
        precondition(windowDays >= 0, "the re-contact window cannot be negative")
        let window = TimeInterval(windowDays) * 86_400
        let byCustomer = Dictionary(grouping: records, by: \.customerKey)
        var pending = 0
        var evaluated: [(handler: ConversationRecord.Handler, recontacted: Bool)] = []
        for record in records {
            guard let resolvedAt = record.resolvedAt else { continue }
            let end = resolvedAt.addingTimeInterval(window)
            guard end <= asOf else { pending += 1; continue }
            let recontacted = byCustomer[record.customerKey]!.contains { other in
                other.id != record.id && other.startedAt > resolvedAt && other.startedAt <= end
                    && (record.intent == nil || other.intent == nil || record.intent == other.intent)
            }
            evaluated.append((record.path.handler, recontacted))
        }
        func durability(_ handler: ConversationRecord.Handler?) -> Durability {
            let members = evaluated.filter { handler == nil || $0.handler == handler }
            let recontacted = members.filter(\.recontacted).count
            return Durability(resolved: members.count, recontacted: recontacted,
                              durableShare: members.isEmpty ? nil : Double(members.count - recontacted) / Double(members.count))
        }
        return DurableResolution(windowDays: windowDays, pending: pending, overall: durability(nil),
                                 ai: durability(.ai), people: durability(.people))
    }

    /// "That didn't help" hand-offs after an AI answer (rule `not-helpful`) per intent, most
    /// frequent first; intents without any are left out.
    public static func notHelpfulByIntent(_ records: [ConversationRecord]) -> [NotHelpfulCount] {
        let byIntent = Dictionary(grouping: records, by: \.intent)
        return byIntent.compactMap { intent, members -> NotHelpfulCount? in
            let notHelpful = members.filter { $0.handoffReason == .notHelpful }.count
            return notHelpful == 0 ? nil : NotHelpfulCount(intent: intent, notHelpful: notHelpful, conversations: members.count)
        }
        .sorted { ($1.notHelpful, $0.intent ?? "") < ($0.notHelpful, $1.intent ?? "") }
    }

    /// The cost–quality frontier, one row per point in the order given: at each target
    /// accuracy, the conversations per day left for people, (1 − share) × `conversationsPerDay`,
    /// and the cost of 1,000 conversations, where an automated conversation costs
    /// `aiMessagesPerConversation` AI messages and one handed to people costs a human contact.
    /// (The AI's drafts on handed-off conversations are left out: they are not known before the
    /// fact and cost little next to a contact.)
    public static func frontier(_ points: [FrontierPoint], conversationsPerDay: Double, aiMessagesPerConversation: Double,
                                costs: CostModel) -> [FrontierRow] {
        points.map { point in
            precondition((0...1).contains(point.automatedShare), "an automated share must be in 0...1")
            let human = 1 - point.automatedShare
            let perConversation = point.automatedShare * aiMessagesPerConversation * costs.aiCostPerMessage
                + human * costs.humanCostPerContact
            return FrontierRow(targetAccuracy: point.targetAccuracy, automatedShare: point.automatedShare,
                               humanConversationsPerDay: conversationsPerDay * human, costPerThousand: 1000 * perConversation)
        }
    }
}
