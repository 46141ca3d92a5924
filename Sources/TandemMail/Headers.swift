// RFC 5322 headers: unfolding, RFC 2047 encoded words, message-id lists and addresses.
// Pure functions of the bytes given; malformed input degrades to best effort, never traps.

/// A message's header fields in order; names compare case-insensitively.
public struct MailHeaders: Sendable, Equatable {
    public var fields: [(name: String, value: String)]

    public init(_ fields: [(name: String, value: String)] = []) { self.fields = fields }

    /// The first field with this name, unfolded but not decoded.
    public subscript(_ name: String) -> String? {
        let lower = name.lowercased()
        return fields.first { $0.name.lowercased() == lower }?.value
    }

    public func all(_ name: String) -> [String] {
        let lower = name.lowercased()
        return fields.filter { $0.name.lowercased() == lower }.map(\.value)
    }

    public static func == (lhs: MailHeaders, rhs: MailHeaders) -> Bool {
        lhs.fields.count == rhs.fields.count
            && zip(lhs.fields, rhs.fields).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }

    /// Splits raw bytes at the first empty line (CRLF or bare LF) into headers and body.
    static func split(_ bytes: [UInt8]) -> (header: [UInt8], body: [UInt8]) {
        var i = 0
        // A message may start with the blank line: no headers at all.
        if bytes.starts(with: [13, 10]) { return ([], Array(bytes.dropFirst(2))) }
        if bytes.first == 10 { return ([], Array(bytes.dropFirst(1))) }
        while i < bytes.count {
            if bytes[i] == 10 {
                if i + 1 < bytes.count, bytes[i + 1] == 10 { return (Array(bytes[..<i]), Array(bytes[(i + 2)...])) }
                if i + 2 < bytes.count, bytes[i + 1] == 13, bytes[i + 2] == 10 { return (Array(bytes[..<i]), Array(bytes[(i + 3)...])) }
            }
            i += 1
        }
        return (bytes, [])
    }

    /// Parses a header block: lines starting with white space continue the previous field.
    static func parse(_ block: [UInt8]) -> MailHeaders {
        let text = MailMessage.normaliseNewlines(Charsets.decode(block, charset: "utf-8"))
        var fields: [(name: String, value: String)] = []
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = Substring(rawLine)
            if line.isEmpty { continue }
            if let first = line.first, first == " " || first == "\t" {
                if !fields.isEmpty { fields[fields.count - 1].value += " " + line.trimmingSpaces() }
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].trimmingSpaces()
            guard !name.isEmpty, !name.contains(" ") else { continue }
            fields.append((name, line[line.index(after: colon)...].trimmingSpaces()))
        }
        return MailHeaders(fields)
    }
}

/// RFC 2047 encoded words (`=?utf-8?B?…?=`, `=?iso-8859-1?Q?…?=`).
public enum EncodedWords {
    /// Decodes every encoded word in a header value; white space between two adjacent encoded
    /// words is dropped, as RFC 2047 §6.2 says.
    public static func decode(_ value: String) -> String {
        var output = ""
        var rest = Substring(value)
        var pendingSpace = ""
        var lastWasEncoded = false
        while !rest.isEmpty {
            if rest.hasPrefix("=?"), let (decoded, after) = decodeWord(rest) {
                if !lastWasEncoded { output += pendingSpace }
                pendingSpace = ""
                output += decoded
                rest = after
                lastWasEncoded = true
                continue
            }
            let c = rest.removeFirst()
            if c == " " || c == "\t" {
                pendingSpace.append(c)
            } else {
                output += pendingSpace
                pendingSpace = ""
                output.append(c)
                lastWasEncoded = false
            }
        }
        return output + pendingSpace
    }

    private static func decodeWord(_ text: Substring) -> (String, Substring)? {
        // =?charset?encoding?text?=
        let body = text.dropFirst(2)
        guard let q1 = body.firstIndex(of: "?") else { return nil }
        let charset = String(body[..<q1])
        let afterCharset = body[body.index(after: q1)...]
        guard let q2 = afterCharset.firstIndex(of: "?") else { return nil }
        let encoding = afterCharset[..<q2].uppercased()
        let payloadStart = afterCharset.index(after: q2)
        guard let end = afterCharset[payloadStart...].range(of: "?=") else { return nil }
        let payload = afterCharset[payloadStart..<end.lowerBound]
        guard !charset.isEmpty, !payload.contains(" ") else { return nil }
        // RFC 2231 language suffix: utf-8*en
        let cs = charset.split(separator: "*").first.map(String.init) ?? charset
        let bytes: [UInt8]
        switch encoding {
        case "B": bytes = Base64.decode(Array(payload.utf8))
        case "Q": bytes = QuotedPrintable.decode(Array(payload.utf8), underscoreIsSpace: true)
        default: return nil
        }
        return (Charsets.decode(bytes, charset: cs), afterCharset[end.upperBound...])
    }

