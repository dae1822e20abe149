import Foundation
import SwitchboardCore

/// A decoded `/v1/messages` body.
struct DecodedMessagesRequest: Sendable {
    var request: ChatRequest
    var stream: Bool
}

/// Pure translation of an Anthropic Messages request into a `ChatRequest`, with 400s that name the field.
/// `tool_result` blocks become tool messages (before the rest of their user turn), `tool_use` blocks the
/// assistant's tool calls, `thinking` its reasoning.
enum AnthropicRequestDecoding {
    static func decode(_ body: JSONValue) throws -> DecodedMessagesRequest {
        guard case .object(let o) = body else { throw APIError.invalid("request body must be a JSON object") }
        guard let model = o["model"]?.stringValue, !model.isEmpty else {
            throw APIError.invalid("model: Field required", param: "model")
        }
        guard let maxTokens = o["max_tokens"]?.intValue else { throw APIError.invalid("max_tokens: Field required", param: "max_tokens") }
        guard maxTokens >= 1, maxTokens <= ChatRequest.maximumOutputTokens else {
            throw APIError.invalid("max_tokens: must be from 1 to \(ChatRequest.maximumOutputTokens)", param: "max_tokens")
        }
        guard case .array(let raw)? = o["messages"], !raw.isEmpty else {
            throw APIError.invalid("messages: Field required (a non-empty array)", param: "messages")
        }
        var messages: [Message] = []
        switch o["system"] {
        case nil, .null?: break
        case .string(let s)?: if !s.isEmpty { messages.append(.system(s)) }
        case .array(let blocks)?:
            let text = try blocks.enumerated().map { i, b -> String in
                guard b["type"]?.stringValue == "text", let t = b["text"]?.stringValue else {
                    throw APIError.invalid("system.\(i): must be a text block", param: "system")
                }
                return t
            }.joined(separator: "\n\n")
            if !text.isEmpty { messages.append(.system(text)) }
        default: throw APIError.invalid("system: must be a string or an array of text blocks", param: "system")
        }
        for (i, m) in raw.enumerated() { messages += try turn(m, at: i) }

        var r = ChatRequest(model: model, messages: messages, maxTokens: Int(maxTokens))
        r.temperature = try number(o["temperature"], "temperature", in: 0...1)
        r.topP = try number(o["top_p"], "top_p", in: 0...1)
        switch o["stop_sequences"] {
        case nil, .null?: break
        case .array(let a)? where a.allSatisfy({ $0.stringValue != nil }): r.stop = a.compactMap(\.stringValue)
        default: throw APIError.invalid("stop_sequences: must be an array of strings", param: "stop_sequences")
        }
        if case .array(let tools)? = o["tools"] {
            r.tools = try tools.enumerated().map { i, t in
                guard let name = t["name"]?.stringValue, !name.isEmpty else {
                    throw APIError.invalid("tools.\(i).name: Field required", param: "tools")
                }
                return Tool(
                    name: name, description: try string(t["description"], "tools.\(i).description"),
                    parameters: try object(t["input_schema"], "tools.\(i).input_schema"), strict: try bool(t["strict"], "tools.\(i).strict")
                )
            }
        } else if let t = o["tools"], t != .null {
            throw APIError.invalid("tools: must be an array", param: "tools")
        }
        if let choice = o["tool_choice"], choice != .null {
            switch choice["type"]?.stringValue {
            case "auto": r.toolChoice = .auto
            case "any": r.toolChoice = .required
            case "none": r.toolChoice = ToolChoice.none
            case "tool":
                guard let name = choice["name"]?.stringValue else {
                    throw APIError.invalid("tool_choice.name: Field required", param: "tool_choice")
                }
                r.toolChoice = .named(name)
            default: throw APIError.invalid("tool_choice.type: must be auto, any, tool or none", param: "tool_choice")
            }
            if try bool(choice["disable_parallel_tool_use"], "tool_choice.disable_parallel_tool_use") == true {
                r.parallelToolCalls = false
            }
        }
        if let thinking = o["thinking"], thinking != .null {
            switch thinking["type"]?.stringValue {
            case "enabled", "adaptive": r.reasoning = ReasoningOptions(effort: "medium")
            case "disabled": r.reasoning = ReasoningOptions(disable: true)
            default: throw APIError.invalid("thinking.type: must be enabled, adaptive or disabled", param: "thinking")
            }
        }
        if let format = try object(object(o["output_config"], "output_config")?["format"], "output_config.format") {
            guard format["type"] == "json_schema", let schema = try object(format["schema"], "output_config.format.schema") else {
                throw APIError.invalid(
                    "output_config.format: must be {\"type\": \"json_schema\", \"schema\": {...}}", param: "output_config")
            }
            r.responseFormat = .jsonSchema(name: "output", schema: schema, strict: true)
        }
        r.user = try string(object(o["metadata"], "metadata")?["user_id"], "metadata.user_id")
        let stream: Bool
        switch o["stream"] {
        case nil, .null?: stream = false
        case .bool(let b)?: stream = b
        default: throw APIError.invalid("stream: must be a boolean", param: "stream")
        }
        return DecodedMessagesRequest(request: r, stream: stream)
    }

