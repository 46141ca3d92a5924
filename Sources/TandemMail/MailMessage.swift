// A received message as Tandem reads it: who, what thread, and the text a person wrote.

/// An inbound e-mail, parsed from its raw RFC 5322 bytes.
public struct MailMessage: Sendable, Equatable {
    public var headers: MailHeaders
    /// Decoded Subject (RFC 2047), unfolded.
    public var subject: String
    public var fromAddress: String?
    public var fromName: String?
    /// Message-ID without angle brackets.
    public var messageID: String?
    public var inReplyTo: [String]
    public var references: [String]
    /// The body as text: the text/plain part, or the text/html part reduced to text.
    public var text: String
    /// What the author wrote in this message: `text` without quoted history or signature.
    public var newText: String
    /// True for bounces and auto-replies, which must not start or feed a conversation.
    public var isAutomatic: Bool

    /// Every id this message names as an ancestor, nearest first (In-Reply-To, then References
    /// from last to first), without duplicates.
    public var threadIDs: [String] {
        var seen = Set<String>()
        return (inReplyTo + references.reversed()).filter { seen.insert($0).inserted }
    }

    /// Never fails: a message without headers or with garbage gives empty fields.
    public init(parsing bytes: [UInt8], maxParts: Int = 100) {
        let (headerBytes, body) = MailHeaders.split(bytes)
        let headers = MailHeaders.parse(headerBytes)
        self.headers = headers
        subject = EncodedWords.decode(headers["Subject"] ?? "").trimmingSpaces()
        let from = HeaderValues.mailbox(headers["From"])
        fromAddress = from?.address
        fromName = from?.name
        messageID = HeaderValues.messageIDs(headers["Message-ID"]).first
        inReplyTo = HeaderValues.messageIDs(headers["In-Reply-To"])
        references = HeaderValues.messageIDs(headers["References"])
        var budget = maxParts
        let found = MIME.bestText(headers: headers, body: body, depth: 0, budget: &budget)
        text = found.map { $0.isHTML ? HTMLText.plain($0.text) : $0.text }.map(Self.normaliseNewlines) ?? ""
        newText = Quoting.strip(text)
        let autoSubmitted = (headers["Auto-Submitted"] ?? "no").lowercased()
        let precedence = (headers["Precedence"] ?? "").lowercased()
        let contentType = (headers["Content-Type"] ?? "").lowercased()
        isAutomatic = !autoSubmitted.hasPrefix("no")
            || ["bulk", "junk", "auto_reply", "list"].contains(precedence)
            || contentType.contains("multipart/report")
            || headers["X-Autoreply"] != nil || headers["X-Autorespond"] != nil
            || (headers["Return-Path"]?.trimmingSpaces() == "<>")
    }

    static func normaliseNewlines(_ text: String) -> String {
        // "\r\n" is one Character in Swift; unify before any line-based work.
        var scalars = String.UnicodeScalarView()
        var lastCR = false
        for s in text.unicodeScalars {
            if s == "\r" { scalars.append("\n"); lastCR = true; continue }
            if s == "\n" && lastCR { lastCR = false; continue }
            lastCR = false
            scalars.append(s)
        }
        return String(scalars)
    }
}

/// A Content-Type or Content-Disposition value: the type and its parameters.
struct HeaderParameters {
    var value: String
    var parameters: [String: String]

    init(_ raw: String?) {
        let raw = raw ?? ""
        var parts: [String] = []
        var current = ""
        var quoted = false
        for c in raw {
            if c == "\"" { quoted.toggle() }
            if c == ";" && !quoted { parts.append(current); current = ""; continue }
            current.append(c)
        }
        parts.append(current)
        value = (parts.first ?? "").trimmingSpaces().lowercased()
        var parameters: [String: String] = [:]
        for part in parts.dropFirst() {
            guard let eq = part.firstIndex(of: "=") else { continue }
            var key = part[..<eq].trimmingSpaces().lowercased()
            var v = part[part.index(after: eq)...].trimmingSpaces()
            if v.hasPrefix("\""), v.hasSuffix("\""), v.count >= 2 { v = String(v.dropFirst().dropLast()) }
            // RFC 2231: charset*=utf-8''value (only the parts we need: the name, not continuations)
            if key.hasSuffix("*") {
                key = String(key.dropLast())
                if let tick = v.lastIndex(of: "'") { v = String(v[v.index(after: tick)...]) }
            }
            if parameters[key] == nil { parameters[key] = v }
        }
        self.parameters = parameters
    }
}

