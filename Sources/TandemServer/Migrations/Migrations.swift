import Fluent
import SQLKit

// Append-only: each change to the schema is a new migration added at the end of `all`;
// shipped migrations are never edited.

enum Migrations {
    static let all: [any AsyncMigration] = [
        CreateWorkspaces(), CreateIntents(), CreateIntentExamples(), CreateAgents(), CreateAgentTokens(),
        CreateConversations(), CreateMessages(), CreateDecisions(), CreateLabels(), CreateModelVersions(),
        CreateEvents(), CreateJobs(), CreateWebhooks(), CreateIndexes(), CreateQuality(), AddShadowMode(),
        OnePendingTrainingJob(), AgentTokenLastUsed(), IndexEventsByAge(), ConversationOrigin(), OneActiveModelVersion(),
        CreateAuditLog(), AddPrivacyColumns(), MessageHolds(), CreateConversationTags(), CreateNotes(), CreateSnippets(),
        CreateTeams(), CreateSearchIndexes(), IndexMessageHolds(), VerifiedIdentities(), AddServiceLevels(), CreateEmailMessages(),
    ]
}

struct CreateWorkspaces: AsyncMigration {
    var name: String { "001_create_workspaces" }
    func prepare(on db: Database) async throws {
        try await db.schema("workspaces").id()
            .field("name", .string, .required)
            .field("settings", .string, .required)
            .field("created_at", .datetime).field("updated_at", .datetime)
            .create()
    }
    func revert(on db: Database) async throws { try await db.schema("workspaces").delete() }
}

struct CreateIntents: AsyncMigration {
    var name: String { "002_create_intents" }
    func prepare(on db: Database) async throws {
        try await db.schema("intents").id()
            .field("key", .string, .required).unique(on: "key")
            .field("title", .string, .required)
            .field("answer", .string, .required)
            .field("sensitive", .bool, .required)
            .field("automation", .string, .required)
            .field("created_at", .datetime).field("updated_at", .datetime)
            .create()
    }
    func revert(on db: Database) async throws { try await db.schema("intents").delete() }
}

struct CreateIntentExamples: AsyncMigration {
    var name: String { "003_create_intent_examples" }
    func prepare(on db: Database) async throws {
        try await db.schema("intent_examples").id()
            .field("intent_id", .uuid, .required, .references("intents", "id", onDelete: .cascade))
            .field("text", .string, .required)
            .field("created_at", .datetime)
            .create()
    }
    func revert(on db: Database) async throws { try await db.schema("intent_examples").delete() }
}

struct CreateAgents: AsyncMigration {
    var name: String { "004_create_agents" }
    func prepare(on db: Database) async throws {
        try await db.schema("agents").id()
            .field("email", .string, .required).unique(on: "email")
            .field("name", .string, .required)
            .field("role", .string, .required)
            .field("password_hash", .string, .required)
            .field("max_concurrent", .int)
            .field("active", .bool, .required)
            .field("created_at", .datetime)
            .create()
    }
    func revert(on db: Database) async throws { try await db.schema("agents").delete() }
}

struct CreateAgentTokens: AsyncMigration {
    var name: String { "005_create_agent_tokens" }
    func prepare(on db: Database) async throws {
        try await db.schema("agent_tokens").id()
            .field("agent_id", .uuid, .required, .references("agents", "id", onDelete: .cascade))
            .field("token_hash", .string, .required).unique(on: "token_hash")
            .field("expires_at", .datetime, .required)
            .field("created_at", .datetime)
            .create()
    }
    func revert(on db: Database) async throws { try await db.schema("agent_tokens").delete() }
}

