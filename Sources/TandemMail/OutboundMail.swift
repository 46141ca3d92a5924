// An outbound message, composed as the bytes an SMTP DATA command carries.

public struct OutboundMail: Sendable, Equatable {
    public var fromAddress: String
    public var fromName: String?
    public var toAddress: String
    public var toName: String?
    public var subject: String
    public var text: String
    /// Without angle brackets; `OutboundMail.messageID(unique:domain:)` makes one.
    public var messageID: String
    /// The message answered (its Message-ID) and the thread's ids, oldest first.
    public var inReplyTo: String?
    public var references: [String]
    /// Seconds since 1970 (UTC), from the caller's clock.
    public var date: Int64
    /// RFC 3834 `Auto-Submitted: auto-replied` for the AI's answers, so a customer's
    /// out-of-office does not answer back and loop; a person's reply is not marked.
    public var isAutomatic: Bool

    public init(fromAddress: String, fromName: String? = nil, toAddress: String, toName: String? = nil, subject: String,
                text: String, messageID: String, inReplyTo: String? = nil, references: [String] = [], date: Int64, isAutomatic: Bool = false) {
        self.fromAddress = fromAddress
        self.fromName = fromName
        self.toAddress = toAddress
        self.toName = toName
        self.subject = subject
        self.text = text
        self.messageID = messageID
        self.inReplyTo = inReplyTo
        self.references = references
        self.date = date
        self.isAutomatic = isAutomatic
    }

    /// A Message-ID on the configured domain from a caller-supplied unique token (a UUID).
    public static func messageID(unique: String, domain: String) -> String {
        let token = unique.lowercased().filter { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." }
        return "\(token)@\(domain)"
    }

    /// "Re: " once, however many the customer's client already added.
    public static func replySubject(_ subject: String) -> String {
        var s = Substring(subject.trimmingSpaces())
        while s.lowercased().hasPrefix("re:") || s.lowercased().hasPrefix("aw:") || s.lowercased().hasPrefix("sv:") {
            s = Substring(s.dropFirst(3).trimmingSpaces())
        }
        return s.isEmpty ? "Re: your message" : "Re: " + s
    }

    /// RFC 5322 bytes with CRLF line breaks: headers (non-ASCII as encoded words), a text/plain
    /// UTF-8 quoted-printable body. References is capped so a long thread keeps its header short.
    public func rendered() -> String {
        var lines: [String] = []
        lines.append("From: " + Self.mailbox(fromName, fromAddress))
        lines.append("To: " + Self.mailbox(toName, toAddress))
        lines.append("Subject: " + EncodedWords.encode(Self.clean(subject)))
        lines.append("Date: " + Self.rfc5322Date(date))
        lines.append("Message-ID: <\(messageID)>")
        if let inReplyTo { lines.append("In-Reply-To: <\(inReplyTo)>") }
        var refs = references
        if let inReplyTo, refs.last != inReplyTo { refs.append(inReplyTo) }
        if refs.count > 20 { refs = [refs[0]] + refs.suffix(19) }
        if !refs.isEmpty { lines.append("References: " + refs.map { "<\($0)>" }.joined(separator: "\r\n ")) }
        lines.append("MIME-Version: 1.0")
        lines.append("Content-Type: text/plain; charset=utf-8; format=fixed")
        lines.append("Content-Transfer-Encoding: quoted-printable")
        if isAutomatic { lines.append("Auto-Submitted: auto-replied") }
        return lines.joined(separator: "\r\n") + "\r\n\r\n" + QuotedPrintable.encode(text) + "\r\n"
    }

    static func clean(_ value: String) -> String {
        // Header injection: no line breaks in a header value.
        String(value.map { $0 == "\r" || $0 == "\n" || $0 == "\r\n" ? " " : $0 })
    }

    static func mailbox(_ name: String?, _ address: String) -> String {
        let address = clean(address)
        guard let name = name.map(clean), !name.isEmpty else { return "<\(address)>" }
        if name.unicodeScalars.allSatisfy({ $0.value >= 32 && $0.value < 127 }) {
            let escaped = name.replacingAll("\\", with: "\\\\").replacingAll("\"", with: "\\\"")
            return "\"\(escaped)\" <\(address)>"
        }
        return EncodedWords.encode(name) + " <\(address)>"
    }

    /// "Wed, 02 Dec 2026 14:46:00 +0000".
    public static func rfc5322Date(_ seconds: Int64) -> String {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondsOfDay = seconds - days * 86_400
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        let weekday = Int((days % 7 + 7 + 4) % 7) // 1970-01-01 was a Thursday
        let names = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(names[weekday]), \(two(day)) \(months[Int(month) - 1]) \(year) \(two(secondsOfDay / 3600)):\(two(secondsOfDay / 60 % 60)):\(two(secondsOfDay % 60)) +0000"
    }
}