enum MIME {
    struct Text { var text: String; var isHTML: Bool }

    /// The part a person reads: text/plain first, text/html otherwise, searching nested
    /// multiparts (alternative, mixed, related, signed) depth-first. Attachments are skipped.
    static func bestText(headers: MailHeaders, body: [UInt8], depth: Int, budget: inout Int) -> Text? {
        budget -= 1
        guard budget >= 0, depth <= 20 else { return nil }
        let type = HeaderParameters(headers["Content-Type"] ?? "text/plain")
        let disposition = HeaderParameters(headers["Content-Disposition"])
        if type.value.hasPrefix("multipart/") {
            guard let boundary = type.parameters["boundary"], !boundary.isEmpty else {
                return Text(text: Charsets.decode(body, charset: nil), isHTML: false)
            }
            let parts = split(body, boundary: boundary)
            var plain: Text?
            var html: Text?
            for part in parts {
                let (h, b) = MailHeaders.split(part)
                let partHeaders = MailHeaders.parse(h)
                guard let found = bestText(headers: partHeaders, body: b, depth: depth + 1, budget: &budget) else { continue }
                if found.isHTML { if html == nil { html = found } } else if plain == nil { plain = found }
                // In multipart/mixed the first text part is the message; later ones are attachments.
                if plain != nil && type.value != "multipart/alternative" { break }
            }
            return plain ?? html
        }
        if disposition.value == "attachment" { return nil }
        let isPlain = type.value == "text/plain" || type.value.isEmpty || type.value == "text"
        let isHTML = type.value == "text/html"
        if type.value == "message/rfc822" {
            // A forwarded message: read its text.
            let (h, b) = MailHeaders.split(decodeTransfer(body, headers: headers))
            return bestText(headers: MailHeaders.parse(h), body: b, depth: depth + 1, budget: &budget)
        }
        guard isPlain || isHTML else { return nil }
        let decoded = decodeTransfer(body, headers: headers)
        var text = Charsets.decode(decoded, charset: type.parameters["charset"])
        if isPlain, (type.parameters["format"] ?? "").lowercased() == "flowed" {
            text = Flowed.unwrap(text, delSp: (type.parameters["delsp"] ?? "").lowercased() == "yes")
        }
        return Text(text: text, isHTML: isHTML)
    }

    static func decodeTransfer(_ body: [UInt8], headers: MailHeaders) -> [UInt8] {
        switch (headers["Content-Transfer-Encoding"] ?? "").trimmingSpaces().lowercased() {
        case "base64": return Base64.decode(body)
        case "quoted-printable": return QuotedPrintable.decode(body)
        default: return body
        }
    }

    /// The parts between `--boundary` lines, up to `--boundary--`; preamble and epilogue dropped.
    static func split(_ body: [UInt8], boundary: String) -> [[UInt8]] {
        let marker = Array(("--" + boundary).utf8)
        var parts: [[UInt8]] = []
        var lineStart = 0
        var partStart: Int?
        var i = 0
        while i <= body.count {
            if i == body.count || body[i] == 10 {
                var lineEnd = i
                if lineEnd > lineStart, body[lineEnd - 1] == 13 { lineEnd -= 1 }
                let line = body[lineStart..<lineEnd]
                if line.starts(with: marker) {
                    let rest = line.dropFirst(marker.count)
                    let isClose = rest.starts(with: [45, 45])
                    if rest.allSatisfy({ $0 == 32 || $0 == 9 }) || isClose {
                        if let start = partStart {
                            // The line break before the boundary belongs to the boundary.
                            var end = lineStart
                            if end > start, body[end - 1] == 10 { end -= 1 }
                            if end > start, body[end - 1] == 13 { end -= 1 }
                            parts.append(Array(body[start..<max(start, end)]))
                        }
                        if isClose { return parts }
                        partStart = min(i + 1, body.count)
                    }
                }
                lineStart = i + 1
            }
            i += 1
        }
        // No closing boundary: keep the last part anyway.
        if let start = partStart, start < body.count { parts.append(Array(body[start...])) }
        return parts
    }
}

