public import SwitchboardCore

/// Pure translation of a `ChatRequest` into an OpenAI chat-completions body, shaped by a descriptor.
public enum OpenAIRequestEncoding {
    /// The wire body as a JSON object: unified fields, then reasoning controls, then passthrough,
    /// then the descriptor's renames and drops.
    public static func body(_ request: ChatRequest, descriptor: ProviderDescriptor, stream: Bool) -> [String: JSONValue] {
        var body: [String: JSONValue] = [
            "model": .string(request.model),
            "messages": .array(request.messages.map { message($0, descriptor: descriptor) }),
        ]
        if stream {
            body["stream"] = true
            if descriptor.streamUsage { body["stream_options"] = ["include_usage": true] }
        }
        if let t = request.temperature { body["temperature"] = .double(t) }
        if let p = request.topP { body["top_p"] = .double(p) }
        if let m = request.maxTokens { body["max_tokens"] = .int(Int64(m)) }
        if let stop = request.stop, !stop.isEmpty { body["stop"] = .array(stop.map(JSONValue.string)) }
        if let seed = request.seed { body["seed"] = .int(seed) }
        if let user = request.user { body["user"] = .string(user) }
        if !request.tools.isEmpty { body["tools"] = .array(request.tools.map(tool)) }
        if let choice = request.toolChoice { body["tool_choice"] = toolChoice(choice) }
        if let parallel = request.parallelToolCalls { body["parallel_tool_calls"] = .bool(parallel) }
        if let format = request.responseFormat { body["response_format"] = responseFormat(format) }
        if let reasoning = request.reasoning { applyReasoning(reasoning, style: descriptor.reasoningStyle, to: &body) }
        for (key, value) in request.passthrough { body[key] = value }
        for (from, to) in descriptor.renames {
            if let value = body.removeValue(forKey: from), body[to] == nil { body[to] = value }
        }
        for key in descriptor.dropParams { body[key] = nil }
        return body
    }

    static func message(_ m: Message, descriptor: ProviderDescriptor) -> JSONValue {
        var out: [String: JSONValue] = ["role": .string(m.role.rawValue)]
        if m.role == .assistant, !m.toolCalls.isEmpty, m.content.isEmpty {
            out["content"] = .null
        } else {
            out["content"] = content(m.content)
        }
        if let name = m.name { out["name"] = .string(name) }
        if !m.toolCalls.isEmpty {
            out["tool_calls"] = .array(
                m.toolCalls.map { call in
                    [
                        "id": .string(call.id), "type": "function",
                        "function": ["name": .string(call.name), "arguments": .string(call.arguments)],
                    ]
                })
        }
        if let id = m.toolCallID { out["tool_call_id"] = .string(id) }
        if let reasoning = m.reasoning, let field = descriptor.replayReasoningField, m.role == .assistant {
            out[field] = .string(reasoning)
        }
        return .object(out)
    }

    static func content(_ c: MessageContent) -> JSONValue {
        switch c {
        case .text(let s): return .string(s)
        case .parts(let parts):
            return .array(
                parts.map { part in
                    switch part {
                    case .text(let t): return ["type": "text", "text": .string(t)]
                    case .imageURL(let url, let detail):
                        var image: [String: JSONValue] = ["url": .string(url)]
                        if let detail { image["detail"] = .string(detail) }
                        return ["type": "image_url", "image_url": .object(image)]
                    case .imageBase64(let data, let mediaType):
                        return ["type": "image_url", "image_url": ["url": .string("data:\(mediaType);base64,\(data)")]]
                    }
                })
        }
    }

    static func tool(_ t: Tool) -> JSONValue {
        var function: [String: JSONValue] = ["name": .string(t.name)]
        if let d = t.description { function["description"] = .string(d) }
        if let p = t.parameters { function["parameters"] = p }
        if let s = t.strict { function["strict"] = .bool(s) }
        return ["type": "function", "function": .object(function)]
    }

    static func toolChoice(_ c: ToolChoice) -> JSONValue {
        switch c {
        case .auto: "auto"
        case .none: "none"
        case .required: "required"
        case .named(let name): ["type": "function", "function": ["name": .string(name)]]
        }
    }

    static func responseFormat(_ f: ResponseFormat) -> JSONValue {
        switch f {
        case .text: return ["type": "text"]
        case .jsonObject: return ["type": "json_object"]
        case .jsonSchema(let name, let schema, let strict, let description):
            var inner: [String: JSONValue] = ["name": .string(name), "schema": schema]
            if let strict { inner["strict"] = .bool(strict) }
            if let description { inner["description"] = .string(description) }
            return ["type": "json_schema", "json_schema": .object(inner)]
        }
    }

    static func applyReasoning(_ r: ReasoningOptions, style: ReasoningStyle, to body: inout [String: JSONValue]) {
        switch style {
        case .effort:
            if r.disable == true { body["reasoning_effort"] = "none" } else if let e = r.effort { body["reasoning_effort"] = .string(e) }
        case .cerebras:
            // Cerebras takes one switch or the other, never both.
            if r.disable == true { body["disable_reasoning"] = true } else if let e = r.effort { body["reasoning_effort"] = .string(e) }
            if let clear = r.clearThinking { body["clear_thinking"] = .bool(clear) }
        case .thinkingType:
            if r.disable == true {
                body["thinking"] = ["type": "disabled"]
            } else if r.effort != nil {
                body["thinking"] = ["type": "enabled"]
            }
        case .enableThinking:
            if r.disable == true { body["enable_thinking"] = false } else if r.effort != nil { body["enable_thinking"] = true }
        case .reasoningObject:
            if r.disable == true {
                body["reasoning"] = ["enabled": false]
            } else if let e = r.effort {
                body["reasoning"] = ["effort": .string(e)]
            }
        }
    }
}
