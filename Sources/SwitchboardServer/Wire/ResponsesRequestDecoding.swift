import SwitchboardCore

/// A decoded `/v1/responses` body: the chat request it asks for (its messages made later, once the stored
/// conversation it continues is read), its own input items, the settings the response echoes, and the flags.
struct DecodedResponsesRequest: Sendable {
    var model: String
    var instructions: String?
    /// The request's input as items of the full form (`type` set, message content as parts).
    var input: [JSONValue]
    /// Everything but the messages.
    var request: ChatRequest
    var stream: Bool
    var store: Bool
    var previousResponseID: String?
    /// The request's settings as the response object repeats them.
    var echo: [String: JSONValue]
}

/// Pure translation of an OpenAI Responses request into a `ChatRequest`, with 400s that name the field. What the
/// unified types cannot carry (hosted tools, files, background runs, conversations) is refused by name, never dropped;
/// except for a request `forwarded` as it came to a provider that serves the Responses API itself, whose translation
/// only estimates what it reserves against limits, and so leaves out what it cannot carry.
enum ResponsesRequestDecoding {
    typealias Chat = OpenAIChatRequestDecoding

    /// Fields refused because this gateway cannot honour them, with why.
    private static let refused: [String: String] = [
        "background": "background responses are not supported; leave 'background' unset",
        "conversation": "conversation objects are not supported; continue with 'previous_response_id'",
        "prompt": "stored prompt templates are not supported; send 'instructions' and 'input'",
    ]

    static func decode(_ body: JSONValue, forwarded: Bool = false) throws(APIError) -> DecodedResponsesRequest {
        guard case .object(let o) = body else { throw .invalid("request body must be a JSON object") }
        guard let model = o["model"]?.stringValue, !model.isEmpty else {
            throw .invalid("'model' is required and must be a non-empty string", param: "model")
        }
        for (field, why) in refused where !forwarded && o[field] != nil && o[field] != .null && o[field] != .bool(false) {
            throw .invalid(why, param: field)
        }
        if !forwarded, let n = try Chat.integer(o["top_logprobs"], "top_logprobs"), n > 0 {
            throw .invalid(
                "'top_logprobs' is not supported: no provider behind this route returns log probabilities", param: "top_logprobs")
        }
        let input: [JSONValue]
        switch o["input"] {
        case nil, .null?: input = []
        case .string(let text)?: input = [message(role: "user", parts: [["type": "input_text", "text": .string(text)]])]
        case .array(let items)?:
            var out: [JSONValue] = []
            for (i, item) in items.enumerated() { out.append(try normalized(item, at: i)) }
            input = out
        default: throw .invalid("'input' must be a string or an array of items", param: "input")
        }
        var r = ChatRequest(model: model, messages: [])
        r.temperature = try Chat.number(o["temperature"], "temperature", in: 0...2)
        r.topP = try Chat.number(o["top_p"], "top_p", in: 0...1)
        r.maxTokens = try Chat.tokenCount(o["max_output_tokens"], "max_output_tokens")
        r.parallelToolCalls = try Chat.bool(o["parallel_tool_calls"], "parallel_tool_calls")
        let user = try Chat.string(o["user"], "user")
        r.user = try Chat.string(o["safety_identifier"], "safety_identifier") ?? user
        r.tools = try tools(o["tools"], forwarded: forwarded)
        do { (r.toolChoice, r.tools) = try toolChoice(o["tool_choice"], tools: r.tools) } catch  where forwarded { r.toolChoice = nil }
        r.responseFormat = try format(o["text"])
        r.reasoning = try reasoning(o["reasoning"])
        if let metadata = o["metadata"], metadata != .null {
            guard case .object(let pairs) = metadata, pairs.count <= 16, pairs.values.allSatisfy({ $0.stringValue != nil }) else {
                throw .invalid("'metadata' must be an object of at most 16 string values", param: "metadata")
            }
        }
        if let include = o["include"], include != .null {
            guard case .array(let values) = include, values.allSatisfy({ $0.stringValue != nil }) else {
                throw .invalid("'include' must be an array of strings", param: "include")
            }
        }
        if let truncation = try Chat.string(o["truncation"], "truncation"), !["auto", "disabled"].contains(truncation) {
            throw .invalid("'truncation' must be auto or disabled", param: "truncation")
        }
        var echo: [String: JSONValue] = [:]
        for key in [
            "tools", "tool_choice", "text", "reasoning", "max_output_tokens", "temperature", "top_p", "parallel_tool_calls",
            "truncation", "metadata", "user", "service_tier", "instructions",
        ] {
            if let value = o[key] { echo[key] = value }
        }
        return DecodedResponsesRequest(
            model: model, instructions: try Chat.string(o["instructions"], "instructions"), input: input, request: r,
            stream: try Chat.bool(o["stream"], "stream") ?? false, store: try Chat.bool(o["store"], "store") ?? true,
            previousResponseID: try Chat.string(o["previous_response_id"], "previous_response_id"), echo: echo)
    }

