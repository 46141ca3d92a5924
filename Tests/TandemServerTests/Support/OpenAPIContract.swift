import Foundation
import OpenAPIKit30

/// Checks HTTP responses against an OpenAPI 3.0 document so that API tests fail when code and spec drift apart.
///
/// Covers the JSON Schema subset the spec uses: types, nullable, enum, required, properties,
/// additionalProperties, items, numeric/length/count bounds, pattern, date-time/uuid formats,
/// allOf/oneOf/anyOf/not and `$ref` into `#/components/schemas`.
struct OpenAPIContract: Sendable {
    private let document: OpenAPI.Document

    init(specData: Data) throws {
        document = try JSONDecoder().decode(OpenAPI.Document.self, from: specData)
    }

    /// Violations of the documented contract by one response; empty when it conforms.
    func violations(method: String, path: String, status: Int, contentType: String?, body: Data) -> [String] {
        let requestPath = String(path.prefix { $0 != "?" })
        let label = "\(method.uppercased()) \(requestPath)"
        // Undocumented paths (HTML pages, static files) are outside the contract.
        guard let pathItem = pathItem(matching: requestPath) else { return [] }
        guard let verb = OpenAPI.BuiltinHttpMethod(rawValue: method.uppercased()), let operation = pathItem.for(verb) else {
            // The router answering an unsupported method on a known path is expected behaviour.
            return status == 404 || status == 405 ? [] : ["\(label): not documented"]
        }

        let responses = operation.responses
        let range = OpenAPI.Response.StatusCode.Range(rawValue: "\(status / 100)XX")
        guard let entry = responses[.status(code: status)] ?? range.flatMap({ responses[.range($0)] }) ?? responses[.default] else {
            // Sorted because JSONDecoder does not keep the spec's key order.
            let documented = responses.keys.map(\.rawValue).sorted().joined(separator: ", ")
            return ["\(label): status \(status) not documented (documented: \(documented))"]
        }
        guard let response = document.components[entry] else {
            return ["\(label) \(status): unresolvable response reference"]
        }
        // A body where none is documented is tolerated; only documented content is checked.
        guard !response.content.isEmpty else { return [] }

        let documentedTypes = response.content.keys.map(\.typeAndSubtype).sorted()
        guard let actual = contentType.map(Self.mediaType), !actual.isEmpty else {
            return ["\(label) \(status): no Content-Type (documented: \(documentedTypes.joined(separator: ", ")))"]
        }
        // Prefer an exact media type over a wildcard so the most specific schema applies.
        guard let media = response.content.first(where: { Self.mediaType($0.key.typeAndSubtype) == actual })?.value
            ?? response.content.first(where: { Self.mediaType($0.key.typeAndSubtype, matchesWildcardFor: actual) })?.value else {
            return ["\(label) \(status): content type \(actual) not documented (documented: \(documentedTypes.joined(separator: ", ")))"]
        }
        // The actual type decides, so a JSON body under a documented wildcard is still validated.
        guard actual == "application/json" || actual.hasSuffix("+json"), let schemaEntry = media.schema else {
            return [] // Streams, CSV and plain text are only checked for their content type.
        }
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: body) else {
            return ["\(label) \(status): body is not valid JSON"]
        }
        let schema: JSONSchema
        switch schemaEntry {
        case .a(let reference): schema = .reference(reference)
        case .b(let inline): schema = inline
        }
        return validate(value, against: schema, at: "$").map { "\(label) \(status): \($0)" }
    }

    // MARK: - Paths and media types

    /// The path item whose template matches; literal segments win over `{param}` ones, leftmost first.
    private func pathItem(matching requestPath: String) -> OpenAPI.PathItem? {
        let segments = requestPath.split(separator: "/").map(String.init)
        var best: (rank: [Int], item: OpenAPI.PathItem)?
        for (template, entry) in document.paths {
            // OpenAPI 3.0 has no path item components, so only inline items can be matched.
            guard let item = entry.b, template.components.count == segments.count else { continue }
            var rank: [Int] = []
            let matches = zip(template.components, segments).allSatisfy { pattern, segment in
                let isParameter = pattern.hasPrefix("{") && pattern.hasSuffix("}")
                rank.append(isParameter ? 0 : 1)
                return isParameter ? !segment.isEmpty : pattern == segment
            }
            if matches, best.map({ $0.rank.lexicographicallyPrecedes(rank) }) ?? true {
                best = (rank, item)
            }
        }
        return best?.item
    }

    /// `type/subtype` in lower case, without parameters such as `; charset=utf-8`.
    private static func mediaType(_ raw: String) -> String {
        (raw.split(separator: ";").first ?? "").trimmingCharacters(in: .whitespaces).lowercased()
    }

    private static func mediaType(_ documented: String, matchesWildcardFor actual: String) -> Bool {
        let documented = mediaType(documented)
        if documented == "*/*" { return true }
        guard documented.hasSuffix("/*") else { return false }
        return actual.hasPrefix(documented.dropLast())
    }

    // MARK: - Schema validation

    private func validate(_ value: JSONValue, against schema: JSONSchema, at location: String) -> [String] {
        if case .null = value {
            if schema.nullable { return [] }
            switch schema.value {
            case .fragment: return [] // `{}` constrains nothing, null included.
            case .reference, .all, .one, .any, .not: break // Decided by the resolved or combined schemas.
            default: return ["\(location): null is not allowed (not nullable)"]
            }
        }

        if let allowed = schema.allowedValues {
            let options = allowed.compactMap(JSONValue.init)
            if !options.contains(value) {
                return ["\(location): \(value) is not one of [\(options.map(\.plain).joined(separator: ", "))]"]
            }
        }

        switch schema.value {
        case .reference(let reference, _):
            // Looked up per value, so recursive schemas terminate with the data.
            guard let target = document.components[reference] else {
                return ["\(location): unresolvable reference \(reference.absoluteString)"]
            }
            return validate(value, against: target, at: location)
        case .fragment:
            return []
        case .boolean:
            guard case .bool = value else { return [mismatch("boolean", value, location)] }
            return []
        case .integer(_, let bounds):
            guard case .number(let number) = value, number.rounded() == number else { return [mismatch("integer", value, location)] }
            return check(number, minimum: bounds.minimum.map { (Double($0.value), $0.exclusive) },
                         maximum: bounds.maximum.map { (Double($0.value), $0.exclusive) }, at: location)
        case .number(_, let bounds):
            guard case .number(let number) = value else { return [mismatch("number", value, location)] }
            return check(number, minimum: bounds.minimum.map { ($0.value, $0.exclusive) },
                         maximum: bounds.maximum.map { ($0.value, $0.exclusive) }, at: location)
        case .string(let core, let rules):
            guard case .string(let text) = value else { return [mismatch("string", value, location)] }
            return check(text, format: core.formatString, rules: rules, at: location)
        case .array(_, let rules):
            guard case .array(let elements) = value else { return [mismatch("array", value, location)] }
            var problems: [String] = []
            if elements.count < rules.minItems { problems.append("\(location): \(elements.count) items, fewer than minItems \(rules.minItems)") }
            if let max = rules.maxItems, elements.count > max { problems.append("\(location): \(elements.count) items, more than maxItems \(max)") }
            if let items = rules.items {
                for (index, element) in elements.enumerated() {
                    problems += validate(element, against: items, at: "\(location)[\(index)]")
                }
            }
            return problems
        case .object(_, let rules):
            guard case .object(let members) = value else { return [mismatch("object", value, location)] }
            return check(members, rules: rules, at: location)
        case .all(let schemas, _):
            return schemas.flatMap { validate(value, against: $0, at: location) }
        case .one(let schemas, _):
            let matching = schemas.filter { validate(value, against: $0, at: location).isEmpty }.count
            return matching == 1 ? [] : ["\(location): matches \(matching) of the oneOf schemas, expected exactly 1"]
        case .any(let schemas, _):
            return schemas.contains { validate(value, against: $0, at: location).isEmpty } ? [] : ["\(location): matches none of the anyOf schemas"]
        case .not(let excluded, _):
            return validate(value, against: excluded, at: location).isEmpty ? ["\(location): matches the schema in not"] : []
        }
    }

    private func check(_ members: [String: JSONValue], rules: JSONSchema.ObjectContext, at location: String) -> [String] {
        var problems = rules.requiredProperties.filter { members[$0] == nil }
            .map { "\(location): missing required property \"\($0)\"" }
        // Sorted so messages come out in a stable order.
        for (key, member) in members.sorted(by: { $0.key < $1.key }) {
            let memberLocation = "\(location).\(key)"
            if let property = rules.properties[key] {
                problems += validate(member, against: property, at: memberLocation)
            } else {
                switch rules.additionalProperties {
                case .a(false)?: problems.append("\(location): unknown property \"\(key)\" (additionalProperties is false)")
                case .b(let extra)?: problems += validate(member, against: extra, at: memberLocation)
                case .a(true)?, nil: break
                }
            }
        }
        return problems
    }

    private func check(_ number: Double, minimum: (Double, Bool)?, maximum: (Double, Bool)?, at location: String) -> [String] {
        var problems: [String] = []
        if let (bound, exclusive) = minimum, exclusive ? number <= bound : number < bound {
            problems.append("\(location): \(JSONValue.number(number)) is below the \(exclusive ? "exclusive " : "")minimum \(JSONValue.number(bound))")
        }
        if let (bound, exclusive) = maximum, exclusive ? number >= bound : number > bound {
            problems.append("\(location): \(JSONValue.number(number)) is above the \(exclusive ? "exclusive " : "")maximum \(JSONValue.number(bound))")
        }
        return problems
    }

    private func check(_ text: String, format: String?, rules: JSONSchema.StringContext, at location: String) -> [String] {
        var problems: [String] = []
        if text.count < rules.minLength { problems.append("\(location): \"\(text)\" is shorter than minLength \(rules.minLength)") }
        if let max = rules.maxLength, text.count > max { problems.append("\(location): string of \(text.count) characters is longer than maxLength \(max)") }
        if let pattern = rules.pattern, text.range(of: pattern, options: .regularExpression) == nil {
            problems.append("\(location): \"\(text)\" does not match pattern \(pattern)")
        }
        switch format {
        case "date-time" where !Self.isDateTime(text):
            problems.append("\(location): \"\(text)\" is not an ISO 8601 date-time")
        case "uuid" where UUID(uuidString: text) == nil:
            problems.append("\(location): \"\(text)\" is not a UUID")
        default: break
        }
        return problems
    }

    private static func isDateTime(_ text: String) -> Bool {
        // Servers differ on fractional seconds; both are valid ISO 8601.
        (try? Date(text, strategy: Date.ISO8601FormatStyle())) != nil
            || (try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))) != nil
    }

    private func mismatch(_ expected: String, _ value: JSONValue, _ location: String) -> String {
        "\(location): expected \(expected), got \(value.typed)"
    }
}

