/// The signed-in agent as every console page's chrome shows it (base.leaf: name, role, and
/// which links to offer).
struct PageAgent: Encodable {
    var name: String
    var email: String
    var role: String
    var isSupervisor: Bool
    var isAdmin: Bool

    init(_ agent: AgentRecord) {
        name = agent.name
        email = agent.email
        role = agent.role.rawValue
        isSupervisor = agent.role >= .supervisor
        isAdmin = agent.role >= .admin
    }
}

/// A choice of a page's `<select>`: its value, what it says, whether it is the current one.
struct PageOption: Encodable {
    var value: String
    var label: String
    var selected: Bool
}
