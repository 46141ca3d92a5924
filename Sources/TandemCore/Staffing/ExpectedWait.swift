import Foundation

/// The expected wait of a queued conversation, M/M/c style (the model under `Erlang`): with
/// `servers` places (agents × conversations each) all busy and handle times exponential with
/// mean `handleTime`, places free up at rate servers / handleTime, so the customer at
/// `position` waits on average for (position − free places) of them.
public enum ExpectedWait {
    /// nil when there is nobody to wait for (no places at all).
    public static func seconds(position: Int, servers: Int, busy: Int, handleTime: Double) -> Double? {
        guard servers > 0, handleTime > 0, position > 0 else { return nil }
        let free = max(0, servers - busy)
        let ahead = position - free
        return ahead <= 0 ? 0 : Double(ahead) * handleTime / Double(servers)
    }

    /// "about 5 minutes", "less than a minute", "about 2 hours".
    public static func describe(_ seconds: Double) -> String {
        if seconds < 60 { return "less than a minute" }
        let minutes = Int((seconds / 60).rounded())
        if minutes < 90 { return minutes == 1 ? "about a minute" : "about \(minutes) minutes" }
        let hours = Int((seconds / 3600).rounded())
        if hours < 36 { return hours == 1 ? "about an hour" : "about \(hours) hours" }
        let days = Int((seconds / 86_400).rounded())
        return days == 1 ? "about a day" : "about \(days) days"
    }
}
