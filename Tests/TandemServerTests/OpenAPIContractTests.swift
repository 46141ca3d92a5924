import Foundation
import TandemCore
import Testing
@testable import TandemServer

private let conversationID = "6F9619FF-8B86-D011-B42D-00C04FC964FF"
private let messageID = "0B6A2E43-3C4D-4F1B-9A0E-6E5C2D1F7A11"
/// Parsed once: decoding the 128 kB spec is the slow part, and the contract is immutable.
private let realSpec = Result<OpenAPIContract, Error>.success(Contract.document)

/// A valid createConversation 201 body; `conversation` and `message` replace parts of it.
private func createdConversation(conversation: String? = nil, message: String? = nil) -> Data {
    let conversation = conversation ?? #"{"id": "\#(conversationID)", "status": "ai", "priority": 0, "channel": "web", "createdAt": "2025-01-02T03:04:05Z", "late": false, "waitingSeconds": 1.5}"#
    let message = message ?? #"{"id": "\#(messageID)", "seq": 2, "role": "ai", "text": "How can I help?", "createdAt": "2025-01-02T03:04:05.123Z"}"#
    return Data(#"{"conversation": \#(conversation), "token": "t0k3n", "messages": [{"id": "\#(messageID)", "seq": 1, "role": "system", "text": "Hi"}, \#(message)]}"#.utf8)
}

private func conversation(_ fields: String) -> String {
    #"{"id": "\#(conversationID)", "status": "ai", "priority": 0, "channel": "web"\#(fields)}"#
}

/// The contract check itself must be able to fail: each rule on the real document and on small ones.
@Suite("API contract check") struct RealSpecTests {
    let contract: OpenAPIContract

    init() throws {
        contract = try realSpec.get()
    }

    private func createConversation(_ body: Data, status: Int = 201, contentType: String? = "application/json; charset=utf-8") -> [String] {
        contract.violations(method: "POST", path: "/api/v1/conversations", status: status, contentType: contentType, body: body)
    }

    @Test func conformingBodyHasNoViolations() {
        #expect(createConversation(createdConversation()) == [])
        // Query strings and lower-case methods do not matter.
        #expect(contract.violations(method: "post", path: "/api/v1/conversations?channel=web", status: 201,
                                    contentType: "application/json", body: createdConversation()) == [])
    }

    @Test func missingRequiredProperty() {
        let body = createdConversation(conversation: #"{"status": "ai", "priority": 0, "channel": "web"}"#)
        #expect(createConversation(body) == [#"POST /api/v1/conversations 201: $.conversation: missing required property "id""#])
    }

    @Test func wrongTypes() {
        #expect(createConversation(createdConversation(conversation: conversation(#", "customerName": 7"#))) ==
            [#"POST /api/v1/conversations 201: $.conversation.customerName: expected string, got number 7"#])
        #expect(createConversation(createdConversation(conversation: #"{"id": "\#(conversationID)", "status": "ai", "priority": "1", "channel": "web"}"#)) ==
            [#"POST /api/v1/conversations 201: $.conversation.priority: expected integer, got string "1""#])
        // Integers have no fractional part; booleans are not numbers and numbers are not booleans.
        #expect(createConversation(createdConversation(conversation: #"{"id": "\#(conversationID)", "status": "ai", "priority": 0.5, "channel": "web"}"#)) ==
            ["POST /api/v1/conversations 201: $.conversation.priority: expected integer, got number 0.5"])
        #expect(createConversation(createdConversation(conversation: #"{"id": "\#(conversationID)", "status": "ai", "priority": true, "channel": "web"}"#)) ==
            ["POST /api/v1/conversations 201: $.conversation.priority: expected integer, got boolean true"])
        #expect(createConversation(createdConversation(conversation: conversation(#", "late": 1"#))) ==
            ["POST /api/v1/conversations 201: $.conversation.late: expected boolean, got number 1"])
        #expect(createConversation(Data(#"{"conversation": [], "token": "t", "messages": {}}"#.utf8)) == [
            "POST /api/v1/conversations 201: $.conversation: expected object, got array of 0 items",
            "POST /api/v1/conversations 201: $.messages: expected array, got object with 0 properties",
        ])
    }

    @Test func enumValueNotAllowed() {
        let body = createdConversation(conversation: #"{"id": "\#(conversationID)", "status": "waiting", "priority": 0, "channel": "web"}"#)
        #expect(createConversation(body) ==
            [#"POST /api/v1/conversations 201: $.conversation.status: "waiting" is not one of [ai, queued, assigned, resolved]"#])
        let message = #"{"id": "\#(messageID)", "seq": 2, "role": "bot", "text": "?"}"#
        #expect(createConversation(createdConversation(message: message)) ==
            [#"POST /api/v1/conversations 201: $.messages[1].role: "bot" is not one of [customer, ai, agent, system]"#])
    }

    @Test func unknownPropertyWhereAdditionalPropertiesIsFalse() {
        #expect(createConversation(createdConversation(conversation: conversation(#", "colour": "red""#))) ==
            [#"POST /api/v1/conversations 201: $.conversation: unknown property "colour" (additionalProperties is false)"#])
    }

    @Test func nullOnlyWhereNullable() {
        #expect(createConversation(createdConversation(conversation: conversation(#", "rating": null"#))) ==
            ["POST /api/v1/conversations 201: $.conversation.rating: null is not allowed (not nullable)"])
        let insights = Data(#"{"conversations": 3, "resolved": 1, "audits": 0, "currency": "GBP", "handoffsByReason": {}, "automatedShare": null, "auditedAccuracyInterval": null, "ratingsByPath": {"ai-only": {"count": 2, "average": null}}}"#.utf8)
        #expect(contract.violations(method: "GET", path: "/api/v1/insights", status: 200, contentType: "application/json", body: insights) == [])
        let badInsights = Data(#"{"conversations": null, "resolved": 1, "audits": 0, "currency": "GBP", "handoffsByReason": {}, "ratingsByPath": {"ai-only": {"count": "2"}}}"#.utf8)
        #expect(contract.violations(method: "GET", path: "/api/v1/insights", status: 200, contentType: "application/json", body: badInsights) == [
            "GET /api/v1/insights 200: $.conversations: null is not allowed (not nullable)",
            #"GET /api/v1/insights 200: $.ratingsByPath.ai-only.count: expected integer, got string "2""#,
        ])
    }

    @Test func formatsAndBounds() {
        #expect(createConversation(createdConversation(conversation: conversation(#", "rating": 6, "queuedAt": "yesterday", "assignedAgentID": "42""#))) == [
            #"POST /api/v1/conversations 201: $.conversation.assignedAgentID: "42" is not a UUID"#,
            #"POST /api/v1/conversations 201: $.conversation.queuedAt: "yesterday" is not an ISO 8601 date-time"#,
            "POST /api/v1/conversations 201: $.conversation.rating: 6 is above the maximum 5",
        ])
        let workspace = { (risk: String, name: String) in
            Data(#"{"name": "\#(name)", "settings": {"targetRisk": \#(risk), "slaSeconds": 120}}"#.utf8)
        }
        #expect(contract.violations(method: "GET", path: "/api/v1/workspace", status: 200, contentType: "application/json",
                                    body: workspace("0.01", "Acme")) == [])
        #expect(contract.violations(method: "GET", path: "/api/v1/workspace", status: 200, contentType: "application/json",
                                    body: workspace("0", "")) == [
            #"GET /api/v1/workspace 200: $.name: "" is shorter than minLength 1"#,
            "GET /api/v1/workspace 200: $.settings.targetRisk: 0 is below the exclusive minimum 0",
        ])
    }

    @Test func sharedErrorSchema() {
        let valid = Data(#"{"error": {"code": "invalid_field", "message": "Use a shorter name.", "field": "name"}}"#.utf8)
        #expect(createConversation(valid, status: 400) == [])
        #expect(contract.violations(method: "GET", path: "/api/v1/agent/queue", status: 401, contentType: "application/json", body: valid) == [])
        let invalid = Data(#"{"error": {"code": "invalid_field", "field": null}, "reason": "x"}"#.utf8)
        #expect(createConversation(invalid, status: 413) == [
            #"POST /api/v1/conversations 413: $.error: missing required property "message""#,
            "POST /api/v1/conversations 413: $.error.field: null is not allowed (not nullable)",
            #"POST /api/v1/conversations 413: $: unknown property "reason" (additionalProperties is false)"#,
        ])
    }

    @Test func undocumentedStatus() {
        #expect(createConversation(Data(), status: 418) ==
            ["POST /api/v1/conversations: status 418 not documented (documented: 201, 400, 403, 413, 415, 429)"])
        #expect(createConversation(Data(), status: 500) ==
            ["POST /api/v1/conversations: status 500 not documented (documented: 201, 400, 403, 413, 415, 429)"])
    }

    @Test func undocumentedPathsAreNotChecked() {
        for path in ["/console", "/chat", "/css/app.css", "/api/v1/nope", "/api/v1/conversations/\(conversationID)/messages/extra"] {
            #expect(contract.violations(method: "GET", path: path, status: 200, contentType: "text/html", body: Data("<html>".utf8)) == [])
        }
    }

    @Test func undocumentedMethodOnDocumentedPath() {
        let error = Data(#"{"error": {"code": "http_405", "message": "Method not allowed."}}"#.utf8)
        #expect(contract.violations(method: "DELETE", path: "/api/v1/conversations", status: 405, contentType: "application/json", body: error) == [])
        #expect(contract.violations(method: "PATCH", path: "/api/v1/intents/faq", status: 404, contentType: "application/json", body: error) == [])
        #expect(contract.violations(method: "DELETE", path: "/api/v1/conversations", status: 200, contentType: "application/json", body: error) ==
            ["DELETE /api/v1/conversations: not documented"])
    }

    @Test func templatedPath() {
        let path = "/api/v1/conversations/\(conversationID)/messages?after=3"
        let messages = Data(#"[{"id": "\#(messageID)", "seq": 1, "role": "customer", "text": "Hello"}, {"id": "\#(messageID)", "seq": "2", "role": "ai", "text": "Hi"}]"#.utf8)
        #expect(contract.violations(method: "GET", path: path, status: 200, contentType: "application/json", body: messages) ==
            [#"GET /api/v1/conversations/\#(conversationID)/messages 200: $[1].seq: expected integer, got string "2""#])
        // The same template answers POST with its own responses.
        #expect(contract.violations(method: "POST", path: path, status: 202, contentType: "application/json", body: Data()) ==
            ["POST /api/v1/conversations/\(conversationID)/messages: status 202 not documented (documented: 200, 201, 400, 404, 409, 413, 415, 429, 503)"])
    }

    @Test func contentTypes() {
        #expect(createConversation(createdConversation(), contentType: "text/html") ==
            ["POST /api/v1/conversations 201: content type text/html not documented (documented: application/json)"])
        #expect(createConversation(createdConversation(), contentType: nil) ==
            ["POST /api/v1/conversations 201: no Content-Type (documented: application/json)"])
        #expect(createConversation(Data("not json".utf8)) == ["POST /api/v1/conversations 201: body is not valid JSON"])
        // Streams and CSV are checked for their content type only; JSON alternatives keep their schema.
        let events = "/api/v1/conversations/\(conversationID)/events"
        #expect(contract.violations(method: "GET", path: events, status: 200, contentType: "text/event-stream", body: Data("data: {}\n\n".utf8)) == [])
        #expect(contract.violations(method: "GET", path: "/api/v1/knowledge-base/export?format=csv", status: 200, contentType: "text/csv; charset=utf-8", body: Data("key,title\n".utf8)) == [])
        #expect(contract.violations(method: "GET", path: "/api/v1/knowledge-base/export", status: 200, contentType: "application/json", body: Data("[]".utf8)) ==
            ["GET /api/v1/knowledge-base/export 200: $: expected object, got array of 0 items"])
        // A body where the spec documents none is tolerated.
        #expect(contract.violations(method: "DELETE", path: "/api/v1/intents/faq", status: 204, contentType: nil, body: Data("{}".utf8)) == [])
        // An error response must carry the shared error body.
        #expect(contract.violations(method: "POST", path: "/api/v1/audits/\(conversationID)", status: 404, contentType: "application/json", body: Data("{}".utf8)) ==
            [#"POST /api/v1/audits/\#(conversationID) 404: $: missing required property "error""#])
    }
}

