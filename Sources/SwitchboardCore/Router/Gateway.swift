/// The configured providers plus the router, and the rule that maps a model name to one of them.
public struct Gateway: Sendable {
    /// Configured providers, in configuration order.
    public let providers: [any LLMProvider]
    /// The failover router over the configured slots.
    public let router: ProviderRouter
    /// The model used when a request names none.
    public let defaultModel: String?
    /// Prices by `provider/model`: built-in seeds with configured overrides.
    public let prices: PriceTable
    /// The BTC price used to report costs in msats.
    public let sats: SatsRate
    /// What the providers list, for bare names and `/v1/models`.
    public let catalog: ModelCatalog
    /// Named routes over several slots, reached as `lane:NAME`.
    public let lanes: Lanes
    /// Positions in `providers` by id (the first of two with one id, as a search in order finds it): every request
    /// names its provider, and a search called `id` through the existential of each provider before it.
    private let positions: [String: Int]

    /// Creates a gateway.
    public init(
        providers: [any LLMProvider], router: ProviderRouter, defaultModel: String? = nil,
        prices: PriceTable = PriceTable(), sats: SatsRate = .standard,
        catalog: ModelCatalog = ModelCatalog(), lanes: Lanes = Lanes()
    ) {
        self.providers = providers
        self.router = router
        self.defaultModel = defaultModel
        self.prices = prices
        self.sats = sats
        self.catalog = catalog
        self.lanes = lanes
        var positions: [String: Int] = [:]
        for (i, provider) in providers.enumerated() where positions[provider.id] == nil { positions[provider.id] = i }
        self.positions = positions
    }

    /// The provider with this id.
    public func provider(id: String) -> (any LLMProvider)? {
        positions[id].map { providers[$0] }
    }

    /// A probe saw `provider` answer: the failover router's and every lane's slots at it that were skipped as
    /// unreachable are tried again.
    public func markReachable(provider: String) {
        router.markReachable(provider: provider)
        for lane in lanes.byName.values { lane.markReachable(provider: provider) }
    }

    /// The lane with this name (without `lane:`), to call it directly.
    public func lane(_ name: String) -> ProviderRouter? {
        lanes.byName[name]
    }
}

extension Gateway {
    /// Model names longer than this many bytes are refused: a name is a label, a ledger field and a log value.
    public static let maximumModelNameBytes = 256
}

/// Why a model name reaches no provider.
public enum ModelResolutionError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The name is longer than `Gateway.maximumModelNameBytes`.
    case nameTooLong
    /// No provider lists the name, and none takes any name; `considered` says what each provider's list was.
    case unknownModel(String, considered: [ModelListing])
    /// `lane:NAME` names no lane; `known` are the lanes there are.
    case unknownLane(String, known: [String])

    public var description: String {
        switch self {
        case .nameTooLong: "the model name is longer than \(Gateway.maximumModelNameBytes) bytes"
        case .unknownLane(let name, let known):
            "no lane is named '\(name)'" + (known.isEmpty ? " (none is configured)" : "; lanes: " + known.joined(separator: ", "))
        case .unknownModel(let name, let considered) where considered.isEmpty:
            "no provider serves model '\(name)': no provider is configured"
        case .unknownModel(let name, let considered):
            "no provider lists model '\(name)'; considered: "
                + considered.map(\.description).joined(separator: ", ")
                + " (write provider/model to send a name to one provider as it is)"
        }
    }
}

extension Gateway {
    /// The one rule every entry point (server, CLI, library) routes a model name by:
    /// - `lane:NAME` is that lane;
    /// - an empty name is the default model, and with none configured the failover router (each provider's own default);
    /// - `provider/model` goes to that provider when the prefix is a configured provider id, as it is;
    /// - a name that is the model of an explicit `router.fallback` slot goes to the failover router (that chain);
    /// - a name some providers list (or an open provider takes) goes to the one, or to the router's slots of several;
    /// - any other name (a typo, `nosuchprovider/foo`) is refused with `unknownModel`, naming what was considered,
    ///   so it is never sent, and billed, to a provider that does not list it.
    ///
    /// This answers from the catalog as it is; `resolve(model:context:)` first loads it when a bare name needs it.
    public func resolve(model: String) throws(ModelResolutionError) -> (provider: any LLMProvider, model: String) {
        try resolve(model: model, catalogLoaded: true)!
    }

    /// Resolves as `resolve(model:)` does, loading the catalog first when the name may be a bare id it lists.
    public func resolve(
        model: String, context: CallContext
    ) async throws(ModelResolutionError)
        -> (provider: any LLMProvider, model: String)
    {
        if let resolved = try resolveIfLoaded(model: model) { return resolved }
        await catalog.loadIfNeeded(providers, context: context)
        return try resolve(model: model)
    }

    /// Resolves without waiting: nil when the name is not a provider's and the catalog has not loaded yet.
    public func resolveIfLoaded(model: String) throws(ModelResolutionError) -> (provider: any LLMProvider, model: String)? {
        try resolve(model: model, catalogLoaded: catalog.isLoaded)
    }

    private func resolve(
        model: String, catalogLoaded: Bool
    ) throws(ModelResolutionError)
        -> (provider: any LLMProvider, model: String)?
    {
        let name = model.isEmpty ? (defaultModel ?? "") : model
        guard name.utf8.count <= Self.maximumModelNameBytes else { throw .nameTooLong }
        if name.utf8.starts(with: Lane.prefix.utf8) {
            let lane = String(name.dropFirst(Lane.prefix.count))
            guard let router = lanes.byName[lane] else { throw .unknownLane(lane, known: lanes.names) }
            return (router, name)
        }
        // Over the bytes: a `Character` search breaks the name into grapheme clusters first.
        if let slash = name.utf8.firstIndex(of: UInt8(ascii: "/")), let provider = provider(id: String(name[..<slash])) {
            return (provider, String(name[name.index(after: slash)...]))
        }
        if name.isEmpty || router.slots.contains(where: { $0.model == name }) {
            guard !router.slots.isEmpty else { throw .unknownModel(name, considered: []) }
            return (router, name)
        }
        guard catalogLoaded else { return nil }
        var owners = catalog.providers(serving: name)
        for open in catalog.openProviders where !owners.contains(open) { owners.append(open) }
        if owners.count > 1, let selection = router.serving(providers: owners) { return (selection, name) }
        if let first = providers.first(where: { owners.contains($0.id) }) { return (first, name) }
        throw .unknownModel(name, considered: catalog.listings(order: providers.map(\.id)))
    }
}
