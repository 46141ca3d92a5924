/// `/console/login` (login.leaf): the sign-in form, again with the error after a failed attempt.
struct LoginPage: Encodable {
    var title = "Sign in"
    var error: String?
    /// Where to go after signing in: a same-site path (`safeNext`).
    var next: String
    var email: String?
    /// Whether to show the demo accounts.
    var demo: Bool

    init(error: String? = nil, next: String?, email: String? = nil, demo: Bool) {
        self.error = error
        self.next = Self.safeNext(next)
        self.email = email
        self.demo = demo
    }

    /// Only same-site paths, so the login form cannot redirect elsewhere.
    static func safeNext(_ next: String?) -> String {
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"), !next.contains("\\") else { return "/console" }
        return next
    }
}

/// What the login form posts.
struct LoginForm: Decodable {
    var email: String?
    var password: String?
    var next: String?
}
