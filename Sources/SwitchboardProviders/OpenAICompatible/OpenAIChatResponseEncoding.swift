public import SwitchboardCore

/// Pure translation of a unified response into OpenAI's `chat.completion` (the server's answers, the response cache's
/// entries).
public enum OpenAIChatResponseEncoding {
    /// OpenAI's `usage` object.
    public static func usage(_ u: Usage) -> JSONValue {
        [
            "prompt_tokens": .int(Int64(u.inputTokens)), "completion_tokens": .int(Int64(u.outputTokens)),
            "total_tokens": .int(Int64(u.totalTokens)),
            "prompt_tokens_details": ["cached_tokens": .int(Int64(u.cachedTokens))],
            "completion_tokens_details": ["reasoning_tokens": .int(Int64(u.reasoningTokens))],
        ]
    }

    /// A `chat.completion` object.
    public static func completion(_ r: ChatResponse, created: Int64) -> JSONValue {
        var message: [String: JSONValue] = [
            "role": "assistant",
            "content": r.toolCalls.isEmpty || !r.content.isEmpty ? .string(r.content) : .null,
            "refusal": .null,
        ]
        if let reasoning = r.reasoning { message["reasoning_content"] = .string(reasoning) }
        // An agent's answer says what it did on the way (an extension field; clients that do not know it skip it).
        if !r.agentActions.isEmpty { message["switchboard_agent_actions"] = .array(r.agentActions.map(\.json)) }
        if !r.toolCalls.isEmpty {
            message["tool_calls"] = .array(
                r.toolCalls.map {
                    ["id": .string($0.id), "type": "function", "function": ["name": .string($0.name), "arguments": .string($0.arguments)]]
                })
        }
        var out: [String: JSONValue] = [
            "id": .string(r.id.isEmpty ? "chatcmpl-switchboard" : r.id), "object": "chat.completion", "created": .int(created),
            "model": .string(r.model),
            "choices": [["index": 0, "message": .object(message), "logprobs": .null, "finish_reason": .string(r.finishReason.wireValue)]],
        ]
        out["usage"] = r.usage.map(usage) ?? .null
        return .object(out)
    }
}
