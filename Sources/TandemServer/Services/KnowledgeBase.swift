import Fluent
import Foundation
import TandemCore
import TandemOffline
import Vapor

/// The knowledge base as a document, for import and export (JSON, or CSV with one row per
/// example phrasing) and for the demo workspace.
struct KnowledgeBaseDocument: Codable, Sendable {
    struct Intent: Codable, Sendable, Equatable {
        var key: String
        var title: String
        var answer: String
        var sensitive: Bool
        var automation: String
        var examples: [String]

        init(key: String, title: String, answer: String, sensitive: Bool, automation: String, examples: [String]) {
            self.key = key; self.title = title; self.answer = answer
            self.sensitive = sensitive; self.automation = automation; self.examples = examples
        }

        /// The automation mode (validated by `problems`; draft-only is the safe reading otherwise).
        var mode: AutomationMode { AutomationMode(rawValue: automation) ?? .draftOnly }

        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            key = try c.decode(String.self, forKey: .key)
            title = try c.decode(String.self, forKey: .title)
            answer = try c.decode(String.self, forKey: .answer)
            sensitive = try c.decodeIfPresent(Bool.self, forKey: .sensitive) ?? false
            automation = try c.decodeIfPresent(String.self, forKey: .automation) ?? (sensitive ? AutomationMode.draftOnly.rawValue : AutomationMode.auto.rawValue)
            examples = try c.decodeIfPresent([String].self, forKey: .examples) ?? []
        }
    }

    var name: String?
    var description: String?
    var settings: WorkspaceSettings?
    var intents: [Intent]

    static let csvHeader = ["key", "title", "answer", "sensitive", "automation", "example"]

    /// Parses the CSV form; errors name the line.
    init(csv text: String) throws {
        let table: CSVTable
        do { table = try CSVTable(parsing: text) } catch let error as CSVTable.ParseError {
            throw AppError.invalidField("body", "CSV: \(error)")
        }
        for column in Self.csvHeader where !table.header.contains(column) {
            throw AppError.invalidField("body", "CSV: no column '\(column)' (the header must be \(Self.csvHeader.joined(separator: ",")))")
        }
        let index = Dictionary(uniqueKeysWithValues: table.header.enumerated().map { ($1, $0) })
        var order: [String] = []
        var byKey: [String: Intent] = [:]
        for (row, line) in zip(table.rows, table.lineNumbers) {
            func field(_ name: String) -> String { row[index[name]!].trimmingCharacters(in: .whitespacesAndNewlines) }
            let key = field("key")
            guard Self.isValidKey(key) else {
                throw AppError.invalidField("body", "CSV line \(line): key '\(key)' must be 1–64 lower-case letters, digits or _")
            }
            let sensitiveText = field("sensitive").lowercased()
            guard ["true", "false", "1", "0", "yes", "no", ""].contains(sensitiveText) else {
                throw AppError.invalidField("body", "CSV line \(line): sensitive must be true or false, got '\(field("sensitive"))'")
            }
            let sensitive = ["true", "1", "yes"].contains(sensitiveText)
            if byKey[key] == nil {
                order.append(key)
                byKey[key] = Intent(key: key, title: field("title"), answer: field("answer"), sensitive: sensitive,
                                    automation: field("automation").isEmpty ? (sensitive ? "draft-only" : "auto") : field("automation"), examples: [])
            }
            let example = field("example")
            if !example.isEmpty { byKey[key]!.examples.append(example) }
        }
        intents = order.map { byKey[$0]! }
    }

    init(name: String?, description: String?, settings: WorkspaceSettings?, intents: [Intent]) {
        self.name = name
        self.description = description
        self.settings = settings
        self.intents = intents
    }

    var csv: String {
        var rows: [[String]] = []
        for intent in intents {
            let fields = [intent.key, intent.title, intent.answer, intent.sensitive ? "true" : "false", intent.automation]
            if intent.examples.isEmpty { rows.append(fields + [""]) }
            for example in intent.examples { rows.append(fields + [example]) }
        }
        return CSVTable(header: Self.csvHeader, rows: rows).rendered()
    }

    /// Every problem, naming the intent and field, so a bad file is fixed in one go.
    func problems(maxExample: Int) -> [String] {
        var problems: [String] = []
        var seen = Set<String>()
        for (i, intent) in intents.enumerated() {
            let name = intent.key.isEmpty ? "intents[\(i)]" : "intent '\(intent.key)'"
            if !Self.isValidKey(intent.key) { problems.append("\(name): key must be 1–64 lower-case letters, digits or _") }
            if !seen.insert(intent.key).inserted { problems.append("\(name): the key appears twice") }
            if intent.title.trimmingCharacters(in: .whitespaces).isEmpty || intent.title.count > 200 { problems.append("\(name): title must be 1–200 characters") }
            if intent.answer.trimmingCharacters(in: .whitespaces).isEmpty || intent.answer.count > 4000 { problems.append("\(name): answer must be 1–4000 characters") }
            if AutomationMode(rawValue: intent.automation) == nil { problems.append("\(name): automation must be auto, draft-only or off") }
            for (j, example) in intent.examples.enumerated() where example.trimmingCharacters(in: .whitespaces).isEmpty || example.count > maxExample {
                problems.append("\(name): examples[\(j)] must be 1–\(maxExample) characters")
            }
        }
        return problems
    }

    static func isValidKey(_ key: String) -> Bool {
        !key.isEmpty && key.count <= 64 && key.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
    }

    /// Adds or updates the intents (by key) and adds example phrasings not already present.
    /// All or nothing. Intents added to a running workspace start in shadow mode
    /// (`newIntentsInShadow`); a workspace's first seeding does not, as its model is certified on them.
    func apply(to db: Database, maxExample: Int, newIntentsInShadow: Bool = false) async throws -> (created: Int, updated: Int, examples: Int) {
        let problems = problems(maxExample: maxExample)
        guard problems.isEmpty else { throw AppError.invalidField("intents", problems.prefix(20).joined(separator: "; ")) }
        return try await db.writeTransaction { db in
            var created = 0, updated = 0, added = 0
            for intent in intents {
                let record: IntentRecord
                if let existing = try await IntentRecord.query(on: db).filter(\.$key == intent.key).first() {
                    existing.title = intent.title
                    existing.answer = intent.answer
                    existing.sensitive = intent.sensitive
                    existing.automation = intent.mode
                    try await existing.save(on: db)
                    record = existing
                    updated += 1
                } else {
                    record = IntentRecord(key: intent.key, title: intent.title, answer: intent.answer, sensitive: intent.sensitive,
                                          automation: intent.mode)
                    record.shadow = newIntentsInShadow
                    try await record.create(on: db)
                    created += 1
                }
                let id = try record.requireID()
                var existing = Set(try await ExampleRecord.query(on: db).filter(\.$intent.$id == id).all().map(\.text))
                for example in intent.examples {
                    let text = example.trimmingCharacters(in: .whitespacesAndNewlines)
                    guard existing.insert(text).inserted else { continue }
                    try await ExampleRecord(intentID: id, text: text).create(on: db)
                    added += 1
                }
            }
            return (created, updated, added)
        }
    }

    static func export(from db: Database) async throws -> KnowledgeBaseDocument {
        let intents = try await IntentRecord.query(on: db).with(\.$examples).sort(\.$key).all()
        return KnowledgeBaseDocument(name: nil, description: nil, settings: nil, intents: intents.map { intent in
            Intent(key: intent.key, title: intent.title, answer: intent.answer, sensitive: intent.sensitive, automation: intent.automation.rawValue,
                   examples: intent.examples.sorted { ($0.createdAt ?? .distantPast, $0.text) < ($1.createdAt ?? .distantPast, $1.text) }.map(\.text))
        })
    }
}

