public import SwitchboardCore

/// A decoded `/v1/chat/completions` body: the unified request plus the transport flags.
public struct DecodedChatRequest: Sendable {
    public var request: ChatRequest
    public var stream: Bool
    public var includeUsage: Bool
}

/// Pure translation of an OpenAI chat-completions request into a `ChatRequest`, with 400s that name the field.
public enum OpenAIChatRequestDecoding {
    /// The members read here, found in one pass over the body's members: a lookup for each of the twenty names a
    /// request may have cost more than the rest of reading a short one. Anything else passes through to the provider.
    private struct Members {
        var model, messages, stream, streamOptions, temperature, topP, maxTokens, maxCompletionTokens, stop, seed, user: JSONValue?
        var tools, toolChoice, parallelToolCalls, responseFormat, reasoningEffort, disableReasoning, clearThinking, n: JSONValue?
        var passthrough: [String: JSONValue] = [:]

        init(_ o: [String: JSONValue]) {
            for (key, value) in o {
                switch key {
                case "model": model = value
                case "messages": messages = value
                case "stream": stream = value
                case "stream_options": streamOptions = value
                case "temperature": temperature = value
                case "top_p": topP = value
                case "max_tokens": maxTokens = value
                case "max_completion_tokens": maxCompletionTokens = value
                case "stop": stop = value
                case "seed": seed = value
                case "user": user = value
                case "tools": tools = value
                case "tool_choice": toolChoice = value
                case "parallel_tool_calls": parallelToolCalls = value
                case "response_format": responseFormat = value
                case "reasoning_effort": reasoningEffort = value
                case "disable_reasoning": disableReasoning = value
                case "clear_thinking": clearThinking = value
                case "n": n = value
                default: passthrough[key] = value
                }
            }
        }
    }

    /// Decodes a parsed JSON body.
    public static func decode(_ body: JSONValue) throws(APIError) -> DecodedChatRequest {
        guard case .object(let o) = body else { throw .invalid("request body must be a JSON object") }
        let m = Members(o)
        guard let model = m.model?.stringValue, !model.isEmpty else {
            throw .invalid("'model' is required and must be a non-empty string", param: "model")
        }
        guard case .array(let rawMessages)? = m.messages, !rawMessages.isEmpty else {
            throw .invalid("'messages' is required and must be a non-empty array", param: "messages")
        }
        var messages: [Message] = []
        messages.reserveCapacity(rawMessages.count)
        for (i, m) in rawMessages.enumerated() { messages.append(try message(m, at: i)) }

        var r = ChatRequest(model: model, messages: messages)
        r.temperature = try number(m.temperature, "temperature", in: 0...2)
        r.topP = try number(m.topP, "top_p", in: 0...1)
        let completionTokens = try tokenCount(m.maxCompletionTokens, "max_completion_tokens")
        let legacyTokens = try tokenCount(m.maxTokens, "max_tokens")
        r.maxTokens = completionTokens ?? legacyTokens
        if let n = try integer(m.n, "n"), n != 1 { throw .invalid("only n = 1 is supported", param: "n") }
        switch m.stop {
        case nil, .null?: break
        case .string(let s)?: r.stop = [s]
        case .array(let a)? where a.allSatisfy({ $0.stringValue != nil }): r.stop = a.compactMap(\.stringValue)
        default: throw .invalid("'stop' must be a string or an array of strings", param: "stop")
        }
        r.seed = try integer(m.seed, "seed")
        r.user = try string(m.user, "user")
        r.tools = try tools(m.tools)
        r.toolChoice = try toolChoice(m.toolChoice)
        if let p = m.parallelToolCalls, p != .null {
            guard let b = p.boolValue else { throw .invalid("'parallel_tool_calls' must be a boolean", param: "parallel_tool_calls") }
            r.parallelToolCalls = b
        }
        r.responseFormat = try responseFormat(m.responseFormat)
        let effort = try string(m.reasoningEffort, "reasoning_effort")
        let disable = try bool(m.disableReasoning, "disable_reasoning")
        let clear = try bool(m.clearThinking, "clear_thinking")
        if effort != nil || disable != nil || clear != nil {
            r.reasoning = ReasoningOptions(effort: effort, disable: disable, clearThinking: clear)
        }
        r.passthrough = m.passthrough

        let stream = try bool(m.stream, "stream") ?? false
        let includeUsage = try bool(object(m.streamOptions, "stream_options")?["include_usage"], "stream_options.include_usage") ?? false
        return DecodedChatRequest(request: r, stream: stream, includeUsage: includeUsage)
    }

