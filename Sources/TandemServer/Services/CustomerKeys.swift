import Crypto
import Fluent
import Foundation
import TandemOffline

/// How a customer is identified across conversations (re-contact counting, erasure, export):
/// `hmac:` and HMAC-SHA256 of their normalised e-mail under the server secret, or `anon:` and a
/// random id when they gave no e-mail (each such conversation is its own customer). Keyed
/// rather than a plain hash: SHA-256 of an e-mail can be reversed by hashing guessed addresses,
/// so a copy of the keys (an export, a log line, an anonymised row) would say whose they are;
/// without the secret it says nothing.
struct CustomerKeys: Sendable {
    static let emailPrefix = "hmac:"
    /// A verified customer (`IdentityVerification`): HMAC of their host-site user id.
    static let verifiedPrefix = "user:"
    static let anonymousPrefix = "anon:"
    /// The unkeyed SHA-256 keys written before customer keys were keyed (`upgradeLegacyKeys`).
    static let legacyPrefix = "email:"

    private let secret: SymmetricKey

    init(secret: String) { self.secret = SymmetricKey(data: Data(secret.utf8)) }

    static func normalise(email: String) -> String { email.trimmingCharacters(in: .whitespaces).lowercased() }

    func key(email: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(Self.normalise(email: email).utf8), using: secret)
        return Self.emailPrefix + Data(mac).map { String(format: "%02x", $0) }.joined()
    }

    /// A verified customer's key: keyed like the e-mails (a user id is often guessable).
    func key(verifiedUserID userID: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(("user:" + userID).utf8), using: secret)
        return Self.verifiedPrefix + Data(mac).map { String(format: "%02x", $0) }.joined()
    }

    /// A client address as stored for the cap on open conversations: keyed like the e-mails, as
    /// the digest of an IPv4 address is reversed by hashing all four billion of them.
    func key(address: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(("address:" + address).utf8), using: secret)
        return Data(mac).map { String(format: "%02x", $0) }.joined()
    }

    static func anonymous() -> String { anonymousPrefix + UUID().uuidString }

    /// Whether `text` has the shape of a key this server writes (checked before any lookup, so
    /// arbitrary path text never reaches the database).
    static func isWellFormed(_ text: String) -> Bool {
        guard let colon = text.firstIndex(of: ":") else { return false }
        let prefix = String(text[...colon]), rest = text[text.index(after: colon)...]
        return [emailPrefix, verifiedPrefix, anonymousPrefix, legacyPrefix].contains(prefix) && (1...75).contains(rest.count)
            && rest.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "-") }
    }

    /// The secret from the environment, or else the one generated for this database (created
    /// on first start; two nodes starting at once agree through the unique name).
    static func load(environment: TandemEnvironment, on db: Database) async throws -> CustomerKeys {
        if let secret = environment.secretKey {
            guard secret.count >= 32 else {
                throw AppError.unavailable("TANDEM_SECRET_KEY must be at least 32 characters (for example `openssl rand -hex 32`)")
            }
            return CustomerKeys(secret: secret)
        }
        if let stored = try await ServerSecretRecord.find(name: secretName, on: db) { return CustomerKeys(secret: stored.value) }
        do {
            try await ServerSecretRecord(name: secretName, value: Secrets.token(bytes: 32)).create(on: db)
        } catch let error as any DatabaseError where error.isConstraintFailure {
            // Another node created it first; use theirs.
        }
        guard let stored = try await ServerSecretRecord.find(name: secretName, on: db) else {
            throw AppError.unavailable("the server secret could not be stored")
        }
        return CustomerKeys(secret: stored.value)
    }

    static let secretName = "customer-key"

    /// Rewrites keys written before they were keyed (`email:` + SHA-256) as HMACs of the stored
    /// e-mail. Runs at every start and does nothing once none are left: a migration cannot do
    /// it, since the secret is configuration the migrating process may not have, and a backup
    /// restored later is upgraded the same way. Returns how many were rewritten.
    @discardableResult
    func upgradeLegacyKeys(on db: Database) async throws -> Int {
        var total = 0
        while true {
            let batch = try await ConversationRecord.withLegacyCustomerKeys(limit: 500, on: db)
            if batch.isEmpty { return total }
            try await db.writeTransaction { db in
                for conversation in batch {
                    let key = conversation.customerEmail.map { self.key(email: $0) } ?? Self.anonymous()
                    try await ConversationRecord.setCustomerKey(key, of: conversation.requireID(), on: db)
                }
            }
            total += batch.count
        }
    }
}