struct CreateConversations: AsyncMigration {
    var name: String { "006_create_conversations" }
    func prepare(on db: Database) async throws {
        try await db.schema("conversations").id()
            .field("token_hash", .string, .required).unique(on: "token_hash")
            .field("status", .string, .required)
            .field("priority", .int, .required)
            .field("customer_name", .string)
            .field("customer_email", .string)
            .field("customer_key", .string, .required)
            .field("channel", .string, .required)
            .field("assigned_agent_id", .uuid, .references("agents", "id", onDelete: .setNull))
            .field("queued_at", .datetime)
            .field("claimed_at", .datetime)
            .field("resolved_at", .datetime)
            .field("handoff_reason", .string)
            .field("handoff_rule", .string)
            .field("unresolved_turns", .int, .required)
            .field("last_turn_ai_answer", .bool, .required)
            .field("human_involved", .bool, .required)
            .field("ai_answers", .int, .required)
            .field("first_response_at", .datetime)
            .field("last_intent", .string)
            .field("rating", .int)
            .field("rating_comment", .string)
            .field("next_seq", .int, .required)
            .field("created_at", .datetime).field("updated_at", .datetime)
            .create()
    }
    func revert(on db: Database) async throws { try await db.schema("conversations").delete() }
}

struct CreateMessages: AsyncMigration {
    var name: String { "007_create_messages" }
    func prepare(on db: Database) async throws {
        try await db.schema("messages").id()
            .field("conversation_id", .uuid, .required, .references("conversations", "id", onDelete: .cascade))
            .field("seq", .int, .required)
            .field("role", .string, .required)
            .field("text", .string, .required)
            .field("agent_id", .uuid)
            .field("idempotency_key", .string)
            .field("created_at", .datetime)
            .unique(on: "conversation_id", "seq")
            .unique(on: "conversation_id", "idempotency_key")
            .create()
    }
    func revert(on db: Database) async throws { try await db.schema("messages").delete() }
}

struct CreateDecisions: AsyncMigration {
    var name: String { "008_create_decisions" }
    func prepare(on db: Database) async throws {
        try await db.schema("decisions").id()
            .field("conversation_id", .uuid, .required, .references("conversations", "id", onDelete: .cascade))
            .field("message_id", .uuid, .required, .references("messages", "id", onDelete: .cascade))
            .field("model_version", .string)
            .field("encoder", .string, .required)
            .field("intent", .string)
            .field("confidence", .double)
            .field("threshold", .double)
            .field("known_score", .double)
            .field("unknown_threshold", .double)
            .field("familiarity", .double)
            .field("rule", .string, .required)
            .field("action", .string, .required)
            .field("details", .string, .required)
            .field("draft", .string)
            .field("latency_ms", .double, .required)
            .field("created_at", .datetime)
            .create()
    }
    func revert(on db: Database) async throws { try await db.schema("decisions").delete() }
}

struct CreateLabels: AsyncMigration {
    var name: String { "009_create_labels" }
    func prepare(on db: Database) async throws {
        try await db.schema("labels").id()
            .field("message_id", .uuid, .required, .references("messages", "id", onDelete: .cascade))
            .field("conversation_id", .uuid, .required)
            .field("intent", .string, .required)
            .field("predicted", .string)
            .field("source", .string, .required)
            .field("agent_id", .uuid)
            .field("created_at", .datetime)
            .create()
    }
    func revert(on db: Database) async throws { try await db.schema("labels").delete() }
}

struct CreateModelVersions: AsyncMigration {
    var name: String { "010_create_model_versions" }
    func prepare(on db: Database) async throws {
        try await db.schema("model_versions").id()
            .field("version", .string, .required)
            .field("status", .string, .required)
            .field("manifest", .data)
            .field("weights", .data)
            .field("summary", .string)
            .field("error", .string)
            .field("examples", .int, .required)
            .field("activated_at", .datetime)
            .field("created_at", .datetime)
            .create()
    }
    func revert(on db: Database) async throws { try await db.schema("model_versions").delete() }
}

