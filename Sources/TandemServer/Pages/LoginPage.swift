import Foundation
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
        // A path on this site only: no scheme or host, no backslash (some browsers read it as
        // a slash), no control characters or spaces (browsers drop tabs and newlines, which
        // turns "/\t/evil.example" into "//evil.example").
        // The same holds once percent-decoded ("/%09/evil.example"), in case anything decodes it.
        func isPath(_ text: String) -> Bool {
            text.count <= 2000 && text.hasPrefix("/") && !text.hasPrefix("//") && !text.contains("\\")
                && text.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value != 0x7f }
        }
        guard let next, isPath(next), isPath(next.removingPercentEncoding ?? ""),
              let url = URLComponents(string: next), url.scheme == nil, url.host == nil else { return "/console" }
        return next
    }
}

/// What the login form posts.
struct LoginForm: Decodable {
    var email: String?
    var password: String?
    var next: String?
}
