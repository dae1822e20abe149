/// What makes two chat requests the same for the response cache: where they resolved (a provider's model or a lane),
/// the conversation, tools, response format and sampling parameters. Not the stream flag, the request id or the
/// end-user id, which do not change the answer; the caller's key id only when the cache is kept per key.
public struct ResponseCacheKey: Sendable, Hashable {
    /// `provider/model` or `lane:NAME`: where the request resolved.
    public var target: String
    /// The request with what does not change the answer cleared.
    public var request: ChatRequest
    /// The caller's key id when entries are kept per key; nil when they are shared.
    public var scope: String?

    /// The key of `request` sent to `target`.
    public init(target: String, request: ChatRequest, scope: String? = nil) {
        var request = request
        request.model = ""
        request.user = nil
        self.target = target
        self.request = request
        self.scope = scope
    }

    /// Canonical JSON of everything the key compares (sorted keys, no whitespace): equal keys give equal text, so a
    /// shared store can index entries by its digest.
    public var canonicalText: String {
        var fields: [String: JSONValue] = ["target": .string(target), "request": request.canonicalJSON]
        if let scope { fields["scope"] = .string(scope) }
        return JSONValue.object(fields).jsonString()
    }

    /// Roughly what the key holds in memory, counted against the cache's size.
    var approximateBytes: Int {
        func bytes(_ content: MessageContent) -> Int {
            switch content {
            case .text(let text): return text.utf8.count
            case .parts(let parts):
                return parts.reduce(0) { sum, part in
                    switch part {
                    case .text(let text): sum + text.utf8.count
                    case .imageURL(let url, _): sum + url.utf8.count
                    case .imageBase64(let data, _): sum + data.utf8.count
                    }
                }
            }
        }
        let messages = request.messages.reduce(0) {
            $0 + bytes($1.content) + $1.toolCalls.reduce(64) { $0 + $1.arguments.utf8.count + 64 } + ($1.reasoning?.utf8.count ?? 0)
        }
        let tools = request.tools.reduce(0) {
            $0 + ($1.description?.utf8.count ?? 0) + ($1.parameters?.jsonString().utf8.count ?? 0) + 64
        }
        return target.utf8.count + messages + tools + 256
    }
}

extension ChatRequest {
    /// Every field as JSON, absent fields left out.
    var canonicalJSON: JSONValue {
        var o: [String: JSONValue] = ["messages": .array(messages.map(\.canonicalJSON))]
        o["model"] = model.isEmpty ? nil : .string(model)
        o["temperature"] = temperature.map(JSONValue.double)
        o["top_p"] = topP.map(JSONValue.double)
        o["max_tokens"] = maxTokens.map { .int(Int64($0)) }
        o["stop"] = stop.map { .array($0.map(JSONValue.string)) }
        o["seed"] = seed.map(JSONValue.int)
        if !tools.isEmpty {
            o["tools"] = .array(
                tools.map { t in
                    var f: [String: JSONValue] = ["name": .string(t.name)]
                    f["description"] = t.description.map(JSONValue.string)
                    f["parameters"] = t.parameters
                    f["strict"] = t.strict.map(JSONValue.bool)
                    return .object(f)
                })
        }
        switch toolChoice {
        case nil: break
        case .auto?: o["tool_choice"] = "auto"
        case .none?: o["tool_choice"] = "none"
        case .required?: o["tool_choice"] = "required"
        case .named(let name)?: o["tool_choice"] = ["name": .string(name)]
        }
        o["parallel_tool_calls"] = parallelToolCalls.map(JSONValue.bool)
        switch responseFormat {
        case nil: break
        case .text?: o["response_format"] = "text"
        case .jsonObject?: o["response_format"] = "json_object"
        case .jsonSchema(let name, let schema, let strict, let description)?:
            var f: [String: JSONValue] = ["name": .string(name), "schema": schema]
            f["strict"] = strict.map(JSONValue.bool)
            f["description"] = description.map(JSONValue.string)
            o["response_format"] = .object(f)
        }
        if let reasoning {
            var f: [String: JSONValue] = [:]
            f["effort"] = reasoning.effort.map(JSONValue.string)
            f["disable"] = reasoning.disable.map(JSONValue.bool)
            f["clear_thinking"] = reasoning.clearThinking.map(JSONValue.bool)
            o["reasoning"] = .object(f)
        }
        o["user"] = user.map(JSONValue.string)
        if !passthrough.isEmpty { o["passthrough"] = .object(passthrough) }
        return .object(o)
    }
}

extension Message {
    var canonicalJSON: JSONValue {
        var o: [String: JSONValue] = ["role": .string(role.rawValue)]
        switch content {
        case .text(let text): o["content"] = .string(text)
        case .parts(let parts):
            o["content"] = .array(
                parts.map { part in
                    switch part {
                    case .text(let text): return ["text": .string(text)]
                    case .imageURL(let url, let detail):
                        var f: [String: JSONValue] = ["image_url": .string(url)]
                        f["detail"] = detail.map(JSONValue.string)
                        return .object(f)
                    case .imageBase64(let data, let mediaType): return ["image_base64": .string(data), "media_type": .string(mediaType)]
                    }
                })
        }
        o["name"] = name.map(JSONValue.string)
        if !toolCalls.isEmpty {
            o["tool_calls"] = .array(
                toolCalls.map { ["id": .string($0.id), "name": .string($0.name), "arguments": .string($0.arguments)] })
        }
        o["tool_call_id"] = toolCallID.map(JSONValue.string)
        o["reasoning"] = reasoning.map(JSONValue.string)
        return .object(o)
    }
}