struct CreateEvents: AsyncMigration {
    var name: String { "011_create_events" }
    func prepare(on db: Database) async throws {
        try await db.schema("events")
            .field("id", .int, .identifier(auto: true))
            .field("conversation_id", .uuid)
            .field("kind", .string, .required)
            .field("payload", .string, .required)
            .field("created_at", .datetime)
            .create()
    }
    func revert(on db: Database) async throws { try await db.schema("events").delete() }
}

struct CreateJobs: AsyncMigration {
    var name: String { "012_create_jobs" }
    func prepare(on db: Database) async throws {
        try await db.schema("jobs").id()
            .field("kind", .string, .required)
            .field("payload", .string, .required)
            .field("status", .string, .required)
            .field("run_at", .datetime, .required)
            .field("attempts", .int, .required)
            .field("locked_by", .string)
            .field("locked_until", .datetime)
            .field("last_error", .string)
            .field("created_at", .datetime)
            .create()
    }
    func revert(on db: Database) async throws { try await db.schema("jobs").delete() }
}

struct CreateWebhooks: AsyncMigration {
    var name: String { "013_create_webhooks" }
    func prepare(on db: Database) async throws {
        try await db.schema("webhooks").id()
            .field("url", .string, .required)
            .field("secret", .string, .required)
            .field("events", .string, .required)
            .field("active", .bool, .required)
            .field("created_at", .datetime)
            .create()
    }
    func revert(on db: Database) async throws { try await db.schema("webhooks").delete() }
}

/// Indexes for the queries that run on every request (queue order, conversation history,
/// the event log, due jobs).
struct CreateIndexes: AsyncMigration {
    var name: String { "014_create_indexes" }
    static let indexes: [(name: String, table: String, columns: [String])] = [
        ("conversations_status_queue", "conversations", ["status", "priority", "queued_at"]),
        ("conversations_agent", "conversations", ["assigned_agent_id", "status"]),
        ("messages_conversation", "messages", ["conversation_id", "seq"]),
        ("decisions_conversation", "decisions", ["conversation_id"]),
        ("events_conversation", "events", ["conversation_id", "id"]),
        ("jobs_due", "jobs", ["status", "run_at"]),
        ("labels_created", "labels", ["created_at"]),
    ]
    func prepare(on db: Database) async throws {
        guard let sql = db as? SQLDatabase else { return }
        for index in Self.indexes {
            var builder = sql.create(index: index.name).on(index.table)
            for column in index.columns { builder = builder.column(column) }
            try await builder.run()
        }
    }
    func revert(on db: Database) async throws {
        guard let sql = db as? SQLDatabase else { return }
        for index in Self.indexes { try await sql.drop(index: index.name).run() }
    }
}

struct CreateQuality: AsyncMigration {
    var name: String { "015_create_audits_and_guardrail" }
    func prepare(on db: Database) async throws {
        try await db.schema("audits").id()
            .field("conversation_id", .uuid, .required, .references("conversations", "id", onDelete: .cascade))
            .field("message_id", .uuid, .required)
            .field("decision_id", .uuid, .required)
            .field("intent", .string, .required)
            .field("status", .string, .required)
            .field("correct", .bool)
            .field("corrected_intent", .string)
            .field("reviewer_id", .uuid)
            .field("sample_rate", .double, .required)
            .field("sample_reason", .string, .required)
            .field("created_at", .datetime)
            .field("reviewed_at", .datetime)
            .unique(on: "decision_id")
            .create()
        try await db.schema("guardrail_events").id()
            .field("intent", .string)
            .field("kind", .string, .required)
            .field("evidence", .string, .required)
            .field("actor", .string)
            .field("created_at", .datetime)
            .create()
        try await db.schema("intents").field("guarded", .bool, .required, .sql(.default(false))).update()
        if let sql = db as? SQLDatabase {
            try await sql.create(index: "audits_status_intent").on("audits").column("status").column("intent").run()
        }
    }
    func revert(on db: Database) async throws {
        try await db.schema("intents").deleteField("guarded").update()
        try await db.schema("guardrail_events").delete()
        try await db.schema("audits").delete()
    }
}

