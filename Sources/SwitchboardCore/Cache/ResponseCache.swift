public import Foundation
import Synchronization

/// A cached chat answer: the OpenAI `chat.completion` body the call produced (the one representation every dialect
/// and a replayed stream are made from), and what produced it.
public struct CachedAnswer: Sendable, Hashable {
    /// The `chat.completion` JSON.
    public var body: [UInt8]
    /// The usage the call that produced it recorded: what a hit saves.
    public var usage: Usage
    /// The provider that answered.
    public var provider: String
    /// The model it was asked for.
    public var model: String

    /// Creates an entry.
    public init(body: [UInt8], usage: Usage, provider: String, model: String) {
        self.body = body
        self.usage = usage
        self.provider = provider
        self.model = model
    }
}

/// A store replicas share the response cache through (the gateway's SQLite or PostgreSQL store).
public protocol ResponseCacheStore: Sendable {
    /// The entry under `key` unless it expired by `now`.
    func cachedAnswer(_ key: ResponseCacheKey, now: Date) async throws -> CachedAnswer?
    /// Keeps `answer` under `key` until `expires`, replacing an older one.
    func storeAnswer(_ answer: CachedAnswer, for key: ResponseCacheKey, expires: Date) async throws
}

/// The response cache: which requests it takes, a size-bounded in-memory LRU answering without waiting, and an
/// optional shared store behind it for replicas.
public final class ResponseCache: Sendable {
    /// Which requests are cached.
    public enum Mode: String, Sendable, CaseIterable {
        /// None.
        case off
        /// Only those that ask (`x-switchboard-cache: on`).
        case requested
        /// Those that ask, and those with `temperature` 0.
        case deterministic
        /// Every chat request.
        case all
    }

    /// How the cache is set up.
    public struct Configuration: Sendable {
        public var mode: Mode
        /// How long an entry is answered from.
        public var ttl: Duration
        /// A lane's own time to live, by lane name.
        public var laneTTL: [String: Duration]
        /// The in-memory LRU's bound: answers and keys, in bytes.
        public var maxBytes: Int
        /// Entries kept per API key instead of shared by every caller.
        public var perKey: Bool

        /// A configuration.
        public init(
            mode: Mode = .deterministic, ttl: Duration = .seconds(3600), laneTTL: [String: Duration] = [:],
            maxBytes: Int = 64 << 20, perKey: Bool = false
        ) {
            self.mode = mode
            self.ttl = ttl
            self.laneTTL = laneTTL
            self.maxBytes = maxBytes
            self.perKey = perKey
        }
    }

    /// What a request asked of the cache, from its headers.
    public struct Directives: Sendable, Hashable {
        /// It asked to be cached.
        public var requested = false
        /// `Cache-Control: no-cache`: do not answer from the cache.
        public var noCache = false
        /// `Cache-Control: no-store`: do not keep the answer.
        public var noStore = false

        /// Directives.
        public init(requested: Bool = false, noCache: Bool = false, noStore: Bool = false) {
            self.requested = requested
            self.noCache = noCache
            self.noStore = noStore
        }
    }

    /// What the cache does for one request.
    public struct Decision: Sendable, Hashable {
        /// Look the answer up.
        public var lookup: Bool
        /// Keep the answer when the call succeeds.
        public var store: Bool
    }

    public let configuration: Configuration
    /// Where entries are shared with other replicas; nil keeps them in this process.
    public let shared: (any ResponseCacheStore)?
    private let memory: Mutex<LRUStore<ResponseCacheKey, CachedAnswer>>
    private let clock: @Sendable () -> ContinuousClock.Instant
    private let wallClock: @Sendable () -> Date

    /// A cache; the clocks are injected for tests.
    public init(
        _ configuration: Configuration, shared: (any ResponseCacheStore)? = nil,
        clock: @escaping @Sendable () -> ContinuousClock.Instant = { .now }, wallClock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.configuration = configuration
        self.shared = shared
        self.clock = clock
        self.wallClock = wallClock
        memory = Mutex(LRUStore(capacity: configuration.maxBytes))
    }

    /// Whether `request`, with the caller's directives, is looked up and stored.
    public func decision(for request: ChatRequest, _ directives: Directives) -> Decision {
        let eligible: Bool
        switch configuration.mode {
        case .off: eligible = false
        case .requested: eligible = directives.requested
        case .deterministic: eligible = directives.requested || request.temperature == 0
        case .all: eligible = true
        }
        return Decision(lookup: eligible && !directives.noCache, store: eligible && !directives.noStore)
    }

    /// The key of `request` resolved to `target`, for the caller with key id `keyID`.
    public func key(target: String, request: ChatRequest, keyID: String?) -> ResponseCacheKey {
        ResponseCacheKey(target: target, request: request, scope: configuration.perKey ? (keyID ?? "") : nil)
    }

    /// The key of `request` (its model the upstream's) sent to the provider or lane with id `providerID`: a lane is
    /// its own target, any other provider is `provider/model`.
    public func key(for request: ChatRequest, at providerID: String, keyID: String?) -> ResponseCacheKey {
        key(target: providerID.hasPrefix(Lane.prefix) ? providerID : providerID + "/" + request.model, request: request, keyID: keyID)
    }

    /// The in-memory entry under `key`, without waiting.
    public func lookupNow(_ key: ResponseCacheKey) -> CachedAnswer? {
        let now = clock()
        return memory.withLock { $0.value(key, now: now) }
    }

    /// The entry under `key`: from memory, else from the shared store (then kept in memory for the rest of its life).
    public func lookup(_ key: ResponseCacheKey) async throws -> CachedAnswer? {
        if let found = lookupNow(key) { return found }
        guard let shared else { return nil }
        let now = wallClock()
        guard let found = try await shared.cachedAnswer(key, now: now) else { return nil }
        keepInMemory(found, for: key, ttl: ttl(for: key))
        return found
    }

    /// Keeps `answer` in memory at once; the shared store's write, if any, is returned for the caller to wait on
    /// or run in a task.
    public func store(_ answer: CachedAnswer, for key: ResponseCacheKey) -> (@Sendable () async throws -> Void)? {
        let ttl = ttl(for: key)
        keepInMemory(answer, for: key, ttl: ttl)
        guard let shared else { return nil }
        let expires = wallClock().addingTimeInterval(Double(ttl.inMilliseconds) / 1000)
        return { try await shared.storeAnswer(answer, for: key, expires: expires) }
    }

    /// Bytes held in memory.
    public var bytes: Int { memory.withLock { $0.totalCost } }
    /// Entries held in memory.
    public var count: Int { memory.withLock { $0.count } }

    private func keepInMemory(_ answer: CachedAnswer, for key: ResponseCacheKey, ttl: Duration) {
        let expires = clock() + ttl
        let cost = answer.body.count + key.approximateBytes
        memory.withLock { _ = $0.insert(key, answer, cost: cost, expires: expires) }
    }

    private func ttl(for key: ResponseCacheKey) -> Duration {
        guard key.target.hasPrefix(Lane.prefix) else { return configuration.ttl }
        return configuration.laneTTL[String(key.target.dropFirst(Lane.prefix.count))] ?? configuration.ttl
    }
}
