public import SwitchboardProviders
public import SwitchboardCore

/// Where a secret comes from: written in the file, or an environment variable (`env:NAME`).
/// A `[[providers.openai_compat]]` custom endpoint.
public struct CustomEndpoint: Sendable, Hashable {
    public var id: String
    public var apiKey: SecretSource?
    /// Empty for a registry service's id given without a URL: the service's own URL.
    public var baseURL: String
    public var chatPath: String?
    public var model: String?
    /// The endpoint serves OpenAI's `/embeddings` (at `embeddingsPath` when it says where).
    public var embeddings = false
    public var embeddingsPath: String?
    /// The endpoint serves OpenAI's `/images/generations` (at `imagesPath` when it says where).
    public var images = false
    public var imagesPath: String?
    /// Where the endpoint serves OpenAI's Responses API, when it does: `/v1/responses` requests go there as they came.
    public var responsesPath: String?
    /// Its own timeouts; unset ones are `[server]`'s.
    public var timeouts = UpstreamTimeouts()
    /// The endpoint takes any model name (it has no model list): names no provider lists may go to it.
    public var anyModel = false
    public var line: Int?
}

/// The validated configuration.
public struct SwitchboardConfig: Sendable, Hashable {
    /// The file it came from; nil when no file was found.
    public var file: String?
    /// `[agent] model`: used when a request names none.
    public var defaultModel: String?
    /// Built-in provider sections in file order.
    public var providers: [ProviderSection] = []
    /// Custom endpoints in declaration order.
    public var customEndpoints: [CustomEndpoint] = []
    /// `[[providers.cli_agent]]` sections in file order.
    public var cliAgents: [CLIAgentSection] = []
    /// `[providers.mock] enabled`.
    public var mockEnabled: Bool?
    /// `[router] fallback`: ordered `provider/model` slots; empty means every provider in order.
    public var fallback: [String] = []
    /// `[lanes.NAME]` in file order; none: the detected ones (`GatewayBuilder`).
    public var lanes: [Lane] = []
    /// `[server]`.
    public var server = ServerSettings()
    /// `[store]`.
    public var store = StoreSettings()
    /// `[cache]`: the response cache.
    public var cache = CacheSettings()
    /// `[telemetry]`: OpenTelemetry traces.
    public var telemetry = TelemetrySettings()
    /// `[responses] retention_days`: how long stored Responses-API responses are kept; nil (0 in the file): until deleted.
    public var responseRetentionDays: Int? = 30
    /// `[limits]`: gateway-wide and per-user rate limits and budgets (keys carry their own).
    public var limits = QuotaEnforcer.Configuration()
    /// `[pricing."provider/model"]` overrides, exact.
    public var prices: [String: ModelPrice] = [:]
    /// `[pricing] catalogue`: a price list file (this project's format or LiteLLM's), under `prices`.
    public var priceCatalogue: String?
    /// `[pricing] builtin`: whether the built-in catalogue prices the configured providers' models (default true).
    public var builtInPrices = true
    /// `[billing] btc_usd`: the BTC price used for msats.
    public var btcPrice: NanoUSD = SatsRate.standard.btcPrice

    /// An empty configuration.
    public init() {}
}
