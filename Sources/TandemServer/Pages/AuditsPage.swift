import Fluent

/// `/console/audits` (audits.leaf): the review queue of sampled AI answers; audits.js loads
/// and reviews them through the API.
struct AuditsPage: Encodable {
    var title = "Audits"
    var agent: PageAgent
    /// Sampled answers waiting for a verdict.
    var pending: Int

    static func load(agent: AgentRecord, on db: Database) async throws -> AuditsPage {
        AuditsPage(agent: PageAgent(agent), pending: try await AuditRecord.count(.pending, on: db))
    }
}
