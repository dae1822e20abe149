public import Foundation
public import SwitchboardCore

/// Pure translation between the unified types and Anthropic's Messages API (`shared/reference/
/// anthropic-messages.md`): request encoding, response decoding; the stream decoder is beside it.
public enum AnthropicTranslation {
    /// Output tokens asked for when the request names none (the API requires `max_tokens`).
    public static let defaultMaxTokens = 4096

    /// Thinking budgets for the unified effort levels.
    static func thinkingBudget(_ effort: String?) -> Int {
        switch effort {
        case "minimal", "low": 1024
        case "high": 16_384
        case "max", "xhigh": 32_000
        default: 4096
        }
    }

    /// The Messages request body.
    public static func body(_ r: ChatRequest, stream: Bool) -> JSONValue {
        var o: [String: JSONValue] = ["model": .string(r.model)]
        var system: [String] = []
        var turns: [(role: String, blocks: [JSONValue])] = []
        func add(_ role: String, _ blocks: [JSONValue]) {
            guard !blocks.isEmpty else { return }
            // The API wants alternating turns: consecutive same-role messages become one turn.
            if let last = turns.last, last.role == role { turns[turns.count - 1].blocks += blocks } else { turns.append((role, blocks)) }
        }
        for m in r.messages {
            switch m.role {
            case .system, .developer: system.append(m.text)
            case .user: add("user", content(m.content))
            case .tool:
                add("user", [["type": "tool_result", "tool_use_id": .string(m.toolCallID ?? ""), "content": .string(m.text)]])
            case .assistant:
                var blocks: [JSONValue] = []
                if !m.content.text.isEmpty { blocks.append(["type": "text", "text": .string(m.content.text)]) }
                for call in m.toolCalls {
                    blocks.append(["type": "tool_use", "id": .string(call.id), "name": .string(call.name), "input": call.argumentsObject])
                }
                add("assistant", blocks)
            }
        }
        if case .jsonObject? = r.responseFormat { system.append("Reply with a single JSON object and nothing else.") }
        if !system.isEmpty { o["system"] = .string(system.joined(separator: "\n\n")) }
        o["messages"] = .array(turns.map { ["role": .string($0.role), "content": .array($0.blocks)] })
        var maxTokens = r.maxTokens ?? defaultMaxTokens
        if let reasoning = r.reasoning, reasoning.disable != true, reasoning.effort != nil, reasoning.effort != "none" {
            let budget = thinkingBudget(reasoning.effort)
            // The budget counts toward max_tokens and must leave room for the answer.
            maxTokens = max(maxTokens, budget + 1024)
            o["thinking"] = ["type": "enabled", "budget_tokens": .int(Int64(budget))]
        }
        o["max_tokens"] = .int(Int64(maxTokens))
        // Anthropic's range is 0 to 1; OpenAI-style values above 1 are clamped.
        if let t = r.temperature { o["temperature"] = .double(min(1, max(0, t))) }
        if let p = r.topP { o["top_p"] = .double(p) }
        if let stop = r.stop, !stop.isEmpty { o["stop_sequences"] = .array(stop.map(JSONValue.string)) }
        if stream { o["stream"] = true }
        if !r.tools.isEmpty {
            o["tools"] = .array(
                r.tools.map { t in
                    var tool: [String: JSONValue] = ["name": .string(t.name), "input_schema": t.parameters ?? ["type": "object"]]
                    if let d = t.description { tool["description"] = .string(d) }
                    return .object(tool)
                })
        }
        var choice: [String: JSONValue]?
        switch r.toolChoice {
        case .auto?: choice = ["type": "auto"]
        case .required?: choice = ["type": "any"]
        case .none?: choice = ["type": "none"]
        case .named(let name)?: choice = ["type": "tool", "name": .string(name)]
        case nil: choice = nil
        }
        if r.parallelToolCalls == false, !r.tools.isEmpty {
            var c = choice ?? ["type": "auto"]
            c["disable_parallel_tool_use"] = true
            choice = c
        }
        if let choice { o["tool_choice"] = .object(choice) }
        if case .jsonSchema(_, let schema, _, _)? = r.responseFormat {
            o["output_config"] = ["format": ["type": "json_schema", "schema": schema]]
        }
        if let user = r.user { o["metadata"] = ["user_id": .string(user)] }
        for (k, v) in r.passthrough { o[k] = v }
        return .object(o)
    }

    static func content(_ c: MessageContent) -> [JSONValue] {
        switch c {
        case .text(let s): return s.isEmpty ? [] : [["type": "text", "text": .string(s)]]
        case .parts(let parts):
            return parts.map { part -> JSONValue in
                switch part {
                case .text(let t): return ["type": "text", "text": .string(t)]
                case .imageBase64(let data, let media):
                    return ["type": "image", "source": ["type": "base64", "media_type": .string(media), "data": .string(data)]]
                case .imageURL(let url, _):
                    // A data: URI is sent as base64; anything else by URL.
                    if url.hasPrefix("data:"), let comma = url.firstIndex(of: ","), url[..<comma].hasSuffix(";base64") {
                        let media = String(url[url.index(url.startIndex, offsetBy: 5)..<url.index(comma, offsetBy: -7)])
                        return [
                            "type": "image",
                            "source": [
                                "type": "base64", "media_type": .string(media),
                                "data": .string(String(url[url.index(after: comma)...])),
                            ],
                        ]
                    }
                    return ["type": "image", "source": ["type": "url", "url": .string(url)]]
                }
            }
        }
    }

    static func finishReason(_ s: String?) -> FinishReason {
        switch s {
        case "refusal": .contentFilter
        case "model_context_window_exceeded": .length
        case nil: .stop
        default: FinishReason(wire: s!)
        }
    }

