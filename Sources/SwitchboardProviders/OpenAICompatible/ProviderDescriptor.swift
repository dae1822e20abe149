public import SwitchboardCore

/// Whether a service has a free tier.
public enum FreeTier: String, Sendable, Hashable {
    case yes, no, local
}

/// How a service spells reasoning controls on the wire.
public enum ReasoningStyle: Sendable, Hashable {
    /// `reasoning_effort` (OpenAI and most others); disabling sends effort `none`.
    case effort
    /// Cerebras: `reasoning_effort`, `disable_reasoning`, `clear_thinking`.
    case cerebras
    /// `thinking: {"type": "enabled" | "disabled"}` (Zhipu GLM, Z.ai, Volcengine).
    case thinkingType
    /// Top-level `enable_thinking` boolean (Qwen on DashScope).
    case enableThinking
    /// OpenRouter's `reasoning: {effort, enabled}` object.
    case reasoningObject
}

/// A model a service is known to offer, with its seed context window and prices.
public struct CatalogueEntry: Sendable, Hashable {
    public var id: String
    public var contextWindow: Int?
    /// Price per million input tokens in nano-USD.
    public var inputPerMillion: NanoUSD?
    /// Price per million output tokens in nano-USD.
    public var outputPerMillion: NanoUSD?
    public var capabilities: Set<Capability>

    /// Creates an entry; prices as decimal dollar strings ("2.25").
    public init(
        _ id: String, context: Int?, input: String? = nil, output: String? = nil,
        capabilities: Set<Capability> = [.chat, .streaming, .tools, .structuredOutput]
    ) {
        self.id = id
        self.contextWindow = context
        self.inputPerMillion = input.flatMap { NanoUSD(usd: $0) }
        self.outputPerMillion = output.flatMap { NanoUSD(usd: $0) }
        self.capabilities = capabilities
    }
}

/// Everything that makes one OpenAI-compatible service different from another.
public struct ProviderDescriptor: Sendable, Hashable {
    public var id: String
    public var displayName: String
    /// Base URL without a trailing slash; request URL = base + chat path.
    public var baseURL: String
    public var chatPath: String = "/chat/completions"
    public var modelsPath: String = "/models"
    public var embeddingsPath: String = "/embeddings"
    /// The variable holding the key; nil when the service needs none.
    public var apiKeyEnv: String?
    /// A variable that overrides the base URL.
    public var baseURLEnv: String?
    /// Other names the key's variable goes by (read after `apiKeyEnv`).
    public var apiKeyEnvAliases: [String] = []
    /// Other names the base URL's variable goes by (read after `baseURLEnv`).
    public var baseURLEnvAliases: [String] = []

    /// Every variable the key may be in, the primary name first.
    public var keyVariables: [String] { (apiKeyEnv.map { [$0] } ?? []) + apiKeyEnvAliases }
    /// Every variable the base URL may be in, the primary name first.
    public var baseURLVariables: [String] { (baseURLEnv.map { [$0] } ?? []) + baseURLEnvAliases }
    public var defaultModel: String?
    public var freeTier: FreeTier
    /// Wire parameter renames, e.g. `max_tokens` to `max_completion_tokens`.
    public var renames: [String: String] = [:]
    /// Wire parameters this service rejects, removed before sending.
    public var dropParams: Set<String> = []
    /// Fields read for reasoning text, in order (`reasoning_content`, `reasoning`).
    public var reasoningFields: [String] = ["reasoning_content", "reasoning"]
    public var reasoningStyle: ReasoningStyle = .effort
    /// Field on assistant messages to replay earlier reasoning in; nil drops it.
    public var replayReasoningField: String?
    /// Headers sent on every request.
    public var extraHeaders: [String: String] = [:]
    /// Send `stream_options.include_usage` when streaming.
    public var streamUsage: Bool = true
    /// Known models with seed prices; `/models` decides which exist.
    public var catalogue: [CatalogueEntry] = []
    /// Plan limits that can be enforced client-side, by tier name.
    public var tiers: [String: RateLimitTier] = [:]
    /// Whether the service speaks `/embeddings`.
    public var embeddings: Bool = false
    /// Whether the service speaks `/images/generations`.
    public var images: Bool = false
    /// Path of the images API, relative to the base URL.
    public var imagesPath: String = "/images/generations"
    /// Path of the service's own Responses API, relative to the base URL; nil when it has none.
    public var responsesPath: String?
    /// A caveat about this row (unconfirmed facts, discontinued service).
    public var note: String?

    /// Creates a descriptor.
    public init(
        id: String, displayName: String, baseURL: String, apiKeyEnv: String?, defaultModel: String?,
        freeTier: FreeTier
    ) {
        self.id = id
        self.displayName = displayName
        self.baseURL = baseURL
        self.apiKeyEnv = apiKeyEnv
        self.defaultModel = defaultModel
        self.freeTier = freeTier
    }

    /// Whether calls fail without a key (local servers run keyless).
    public var requiresKey: Bool { apiKeyEnv != nil && freeTier != .local }

    /// A copy changed by `change`, for building registry rows.
    public func with(_ change: (inout ProviderDescriptor) -> Void) -> ProviderDescriptor {
        var copy = self
        change(&copy)
        return copy
    }
}
