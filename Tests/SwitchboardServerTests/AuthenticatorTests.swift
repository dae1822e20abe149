import Foundation
import HTTPTypes
import Synchronization
import Testing

@testable import SwitchboardServer
@testable import SwitchboardStorage
import SwitchboardTesting

/// The key cache on its own clock: a key's expiry costs one store lookup, and revocation still takes effect.
@Suite struct AuthenticatorTests {
    final class Clock: Sendable {
        let now = Mutex(ContinuousClock.now)
        func advance(_ d: Duration) { now.withLock { $0 += d } }
    }

    static func headers(_ secret: String) -> HTTPFields {
        [.authorization: "Bearer \(secret)"]
    }

    static func isPrincipal(_ lookup: Authenticator.Lookup) -> Bool {
        if case .principal = lookup { true } else { false }
    }

    /// A real store whose key lookups wait for the test to let each one through, and are counted.
    final class GatedKeys: KeyStore {
        let inner: SQLiteStore
        let lookups = Mutex(0)
        let permits: AsyncStream<Void>
        let permit: AsyncStream<Void>.Continuation

        init(_ inner: SQLiteStore) {
            self.inner = inner
            (permits, permit) = AsyncStream.makeStream()
        }

        func key(hash: String) async throws -> APIKeyRecord? {
            lookups.withLock { $0 += 1 }
            for await _ in permits { break }
            return try await inner.key(hash: hash)
        }
        func createKey(_ key: NewAPIKey) async throws -> (record: APIKeyRecord, secret: String) { try await inner.createKey(key) }
        func listKeys() async throws -> [APIKeyRecord] { try await inner.listKeys() }
        func revokeKey(id: String) async throws -> Bool { try await inner.revokeKey(id: id) }
    }

    @Test func anExpiredKeyIsAskedForOnceWhileTheOthersKeepTheCachedAnswer() async throws {
        let path = ScratchFiles.path("auth", suffix: ".db")
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let store = GatedKeys(try SQLiteStore(path: path))
        let clock = Clock()
        let auth = Authenticator(mode: .keys(masterKeyHash: nil), store: store, cacheTTL: .seconds(10)) { clock.now.withLock { $0 } }
        let (record, secret) = try await store.createKey(NewAPIKey(name: "app"))
        let headers = Self.headers(secret)

        // Not cached yet: the store decides, then the cache does.
        guard case .unknown = auth.lookup(headers) else { Issue.record("a new key must be looked up"); return }
        store.permit.yield()
        _ = try await auth.authenticate(headers)
        #expect(Self.isPrincipal(auth.lookup(headers)))

        // Expired: the first request to authenticate asks the store; until it has, the others keep the cached answer.
        clock.advance(.seconds(11))
        guard case .unknown = auth.lookup(headers) else { Issue.record("an expired key must be asked for"); return }
        let asking = Task { try await auth.authenticate(headers) }
        while store.lookups.withLock({ $0 }) < 2 { await Task.yield() }
        #expect(Self.isPrincipal(auth.lookup(headers)))
        _ = try await auth.authenticate(headers)  // answered from the cache: no second lookup
        #expect(store.lookups.withLock { $0 } == 2)

        // The key is revoked before that lookup returns: from its answer on, every request is refused.
        #expect(try await store.revokeKey(id: record.id))
        store.permit.yield()
        await #expect(throws: APIError.self) { try await asking.value }
        guard case .refused = auth.lookup(headers) else { Issue.record("a revoked key must be refused"); return }

        // A lookup that never comes back does not keep a stale answer past one more lifetime.
        clock.advance(.seconds(11))
        let stuck = Task { try await auth.authenticate(headers) }
        while store.lookups.withLock({ $0 }) < 3 { await Task.yield() }
        guard case .refused = auth.lookup(headers) else { Issue.record("within its grace the cached answer holds"); return }
        clock.advance(.seconds(11))
        guard case .unknown = auth.lookup(headers) else { Issue.record("a stale answer outlived its grace"); return }
        store.permit.yield()
        _ = try? await stuck.value
    }
}
