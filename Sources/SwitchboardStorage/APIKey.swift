import Crypto
public import Foundation
public import SwitchboardCore

/// A stored API key: everything but the secret, which is kept only as its SHA-256 hash.
public struct APIKeyRecord: Sendable, Hashable, Codable {
    /// Public id (`key_...`), used to list and revoke.
    public var id: String
    public var name: String
    /// The user the key belongs to, for per-user limits and usage.
    public var user: String?
    /// The first characters of the secret, so people can tell keys apart.
    public var prefix: String
    public var createdAt: Date
    public var revokedAt: Date?
    /// Models the key may use (`provider/model` or bare); nil allows every model.
    public var allowedModels: [String]?
    /// The key's own rate limits and budget.
    public var limits: UsageLimits
    /// What the key may do beyond calling models.
    public var scopes: Set<APIKeyScope>

    /// Creates a record.
    public init(
        id: String, name: String, user: String?, prefix: String, createdAt: Date, revokedAt: Date? = nil,
        allowedModels: [String]? = nil, limits: UsageLimits = .unlimited, scopes: Set<APIKeyScope> = []
    ) {
        self.scopes = scopes
        self.id = id
        self.name = name
        self.user = user
        self.prefix = prefix
        self.createdAt = createdAt
        self.revokedAt = revokedAt
        self.allowedModels = allowedModels
        self.limits = limits
    }

    /// Whether the key was revoked.
    public var isRevoked: Bool { revokedAt != nil }

    /// Whether the key may use `model` at `provider`, where the client's name resolved to. An allowed
    /// `provider/model` whose prefix `isProvider` names allows exactly that pair; any other allowed name is a model
    /// id (`gpt-4o`, `meta-llama/Llama-3`) allowed at whichever provider serves it.
    public func allows(provider: String, model: String, isProvider: (Substring) -> Bool) -> Bool {
        guard let allowed = allowedModels, !allowed.isEmpty else { return true }
        return allowed.contains { entry in
            if let slash = entry.firstIndex(of: "/"), isProvider(entry[..<slash]) {
                return entry[..<slash] == provider && entry[entry.index(after: slash)...] == model
            }
            return entry == model
        }
    }
}

/// What a key may do beyond calling models.
public enum APIKeyScope: String, Sendable, Hashable, Codable, CaseIterable {
    /// Read the usage dashboard (`/dashboard`) as the master key may.
    case admin
}

/// Making, hashing and comparing API key secrets.
public enum APIKeys {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")

    /// A new secret: `sk-sb-` and 40 random base-62 characters (about 238 bits).
    public static func generateSecret() -> String {
        "sk-sb-" + randomString(40)
    }

    /// A new public key id.
    public static func generateID() -> String {
        "key_" + randomString(16)
    }

    private static func randomString(_ n: Int) -> String {
        var rng = SystemRandomNumberGenerator()
        return String((0..<n).map { _ in alphabet[Int(rng.next(upperBound: UInt64(alphabet.count)))] })
    }

    /// Hex SHA-256 of a secret: what is stored and looked up.
    /// A slice (the key in its header) is hashed as it is, without making a `String` of it first.
    public static func hash(_ secret: some StringProtocol) -> String {
        secret.utf8.withContiguousStorageIfAvailable { hash(utf8: UnsafeRawBufferPointer($0)) }
            ?? Array(secret.utf8).withUnsafeBytes(hash(utf8:))
    }

    private static func hash(utf8: UnsafeRawBufferPointer) -> String {
        let digest = SHA256.hash(data: utf8)
        // Runs on every authenticated request: no arrays on the way (iterating a digest makes one).
        return digest.withUnsafeBytes { bytes in
            String(unsafeUninitializedCapacity: 2 * SHA256.byteCount) { out in
                func digit(_ nibble: UInt8) -> UInt8 { nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10 }
                var i = 0
                for byte in bytes {
                    out[i] = digit(byte >> 4)
                    out[i + 1] = digit(byte & 0x0F)
                    i += 2
                }
                return i
            }
        }
    }

    /// Compares two secrets (or hashes) in time that does not depend on where they differ.
    public static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        var a = a, b = b
        return a.withUTF8 { x in
            b.withUTF8 { y in
                var diff = UInt8(truncatingIfNeeded: x.count ^ y.count)
                for i in 0..<max(x.count, y.count) {
                    diff |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0)
                }
                return diff == 0
            }
        }
    }
}

/// What to create a key with.
public struct NewAPIKey: Sendable, Hashable {
    public var name: String
    public var user: String?
    /// Models the key may use; nil allows every model.
    public var allowedModels: [String]?
    public var limits: UsageLimits
    public var scopes: Set<APIKeyScope>

    /// Describes a key.
    public init(
        name: String, user: String? = nil, allowedModels: [String]? = nil, limits: UsageLimits = .unlimited,
        scopes: Set<APIKeyScope> = []
    ) {
        self.scopes = scopes
        self.name = name
        self.user = user
        self.allowedModels = allowedModels
        self.limits = limits
    }

    /// A fresh record and secret for this description; stores save the record and the secret's hash.
    func make(now: Date = Date()) -> (record: APIKeyRecord, secret: String) {
        let secret = APIKeys.generateSecret()
        let record = APIKeyRecord(
            id: APIKeys.generateID(), name: name, user: user, prefix: String(secret.prefix(10)),
            createdAt: now, allowedModels: allowedModels, limits: limits, scopes: scopes)
        return (record, secret)
    }
}

/// Where API keys live.
public protocol KeyStore: Sendable {
    /// Stores a new key and returns its record and the secret (shown once, never stored).
    func createKey(_ key: NewAPIKey) async throws -> (record: APIKeyRecord, secret: String)
    /// Every key, newest first.
    func listKeys() async throws -> [APIKeyRecord]
    /// Revokes a key; false when no key has this id.
    func revokeKey(id: String) async throws -> Bool
    /// The key whose secret hashes to `hash`, revoked or not.
    func key(hash: String) async throws -> APIKeyRecord?
}
