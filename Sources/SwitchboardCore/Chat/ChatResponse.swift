/// Why generation stopped.
public enum FinishReason: Sendable, Hashable, CustomStringConvertible {
    case stop, length, toolCalls, contentFilter, error
    /// A provider reason with no unified meaning, kept verbatim.
    case other(String)

    /// Maps an OpenAI-style reason string.
    public init(wire: String) {
        switch wire {
        case "stop", "end_turn", "stop_sequence": self = .stop
        case "length", "max_tokens": self = .length
        case "tool_calls", "function_call", "tool_use": self = .toolCalls
        case "content_filter": self = .contentFilter
        case "error": self = .error
        default: self = .other(wire)
        }
    }

    /// The OpenAI wire spelling.
    public var wireValue: String {
        switch self {
        case .stop: "stop"
        case .length: "length"
        case .toolCalls: "tool_calls"
        case .contentFilter: "content_filter"
        case .error: "error"
        case .other(let s): s
        }
    }

    /// The wire spelling.
    public var description: String { wireValue }
}

/// Token counts of one call.
public struct Usage: Sendable, Hashable {
    /// Prompt tokens, cached ones included.
    public var inputTokens: Int
    /// Generated tokens, reasoning included.
    public var outputTokens: Int
    /// Of the output, tokens spent reasoning.
    public var reasoningTokens: Int
    /// Of the input, tokens served from the provider's prompt cache.
    public var cachedTokens: Int
    /// Of the input, tokens written to the provider's prompt cache (priced apart by providers that charge for it).
    public var cacheWriteTokens: Int

    /// What the provider itself said the call cost (an agent CLI's own figure), recorded instead of a price's.
    public var reportedCost: NanoUSD?
    /// What the call was paid in millisatoshis (a swarm job's price), recorded as such and in nano-USD at the BTC price.
    public var reportedMsats: Int64?
    /// Creates a usage record.
    public init(inputTokens: Int = 0, outputTokens: Int = 0, reasoningTokens: Int = 0, cachedTokens: Int = 0, cacheWriteTokens: Int = 0) {
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.reasoningTokens = reasoningTokens
        self.cachedTokens = cachedTokens
        self.cacheWriteTokens = cacheWriteTokens
    }

    /// Input plus output.
    public var totalTokens: Int { inputTokens.saturatingAdding(outputTokens) }
}

/// A complete answer from a provider.
public struct ChatResponse: Sendable, Hashable {
    /// The upstream response id.
    public var id: String
    /// The model that answered, as the provider reports it.
    public var model: String
    /// The id of the provider that served it.
    public var provider: String
    /// The assistant message: text, reasoning and tool calls.
    public var message: Message
    public var finishReason: FinishReason
    public var usage: Usage?
    /// What an agent did on its way to the answer, in order (empty for a model).
    public var agentActions: [AgentAction] = []

    /// Creates a response.
    public init(id: String, model: String, provider: String, message: Message, finishReason: FinishReason, usage: Usage?) {
        self.id = id
        self.model = model
        self.provider = provider
        self.message = message
        self.finishReason = finishReason
        self.usage = usage
    }

    /// The answer's text.
    public var content: String { message.text }
    /// The answer's reasoning text, if any.
    public var reasoning: String? { message.reasoning }
    /// The tool calls the model made.
    public var toolCalls: [ToolCall] { message.toolCalls }
}

extension ChatResponse {
    /// The answer as the events a stream of it would have carried: for an upstream that answered a streamed request
    /// with a whole completion.
    public var events: [StreamEvent] {
        var out: [StreamEvent] = [.started(id: id, model: model, provider: provider)]
        if let reasoning, !reasoning.isEmpty { out.append(.reasoningDelta(reasoning)) }
        if !content.isEmpty { out.append(.textDelta(content)) }
        for (index, call) in toolCalls.enumerated() {
            out.append(.toolCallDelta(ToolCallDelta(index: index, id: call.id, name: call.name, arguments: call.arguments)))
        }
        for action in agentActions { out.append(.agentAction(action)) }
        if let usage { out.append(.usage(usage)) }
        out.append(.finish(finishReason))
        return out
    }
}