    /// Anthropic's `input_tokens` excludes cached prompt tokens; the unified count includes them.
    static func usage(_ u: JSONValue?) -> Usage? {
        guard let u, case .object = u else { return nil }
        let read = Int(u["cache_read_input_tokens"]?.intValue ?? 0)
        let created = Int(u["cache_creation_input_tokens"]?.intValue ?? 0)
        return Usage(
            inputTokens: Int(u["input_tokens"]?.intValue ?? 0).saturatingAdding(read).saturatingAdding(created),
            outputTokens: Int(u["output_tokens"]?.intValue ?? 0), cachedTokens: read, cacheWriteTokens: created)
    }

    /// A non-streamed Messages response.
    public static func response(_ data: Data, provider: String) throws(ProviderError) -> ChatResponse {
        guard let json = try? JSONValue.parse(data), json["type"]?.stringValue == "message", case .array(let blocks)? = json["content"]
        else {
            throw ProviderError(.decoding, provider: provider, message: "upstream sent a malformed Messages response")
        }
        var text = ""
        var reasoning = ""
        var calls: [ToolCall] = []
        for b in blocks {
            switch b["type"]?.stringValue {
            case "text": text += b["text"]?.stringValue ?? ""
            case "thinking": reasoning += b["thinking"]?.stringValue ?? ""
            case "tool_use":
                calls.append(
                    ToolCall(
                        id: b["id"]?.stringValue ?? "", name: b["name"]?.stringValue ?? "",
                        arguments: (b["input"] ?? .object([:])).jsonString()))
            default: continue  // server tool results and future block types are skipped, not fatal
            }
        }
        return ChatResponse(
            id: json["id"]?.stringValue ?? "", model: json["model"]?.stringValue ?? "", provider: provider,
            message: .assistant(text, toolCalls: calls, reasoning: reasoning.isEmpty ? nil : reasoning),
            finishReason: finishReason(json["stop_reason"]?.stringValue), usage: usage(json["usage"]))
    }
}

/// Turns Anthropic's SSE events into unified stream events. Tool-use blocks become tool calls numbered in
/// the order they start, whatever their block index; `message_stop` completes the stream.
public struct AnthropicStreamDecoder: Sendable {
    let provider: String
    private var toolIndex: [Int: Int] = [:]
    private var input: Usage?
    private var output = 0
    private var reason: String?
    /// Whether `message_stop` arrived.
    public private(set) var isComplete = false

    /// A decoder for one stream.
    public init(provider: String) {
        self.provider = provider
    }

    /// Events for one SSE `data:` payload.
    public mutating func decode(_ data: String) throws(ProviderError) -> [StreamEvent] {
        guard let e = try? JSONValue.parse(Data(data.utf8)), let type = e["type"]?.stringValue else {
            throw ProviderError(.decoding, provider: provider, message: "upstream sent a malformed stream event")
        }
        let index = Int(e["index"]?.intValue ?? -1)
        switch type {
        case "message_start":
            let m = e["message"]
            input = AnthropicTranslation.usage(m?["usage"])
            return [.started(id: m?["id"]?.stringValue ?? "", model: m?["model"]?.stringValue ?? "", provider: provider)]
        case "content_block_start":
            guard let block = e["content_block"], block["type"]?.stringValue == "tool_use" else {
                if let t = e["content_block"]?["text"]?.stringValue, !t.isEmpty { return [.textDelta(t)] }
                return []
            }
            let ordinal = toolIndex.count
            toolIndex[index] = ordinal
            return [.toolCallDelta(ToolCallDelta(index: ordinal, id: block["id"]?.stringValue, name: block["name"]?.stringValue))]
        case "content_block_delta":
            let d = e["delta"]
            switch d?["type"]?.stringValue {
            case "text_delta": return [.textDelta(d?["text"]?.stringValue ?? "")]
            case "thinking_delta": return [.reasoningDelta(d?["thinking"]?.stringValue ?? "")]
            case "input_json_delta":
                guard let ordinal = toolIndex[index] else {
                    throw ProviderError(.decoding, provider: provider, message: "tool input for a block that did not start")
                }
                let partial = d?["partial_json"]?.stringValue ?? ""
                return partial.isEmpty ? [] : [.toolCallDelta(ToolCallDelta(index: ordinal, arguments: partial))]
            default: return []
            }
        case "message_delta":
            if let r = e["delta"]?["stop_reason"]?.stringValue { reason = r }
            if let u = e["usage"] {
                output = Int(u["output_tokens"]?.intValue ?? Int64(output))
                // Newer responses repeat the input counts here, cumulatively.
                if u["input_tokens"] != nil, let full = AnthropicTranslation.usage(u) {
                    input = Usage(inputTokens: full.inputTokens, cachedTokens: full.cachedTokens, cacheWriteTokens: full.cacheWriteTokens)
                }
            }
            return []
        case "message_stop":
            isComplete = true
            var usage = input ?? Usage()
            usage.outputTokens = output
            return [.finish(AnthropicTranslation.finishReason(reason)), .usage(usage)]
        case "error":
            let err = e["error"]
            let kind: ProviderError.Kind =
                switch err?["type"]?.stringValue {
                case "overloaded_error": .overloaded
                case "rate_limit_error": .rateLimited(retryAfter: nil)
                case "api_error": .server(status: 500)
                default: .invalidRequest
                }
            throw ProviderError(
                kind, provider: provider, message: err?["message"]?.stringValue ?? "upstream stream error",
                code: err?["type"]?.stringValue)
        default:
            return []  // ping and event types added later
        }
    }
}
