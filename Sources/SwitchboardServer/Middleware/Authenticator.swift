import Foundation
import HTTPTypes
import Hummingbird
import Synchronization
import SwitchboardStorage

/// Turns the caller's key into a `Principal`. Keys are looked up by their SHA-256 hash and compared in
/// constant time; a short cache keeps the store off the hot path without making revocation slow.
///
/// When a cached key's time is up, the first request to notice asks the store again, while the others keep the
/// cached answer until it comes back (at most one more `ttl`): a busy key's expiry then costs one lookup, not a
/// lookup for every request that arrives while it runs.
final class Authenticator: Sendable {
    enum Mode: Sendable {
        case keys(masterKeyHash: String?)
        case none
    }

    private let mode: Mode
    private let store: any KeyStore
    private let ttl: Duration
    private let now: @Sendable () -> ContinuousClock.Instant

    private struct Cached {
        var record: APIKeyRecord
        var expiry: ContinuousClock.Instant
        /// A request is asking the store again; until then (and at most one `ttl`) the others use `record`.
        var refreshing = false
    }
    private let cache = Mutex<[String: Cached]>([:])

    init(
        mode: Mode, store: any KeyStore, cacheTTL: Duration = .seconds(1),
        now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }
    ) {
        self.mode = mode
        self.store = store
        self.ttl = cacheTTL
        self.now = now
    }

    /// The presented key as a slice of its header: only its hash is needed, so no `String` is made of it. HTTP Basic
    /// (any user name, the key as the password) is what a browser sends for the dashboard.
    private static func presentedKey(_ headers: HTTPFields) -> Substring? {
        if let auth = headers.value(.authorization), auth.utf8.count > 7 {
            let scheme = auth.utf8.prefix(7)
            // "Bearer " in any case.
            if scheme.elementsEqual("bearer ".utf8, by: { $0 | 0x20 == $1 | 0x20 }) {
                return trimmed(auth.dropFirst(7))
            }
            if scheme.prefix(6).elementsEqual("basic ".utf8, by: { $0 | 0x20 == $1 | 0x20 }) {
                guard let decoded = Data(base64Encoded: String(trimmed(auth.dropFirst(6)))),
                    let pair = String(data: decoded, encoding: .utf8), let colon = pair.firstIndex(of: ":")
                else { return Substring() }
                return trimmed(pair[pair.index(after: colon)...])
            }
        }
        return headers.value(.apiKey).map { trimmed(Substring($0)) }
    }

    private static func trimmed(_ s: Substring) -> Substring {
        // Over the bytes: comparing `Character`s breaks the key into grapheme clusters first.
        let utf8 = s.utf8
        func blank(_ b: UInt8) -> Bool { b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") }
        guard let first = utf8.firstIndex(where: { !blank($0) }), let last = utf8.lastIndex(where: { !blank($0) }) else {
            return s[s.endIndex...]
        }
        return s[first...last]
    }

    /// What the headers say without asking the store.
    enum Lookup {
        case principal(Principal)
        case refused(APIError)
        /// A key the cache does not hold: the store decides.
        case unknown(hash: String)
    }

    /// The caller, when the headers alone or the cache decide it; never waits.
    func lookup(_ headers: HTTPFields) -> Lookup {
        guard case .keys(let masterHash) = mode else { return .principal(.anonymous) }
        guard let presented = Self.presentedKey(headers), !presented.isEmpty else {
            return .refused(APIError.unauthorized("missing API key: send 'Authorization: Bearer sk-sb-...' or 'x-api-key'"))
        }
        let hash = APIKeys.hash(presented)
        if let masterHash, APIKeys.constantTimeEquals(hash, masterHash) { return .principal(.master) }
        switch cached(hash, claim: false).map(Self.decide) {
        case .success(let principal)?: return .principal(principal)
        case .failure(let error)?: return .refused(error)
        case nil: return .unknown(hash: hash)
        }
    }

    /// The cached record of `hash` while it may be used; nil when the store must be asked. With `claim`, the caller
    /// that finds it expired (and nobody asking yet) becomes the one that asks.
    private func cached(_ hash: String, claim: Bool) -> APIKeyRecord? {
        let now = now()
        return cache.withLock { c -> APIKeyRecord? in
            guard var entry = c[hash] else { return nil }
            if entry.expiry > now { return entry.record }
            guard now < entry.expiry + ttl else { return nil }
            if entry.refreshing { return entry.record }
            if claim {
                entry.refreshing = true
                c[hash] = entry
            }
            return nil
        }
    }

    func authenticate(_ headers: HTTPFields) async throws -> Principal {
        switch lookup(headers) {
        case .principal(let principal):
            return principal
        case .refused(let error):
            throw error
        case .unknown(let hash):
            // Another request may have started asking since.
            if let record = cached(hash, claim: true) { return try Self.decide(record).get() }
            let record: APIKeyRecord?
            do {
                record = try await store.key(hash: hash)
            } catch {
                // Let the next request try the store again.
                cache.withLock { $0[hash]?.refreshing = false }
                throw error
            }
            let expiry = now() + ttl
            cache.withLock { $0[hash] = record.map { Cached(record: $0, expiry: expiry) } }
            guard let record else { throw APIError.unauthorized("invalid API key") }
            return try Self.decide(record).get()
        }
    }

    /// A stored key's caller, or its refusal.
    private static func decide(_ record: APIKeyRecord) -> Result<Principal, APIError> {
        record.isRevoked ? .failure(APIError.unauthorized("this API key has been revoked")) : .success(.key(record))
    }
}
