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
    /// Positions in `providers` by id (the first of two with one id, as a search in order finds it): every request
    /// names its provider, and a search called `id` through the existential of each provider before it.
    private let positions: [String: Int]

    /// Creates a gateway.
    public init(providers: [any LLMProvider], router: ProviderRouter, defaultModel: String? = nil,
                prices: PriceTable = PriceTable(), sats: SatsRate = SatsRate(btcPrice: NanoUSD(100_000_000_000_000))) {
        self.providers = providers
        self.router = router
        self.defaultModel = defaultModel
        self.prices = prices
        self.sats = sats
        var positions: [String: Int] = [:]
        for (i, provider) in providers.enumerated() where positions[provider.id] == nil { positions[provider.id] = i }
        self.positions = positions
    }

    /// The provider with this id.
    public func provider(id: String) -> (any LLMProvider)? {
        positions[id].map { providers[$0] }
    }

    /// `provider/model` picks that provider (when the prefix is a configured provider id); anything else,
    /// including ids such as `meta-llama/Llama-3` whose prefix is no provider, goes to the router as is.
    public func resolve(model: String) -> (provider: any LLMProvider, model: String) {
        let name = model.isEmpty ? (defaultModel ?? "") : model
        // Over the bytes: a `Character` search breaks the name into grapheme clusters first.
        if let slash = name.utf8.firstIndex(of: UInt8(ascii: "/")) {
            let prefix = String(name[..<slash])
            if let provider = provider(id: prefix) {
                return (provider, String(name[name.index(after: slash)...]))
            }
        }
        return (router, name)
    }
}
