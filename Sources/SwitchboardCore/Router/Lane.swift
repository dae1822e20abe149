/// How a lane orders its slots for each request.
public enum LaneStrategy: String, Sendable, Hashable, CaseIterable {
    /// In the configured order.
    case priority
    /// Fastest first, by each slot's moving average of time to answer (to first token for streams); untried first.
    case latency
    /// Cheapest first, by the price table (input plus output price); unpriced last.
    case cost
    /// First slot picked by smooth weighted round-robin over `weights`, then the rest in order.
    case weighted
    /// First slot rotating request by request, then the rest in order.
    case roundRobin = "round-robin"
}

/// A named route over several model slots, used as the model name `lane:NAME`.
public struct Lane: Sendable, Hashable {
    /// The name after `lane:`.
    public var name: String
    /// Slots in priority order: `provider/model`, or `lane:OTHER` for another lane.
    public var models: [String]
    public var strategy: LaneStrategy
    /// One weight per slot, for `weighted`.
    public var weights: [Int]
    /// No first byte of a streamed answer by then: the next slot (nothing has reached the client yet).
    public var ttftTimeout: Duration?
    /// The whole call's limit, failovers included.
    public var totalTimeout: Duration?
    /// Spend (at the slots' prices, while the process runs) at which the lane turns itself off.
    public var budget: NanoUSD?
    /// The same in msats (for lanes over the swarm), counted at the BTC price; the lower of the two applies.
    public var budgetMsats: Int64?
    /// How long the response cache answers this lane's requests from an entry; nil: the cache's own time to live.
    public var cacheTTL: Duration?

    /// A lane.
    public init(
        name: String, models: [String], strategy: LaneStrategy = .priority, weights: [Int] = [], ttftTimeout: Duration? = nil,
        totalTimeout: Duration? = nil, budget: NanoUSD? = nil, budgetMsats: Int64? = nil, cacheTTL: Duration? = nil
    ) {
        self.budgetMsats = budgetMsats
        self.cacheTTL = cacheTTL
        self.budget = budget
        self.name = name
        self.models = models
        self.strategy = strategy
        self.weights = weights
        self.ttftTimeout = ttftTimeout
        self.totalTimeout = totalTimeout
    }

    /// The model name that routes to it.
    public var modelName: String { Self.prefix + name }

    /// What a lane's model name starts with.
    public static let prefix = "lane:"
}

/// Why lanes cannot be built.
public struct LaneError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong, naming the lane.
    public var description: String
}

/// The lanes of a gateway, each a `ProviderRouter` with its own strategy, built once from their definitions.
public struct Lanes: Sendable {
    /// Lanes by name.
    public let byName: [String: ProviderRouter]
    /// Names in definition order.
    public let names: [String]
    /// The definitions.
    public let definitions: [Lane]

    /// No lanes.
    public init() {
        byName = [:]
        names = []
        definitions = []
    }

    /// Builds `lanes` over `providers` (found by id), pricing slots from `prices`. A lane may name lanes defined before
    /// or after it, never itself through any chain.
    public init(
        _ lanes: [Lane], providers: [any LLMProvider], prices: PriceTable, sats: SatsRate = .standard,
        observer: (any RouterObserver)? = nil
    ) throws(LaneError) {
        var definitions: [String: Lane] = [:]
        for lane in lanes {
            guard !lane.name.isEmpty, !lane.name.contains("/") else { throw LaneError(description: "a lane needs a name without '/'") }
            guard definitions.updateValue(lane, forKey: lane.name) == nil else {
                throw LaneError(description: "lane '\(lane.name)' is defined twice")
            }
            guard !lane.models.isEmpty else { throw LaneError(description: "lane '\(lane.name)' has no models") }
            if lane.strategy == .weighted {
                guard lane.weights.count == lane.models.count, lane.weights.allSatisfy({ $0 > 0 }) else {
                    throw LaneError(description: "lane '\(lane.name)': weighted needs one positive weight per model")
                }
            }
        }
        var built: [String: ProviderRouter] = [:]
        var building: Set<String> = []
        func build(_ name: String) throws(LaneError) -> ProviderRouter {
            if let lane = built[name] { return lane }
            guard let lane = definitions[name] else { throw LaneError(description: "no lane is named '\(name)'") }
            guard building.insert(name).inserted else { throw LaneError(description: "lane '\(name)' routes back to itself") }
            var slots: [RouterSlot] = []
            for model in lane.models {
                if model.hasPrefix(Lane.prefix) {
                    let inner: ProviderRouter
                    do { inner = try build(String(model.dropFirst(Lane.prefix.count))) } catch {
                        throw LaneError(description: "lane '\(name)': \(error.description)")
                    }
                    slots.append(RouterSlot(provider: inner))
                    continue
                }
                guard let slash = model.firstIndex(of: "/"), let provider = providers.first(where: { $0.id == model[..<slash] }),
                    model.index(after: slash) != model.endIndex
                else {
                    throw LaneError(description: "lane '\(name)': '\(model)' is not a configured provider's provider/model or a lane:NAME")
                }
                slots.append(RouterSlot(provider: provider, model: String(model[model.index(after: slash)...])))
            }
            let prices = slots.map { slot in slot.model.flatMap { prices.price(provider: slot.provider.id, model: $0) } }
            let router = ProviderRouter(
                id: lane.modelName, slots: slots, observer: observer,
                plan: .init(
                    strategy: lane.strategy, weights: lane.weights, prices: prices, ttftTimeout: lane.ttftTimeout,
                    totalTimeout: lane.totalTimeout, budget: Self.budget(lane, sats: sats), sats: sats))
            building.remove(name)
            built[name] = router
            return router
        }
        for lane in lanes { _ = try build(lane.name) }
        byName = built
        names = lanes.map(\.name)
        self.definitions = lanes
    }
}

extension Lanes {
    /// The lower of a lane's dollar and msats budgets, in nano-USD.
    static func budget(_ lane: Lane, sats: SatsRate) -> NanoUSD? {
        let msats = lane.budgetMsats.map { sats.nanoUSD(msats: $0) }
        switch (lane.budget, msats) {
        case (let a?, let b?): return a < b ? a : b
        case (let a, let b): return a ?? b
        }
    }
}