/// New intents start in shadow mode (`QualityService.evaluateShadow`); existing ones do not.
struct AddShadowMode: AsyncMigration {
    var name: String { "016_add_shadow_mode" }
    func prepare(on db: Database) async throws {
        try await db.schema("intents").field("shadow", .bool, .required, .sql(.default(false))).update()
    }
    func revert(on db: Database) async throws {
        try await db.schema("intents").deleteField("shadow").update()
    }
}

/// At most one training job waits at a time, enforced by the database (a partial unique
/// index, on SQLite and PostgreSQL alike): two nodes asking at once cannot queue two runs.
/// Duplicates queued before this migration are folded into the oldest.
struct OnePendingTrainingJob: AsyncMigration {
    var name: String { "017_one_pending_training_job" }
    func prepare(on db: Database) async throws {
        guard let sql = db as? SQLDatabase else { return }
        try await sql.raw("""
            DELETE FROM jobs WHERE kind = 'train' AND status = 'pending'
              AND id <> (SELECT id FROM jobs WHERE kind = 'train' AND status = 'pending' ORDER BY run_at, id LIMIT 1)
            """).run()
        try await sql.raw("CREATE UNIQUE INDEX jobs_one_pending_train ON jobs (kind) WHERE kind = 'train' AND status = 'pending'").run()
    }
    func revert(on db: Database) async throws {
        guard let sql = db as? SQLDatabase else { return }
        try await sql.raw("DROP INDEX jobs_one_pending_train").run()
    }
}

/// Sessions expire after a while unused as well as at their end (`Sessions`).
struct AgentTokenLastUsed: AsyncMigration {
    var name: String { "018_agent_token_last_used" }
    func prepare(on db: Database) async throws {
        try await db.schema("agent_tokens").field("last_used_at", .datetime).update()
        if let sql = db as? SQLDatabase {
            try await sql.create(index: "agent_tokens_expires_at").on("agent_tokens").column("expires_at").run()
        }
    }
    func revert(on db: Database) async throws {
        if let sql = db as? SQLDatabase { try await sql.drop(index: "agent_tokens_expires_at").run() }
        try await db.schema("agent_tokens").deleteField("last_used_at").update()
    }
}

/// Pruning deletes events by age (`EventBus.prune`); this index keeps that a range scan.
struct IndexEventsByAge: AsyncMigration {
    var name: String { "019_index_events_by_age" }
    func prepare(on db: Database) async throws {
        guard let sql = db as? SQLDatabase else { return }
        try await sql.create(index: "events_created").on("events").column("created_at").run()
    }
    func revert(on db: Database) async throws {
        guard let sql = db as? SQLDatabase else { return }
        try await sql.drop(index: "events_created").run()
    }
}

/// The address a conversation came from, as a keyed digest, for the cap on open conversations
/// per address (`Conversations.create`).
struct ConversationOrigin: AsyncMigration {
    var name: String { "020_conversation_origin" }
    func prepare(on db: Database) async throws {
        try await db.schema("conversations").field("origin_key", .string).update()
        if let sql = db as? SQLDatabase {
            try await sql.create(index: "conversations_origin").on("conversations").column("origin_key").column("created_at").run()
        }
    }
    func revert(on db: Database) async throws {
        if let sql = db as? SQLDatabase { try await sql.drop(index: "conversations_origin").run() }
        try await db.schema("conversations").deleteField("origin_key").update()
    }
}

