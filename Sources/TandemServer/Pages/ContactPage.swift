import Foundation
import TandemCore

/// `/console/contacts/:key` (contact.leaf): a customer and every past conversation joined to
/// them (`Contacts`), newest first, each linking to its conversation page.
struct ContactPage: Encodable {
    struct Row: Encodable {
        var id: String
        var status: String
        var statusLabel: String
        var channel: String
        var started: String
        var resolved: String?
        var rating: Int?
        var tags: [String]
    }

    var title: String
    var agent: PageAgent
    var name: String
    var email: String?
    var verified: Bool
    /// How the conversations were joined, in words.
    var joinedBy: String
    var rows: [Row]

    init(agent: AgentRecord, contact: ContactDTO) {
        self.agent = PageAgent(agent)
        name = contact.name ?? "Customer"
        title = "Contact: \(name)"
        email = contact.email
        verified = contact.verified
        joinedBy = switch contact.joinedBy {
        case "verified": "Every conversation with this verified identity (signed by the host site)."
        case "email": "Every conversation from this confirmed e-mail address."
        default: "This conversation only: the customer's identity was not verified and no e-mail was confirmed, so nothing joins it to others."
        }
        func when(_ date: Date?) -> String { date.map { "\(DisplayFormat.longDay($0)) \(DisplayFormat.clockTime($0))" } ?? "" }
        rows = contact.conversations.map { c in
            Row(id: c.id.uuidString, status: c.status.rawValue, statusLabel: ConversationsPage.statusLabel(c.status), channel: c.channel,
                started: when(c.createdAt), resolved: c.resolvedAt.map { when($0) }, rating: c.rating, tags: c.tags)
        }
    }
}
