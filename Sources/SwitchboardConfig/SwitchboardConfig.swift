public import SwitchboardCore

/// Where a secret comes from: written in the file, or an environment variable (`env:NAME`).
public enum SecretSource: Sendable, Hashable {
    case literal(String)
    case env(String)

    /// Parses `env:NAME` or a literal value.
    public init(_ text: String) {
        if text.hasPrefix("env:") { self = .env(String(text.dropFirst(4))) } else { self = .literal(text) }
    }
}

/// A `[providers.ID]` section for a built-in provider.
public struct ProviderSection: Sendable, Hashable {
    public var id: String
    public var apiKey: SecretSource?
    public var baseURL: String?
    /// Model used for every request to this provider.
    public var model: String?
    /// Client-side plan limits by tier name (Cerebras: `free`, `developer`).
    public var tier: String?
    public var enabled: Bool = true
    /// Ollama: context length (`num_ctx`) and how long models stay loaded (`keep_alive`).
    public var numCtx: Int?
    public var keepAlive: String?
    /// Bedrock: AWS region and credentials profile.
    public var region: String?
    public var profile: String?
    /// Vertex: service-account key file, project and location.
    public var keyFile: String?
    public var projectID: String?
    public var location: String?
    /// Copilot's GitHub token file; Qwen's OAuth credentials file.
    public var tokenPath: String?
    /// Where the section starts, for messages.
    public var line: Int?
}

/// A `[[providers.openai_compat]]` custom endpoint.
public struct CustomEndpoint: Sendable, Hashable {
    public var id: String
    public var apiKey: SecretSource?
    public var baseURL: String
    public var chatPath: String?
    public var model: String?
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
    /// `[providers.mock] enabled`.
    public var mockEnabled: Bool?
    /// `[router] fallback`: ordered `provider/model` slots; empty means every provider in order.
    public var fallback: [String] = []
    /// Sections of providers this build does not have yet.
    public var unavailableSections: [String] = []
    /// `[server]`.
    public var server = ServerSettings()
    /// `[store]`.
    public var store = StoreSettings()
    /// `[limits]`: gateway-wide and per-user rate limits and budgets (keys carry their own).
    public var limits = QuotaEnforcer.Configuration()
    /// `[pricing."provider/model"]` overrides, exact.
    public var prices: [String: ModelPrice] = [:]
    /// `[billing] btc_usd`: the BTC price used for msats.
    public var btcPrice: NanoUSD = NanoUSD(100_000 * 1_000_000_000)

    /// An empty configuration.
    public init() {}
}

/// Provider sections that later work will serve; accepted and reported, never silently ignored.
let unavailableProviderIDs: [String: String] = [
    "swarm": "Nostr NIP-90 swarm",
    "cli_agent": "headless CLI agents",
]