/// At most one active model version, enforced by the database (a partial unique index, as
/// for pending training jobs): before activations took turns, two at once could leave two
/// active. Of any left so, the one activated last stays active.
struct OneActiveModelVersion: AsyncMigration {
    var name: String { "021_one_active_model_version" }
    func prepare(on db: Database) async throws {
        guard let sql = db as? SQLDatabase else { return }
        try await sql.raw("""
            UPDATE model_versions SET status = 'retired' WHERE status = 'active'
              AND id <> (SELECT id FROM model_versions WHERE status = 'active'
                         ORDER BY CASE WHEN activated_at IS NULL THEN 1 ELSE 0 END, activated_at DESC, id LIMIT 1)
            """).run()
        try await sql.raw("CREATE UNIQUE INDEX model_versions_one_active ON model_versions (status) WHERE status = 'active'").run()
    }
    func revert(on db: Database) async throws {
        guard let sql = db as? SQLDatabase else { return }
        try await sql.raw("DROP INDEX model_versions_one_active").run()
    }
}

/// The audit log of admin actions (`AuditLogRecord`). The database itself refuses to change
/// or delete an entry (a trigger on SQLite and PostgreSQL alike), so the log holds even
/// against code that forgets it is append-only.
struct CreateAuditLog: AsyncMigration {
    var name: String { "022_create_audit_log" }
    func prepare(on db: Database) async throws {
        try await db.schema("audit_log")
            .field("id", .int, .identifier(auto: true))
            .field("actor_id", .uuid)
            .field("actor", .string, .required)
            .field("action", .string, .required)
            .field("target", .string, .required)
            .field("before", .string)
            .field("after", .string)
            .field("created_at", .datetime)
            .create()
        guard let sql = db as? SQLDatabase else { return }
        try await sql.create(index: "audit_log_actor").on("audit_log").column("actor").column("id").run()
        try await sql.create(index: "audit_log_action").on("audit_log").column("action").column("id").run()
        if sql.dialect.name == "postgresql" {
            try await sql.raw("""
                CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS
                'BEGIN RAISE EXCEPTION ''the audit log is append-only''; END'
                """).run()
            try await sql.raw("""
                CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
                FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()
                """).run()
        } else {
            for event in ["UPDATE", "DELETE"] {
                try await sql.raw("""
                    CREATE TRIGGER audit_log_no_\(unsafeRaw: event.lowercased()) BEFORE \(unsafeRaw: event) ON audit_log
                    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END
                    """).run()
            }
        }
    }
    func revert(on db: Database) async throws {
        try await db.schema("audit_log").delete()
        if let sql = db as? SQLDatabase, sql.dialect.name == "postgresql" {
            try await sql.raw("DROP FUNCTION IF EXISTS audit_log_append_only()").run()
        }
    }
}

/// Erasure and retention (`Privacy`): conversations remember when the retention policy
/// anonymised them (so it does each once), model versions count the redactions of their
/// example texts (so every node reloads a redacted model), customer keys are looked up by
/// key and old conversations by age, and the server's generated secret lives in its own table.
struct AddPrivacyColumns: AsyncMigration {
    var name: String { "023_add_privacy_columns" }
    func prepare(on db: Database) async throws {
        try await db.schema("conversations").field("anonymised_at", .datetime).update()
        try await db.schema("model_versions").field("revision", .int).update()
        try await db.schema("server_secrets").id()
            .field("name", .string, .required).unique(on: "name")
            .field("value", .string, .required)
            .field("created_at", .datetime)
            .create()
        guard let sql = db as? SQLDatabase else { return }
        try await sql.create(index: "conversations_customer_key").on("conversations").column("customer_key").run()
        try await sql.create(index: "conversations_updated").on("conversations").column("updated_at").run()
    }
    func revert(on db: Database) async throws {
        if let sql = db as? SQLDatabase {
            try await sql.drop(index: "conversations_updated").run()
            try await sql.drop(index: "conversations_customer_key").run()
        }
        try await db.schema("server_secrets").delete()
        try await db.schema("model_versions").deleteField("revision").update()
        try await db.schema("conversations").deleteField("anonymised_at").update()
    }
}

