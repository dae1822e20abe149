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
        /// The providers listing each bare id, in provider order.
        var owners: [String: [String]] = [:]
        /// Why a provider's list could not be loaded, for providers without one.
        var failures: [String: String] = [:]
        var loaded = false
        /// The first load, shared by everyone who waits for it.
        var loading: Task<Void, Never>?
    }

    private let state = Mutex(State())

    /// Providers that take any model name, whatever they list (configured as such: an endpoint with no model list).
    public let openProviders: [String]

    /// An empty catalog; `openProviders` take names no provider lists.
    public init(openProviders: [String] = []) {
        self.openProviders = openProviders
    }

    /// Refreshes from every provider concurrently; a provider that fails keeps its previous list.
    public func refresh(_ providers: [any LLMProvider], context: CallContext) async {
        var fresh = state.withLock { $0.byProvider }
        var failures: [String: String] = [:]
        await withTaskGroup(of: (String, Result<[ModelInfo], any Error>).self) { group in
            for provider in providers {
                group.addTask {
                    do { return (provider.id, .success(try await provider.models(context: context))) } catch {
                        context.logger.warning("model listing failed", metadata: ["provider": "\(provider.id)", "error": "\(error)"])
                        return (provider.id, .failure(error))
                    }
                }
            }
            for await (id, listed) in group {
                switch listed {
                case .success(let models): fresh[id] = models
                case .failure(let error) where fresh[id] == nil: failures[id] = "\(error)"
                case .failure: break
                }
            }
        }
        var known = Set<String>()
        var owners: [String: [String]] = [:]
        for provider in providers.map(\.id) {
            for model in fresh[provider] ?? [] {
                known.insert(model.id)
                known.insert("\(provider)/\(model.id)")
                if owners[model.id]?.last != provider { owners[model.id, default: []].append(provider) }
            }
        }
        // Swapped in one step, so readers never see a half-refreshed catalog.
        state.withLock {
            $0.byProvider = fresh
            $0.names = known
            $0.owners = owners
            $0.failures = failures
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

    /// The providers listing `model` (a bare id), in provider order.
    public func providers(serving model: String) -> [String] {
        state.withLock { $0.owners[model] ?? [] }
    }

    /// What the catalog knows of each provider in `order`, for an error naming the providers a name was looked for at.
    public func listings(order: [String]) -> [ModelListing] {
        var seen = Set<String>()
        let providers = order.filter { seen.insert($0).inserted }
        return state.withLock { s in
            providers.map { id in
                if openProviders.contains(id) { return ModelListing(provider: id, state: .anyModel) }
                if let models = s.byProvider[id] { return ModelListing(provider: id, state: .listed(models.count)) }
                return ModelListing(provider: id, state: .unavailable(s.failures[id] ?? "not loaded"))
            }
        }
    }

    /// Whether `name` (`provider/model` or a bare id) is a model some provider lists.
    public func knows(_ name: String) -> Bool {
        state.withLock { $0.names.contains(name) }
    }
}

/// What the catalog knows of one provider's models.
public struct ModelListing: Sendable, Hashable, CustomStringConvertible {
    /// Whether the provider's list is known.
    public enum State: Sendable, Hashable {
        /// It listed this many models.
        case listed(Int)
        /// It takes any model name.
        case anyModel
        /// Its list could not be loaded, for this reason.
        case unavailable(String)
    }

    /// The provider's id.
    public var provider: String
    /// What is known of its list.
    public var state: State

    /// Creates a listing.
    public init(provider: String, state: State) {
        self.provider = provider
        self.state = state
    }

    public var description: String {
        switch state {
        case .listed(let count): "\(provider) (\(count) model\(count == 1 ? "" : "s") listed)"
        case .anyModel: "\(provider) (any model)"
        case .unavailable(let reason): "\(provider) (model list unavailable: \(reason))"
        }
    }
}
