/// `/chat` (chat.leaf): the customer's chat window, on its own or embedded in a site.
struct ChatPage: Encodable {
    var title = "Help"
    /// Rendered inside the embeddable widget (no page chrome).
    var embed: Bool
    var maxMessageCharacters: Int
}