    /// Encodes a header value for the wire: unchanged when printable ASCII, otherwise as UTF-8
    /// base64 encoded words short enough for 76-character lines.
    public static func encode(_ value: String) -> String {
        if value.unicodeScalars.allSatisfy({ $0.value >= 32 && $0.value < 127 }) { return value }
        var words: [String] = []
        var chunk: [UInt8] = []
        for character in value {
            let bytes = Array(String(character).utf8)
            // 45 bytes of payload keep each word under 75 characters.
            if chunk.count + bytes.count > 45 {
                words.append("=?utf-8?B?" + Base64.encode(chunk) + "?=")
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty { words.append("=?utf-8?B?" + Base64.encode(chunk) + "?=") }
        return words.joined(separator: "\r\n ")
    }
}

/// Message ids and addresses in header values.
public enum HeaderValues {
    /// The `<…>` ids of a Message-ID, In-Reply-To or References value, without brackets, in order.
    /// A bare id without brackets (some clients send one) is accepted when it is the only word.
    public static func messageIDs(_ value: String?) -> [String] {
        guard let value else { return [] }
        var ids: [String] = []
        var rest = Substring(value)
        while let open = rest.firstIndex(of: "<") {
            let after = rest[rest.index(after: open)...]
            guard let close = after.firstIndex(of: ">") else { break }
            let id = after[..<close].trimmingSpaces()
            if !id.isEmpty, id.count <= 998, !id.contains(" ") { ids.append(id) }
            rest = after[after.index(after: close)...]
        }
        if ids.isEmpty {
            let bare = value.trimmingSpaces()
            if bare.contains("@"), !bare.contains(" "), bare.count <= 998 { ids.append(bare) }
        }
        return ids
    }

    /// The first mailbox of an address header: display name (decoded) and lower-cased address.
    public static func mailbox(_ value: String?) -> (name: String?, address: String)? {
        guard let value else { return nil }
        let decoded = EncodedWords.decode(value)
        if let open = decoded.lastIndex(of: "<"), let close = decoded[open...].firstIndex(of: ">") {
            let address = decoded[decoded.index(after: open)..<close].trimmingSpaces()
            guard isAddress(address) else { return nil }
            var name = decoded[..<open].trimmingSpaces()
            if name.hasPrefix("\""), name.hasSuffix("\""), name.count >= 2 { name = String(name.dropFirst().dropLast()) }
            name = name.replacingAll("\\\"", with: "\"")
            return (name.isEmpty ? nil : name, address.lowercased())
        }
        // "user@example.com (Name)" or a bare address.
        let first = decoded.split(separator: ",").first.map { $0.trimmingSpaces() } ?? ""
        let address = first.split(separator: " ").first.map(String.init) ?? ""
        guard isAddress(address) else { return nil }
        return (nil, address.lowercased())
    }

    static func isAddress(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), text.count <= 254 else { return false }
        return !text.contains(where: { $0 == " " || $0 == "<" || $0 == ">" || $0 == "," || $0.asciiValue.map { $0 < 33 } ?? false })
    }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\r" || f == "\n" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" || l == "\n" { s = s.dropLast() }
        return String(s)
    }

    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return String(self) }
        var out = ""
        var rest = Substring(self)
        while let r = rest.range(of: target) {
            out += rest[..<r.lowerBound]
            out += replacement
            rest = rest[r.upperBound...]
        }
        return out + rest
    }
}

extension Substring {
    func range(of target: String) -> Range<Index>? {
        guard !target.isEmpty else { return nil }
        var i = startIndex
        while i < endIndex {
            if self[i...].hasPrefix(target) {
                return i..<(index(i, offsetBy: target.count))
            }
            i = index(after: i)
        }
        return nil
    }
}