    static func message(_ value: JSONValue, at i: Int) throws(APIError) -> Message {
        // Only an error names it: built on every message, it cost more than the rest of reading a short one.
        var path: String { "messages[\(i)]" }
        guard case .object(let members) = value else { throw .invalid("'\(path)' must be an object", param: path) }
        // One pass over the members, as for the request's.
        var roleValue, contentValue, nameValue, toolCalls, toolCallID, reasoning, reasoningContent: JSONValue?
        for (key, value) in members {
            switch key {
            case "role": roleValue = value
            case "content": contentValue = value
            case "name": nameValue = value
            case "tool_calls": toolCalls = value
            case "tool_call_id": toolCallID = value
            case "reasoning": reasoning = value
            case "reasoning_content": reasoningContent = value
            default: break
            }
        }
        guard let roleText = roleValue?.stringValue, let role = Role(rawValue: roleText) else {
            throw .invalid("'\(path).role' must be one of system, developer, user, assistant, tool", param: "\(path).role")
        }
        let content = try self.content(contentValue, path: "\(path).content", optional: role == .assistant)
        var message = Message(role: role, content: content, name: try string(nameValue, "\(path).name"))
        switch toolCalls {
        case nil, .null?: break
        case .array(let calls)? where role == .assistant || calls.isEmpty:
            for (j, call) in calls.enumerated() {
                var at: String { "\(path).tool_calls[\(j)]" }
                guard let id = call["id"]?.stringValue, let name = call["function"]?["name"]?.stringValue else {
                    throw .invalid("'\(at)' needs an id and function.name", param: "\(path).tool_calls")
                }
                if let type = call["type"], type != .null, type != "function" {
                    throw .invalid("'\(at).type' must be function", param: "\(path).tool_calls")
                }
                // Arguments are JSON text on the wire; an object, which some clients send, is taken as its text.
                let arguments: String
                switch call["function"]?["arguments"] {
                case nil, .null?: arguments = "{}"
                case .string(let text)?: arguments = text
                case let object? where object.objectValue != nil: arguments = object.jsonString()
                default: throw .invalid("'\(at).function.arguments' must be a string of JSON", param: "\(path).tool_calls")
                }
                message.toolCalls.append(ToolCall(id: id, name: name, arguments: arguments))
            }
        default:
            throw .invalid("'\(path).tool_calls' must be an array, and only an assistant message makes calls", param: "\(path).tool_calls")
        }
        if role == .tool {
            guard let id = toolCallID?.stringValue else {
                throw .invalid("'\(path).tool_call_id' is required for tool messages", param: "\(path).tool_call_id")
            }
            message.toolCallID = id
        }
        let reasoningText = try string(reasoningContent, "\(path).reasoning_content")
        message.reasoning = try string(reasoning, "\(path).reasoning") ?? reasoningText
        return message
    }

    static func content(_ value: JSONValue?, path named: @autoclosure () -> String, optional: Bool) throws(APIError) -> MessageContent {
        var path: String { named() }
        switch value {
        case .string(let s)?: return .text(s)
        case nil, .null?:
            if optional { return .text("") }
            throw .invalid("'\(path)' is required", param: path)
        case .array(let parts)?:
            var out: [ContentPart] = []
            for (k, part) in parts.enumerated() {
                switch part["type"]?.stringValue {
                case "text", "input_text":
                    guard let t = part["text"]?.stringValue else { throw .invalid("'\(path)[\(k)].text' must be a string", param: path) }
                    out.append(.text(t))
                case "image_url":
                    let url = part["image_url"]?["url"]?.stringValue ?? part["image_url"]?.stringValue
                    guard let url else { throw .invalid("'\(path)[\(k)].image_url.url' must be a string", param: path) }
                    out.append(.imageURL(url, detail: try string(part["image_url"]?["detail"], "\(path)[\(k)].image_url.detail")))
                default:
                    throw .invalid("'\(path)[\(k)].type' must be text or image_url", param: path)
                }
            }
            return .parts(out)
        default:
            throw .invalid("'\(path)' must be a string or an array of parts", param: path)
        }
    }

