import Crypto
import Fluent
import Foundation

/// Verified customers, as Intercom's identity verification does it: the host site's server
/// signs the logged-in user's id with the workspace's identity secret and the page passes id
/// and signature to the widget. Exactly: `userHash` = lower-case hex of
/// HMAC-SHA256(key: the secret's UTF-8 bytes, message: the user id's UTF-8 bytes). Only the
/// id is signed: an e-mail sent along stays unconfirmed, so it never joins other conversations.
enum IdentityVerification {
    static let secretName = "identity-secret"
    static let maxUserIDLength = 200

    /// The workspace's identity secret, generated on first use (never in the repository or the
    /// environment; admins read and rotate it through the admin API). Two nodes creating it at
    /// once agree through the unique name.
    static func secret(on db: Database) async throws -> String {
        if let stored = try await ServerSecretRecord.find(name: secretName, on: db) { return stored.value }
        do {
            try await ServerSecretRecord(name: secretName, value: Secrets.token(bytes: 32)).create(on: db)
        } catch let error as any DatabaseError where error.isConstraintFailure {
            // Another node created it first; use theirs.
        }
        guard let stored = try await ServerSecretRecord.find(name: secretName, on: db) else {
            throw AppError.unavailable("the identity secret could not be stored")
        }
        return stored.value
    }

    /// Replaces the secret: signatures made with the old one are refused from now on.
    static func rotate(on db: Database) async throws -> String {
        _ = try await secret(on: db)
        let fresh = Secrets.token(bytes: 32)
        try await ServerSecretRecord.query(on: db).filter(\.$name == secretName).set(\.$value, to: fresh).update()
        return fresh
    }

    static func hash(userID: String, secret: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(userID.utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return Data(mac).map { String(format: "%02x", $0) }.joined()
    }

    /// The verified user id, or an error saying what was wrong. The comparison is constant-time
    /// (`isValidAuthenticationCode`), so timing does not reveal how much of a guess matched.
    static func verify(userID: String?, userHash: String?, secret: () async throws -> String) async throws -> String? {
        guard let userID else {
            if userHash != nil { throw AppError.invalidField("userHash", "sent without userId") }
            return nil
        }
        guard !userID.isEmpty, userID.count <= maxUserIDLength else {
            throw AppError.invalidField("userId", "1–\(maxUserIDLength) characters")
        }
        guard let userHash, !userHash.isEmpty else {
            throw AppError.identityRefused("userHash is missing: a userId must come with its signature, the hex HMAC-SHA256 of the user id under the workspace's identity secret")
        }
        guard let mac = hexBytes(userHash), mac.count == SHA256.byteCount else {
            throw AppError.identityRefused("userHash is not 64 hexadecimal digits (the hex HMAC-SHA256 of the user id)")
        }
        let key = SymmetricKey(data: Data(try await secret().utf8))
        guard HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: Data(userID.utf8), using: key) else {
            throw AppError.identityRefused("userHash does not match userId: sign the user id with the workspace's current identity secret")
        }
        return userID
    }

    private static func hexBytes(_ text: String) -> Data? {
        let digits = Array(text.utf8)
        guard digits.count.isMultiple(of: 2) else { return nil }
        var data = Data(capacity: digits.count / 2)
        for i in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[i...i + 1], as: UTF8.self), radix: 16) else { return nil }
            data.append(byte)
        }
        return data
    }
}