/// Bursts (`Turns`): a customer message can wait for the rest of its burst; every node's
/// sweeper finds the holds that are due by this index.
struct MessageHolds: AsyncMigration {
    var name: String { "024_message_holds" }
    func prepare(on db: Database) async throws {
        try await db.schema("messages").field("held_until", .datetime).update()
        guard let sql = db as? SQLDatabase else { return }
        try await sql.create(index: "messages_held_until").on("messages").column("held_until").run()
    }
    func revert(on db: Database) async throws {
        if let sql = db as? SQLDatabase { try await sql.drop(index: "messages_held_until").run() }
        try await db.schema("messages").deleteField("held_until").update()
    }
}

/// Agents' tags on conversations (`ConversationTagRecord`). Unique per conversation so adding
/// twice is one row even from two nodes at once; the index on `tag` serves the list's tag
/// filter and the counts. Tags go with their conversation (erasure deletes them explicitly too).
struct CreateConversationTags: AsyncMigration {
    var name: String { "025_conversation_tags" }
    func prepare(on db: Database) async throws {
        try await db.schema("conversation_tags").id()
            .field("conversation_id", .uuid, .required, .references("conversations", "id", onDelete: .cascade))
            .field("tag", .string, .required)
            .field("agent_id", .uuid, .references("agents", "id", onDelete: .setNull))
            .field("created_at", .datetime)
            .unique(on: "conversation_id", "tag")
            .create()
        guard let sql = db as? SQLDatabase else { return }
        try await sql.create(index: "conversation_tags_tag").on("conversation_tags").column("tag").run()
    }
    func revert(on db: Database) async throws {
        if let sql = db as? SQLDatabase { try await sql.drop(index: "conversation_tags_tag").run() }
        try await db.schema("conversation_tags").delete()
    }
}

/// Private notes on conversations and the agents they mention (`Notes`).
struct CreateNotes: AsyncMigration {
    var name: String { "026_notes" }
    func prepare(on db: Database) async throws {
        try await db.schema("notes").id()
            .field("conversation_id", .uuid, .required, .references("conversations", "id", onDelete: .cascade))
            .field("agent_id", .uuid, .required, .references("agents", "id"))
            .field("text", .string, .required)
            .field("created_at", .datetime)
            .create()
        try await db.schema("mentions").id()
            .field("note_id", .uuid, .required, .references("notes", "id", onDelete: .cascade))
            .field("conversation_id", .uuid, .required, .references("conversations", "id", onDelete: .cascade))
            .field("agent_id", .uuid, .required, .references("agents", "id"))
            .field("read_at", .datetime)
            .field("created_at", .datetime)
            .unique(on: "note_id", "agent_id")
            .create()
        guard let sql = db as? SQLDatabase else { return }
        try await sql.create(index: "notes_conversation").on("notes").column("conversation_id").run()
        try await sql.create(index: "mentions_agent").on("mentions").column("agent_id").column("read_at").run()
    }
    func revert(on db: Database) async throws {
        try await db.schema("mentions").delete()
        try await db.schema("notes").delete()
    }
}

/// The team's canned replies (`CannedReplies`).
struct CreateSnippets: AsyncMigration {
    var name: String { "027_snippets" }
    func prepare(on db: Database) async throws {
        try await db.schema("snippets").id()
            .field("title", .string, .required).unique(on: "title")
            .field("text", .string, .required)
            .field("agent_id", .uuid, .required, .references("agents", "id"))
            .field("created_at", .datetime)
            .field("updated_at", .datetime)
            .create()
    }
    func revert(on db: Database) async throws {
        try await db.schema("snippets").delete()
    }
}