/// The embedded demo: a fictional pay-later company's help centre, and three demo logins.
enum DemoWorkspace {
    static var document: KnowledgeBaseDocument {
        get throws {
            let url = try resourcesDirectory().appendingPathComponent("Demo/workspace.json")
            return try JSONDecoder().decode(KnowledgeBaseDocument.self, from: Data(contentsOf: url))
        }
    }

    static let agents: [(email: String, name: String, role: AgentRole)] = [
        ("agent@demo.tandem", "Alex Agent", .agent),
        ("supervisor@demo.tandem", "Sam Supervisor", .supervisor),
        ("admin@demo.tandem", "Ada Admin", .admin),
    ]

    /// Loads the demo into an empty database. Returns false when there was already data.
    static func loadIfEmpty(on db: Database, password: String, maxExample: Int, hash: (String) throws -> String) async throws -> Bool {
        guard try await IntentRecord.query(on: db).count() == 0, try await AgentRecord.query(on: db).count() == 0 else { return false }
        let document = try document
        _ = try await document.apply(to: db, maxExample: maxExample)
        let workspace = try await WorkspaceRecord.query(on: db).first() ?? WorkspaceRecord(name: "Tandem", settings: WorkspaceSettings())
        workspace.name = document.name ?? "Demo"
        if let settings = document.settings { workspace.store(settings) }
        try await workspace.save(on: db)
        for agent in agents {
            try await AgentRecord(email: agent.email, name: agent.name, role: agent.role, passwordHash: try hash(password)).create(on: db)
        }
        return true
    }

    /// On a server others can reach, demo accounts that still have the published password (a
    /// database first used by `make run`, say) are deactivated and their sessions ended; an
    /// admin can reactivate them after resetting the password. Returns how many.
    @discardableResult
    static func lockPublishedPasswords(on db: Database, verify: (String, String) throws -> Bool, logger: Logger) async throws -> Int {
        var locked = 0
        for account in agents {
            guard let agent = try await AgentRecord.find(email: account.email, on: db), agent.active,
                  (try? verify(TandemEnvironment.documentedDemoPassword, agent.passwordHash)) == true else { continue }
            agent.active = false
            try await agent.save(on: db)
            try await AgentTokenRecord.query(on: db).filter(\.$agent.$id == agent.requireID()).delete()
            locked += 1
            logger.warning("deactivated \(account.email): it has the published demo password and this server is not on loopback")
        }
        return locked
    }
}
