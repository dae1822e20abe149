public import SwitchboardCore

/// A provider (or a router, or a lane) whose answers go through a response cache: the library's form of the
/// gateway's cache stage, with the same keys, rules and stored form, so it can share a store with a gateway.
public struct CachingProvider: LLMProvider {
    /// The provider asked on a miss.
    public let provider: any LLMProvider
    public let cache: ResponseCache
    /// What every call asks of the cache (`requested` to cache calls the mode would not).
    public var directives: ResponseCache.Directives

    /// `provider` behind `cache`.
    public init(_ provider: any LLMProvider, cache: ResponseCache, directives: ResponseCache.Directives = .init()) {
        self.provider = provider
        self.cache = cache
        self.directives = directives
    }

    public var id: String { provider.id }
    public var displayName: String { provider.displayName }
    public var capabilities: Set<Capability> { provider.capabilities }
    public var isConfigured: Bool { provider.isConfigured }

    public func chat(_ request: ChatRequest, context: CallContext) async throws -> ChatResponse {
        let decision = cache.decision(for: request, directives)
        let key = cache.key(for: request, at: provider.id, keyID: nil)
        if decision.lookup, let hit = try await cache.lookup(key) { return try hit.response() }
        let response = try await provider.chat(request, context: context)
        if decision.store, response.finishReason != .error, let usage = response.usage {
            try await keep(CachedAnswer(response, usage: usage, model: request.model), key)
        }
        return response
    }

    public func stream(_ request: ChatRequest, context: CallContext) -> AsyncThrowingStream<StreamEvent, any Error> {
        let decision = cache.decision(for: request, directives)
        let key = cache.key(for: request, at: provider.id, keyID: nil)
        let (stream, continuation) = AsyncThrowingStream<StreamEvent, any Error>.makeStream()
        let task = Task { [provider, cache] in
            do {
                if decision.lookup, let hit = try await cache.lookup(key) {
                    for try await event in try hit.events() { continuation.yield(event) }
                    continuation.finish()
                    return
                }
                var kept = StreamAccumulator()
                for try await event in provider.stream(request, context: context) {
                    kept.add(event)
                    continuation.yield(event)
                }
                let response = kept.response
                if decision.store, response.finishReason != .error, let usage = response.usage {
                    try await keep(CachedAnswer(response, usage: usage, model: request.model), key)
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    public func models(context: CallContext) async throws -> [ModelInfo] { try await provider.models(context: context) }
    public func health(context: CallContext) async -> ProviderHealth { await provider.health(context: context) }

    private func keep(_ answer: CachedAnswer, _ key: ResponseCacheKey) async throws {
        if let write = cache.store(answer, for: key) { try await write() }
    }
}
