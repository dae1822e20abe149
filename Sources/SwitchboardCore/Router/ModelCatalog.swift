public import Logging
import Synchronization

/// The models every configured provider lists, refreshed in the background by the server (and loaded once, on
/// demand, wherever a bare model name is resolved first), so `/v1/models` and bare-name routing do not ask the
/// upstreams per request.
public final class ModelCatalog: Sendable {
    private struct State {
        var byProvider: [String: [ModelInfo]] = [:]
        /// Every name a client may use for a listed model: `provider/model` and the bare id.
        var names: Set<String> = []
        var loaded = false
        /// The first load, shared by everyone who waits for it.
        var loading: Task<Void, Never>?
    }

    private let state = Mutex(State())

    /// An empty catalog.
    public init() {}

    /// Refreshes from every provider concurrently; a provider that fails keeps its previous list.
    public func refresh(_ providers: [any LLMProvider], context: CallContext) async {
        var fresh = state.withLock { $0.byProvider }
        await withTaskGroup(of: (String, [ModelInfo]?).self) { group in
            for provider in providers {
                group.addTask {
                    do { return (provider.id, try await provider.models(context: context)) } catch {
                        context.logger.warning("model listing failed", metadata: ["provider": "\(provider.id)", "error": "\(error)"])
                        return (provider.id, nil)
                    }
                }
            }
            for await (id, models) in group {
                if let models { fresh[id] = models }
            }
        }
        var known = Set<String>()
        for (provider, models) in fresh {
            for model in models {
                known.insert(model.id)
                known.insert("\(provider)/\(model.id)")
            }
        }
        // Swapped in one step, so readers never see a half-refreshed catalog.
        state.withLock {
            $0.byProvider = fresh
            $0.names = known
            $0.loaded = true
        }
    }

    /// Loads the catalog unless a refresh has completed; concurrent callers share one load.
    public func loadIfNeeded(_ providers: [any LLMProvider], context: CallContext) async {
        let task: Task<Void, Never>? = state.withLock { s in
            guard !s.loaded else { return nil }
            if let loading = s.loading { return loading }
            let loading = Task { await self.refresh(providers, context: context) }
            s.loading = loading
            return loading
        }
        await task?.value
    }

    /// Whether one refresh has completed.
    public var isLoaded: Bool { state.withLock { $0.loaded } }

    /// Every cached model, in provider order.
    public func all(order: [String]) -> [ModelInfo] {
        state.withLock { s in order.flatMap { s.byProvider[$0] ?? [] } }
    }

    /// How many models are cached.
    public var count: Int { state.withLock { $0.byProvider.values.reduce(0) { $0 + $1.count } } }

    /// The providers listing `model` (a bare id).
    public func providers(serving model: String) -> [String] {
        state.withLock { s in s.byProvider.filter { $0.value.contains { $0.id == model } }.keys.sorted() }
    }

    /// Whether `name` (`provider/model` or a bare id) is a model some provider lists.
    public func knows(_ name: String) -> Bool {
        state.withLock { $0.names.contains(name) }
    }
}