/// A small inline spec for what the real one does not exercise: literal-over-template routing,
/// recursion, combinators, additionalProperties schemas, wildcards and range/default status keys.
@Suite struct InlineSpecTests {
    static let spec = #"""
    {"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
     "paths": {
      "/api/v1/intents/{key}": {"get": {"responses": {"200": {"description": "", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Node"}}}}}}},
      "/api/v1/intents/import": {"get": {"responses": {
        "2XX": {"description": "", "content": {"application/*": {"schema": {"$ref": "#/components/schemas/Shapes"}}}},
        "default": {"description": "", "content": {"*/*": {}}}}}}
     },
     "components": {"schemas": {
      "Node": {"type": "object", "required": ["name"], "additionalProperties": false,
               "properties": {"name": {"type": "string", "pattern": "^[a-z]+$"}, "children": {"type": "array", "maxItems": 2, "items": {"$ref": "#/components/schemas/Node"}}}},
      "Shapes": {"type": "object", "additionalProperties": {"oneOf": [{"type": "integer"}, {"type": "number", "minimum": 0}]},
                 "properties": {"tag": {"anyOf": [{"type": "string", "format": "uuid"}, {"type": "boolean"}]},
                                "other": {"not": {"type": "string"}}, "both": {"allOf": [{"type": "number", "minimum": 1}, {"type": "integer"}]}}}
     }}}
    """#
    let contract: OpenAPIContract

    init() throws {
        contract = try OpenAPIContract(specData: Data(Self.spec.utf8))
    }

    private func get(_ path: String, _ status: Int = 200, _ contentType: String = "application/json", body: String) -> [String] {
        contract.violations(method: "GET", path: path, status: status, contentType: contentType, body: Data(body.utf8))
    }

    @Test func recursiveSchemaThroughTemplatedPath() {
        #expect(get("/api/v1/intents/a", body: #"{"name": "a", "children": [{"name": "b", "children": [{"name": "c"}]}]}"#) == [])
        #expect(get("/api/v1/intents/a", body: #"{"name": "a", "children": [{"name": "b", "children": [{"name": "C", "x": 1}, {}, {"name": "d"}]}]}"#) == [
            "GET /api/v1/intents/a 200: $.children[0].children: 3 items, more than maxItems 2",
            #"GET /api/v1/intents/a 200: $.children[0].children[0].name: "C" does not match pattern ^[a-z]+$"#,
            #"GET /api/v1/intents/a 200: $.children[0].children[0]: unknown property "x" (additionalProperties is false)"#,
            #"GET /api/v1/intents/a 200: $.children[0].children[1]: missing required property "name""#,
        ])
    }

    @Test func literalPathWinsOverTemplate() {
        // Against Node this body would miss "name" and have an unknown "tag"; against Shapes it conforms.
        #expect(get("/api/v1/intents/import", 201, "application/vnd.tandem+json", body: #"{"tag": true}"#) == [])
        #expect(get("/api/v1/intents/import", 201, "application/vnd.tandem+json", body: #"{"tag": 1}"#) ==
            ["GET /api/v1/intents/import 201: $.tag: matches none of the anyOf schemas"])
    }

    @Test func combinatorsAndAdditionalPropertiesSchema() {
        #expect(get("/api/v1/intents/import", body: #"{"tag": "\#(conversationID)", "other": 3, "both": 2, "a": 1.5}"#) == [])
        #expect(get("/api/v1/intents/import", body: #"{"tag": "nope", "other": "s", "both": 1.5, "a": 2, "b": -1.5}"#) == [
            "GET /api/v1/intents/import 200: $.a: matches 2 of the oneOf schemas, expected exactly 1",
            "GET /api/v1/intents/import 200: $.b: matches 0 of the oneOf schemas, expected exactly 1",
            "GET /api/v1/intents/import 200: $.both: expected integer, got number 1.5",
            "GET /api/v1/intents/import 200: $.other: matches the schema in not",
            "GET /api/v1/intents/import 200: $.tag: matches none of the anyOf schemas",
        ])
    }

    @Test func rangeAndDefaultStatusKeysAndWildcards() {
        #expect(get("/api/v1/intents/import", 204, "text/plain", body: "") ==
            ["GET /api/v1/intents/import 204: content type text/plain not documented (documented: application/*)"])
        #expect(get("/api/v1/intents/import", 503, "text/html", body: "<p>down</p>") == [])
    }
}

/// Each status and kind the API shows is one Swift enum; the spec lists exactly its cases.
@Suite("API enums") struct APIEnumTests {
    private let schemas: [String: Any]

    init() throws {
        let spec = try JSONSerialization.jsonObject(with: Data(contentsOf: Contract.specURL)) as? [String: Any]
        schemas = (spec?["components"] as? [String: Any])?["schemas"] as? [String: Any] ?? [:]
    }

    /// The `enum` of a schema, or of one of its properties.
    private func values(_ schema: String, _ property: String? = nil) -> Set<String> {
        var node = schemas[schema] as? [String: Any]
        if let property { node = (node?["properties"] as? [String: Any])?[property] as? [String: Any] }
        return Set(node?["enum"] as? [String] ?? [])
    }

    private func cases<E: CaseIterable & RawRepresentable<String>>(_ type: E.Type) -> Set<String> {
        Set(E.allCases.map(\.rawValue))
    }

    @Test("spec enums equal the Swift enums")
    func enumsMatch() {
        #expect(values("ConversationStatus") == cases(ConversationStatus.self))
        #expect(values("MessageRole") == cases(MessageRole.self))
        #expect(values("AgentRole") == cases(AgentRole.self))
        #expect(values("AutomationMode") == cases(AutomationMode.self))
        #expect(values("DecisionAction") == cases(RoutingDecision.Action.self))
        #expect(values("RoutingRule") == cases(RoutingDecision.Rule.self))
        #expect(values("PostMessageResponse", "action") == cases(MessageOutcome.self))
        #expect(values("ModelVersion", "status") == cases(ModelStatus.self))
        #expect(values("Audit", "status") == cases(AuditStatus.self))
        #expect(values("GuardrailEvent", "kind") == cases(GuardrailEventKind.self))
        #expect(values("GuardrailAction", "kind") == cases(GuardrailAction.Kind.self))
        #expect(values("WebhookEvent") == cases(WebhookEvent.self))
    }
}