extension OpenAPIContract {
    /// A decoded JSON value. Decoding it ourselves keeps booleans and numbers apart, which
    /// `JSONSerialization` (NSNumber for both) does not do reliably on Linux. Nested so it
    /// cannot clash with another `JSONValue` in the test target.
    fileprivate enum JSONValue: Decodable, Equatable, CustomStringConvertible {
        case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() { self = .null }
            else if let bool = try? container.decode(Bool.self) { self = .bool(bool) } // Before Double: true is not 1.
            else if let number = try? container.decode(Double.self) { self = .number(number) }
            else if let string = try? container.decode(String.self) { self = .string(string) }
            else if let array = try? container.decode([JSONValue].self) { self = .array(array) }
            else { self = .object(try container.decode([String: JSONValue].self)) }
        }

        /// An `enum` entry from the spec, compared as JSON.
        init?(_ allowed: AnyCodable) {
            guard let data = try? JSONEncoder().encode(allowed),
                  let value = try? JSONDecoder().decode(JSONValue.self, from: data) else { return nil }
            self = value
        }

        /// The value with its JSON type, for type mismatches: `string "1"`, `array of 2 items`.
        var typed: String {
            switch self {
            case .bool: "boolean \(self)"
            case .number: "number \(self)"
            case .string: "string \(self)"
            case .null, .array, .object: plain
            }
        }

        /// Short rendering for messages: strings quoted, containers summarised.
        var description: String {
            switch self {
            case .string(let text): "\"\(text)\""
            default: plain
            }
        }

        /// Like `description` but with strings unquoted, for lists of allowed values.
        var plain: String {
            switch self {
            case .null: "null"
            case .bool(let flag): String(flag)
            case .number(let number): number.rounded() == number && abs(number) < 1e15 ? String(Int64(number)) : String(number)
            case .string(let text): text
            case .array(let elements): "array of \(elements.count) items"
            case .object(let members): "object with \(members.count) properties"
            }
        }
    }
}
