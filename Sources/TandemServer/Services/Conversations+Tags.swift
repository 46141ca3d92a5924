import Fluent
import Foundation

// Agents' tags on conversations. Each change and its `conversation.tagged` event commit
// together, so every console sees it; the event is agent-only (`EventKind.agentOnly`).
extension Conversations {
    /// Adds `raw` (normalised) to the conversation; adding a tag it has changes nothing and
    /// records no event. Returns the conversation's tags.
    func addTag(_ raw: String, to id: UUID, by agent: AgentRecord) async throws -> ConversationTagsDTO {
        let tag = try ConversationTag.normalise(raw)
        let agentID = try agent.requireID()
        let now = services.clock.now
        let result = try await db.writeTransaction { db -> (ConversationTagsDTO, changed: Bool) in
            guard let conversation = try await ConversationRecord.find(id, on: db) else { throw AppError.notFound("Conversation \(id)") }
            let added = try await ConversationTagRecord.add(tag, to: id, by: agentID, at: now, on: db)
            let tags = ConversationTagsDTO(conversationID: id, tags: try await ConversationTagRecord.tags(of: id, on: db))
            if added { try await EventBus.record(.conversationTagged, conversationID: id, payload: tags, on: db) }
            // A waiting conversation follows a tag that routes to a team (people chose it).
            if added, conversation.status == .queued, conversation.assignedAgentID == nil,
               let team = try await Teams.route(intent: conversation.lastIntent, tags: tags.tags, on: db), team != conversation.teamID {
                conversation.teamID = team
                try await conversation.save(on: db)
            }
            return (tags, added)
        }
        if result.changed {
            services.events.poke()
            services.assignments.signal()
        }
        return result.0
    }

    /// Removes the tag spelled `raw` (normalised the same way). Removing one it lacks changes
    /// nothing (another console may have removed it first). Returns the conversation's tags.
    func removeTag(_ raw: String, from id: UUID) async throws -> ConversationTagsDTO {
        let tag = try ConversationTag.normalise(raw)
        let result = try await db.writeTransaction { db -> (ConversationTagsDTO, changed: Bool) in
            guard try await ConversationRecord.find(id, on: db) != nil else { throw AppError.notFound("Conversation \(id)") }
            let removed = try await ConversationTagRecord.remove(tag, from: id, on: db)
            let tags = ConversationTagsDTO(conversationID: id, tags: try await ConversationTagRecord.tags(of: id, on: db))
            if removed { try await EventBus.record(.conversationTagged, conversationID: id, payload: tags, on: db) }
            return (tags, removed)
        }
        if result.changed { services.events.poke() }
        return result.0
    }

    /// List items for agents: each conversation with its tags (one query for all of them).
    func items(_ conversations: [ConversationRecord]) async throws -> [AgentConversationItem] {
        let tags = try await ConversationTagRecord.tags(of: conversations.compactMap(\.id), on: db)
        return conversations.map { AgentConversationItem(conversation: dto($0, agents: true), tags: $0.id.flatMap { tags[$0] } ?? [], teamID: $0.teamID,
                                                          customerVerified: $0.customerVerified, contactKey: Contacts.key(of: $0)) }
    }
}