    private static func message(role: String, parts: [JSONValue]) -> JSONValue {
        ["type": "message", "role": .string(role), "content": .array(parts)]
    }

    /// An input item in its full form: a message's `type` set and its string content made one text part.
    static func normalized(_ item: JSONValue, at i: Int) throws(APIError) -> JSONValue {
        guard case .object(var o) = item else { throw .invalid("'input[\(i)]' must be an object", param: "input[\(i)]") }
        let type = o["type"]?.stringValue ?? (o["role"] != nil ? "message" : "")
        o["type"] = .string(type)
        if type == "message", case .string(let text)? = o["content"] {
            let partType = o["role"]?.stringValue == "assistant" ? "output_text" : "input_text"
            o["content"] = [["type": .string(partType), "text": .string(text)]]
        }
        return .object(o)
    }

    /// Whether a stored item can be part of a translated conversation: not the record of a tool a provider ran itself
    /// (`web_search_call` and the like), whose outcome its answer already carries and no other provider can replay.
    static func translatable(_ item: JSONValue) -> Bool {
        guard let type = item["type"]?.stringValue else { return true }
        return type == "function_call" || type == "function_call_output" || !(type.hasSuffix("_call") || type.hasSuffix("_call_output"))
    }

    /// Gives every item without an id one (`msg_`, `fc_`, ... followed by `base` and its position), so a listing's
    /// cursor can name it.
    static func identified(_ items: [JSONValue], base: String) -> [JSONValue] {
        items.enumerated().map { i, item in
            guard case .object(var o) = item, o["id"] == nil else { return item }
            let prefix =
                switch o["type"]?.stringValue {
                case "function_call": "fc"
                case "function_call_output": "fco"
                case "reasoning": "rs"
                default: "msg"
                }
            o["id"] = .string("\(prefix)_\(base)_in\(i)")
            return .object(o)
        }
    }

    /// The chat messages of a conversation's items, after `instructions` as its system message. A function call
    /// joins the assistant turn it follows; a reasoning item's summary becomes the next assistant turn's reasoning.
    static func messages(instructions: String?, items: [JSONValue], forwarded: Bool = false) throws(APIError) -> [Message] {
        var out: [Message] = []
        if let instructions, !instructions.isEmpty { out.append(.system(instructions)) }
        var reasoning: String?
        var assistantOpen = false
        for (i, item) in items.enumerated() {
            var path: String { "input[\(i)]" }
            switch item["type"]?.stringValue {
            case "message":
                let role = item["role"]?.stringValue ?? ""
                guard let known = Role(rawValue: role), known != .tool else {
                    throw .invalid("'\(path).role' must be user, assistant, system or developer", param: path)
                }
                let content = try content(item["content"], path: "\(path).content", assistant: known == .assistant, forwarded: forwarded)
                out.append(Message(role: known, content: content, reasoning: known == .assistant ? reasoning : nil))
                if known == .assistant { reasoning = nil }
                assistantOpen = known == .assistant
            case "function_call":
                guard let callID = item["call_id"]?.stringValue, let name = item["name"]?.stringValue else {
                    throw .invalid("'\(path)' needs call_id and name", param: path)
                }
                let call = ToolCall(id: callID, name: name, arguments: try Chat.string(item["arguments"], "\(path).arguments") ?? "{}")
                if assistantOpen, !out.isEmpty {
                    out[out.count - 1].toolCalls.append(call)
                } else {
                    out.append(.assistant("", toolCalls: [call], reasoning: reasoning))
                    reasoning = nil
                    assistantOpen = true
                }
            case "function_call_output":
                guard let callID = item["call_id"]?.stringValue else { throw .invalid("'\(path).call_id' is required", param: path) }
                let output: String
                switch item["output"] {
                case .string(let s)?: output = s
                case .array?: output = try content(item["output"], path: "\(path).output", assistant: false, forwarded: forwarded).text
                default: throw .invalid("'\(path).output' must be a string or an array of parts", param: path)
                }
                out.append(.tool(callID: callID, output))
                assistantOpen = false
            case "reasoning":
                let texts = (item["summary"]?.arrayValue ?? []).compactMap { $0["text"]?.stringValue }
                reasoning = texts.isEmpty ? nil : texts.joined(separator: "\n")
            case _ where forwarded: continue
            case let other:
                throw .invalid(
                    "'\(path).type' \(other.map { "'\($0)'" } ?? "(none)") is not supported here: input items are messages, "
                        + "function_call, function_call_output and reasoning", param: path)
            }
        }
        return out
    }