    static func tools(_ value: JSONValue?) throws(APIError) -> [Tool] {
        guard let value, value != .null else { return [] }
        guard case .array(let items) = value else { throw .invalid("'tools' must be an array", param: "tools") }
        var out: [Tool] = []
        for (i, item) in items.enumerated() {
            guard item["type"]?.stringValue == "function", let f = item["function"], let name = f["name"]?.stringValue, !name.isEmpty else {
                throw .invalid("'tools[\(i)]' must be {\"type\":\"function\",\"function\":{\"name\":...}}", param: "tools[\(i)]")
            }
            var at: String { "tools[\(i)].function" }
            out.append(
                Tool(
                    name: name, description: try string(f["description"], "\(at).description"),
                    parameters: try object(f["parameters"], "\(at).parameters"), strict: try bool(f["strict"], "\(at).strict")))
        }
        return out
    }

    static func toolChoice(_ value: JSONValue?) throws(APIError) -> ToolChoice? {
        switch value {
        case nil, .null?: return nil
        case .string("auto")?: return .auto
        case .string("none")?: return ToolChoice.none
        case .string("required")?: return .required
        case .object?:
            if let type = value?["type"], type != .null, type != "function" {
                throw .invalid("'tool_choice.type' must be function", param: "tool_choice")
            }
            if let name = value?["function"]?["name"]?.stringValue { return .named(name) }
            throw .invalid("'tool_choice.function.name' is required", param: "tool_choice")
        default: throw .invalid("'tool_choice' must be auto, none, required or a function", param: "tool_choice")
        }
    }

    static func responseFormat(_ value: JSONValue?) throws(APIError) -> ResponseFormat? {
        guard let value, value != .null else { return nil }
        switch value["type"]?.stringValue {
        case "text": return .text
        case "json_object": return .jsonObject
        case "json_schema":
            guard let spec = value["json_schema"], let name = spec["name"]?.stringValue else {
                throw .invalid("'response_format.json_schema.name' is required", param: "response_format")
            }
            let at = "response_format.json_schema"
            return .jsonSchema(
                name: name, schema: try object(spec["schema"], "\(at).schema") ?? ["type": "object"],
                strict: try bool(spec["strict"], "\(at).strict"), description: try string(spec["description"], "\(at).description"))
        default: throw .invalid("'response_format.type' must be text, json_object or json_schema", param: "response_format")
        }
    }

    static func number(_ value: JSONValue?, _ key: String, in range: ClosedRange<Double>) throws(APIError) -> Double? {
        guard let v = value, v != .null else { return nil }
        guard let d = v.doubleValue, range.contains(d) else {
            throw .invalid("'\(key)' must be a number between \(range.lowerBound) and \(range.upperBound)", param: key)
        }
        return d
    }

    /// Optional members read by type: absent or null is nil, any other type a 400 naming the member. The name is
    /// built only for the error: members are read on every message of every request.
    static func member<T>(
        _ value: JSONValue?, _ key: () -> String, _ kind: String, _ read: (JSONValue) -> T?
    ) throws(APIError) -> T? {
        guard let v = value, v != .null else { return nil }
        guard let typed = read(v) else {
            let key = key()
            throw .invalid("'\(key)' must be \(kind)", param: key)
        }
        return typed
    }

    static func integer(_ value: JSONValue?, _ key: @autoclosure () -> String) throws(APIError) -> Int64? {
        try member(value, key, "an integer") { $0.intValue }
    }

    /// A token count a client asks for: a positive integer no larger than `ChatRequest.maximumOutputTokens`.
    static func tokenCount(_ value: JSONValue?, _ key: String) throws(APIError) -> Int? {
        guard let n = try integer(value, key) else { return nil }
        guard n > 0, n <= ChatRequest.maximumOutputTokens else {
            throw .invalid("'\(key)' must be an integer from 1 to \(ChatRequest.maximumOutputTokens)", param: key)
        }
        return Int(n)
    }

    static func string(_ value: JSONValue?, _ key: @autoclosure () -> String) throws(APIError) -> String? {
        try member(value, key, "a string") { $0.stringValue }
    }

    static func object(_ value: JSONValue?, _ key: @autoclosure () -> String) throws(APIError) -> JSONValue? {
        try member(value, key, "an object") { if case .object = $0 { $0 } else { nil } }
    }

    static func bool(_ value: JSONValue?, _ key: @autoclosure () -> String) throws(APIError) -> Bool? {
        try member(value, key, "a boolean") { $0.boolValue }
    }
}