/// Teams, their members and what routes to them; the team a conversation is routed to; the
/// agents' presence (`Assignment`). The queue index serves the automatic assignment's scan.
struct CreateTeams: AsyncMigration {
    var name: String { "028_teams" }
    func prepare(on db: Database) async throws {
        try await db.schema("teams").id()
            .field("name", .string, .required).unique(on: "name")
            .field("created_at", .datetime)
            .create()
        try await db.schema("team_members").id()
            .field("team_id", .uuid, .required, .references("teams", "id", onDelete: .cascade))
            .field("agent_id", .uuid, .required, .references("agents", "id", onDelete: .cascade))
            .unique(on: "team_id", "agent_id")
            .create()
        try await db.schema("team_routes").id()
            .field("team_id", .uuid, .required, .references("teams", "id", onDelete: .cascade))
            .field("kind", .string, .required)
            .field("key", .string, .required)
            .unique(on: "kind", "key")
            .create()
        try await db.schema("conversations").field("team_id", .uuid).update()
        try await db.schema("agents")
            .field("presence", .string, .required, .sql(.default("offline")))
            .update()
        try await db.schema("agents").field("presence_at", .datetime).update()
    }
    func revert(on db: Database) async throws {
        try await db.schema("agents").deleteField("presence_at").update()
        try await db.schema("agents").deleteField("presence").update()
        try await db.schema("conversations").deleteField("team_id").update()
        try await db.schema("team_routes").delete()
        try await db.schema("team_members").delete()
        try await db.schema("teams").delete()
    }
}

/// Full-text search over messages and notes (`Search`). SQLite: FTS5 tables that index the
/// texts of `messages` and `notes` by rowid (external content), kept in step by triggers, so
/// retention's anonymising and erasure's deleting reach the index in the same transaction.
/// (A VACUUM may renumber rowids; Tandem never runs one, and after a manual one
/// `INSERT INTO messages_fts(messages_fts) VALUES('rebuild')` makes the index whole again.)
/// PostgreSQL: GIN indexes on the texts' English tsvectors, which the database keeps itself.
struct CreateSearchIndexes: AsyncMigration {
    var name: String { "029_search" }
    static let tables = ["messages", "notes"]

    func prepare(on db: Database) async throws {
        guard let sql = db as? SQLDatabase else { return }
        for table in Self.tables {
            if sql.dialect.name == "postgresql" {
                try await sql.raw("CREATE INDEX \(ident: table + "_search") ON \(ident: table) USING GIN (to_tsvector('english', text))").run()
                continue
            }
            let fts = table + "_fts"
            try await sql.raw("CREATE VIRTUAL TABLE \(ident: fts) USING fts5(text, content=\(literal: table), content_rowid='rowid', tokenize='porter unicode61')").run()
            try await sql.raw("""
                CREATE TRIGGER \(ident: table + "_fts_insert") AFTER INSERT ON \(ident: table) BEGIN
                  INSERT INTO \(ident: fts)(rowid, text) VALUES (new.rowid, new.text);
                END
                """).run()
            try await sql.raw("""
                CREATE TRIGGER \(ident: table + "_fts_delete") AFTER DELETE ON \(ident: table) BEGIN
                  INSERT INTO \(ident: fts)(\(ident: fts), rowid, text) VALUES ('delete', old.rowid, old.text);
                END
                """).run()
            try await sql.raw("""
                CREATE TRIGGER \(ident: table + "_fts_update") AFTER UPDATE OF text ON \(ident: table) BEGIN
                  INSERT INTO \(ident: fts)(\(ident: fts), rowid, text) VALUES ('delete', old.rowid, old.text);
                  INSERT INTO \(ident: fts)(rowid, text) VALUES (new.rowid, new.text);
                END
                """).run()
            try await sql.raw("INSERT INTO \(ident: fts)(\(ident: fts)) VALUES ('rebuild')").run()
        }
    }