    private static func content(
        _ value: JSONValue?, path named: @autoclosure () -> String, assistant: Bool, forwarded: Bool
    ) throws(APIError) -> MessageContent {
        var path: String { named() }
        guard case .array(let parts)? = value else { throw .invalid("'\(path)' must be a string or an array of parts", param: path) }
        var out: [ContentPart] = []
        for (i, part) in parts.enumerated() {
            switch part["type"]?.stringValue {
            case "input_text", "output_text", "text":
                guard let text = part["text"]?.stringValue else { throw .invalid("'\(path)[\(i)].text' is required", param: path) }
                out.append(.text(text))
            case "refusal": out.append(.text(part["refusal"]?.stringValue ?? ""))
            case "input_image" where !assistant:
                guard let url = part["image_url"]?.stringValue else {
                    if forwarded { continue }
                    throw .invalid("'\(path)[\(i)]': only images given by 'image_url' are supported (not file_id)", param: path)
                }
                let detail = part["detail"]?.stringValue
                out.append(.imageURL(url, detail: detail == "auto" ? nil : detail))
            case _ where forwarded: continue
            case let other:
                throw .invalid("'\(path)[\(i)].type' \(other.map { "'\($0)'" } ?? "(none)") is not supported here", param: path)
            }
        }
        if out.allSatisfy({ if case .text = $0 { true } else { false } }) {
            return .text(out.map { if case .text(let t) = $0 { t } else { "" } }.joined())
        }
        return .parts(out)
    }

    static func tools(_ value: JSONValue?, forwarded: Bool = false) throws(APIError) -> [Tool] {
        guard let value, value != .null else { return [] }
        guard case .array(let items) = value else { throw .invalid("'tools' must be an array", param: "tools") }
        var out: [Tool] = []
        for (i, item) in items.enumerated() {
            let type = item["type"]?.stringValue ?? ""
            if type != "function", forwarded { continue }
            guard type == "function" else {
                throw .invalid(
                    "'tools[\(i)].type' '\(type)' is not supported: this gateway serves function tools, not tools OpenAI hosts",
                    param: "tools[\(i)]")
            }
            guard let name = item["name"]?.stringValue, !name.isEmpty else {
                throw .invalid("'tools[\(i)].name' is required", param: "tools[\(i)]")
            }
            out.append(
                Tool(
                    name: name, description: try Chat.string(item["description"], "tools[\(i)].description"),
                    parameters: try Chat.object(item["parameters"], "tools[\(i)].parameters"),
                    strict: try Chat.bool(item["strict"], "tools[\(i)].strict")))
        }
        return out
    }

    /// The choice, and the tools an `allowed_tools` choice narrows the request to.
    static func toolChoice(_ value: JSONValue?, tools: [Tool]) throws(APIError) -> (ToolChoice?, [Tool]) {
        switch value {
        case nil, .null?: return (nil, tools)
        case .string("auto")?: return (.auto, tools)
        case .string("none")?: return (ToolChoice.none, tools)
        case .string("required")?: return (.required, tools)
        case .object?:
            switch value?["type"]?.stringValue {
            case "function":
                guard let name = value?["name"]?.stringValue else {
                    throw .invalid("'tool_choice.name' is required", param: "tool_choice")
                }
                return (.named(name), tools)
            case "allowed_tools":
                let listed: [JSONValue]
                switch value?["tools"] {
                case nil, .null?: listed = []
                case .array(let a)?: listed = a
                default: throw .invalid("'tool_choice.tools' must be an array", param: "tool_choice")
                }
                let names = Set(listed.compactMap { $0["name"]?.stringValue })
                let mode: ToolChoice = try Chat.string(value?["mode"], "tool_choice.mode") == "required" ? .required : .auto
                return (mode, tools.filter { names.contains($0.name) })
            default:
                throw .invalid("'tool_choice' must be auto, none, required, a function or allowed_tools", param: "tool_choice")
            }
        default: throw .invalid("'tool_choice' must be auto, none, required or an object", param: "tool_choice")
        }
    }

    static func format(_ text: JSONValue?) throws(APIError) -> ResponseFormat? {
        guard let format = try Chat.object(Chat.object(text, "text")?["format"], "text.format") else { return nil }
        switch format["type"]?.stringValue {
        case "text": return .text
        case "json_object": return .jsonObject
        case "json_schema":
            guard let name = format["name"]?.stringValue, let schema = try Chat.object(format["schema"], "text.format.schema") else {
                throw .invalid("'text.format' of type json_schema needs name and schema", param: "text.format")
            }
            return .jsonSchema(
                name: name, schema: schema, strict: try Chat.bool(format["strict"], "text.format.strict"),
                description: try Chat.string(format["description"], "text.format.description"))
        default: throw .invalid("'text.format.type' must be text, json_object or json_schema", param: "text.format")
        }
    }

    static func reasoning(_ value: JSONValue?) throws(APIError) -> ReasoningOptions? {
        guard let value, value != .null else { return nil }
        guard case .object = value else { throw .invalid("'reasoning' must be an object", param: "reasoning") }
        switch try Chat.string(value["effort"], "reasoning.effort") {
        case nil: return nil
        case "none": return ReasoningOptions(disable: true)
        case let effort?: return ReasoningOptions(effort: effort)
        }
    }
}