/// RFC 3676 format=flowed: a line ending in a space continues on the next.
enum Flowed {
    static func unwrap(_ text: String, delSp: Bool) -> String {
        var out: [String] = []
        var current: String?
        for rawLine in MailMessage.normaliseNewlines(text).split(separator: "\n", omittingEmptySubsequences: false) {
            var line = String(rawLine)
            if line.hasPrefix(" ") { line.removeFirst() } // space-stuffing
            let isSignatureSeparator = line == "-- "
            let soft = line.hasSuffix(" ") && !isSignatureSeparator
            if soft && delSp { line.removeLast() }
            current = (current ?? "") + line
            if !soft { out.append(current!); current = nil }
        }
        if let current { out.append(current) }
        return out.joined(separator: "\n")
    }
}

/// HTML reduced to the text a reader sees: tags dropped, block elements as line breaks,
/// scripts and styles removed, entities decoded, quoted blocks marked with "> ".
enum HTMLText {
    static func plain(_ html: String) -> String {
        var out = ""
        var i = html.startIndex
        var skipUntil: String?
        var quoteDepth = 0
        func newline() {
            out += "\n" + String(repeating: "> ", count: quoteDepth)
        }
        while i < html.endIndex {
            let c = html[i]
            if c == "<" {
                guard let close = html[i...].firstIndex(of: ">") else { break }
                let tag = html[html.index(after: i)..<close].lowercased()
                let name = String(tag.prefix { $0.isLetter || $0.isNumber || $0 == "/" || $0 == "!" })
                i = html.index(after: close)
                if let skip = skipUntil {
                    if name == "/" + skip { skipUntil = nil }
                    continue
                }
                switch name {
                case "script", "style", "head", "title": skipUntil = name
                case "blockquote": quoteDepth += 1; newline()
                case "/blockquote": quoteDepth = max(0, quoteDepth - 1); newline()
                case "br", "br/", "p", "/p", "div", "/div", "tr", "/tr", "li", "h1", "h2", "h3", "/h1", "/h2", "/h3", "hr", "table", "/table":
                    newline()
                default: break
                }
                continue
            }
            i = html.index(after: i)
            if skipUntil != nil { continue }
            if c == "&", let semi = html[i...].prefix(10).firstIndex(of: ";") {
                let entity = String(html[i..<semi])
                if let decoded = entityValue(entity) {
                    out.append(decoded)
                    i = html.index(after: semi)
                    continue
                }
            }
            if c == "\n" || c == "\r" || c == "\r\n" || c == "\t" { out.append(" "); continue }
            out.append(c)
        }
        // Collapse runs of spaces and more than one blank line.
        var lines: [String] = []
        for line in out.split(separator: "\n", omittingEmptySubsequences: false) {
            var collapsed = ""
            var lastSpace = false
            for ch in line {
                if ch == " " || ch == "\u{00A0}" { if !lastSpace { collapsed.append(" ") }; lastSpace = true } else { collapsed.append(ch); lastSpace = false }
            }
            let trimmed = collapsed.trimmingSpaces()
            if trimmed.isEmpty || trimmed.allSatisfy({ $0 == ">" || $0 == " " }) {
                if let last = lines.last, last.isEmpty { continue }
                lines.append("")
            } else {
                lines.append(trimmed)
            }
        }
        return lines.joined(separator: "\n").trimmingSpaces()
    }

    static func entityValue(_ entity: String) -> Character? {
        switch entity {
        case "amp": return "&"
        case "lt": return "<"
        case "gt": return ">"
        case "quot": return "\""
        case "apos", "#39": return "'"
        case "nbsp": return " "
        case "rsquo": return "\u{2019}"
        case "lsquo": return "\u{2018}"
        case "rdquo": return "\u{201D}"
        case "ldquo": return "\u{201C}"
        case "hellip": return "\u{2026}"
        case "mdash": return "\u{2014}"
        case "ndash": return "\u{2013}"
        case "euro": return "\u{20AC}"
        default:
            if entity.hasPrefix("#x") || entity.hasPrefix("#X") {
                return UInt32(entity.dropFirst(2), radix: 16).flatMap(UnicodeScalar.init).map(Character.init)
            }
            if entity.hasPrefix("#") {
                return UInt32(entity.dropFirst(1)).flatMap(UnicodeScalar.init).map(Character.init)
            }
            return nil
        }
    }
}