    func revert(on db: Database) async throws {
        guard let sql = db as? SQLDatabase else { return }
        for table in Self.tables {
            if sql.dialect.name == "postgresql" {
                try await sql.raw("DROP INDEX IF EXISTS \(ident: table + "_search")").run()
                continue
            }
            for trigger in ["_fts_insert", "_fts_delete", "_fts_update"] { try await sql.raw("DROP TRIGGER IF EXISTS \(ident: table + trigger)").run() }
            try await sql.raw("DROP TABLE IF EXISTS \(ident: table + "_fts")").run()
        }
    }
}

/// The hold sweeper reads the messages waiting for their burst on every node (`sweepHolds`):
/// a partial index holds only those, so the read stays small however many messages there are.
struct IndexMessageHolds: AsyncMigration {
    var name: String { "033_index_message_holds" }
    func prepare(on db: Database) async throws {
        guard let sql = db as? SQLDatabase else { return }
        try await sql.raw("CREATE INDEX messages_held ON messages (held_until) WHERE held_until IS NOT NULL").run()
    }
    func revert(on db: Database) async throws {
        guard let sql = db as? SQLDatabase else { return }
        try await sql.raw("DROP INDEX IF EXISTS messages_held").run()
    }
}

/// Verified customers (`IdentityVerification`): whether the host site signed the customer's
/// identity (their `customer_key` is then derived from the verified user id), and whether the
/// e-mail is confirmed (inbound mail; a chat-typed e-mail never is). The contact page joins
/// conversations only on these.
struct VerifiedIdentities: AsyncMigration {
    var name: String { "032_verified_identities" }
    func prepare(on db: Database) async throws {
        try await db.schema("conversations").field("customer_verified", .bool, .required, .sql(.default(false))).update()
        try await db.schema("conversations").field("customer_email_confirmed", .bool, .required, .sql(.default(false))).update()
    }
    func revert(on db: Database) async throws {
        try await db.schema("conversations").deleteField("customer_email_confirmed").update()
        try await db.schema("conversations").deleteField("customer_verified").update()
    }
}

/// Service levels (`ServiceLevels`): when the customer began waiting for a person's reply, a
/// person's first reply, next replies answered (and within target), the breach (flagged once).
struct AddServiceLevels: AsyncMigration {
    var name: String { "030_sla" }
    static let dates = ["sla_waiting_since", "first_agent_reply_at", "sla_breached_at"]
    func prepare(on db: Database) async throws {
        // One column per statement: SQLite adds one at a time.
        for column in Self.dates { try await db.schema("conversations").field(.string(column), .datetime).update() }
        try await db.schema("conversations").field("sla_breach_kind", .string).update()
        try await db.schema("conversations").field("next_replies", .int, .required, .sql(.default(0))).update()
        try await db.schema("conversations").field("next_replies_met", .int, .required, .sql(.default(0))).update()
        guard let sql = db as? SQLDatabase else { return }
        try await sql.create(index: "conversations_sla_waiting").on("conversations").column("sla_waiting_since").run()
    }
    func revert(on db: Database) async throws {
        if let sql = db as? SQLDatabase { try await sql.drop(index: "conversations_sla_waiting").run() }
        for column in Self.dates + ["sla_breach_kind", "next_replies", "next_replies_met"] {
            try await db.schema("conversations").deleteField(.string(column)).update()
        }
    }
}

/// E-mails by Message-ID (`EmailChannel`): unique, so a message delivered twice is stored once.
struct CreateEmailMessages: AsyncMigration {
    var name: String { "031_email" }
    func prepare(on db: Database) async throws {
        try await db.schema("email_messages").id()
            .field("conversation_id", .uuid, .required, .references("conversations", "id", onDelete: .cascade))
            .field("message_id", .string, .required).unique(on: "message_id")
            .field("direction", .string, .required)
            .field("subject", .string, .required)
            .field("created_at", .datetime)
            .create()
        guard let sql = db as? SQLDatabase else { return }
        try await sql.create(index: "email_messages_conversation").on("email_messages").column("conversation_id").run()
    }
    func revert(on db: Database) async throws { try await db.schema("email_messages").delete() }
}