    /// Optional members read by type: absent or null is nil, any other type a 400 naming the member (its name built
    /// only then).
    private static func member<T>(_ v: JSONValue?, _ name: () -> String, _ kind: String, _ read: (JSONValue) -> T?) throws -> T? {
        guard let v, v != .null else { return nil }
        guard let value = read(v) else {
            let field = name()
            throw APIError.invalid("\(field): must be \(kind)", param: field)
        }
        return value
    }

    private static func string(_ v: JSONValue?, _ name: @autoclosure () -> String) throws -> String? {
        try member(v, name, "a string") { $0.stringValue }
    }

    private static func bool(_ v: JSONValue?, _ name: @autoclosure () -> String) throws -> Bool? {
        try member(v, name, "a boolean") { $0.boolValue }
    }

    private static func object(_ v: JSONValue?, _ name: @autoclosure () -> String) throws -> JSONValue? {
        try member(v, name, "an object") { if case .object = $0 { $0 } else { nil } }
    }

    private static func number(_ v: JSONValue?, _ field: String, in range: ClosedRange<Double>) throws -> Double? {
        guard let v, v != .null else { return nil }
        guard let d = v.doubleValue, range.contains(d) else {
            throw APIError.invalid("\(field): must be a number from \(range.lowerBound) to \(range.upperBound)", param: field)
        }
        return d
    }

    /// One Anthropic turn as one or more unified messages.
    static func turn(_ m: JSONValue, at i: Int) throws -> [Message] {
        let role = m["role"]?.stringValue
        guard role == "user" || role == "assistant" else {
            throw APIError.invalid("messages.\(i).role: must be user or assistant", param: "messages")
        }
        let blocks: [JSONValue]
        switch m["content"] {
        case .string(let s)?: return [Message(role: role == "user" ? .user : .assistant, content: .text(s))]
        case .array(let a)?: blocks = a
        default: throw APIError.invalid("messages.\(i).content: must be a string or an array of blocks", param: "messages")
        }
        var toolResults: [Message] = []
        var parts: [ContentPart] = []
        var toolCalls: [ToolCall] = []
        var reasoning: String?
        for (j, b) in blocks.enumerated() {
            var at: String { "messages.\(i).content.\(j)" }
            switch b["type"]?.stringValue {
            case "text":
                guard let t = b["text"]?.stringValue else { throw APIError.invalid("\(at).text: Field required", param: "messages") }
                parts.append(.text(t))
            case "image":
                let source = b["source"]
                switch source?["type"]?.stringValue {
                case "base64":
                    guard let data = source?["data"]?.stringValue, let media = source?["media_type"]?.stringValue else {
                        throw APIError.invalid("\(at).source: base64 images need data and media_type", param: "messages")
                    }
                    parts.append(.imageBase64(data: data, mediaType: media))
                case "url":
                    guard let url = source?["url"]?.stringValue else {
                        throw APIError.invalid("\(at).source.url: Field required", param: "messages")
                    }
                    parts.append(.imageURL(url))
                default: throw APIError.invalid("\(at).source.type: must be base64 or url", param: "messages")
                }
            case "tool_use" where role == "assistant":
                guard let id = b["id"]?.stringValue, let name = b["name"]?.stringValue else {
                    throw APIError.invalid("\(at): tool_use needs id and name", param: "messages")
                }
                let input = try object(b["input"], "\(at).input") ?? .object([:])
                toolCalls.append(ToolCall(id: id, name: name, arguments: input.jsonString()))
            case "tool_result" where role == "user":
                guard let id = b["tool_use_id"]?.stringValue else {
                    throw APIError.invalid("\(at).tool_use_id: Field required", param: "messages")
                }
                let text: String
                switch b["content"] {
                case nil, .null?: text = ""
                case .string(let s)?: text = s
                case .array(let inner)? where inner.allSatisfy({ $0.objectValue != nil }):
                    text = inner.compactMap { $0["type"]?.stringValue == "text" ? $0["text"]?.stringValue : nil }.joined()
                default: throw APIError.invalid("\(at).content: must be a string or blocks", param: "messages")
                }
                let flagged = try bool(b["is_error"], "\(at).is_error") == true ? "Error: " + text : text
                toolResults.append(Message(role: .tool, content: .text(flagged), toolCallID: id))
            case "thinking" where role == "assistant":
                reasoning = (reasoning ?? "") + (try string(b["thinking"], "\(at).thinking") ?? "")
            case "redacted_thinking":
                continue
            default:
                throw APIError.invalid(
                    "\(at).type: '\(b["type"]?.stringValue ?? "")' is not supported in a \(role!) turn", param: "messages")
            }
        }
        if role == "assistant" {
            let text = parts.compactMap { if case .text(let t) = $0 { t } else { nil } }.joined()
            return [Message(role: .assistant, content: .text(text), toolCalls: toolCalls, reasoning: reasoning)]
        }
        // Tool results answer the previous assistant turn, so they come before what else the user says.
        let rest: [Message]
        if parts.isEmpty {
            rest = []
        } else if parts.allSatisfy({ if case .text = $0 { true } else { false } }) {
            rest = [.user(parts.compactMap { if case .text(let t) = $0 { t } else { nil } }.joined())]
        } else {
            rest = [.user(parts: parts)]
        }
        return toolResults + rest
    }
}
