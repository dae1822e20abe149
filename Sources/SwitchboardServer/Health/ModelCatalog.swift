import Logging
public import SwitchboardCore
import Synchronization

/// The models every configured provider lists, refreshed in the background, so `/v1/models` and bare-model
/// routing never wait on upstreams.
public final class ModelCatalog: Sendable {
    private let state = Mutex<[String: [ModelInfo]]>([:])
    /// Every name a client may use for a listed model: `provider/model` and the bare id.
    private let names = Mutex<Set<String>>([])
    private let loaded = Mutex(false)

    /// An empty catalog.
    public init() {}

    /// Refreshes from every provider concurrently; a provider that fails keeps its previous list.
    public func refresh(_ gateway: Gateway, context: CallContext) async {
        await withTaskGroup(of: (String, [ModelInfo]?).self) { group in
            for provider in gateway.providers {
                group.addTask {
                    do { return (provider.id, try await provider.models(context: context)) } catch {
                        context.logger.warning("model listing failed", metadata: ["provider": "\(provider.id)", "error": "\(error)"])
                        return (provider.id, nil)
                    }
                }
            }
            // Swap in one step, so readers never see a half-refreshed catalog.
            var fresh = state.withLock { $0 }
            for await (id, models) in group {
                if let models { fresh[id] = models }
            }
            state.withLock { $0 = fresh }
            var known = Set<String>()
            for (provider, models) in fresh {
                for model in models {
                    known.insert(model.id)
                    known.insert("\(provider)/\(model.id)")
                }
            }
            names.withLock { $0 = known }
        }
        loaded.withLock { $0 = true }
    }

    /// Whether `name` (`provider/model` or a bare id) is a model some provider lists.
    public func knows(_ name: String) -> Bool {
        names.withLock { $0.contains(name) }
    }

    /// Whether one refresh has completed.
    public var isLoaded: Bool { loaded.withLock { $0 } }

    /// Every cached model, in provider order.
    public func all(order: [String]) -> [ModelInfo] {
        state.withLock { s in order.flatMap { s[$0] ?? [] } }
    }

    /// How many models are cached.
    public var count: Int { state.withLock { $0.values.reduce(0) { $0 + $1.count } } }

    /// The providers listing `model` (a bare id).
    public func providers(serving model: String) -> [String] {
        state.withLock { s in s.filter { $0.value.contains { $0.id == model } }.keys.sorted() }
    }
}
