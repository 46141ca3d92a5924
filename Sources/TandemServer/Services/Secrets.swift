import Crypto
import Foundation

/// Random tokens and their stored digests. Tokens are shown once to their holder; the
/// database keeps only SHA-256 digests, so a leaked database does not leak sessions.
enum Secrets {
    static func token(bytes: Int = 32) -> String {
        var generator = SystemRandomNumberGenerator()
        let data = Data((0..<bytes).map { _ in UInt8.random(in: 0...255, using: &generator) })
        return data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func digest(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// `sha256=<hex>` HMAC of the body, the webhook signature.
    static func signature(body: Data, secret: String, timestamp: Int) -> String {
        let key = SymmetricKey(data: Data(secret.utf8))
        var message = Data("\(timestamp).".utf8)
        message.append(body)
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: key)
        return "sha256=" + Data(mac).map { String(format: "%02x", $0) }.joined()
    }
}
