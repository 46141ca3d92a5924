import Foundation

/// How consecutive customer messages are read, as people write them: several messages sent in
/// quick succession ("my card" … "was declined") are one request (a *burst*), and a short
/// follow-up that leans on the previous turn ("and for 12-month plans?") is read with it.
///
/// The server never makes a complete, confident message wait. Only what would otherwise go to a
/// person (a message the model cannot place: more words may place it), a sentence that trails
/// off, or a bare greeting, which usually comes before the request, waits for the burst window;
/// if nothing follows, it is decided alone when the window ends.
public enum Turns {
    /// Seconds a fragment waits for the rest of its burst (workspace setting `burstWindowSeconds`).
    public static let defaultBurstWindow = 2.0
    /// At most this many messages are read as one burst …
    public static let maximumBurst = 4
    /// … and the first of them waits at most this long, however the customer keeps typing.
    public static let maximumHoldSeconds = 10.0

    /// A sentence that trails off ("I tried to pay and", "so about my card,"): it waits for the
    /// rest of its burst however confident the model is, since the model read half a request.
    public static func trailsOff(_ text: String) -> Bool {
        let words = SmallTalk.tokenize(text).map(\.word)
        guard let last = words.last else { return true }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if let end = trimmed.last, [",", ":", ";", "-", "…", "–"].contains(end) { return true }
        if trimmed.hasSuffix("...") { return true }
        return words.count <= 12 && trailingWords.contains(last)
    }

    /// The opening that makes a short message lean on the previous turn ("and", "what about",
    /// "for"), nil when it stands on its own. Long messages stand on their own whatever they
    /// start with.
    public static func followUpOpening(_ text: String) -> String? {
        let words = SmallTalk.tokenize(text).map(\.word)
        guard !words.isEmpty, words.count <= maximumFollowUpWords else { return nil }
        for opening in followUpOpenings where words.starts(with: opening) {
            return opening.joined(separator: " ")
        }
        return nil
    }

    /// The texts of a burst (or a previous turn and its follow-up) as the one text the model reads.
    public static func joined(_ texts: [String]) -> String {
        texts.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }.joined(separator: " ")
    }

    /// Follow-ups longer than this are read alone: they carry their own subject.
    public static let maximumFollowUpWords = 8

    /// Openings of a follow-up, as lowercase words, longest first.
    static let followUpOpenings: [[String]] = [
        "what about", "how about", "what if", "and if", "and what about", "and how about", "same for", "same with",
        "is that the same for", "does that apply to", "does that work for", "does this apply to", "also for", "and also",
        "and", "also", "or", "but", "plus", "for", "with", "in", "from", "via", "using", "through", "by", "on", "to",
    ].map { $0.split(separator: " ").map(String.init) }.sorted { $0.count > $1.count }

    /// Last words that leave a sentence unfinished.
    static let trailingWords: Set<String> = ["and", "but", "or", "so", "because", "the", "a", "an", "my", "to", "for",
                                             "with", "of", "in", "on", "from", "that", "which", "when", "if", "then"]
}
