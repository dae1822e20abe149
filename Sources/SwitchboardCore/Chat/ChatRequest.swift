/// A function the model may call.
public struct Tool: Sendable, Hashable {
    /// The function name (`[a-zA-Z0-9_-]`, at most 64 characters).
    public var name: String
    /// What the function does, for the model.
    public var description: String?
    /// JSON Schema of the arguments object.
    public var parameters: JSONValue?
    /// Ask for strict schema adherence where the provider supports it.
    public var strict: Bool?

    /// Creates a function tool.
    public init(name: String, description: String? = nil, parameters: JSONValue? = nil, strict: Bool? = nil) {
        self.name = name
        self.description = description
        self.parameters = parameters
        self.strict = strict
    }
}

/// Whether and which tool the model must call.
public enum ToolChoice: Sendable, Hashable {
    case auto, none, required
    /// Call exactly this function.
    case named(String)
}

/// The shape the model's answer must take.
public enum ResponseFormat: Sendable, Hashable {
    case text
    /// Any valid JSON object.
    case jsonObject
    /// JSON matching a schema.
    case jsonSchema(name: String, schema: JSONValue, strict: Bool?, description: String? = nil)
}

/// Reasoning ("thinking") controls, mapped per provider.
public struct ReasoningOptions: Sendable, Hashable {
    /// Effort level (`none`, `minimal`, `low`, `medium`, `high`, ...), passed as the provider names it.
    public var effort: String?
    /// Turn reasoning off on models that reason by default.
    public var disable: Bool?
    /// Ask the provider to strip reasoning of earlier turns.
    public var clearThinking: Bool?

    /// Creates reasoning options.
    public init(effort: String? = nil, disable: Bool? = nil, clearThinking: Bool? = nil) {
        self.effort = effort
        self.disable = disable
        self.clearThinking = clearThinking
    }
}

/// A provider-neutral chat request.
public struct ChatRequest: Sendable, Hashable {
    /// The model id as the serving provider names it (empty: the provider's default).
    public var model: String
    /// The conversation.
    public var messages: [Message]
    public var temperature: Double?
    public var topP: Double?
    /// Upper bound on generated tokens (including reasoning).
    public var maxTokens: Int?
    public var stop: [String]?
    public var seed: Int64?
    public var tools: [Tool]
    public var toolChoice: ToolChoice?
    public var parallelToolCalls: Bool?
    public var responseFormat: ResponseFormat?
    /// End-user id, for abuse monitoring upstream.
    public var user: String?
    public var reasoning: ReasoningOptions?
    /// Provider-specific fields merged into the wire body as they are.
    public var passthrough: [String: JSONValue]

    /// Creates a request.
    public init(
        model: String, messages: [Message], temperature: Double? = nil, topP: Double? = nil,
        maxTokens: Int? = nil, stop: [String]? = nil, seed: Int64? = nil, tools: [Tool] = [],
        toolChoice: ToolChoice? = nil, parallelToolCalls: Bool? = nil, responseFormat: ResponseFormat? = nil,
        user: String? = nil, reasoning: ReasoningOptions? = nil, passthrough: [String: JSONValue] = [:]
    ) {
        self.model = model
        self.messages = messages
        self.temperature = temperature
        self.topP = topP
        self.maxTokens = maxTokens
        self.stop = stop
        self.seed = seed
        self.tools = tools
        self.toolChoice = toolChoice
        self.parallelToolCalls = parallelToolCalls
        self.responseFormat = responseFormat
        self.user = user
        self.reasoning = reasoning
        self.passthrough = passthrough
    }
}

extension ChatRequest {
    /// A copy with another model.
    public func withModel(_ model: String) -> ChatRequest { with { $0.model = model } }
    /// A copy with a token limit.
    public func withMaxTokens(_ n: Int) -> ChatRequest { with { $0.maxTokens = n } }
    /// A copy with a sampling temperature.
    public func withTemperature(_ t: Double) -> ChatRequest { with { $0.temperature = t } }
    /// A copy with tools and an optional choice.
    public func withTools(_ tools: [Tool], choice: ToolChoice? = nil) -> ChatRequest {
        with {
            $0.tools = tools; $0.toolChoice = choice
        }
    }
    /// A copy with a response format.
    public func withResponseFormat(_ format: ResponseFormat) -> ChatRequest { with { $0.responseFormat = format } }
    /// A copy with reasoning options.
    public func withReasoning(_ options: ReasoningOptions) -> ChatRequest { with { $0.reasoning = options } }
    /// A copy with a system message put first.
    public func withSystem(_ text: String) -> ChatRequest { with { $0.messages.insert(.system(text), at: 0) } }
    /// A copy with one provider-specific field set.
    public func withPassthrough(_ key: String, _ value: JSONValue) -> ChatRequest { with { $0.passthrough[key] = value } }

    private func with(_ change: (inout ChatRequest) -> Void) -> ChatRequest {
        var copy = self
        change(&copy)
        return copy
    }
}

extension ChatRequest {
    /// The largest `max_tokens` a client may ask for: far above any model's output limit, and small enough that
    /// every sum on the token and money path stays exact.
    public static let maximumOutputTokens = 1 << 24
}
