import Foundation
import TandemCore

/// What an agent gets when a conversation reaches them: a draft reply from the approved
/// answer, and a short summary of the conversation so far. Built from templates and the
/// recorded decisions: the agent can see where every sentence comes from.
enum Assistance {
    /// The approved answer, personalised where the customer's name is known.
    static func draft(answer: String, customerName: String?) -> String {
        fill(answer, customerName: customerName, agentName: nil)
    }

    /// The variables a reply may hold: `{{customer.name}}`, `{{customer.firstName}}`,
    /// `{{agent.name}}`, `{{agent.firstName}}`, and `{{name}}` (the customer's first name, as
    /// older approved answers write it).
    static let variables: Set<String> = ["customer.name", "customer.firstName", "agent.name", "agent.firstName", "name"]

    /// Fills a reply's variables. One whose value is unknown is dropped with the comma or space
    /// around it ("Hi {{name}}, …" becomes "Hi …" without a name), so no braces reach a customer.
    static func fill(_ template: String, customerName: String?, agentName: String?) -> String {
        func first(_ name: String?) -> String? { name?.split(separator: " ").first.map(String.init) }
        let values: [String: String?] = [
            "customer.name": customerName, "customer.firstName": first(customerName), "name": first(customerName),
            "agent.name": agentName, "agent.firstName": first(agentName),
        ]
        var text = normalised(template)
        guard text.contains("{{") else { return text }
        for (variable, value) in values {
            let token = "{{\(variable)}}"
            guard text.contains(token) else { continue }
            if let value, !value.isEmpty {
                text = text.replacingOccurrences(of: token, with: value)
            } else {
                for pattern in [", \(token)", " \(token),", "\(token), ", " \(token)", token] {
                    text = text.replacingOccurrences(of: pattern, with: "")
                }
            }
        }
        return text
    }

    /// Variables in `template` that `fill` does not know, in order (to refuse a snippet that
    /// would show a customer raw braces).
    static func unknownVariables(in template: String) -> [String] {
        var unknown: [String] = []
        var rest = Substring(normalised(template))
        while let open = rest.range(of: "{{"), let close = rest[open.upperBound...].range(of: "}}") {
            let name = String(rest[open.upperBound..<close.lowerBound])
            if !variables.contains(name), !unknown.contains(name) { unknown.append(name) }
            rest = rest[close.upperBound...]
        }
        return unknown
    }

    /// `{{ customer.name }}` written with spaces is the same variable.
    private static func normalised(_ template: String) -> String {
        guard template.contains("{{") else { return template }
        return template.replacingOccurrences(of: #"\{\{\s*([A-Za-z_.]+)\s*\}\}"#, with: "{{$1}}", options: .regularExpression)
    }

    struct Turn {
        var role: MessageRole
        var text: String
        var intent: String?
        var confidence: Double?
        var rule: RoutingDecision.Rule?
    }

    /// A few sentences: how many messages, which topics the AI recognised, what the AI
    /// answered, why it was handed over, and the customer's latest words.
    static func summary(turns: [Turn], titles: [String: String], handoffReason: String?) -> String {
        let customer = turns.filter { $0.role == .customer }
        guard let last = customer.last else { return "No customer messages yet." }
        // One entry per intent, with its highest confidence in the conversation.
        var order: [String] = [], best: [String: Double?] = [:]
        for turn in customer {
            guard let intent = turn.intent else { continue }
            if best[intent] == nil { order.append(intent); best[intent] = turn.confidence }
            else if let c = turn.confidence, c > (best[intent]! ?? -1) { best[intent] = c }
        }
        let topics = order.map { intent in
            let label = titles[intent] ?? intent
            return (best[intent] ?? nil).map { "\(label) (\(String(format: "%.0f%%", $0 * 100)))" } ?? label
        }
        var parts = ["\(customer.count) customer message\(customer.count == 1 ? "" : "s")."]
        if !topics.isEmpty { parts.append("Topics recognised: \(topics.prefix(3).joined(separator: ", "))\(topics.count > 3 ? " …" : "").") }
        let answers = turns.filter { $0.role == .ai }.count
        if answers > 0 { parts.append("The AI answered \(answers) time\(answers == 1 ? "" : "s").") }
        let agentReplies = turns.filter { $0.role == .agent }.count
        if agentReplies > 0 { parts.append("Agents replied \(agentReplies) time\(agentReplies == 1 ? "" : "s").") }
        if let handoffReason {
            let reason = handoffReason.trimmingCharacters(in: .whitespacesAndNewlines)
            parts.append("Handed to a person: \(reason)\(reason.hasSuffix(".") ? "" : ".")")
        }
        let quote = last.text.count > 160 ? String(last.text.prefix(157)) + "…" : last.text
        parts.append("Latest: “\(quote)”")
        return parts.joined(separator: " ")
    }
}
