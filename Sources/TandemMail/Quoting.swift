// What the author wrote in this message, without the history their client quoted below it
// and without their signature: the classifier must read the new question, not the old thread.

public enum Quoting {
    /// Removes, from the first line that starts quoted history on: "On … wrote:" (Gmail,
    /// Apple Mail, Thunderbird, in a few languages, also when wrapped over two lines), Outlook's
    /// "-----Original Message-----" and "From: … / Sent: …" blocks, "> " lines; and a signature
    /// after "-- " or a common sign-off ("Sent from my iPhone", "Thanks,\nName" at the end).
    /// When stripping would leave nothing (a reply typed inside the quote), the unquoted lines
    /// of the whole text are kept instead.
    public static func strip(_ text: String) -> String {
        let lines = MailMessage.normaliseNewlines(text).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var kept: [String] = []
        var index = 0
        while index < lines.count {
            let line = lines[index]
            let trimmed = line.trimmingSpaces()
            if line == "-- " || trimmed == "--" || trimmed == "__" { break }
            if isQuoteHeader(trimmed) { break }
            // "On Tue, 1 Dec 2026 at 10:00, Ann <ann@x>" + "wrote:" on the next line.
            if index + 1 < lines.count, startsAttribution(trimmed),
               isWroteLine(lines[index + 1].trimmingSpaces()) || isQuoteHeader(trimmed + " " + lines[index + 1].trimmingSpaces()) { break }
            if isOutlookBlock(lines, at: index) { break }
            if isDeviceSignature(trimmed) { break }
            if trimmed.hasPrefix(">") {
                // A quoted line; skip it (inline replies keep the lines between quotes).
                index += 1
                continue
            }
            kept.append(line)
            index += 1
        }
        var result = trimSignOff(kept)
        if result.trimmingSpaces().isEmpty {
            result = lines.filter { !$0.trimmingSpaces().hasPrefix(">") }.joined(separator: "\n")
        }
        return collapseBlankLines(result).trimmingSpaces()
    }

    private static let attributionStarts = ["on ", "le ", "am ", "el ", "il ", "op ", "em "]
    private static let wroteWords = ["wrote:", "a écrit :", "a écrit:", "schrieb:", "escribió:", "ha scritto:", "schreef:", "escreveu:"]

    static func startsAttribution(_ line: String) -> Bool {
        let lower = line.lowercased()
        return attributionStarts.contains { lower.hasPrefix($0) } && line.count < 200
    }

    static func isWroteLine(_ line: String) -> Bool {
        let lower = line.lowercased()
        return wroteWords.contains { lower.hasSuffix($0) }
    }

    static func isQuoteHeader(_ line: String) -> Bool {
        let lower = line.lowercased()
        if startsAttribution(line) && isWroteLine(line) { return true }
        if lower.hasPrefix("-----original message-----") || lower.hasPrefix("-------- original message --------") { return true }
        if lower.hasPrefix("begin forwarded message:") || lower.hasPrefix("---------- forwarded message") { return true }
        if lower.hasPrefix("________________________________") { return true } // Outlook's rule before From:/Sent:
        return false
    }

    /// Outlook quotes as a header block: "From: …" followed within three lines by "Sent: …"
    /// (or "Date: …") and "To:"/"Subject:".
    static func isOutlookBlock(_ lines: [String], at index: Int) -> Bool {
        let first = lines[index].trimmingSpaces().lowercased()
        guard first.hasPrefix("from:") || first.hasPrefix("*from:*") || first.hasPrefix("de :") || first.hasPrefix("von:") else { return false }
        let next = lines[(index + 1)..<min(lines.count, index + 4)].map { $0.trimmingSpaces().lowercased() }
        return next.contains { $0.hasPrefix("sent:") || $0.hasPrefix("*sent:*") || $0.hasPrefix("date:") || $0.hasPrefix("envoyé :") || $0.hasPrefix("gesendet:") }
    }

    static func isDeviceSignature(_ line: String) -> Bool {
        let lower = line.lowercased()
        return lower.hasPrefix("sent from my ") || lower.hasPrefix("sent from outlook") || lower.hasPrefix("get outlook for ")
            || lower.hasPrefix("sent from mail for windows") || lower.hasPrefix("sent from yahoo mail")
            || lower.hasPrefix("envoyé de mon ") || lower.hasPrefix("von meinem ")
    }

    private static let signOffs = ["thanks", "thank you", "thanks!", "thanks,", "cheers", "regards", "best regards", "kind regards",
                                   "best", "best wishes", "many thanks", "thanks in advance", "sincerely", "yours sincerely",
                                   "warm regards", "br", "rgds", "ta", "merci", "cordialement", "grüße", "viele grüße", "mit freundlichen grüßen"]

    /// A sign-off line near the end ("Thanks,", "Best regards,") and the name lines after it.
    /// Only within the last four non-empty lines, and never the first line: "Thanks for the help,
    /// but it still fails" is content, and so is a message that is only "Thanks!".
    static func trimSignOff(_ lines: [String]) -> String {
        var end = lines.count
        while end > 0, lines[end - 1].trimmingSpaces().isEmpty { end -= 1 }
        let content = Array(lines[..<end])
        let nonEmpty = content.indices.filter { !content[$0].trimmingSpaces().isEmpty }
        guard nonEmpty.count >= 2 else { return content.joined(separator: "\n") }
        for position in nonEmpty.suffix(4) where position != nonEmpty.first {
            var word = content[position].trimmingSpaces().lowercased()
            while let last = word.last, last == "," || last == "!" || last == "." { word.removeLast() }
            if signOffs.contains(word) {
                return content[..<position].joined(separator: "\n")
            }
        }
        return content.joined(separator: "\n")
    }

    static func collapseBlankLines(_ text: String) -> String {
        var out: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let s = String(line).trimmingTrailingSpaces()
            if s.isEmpty, let last = out.last, last.isEmpty { continue }
            out.append(s)
        }
        return out.joined(separator: "\n")
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = Substring(self)
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
