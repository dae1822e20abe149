public import Foundation
public import SwitchboardCore

/// Pure translation between the unified types and Bedrock's Converse API (`shared/reference/bedrock.md`).
public enum BedrockTranslation {
    /// `modelId` as a URI label: everything outside `A-Z a-z 0-9 - _ . ~` percent-encoded.
    public static func modelPath(_ model: String, stream: Bool) -> String {
        "/model/\(SigV4.uriEncode(model))/\(stream ? "converse-stream" : "converse")"
    }

    /// The Converse (and ConverseStream) body.
    public static func body(_ r: ChatRequest) -> JSONValue {
        var system: [JSONValue] = []
        var turns: [(role: String, blocks: [JSONValue])] = []
        func add(_ role: String, _ blocks: [JSONValue]) {
            guard !blocks.isEmpty else { return }
            if let last = turns.last, last.role == role { turns[turns.count - 1].blocks += blocks } else { turns.append((role, blocks)) }
        }
        for m in r.messages {
            switch m.role {
            case .system, .developer: system.append(["text": .string(m.text)])
            case .user: add("user", content(m.content))
            case .tool:
                add(
                    "user",
                    [
                        [
                            "toolResult": [
                                "toolUseId": .string(m.toolCallID ?? ""), "content": [["text": .string(m.text)]],
                                "status": "success",
                            ]
                        ]
                    ])
            case .assistant:
                var blocks: [JSONValue] = m.content.text.isEmpty ? [] : [["text": .string(m.content.text)]]
                for c in m.toolCalls {
                    blocks.append(["toolUse": ["toolUseId": .string(c.id), "name": .string(c.name), "input": c.argumentsObject]])
                }
                add("assistant", blocks)
            }
        }
        var o: [String: JSONValue] = ["messages": .array(turns.map { ["role": .string($0.role), "content": .array($0.blocks)] })]
        if !system.isEmpty { o["system"] = .array(system) }
        var inference: [String: JSONValue] = [:]
        if let n = r.maxTokens { inference["maxTokens"] = .int(Int64(n)) }
        if let t = r.temperature { inference["temperature"] = .double(min(1, max(0, t))) }
        if let p = r.topP { inference["topP"] = .double(p) }
        if let stop = r.stop, !stop.isEmpty { inference["stopSequences"] = .array(stop.map(JSONValue.string)) }
        if !inference.isEmpty { o["inferenceConfig"] = .object(inference) }
        // Models reject tool history without a toolConfig, so one is sent whenever tools were declared.
        if !r.tools.isEmpty, r.toolChoice != ToolChoice.none {
            var config: [String: JSONValue] = [
                "tools": .array(
                    r.tools.map { t in
                        var spec: [String: JSONValue] = [
                            "name": .string(t.name), "inputSchema": ["json": t.parameters ?? ["type": "object"]],
                        ]
                        if let d = t.description { spec["description"] = .string(d) }
                        return ["toolSpec": .object(spec)]
                    })
            ]
            switch r.toolChoice {
            case .required?: config["toolChoice"] = ["any": [:]]
            case .named(let name)?: config["toolChoice"] = ["tool": ["name": .string(name)]]
            case .auto?: config["toolChoice"] = ["auto": [:]]
            default: break
            }
            o["toolConfig"] = .object(config)
        }
        if case .jsonSchema(let name, let schema, _, _)? = r.responseFormat {
            o["outputConfig"] = [
                "textFormat": [
                    "type": "json_schema",
                    "structure": [
                        "jsonSchema": [
                            "schema": .string(schema.jsonString()),
                            "name": .string(name),
                        ]
                    ],
                ]
            ]
        }
        if let reasoning = r.reasoning, reasoning.disable != true, let effort = reasoning.effort, effort != "none" {
            // Claude on Bedrock takes Anthropic's thinking block through the pass-through fields.
            o["additionalModelRequestFields"] = [
                "thinking": ["type": "enabled", "budget_tokens": .int(Int64(AnthropicTranslation.thinkingBudget(effort)))]
            ]
        }
        for (k, v) in r.passthrough { o[k] = v }
        return .object(o)
    }

    static func content(_ c: MessageContent) -> [JSONValue] {
        switch c {
        case .text(let s): return s.isEmpty ? [] : [["text": .string(s)]]
        case .parts(let parts):
            return parts.compactMap { part -> JSONValue? in
                switch part {
                case .text(let t): return ["text": .string(t)]
                case .imageBase64(let data, let media):
                    return [
                        "image": ["format": .string(String(media.split(separator: "/").last ?? "png")), "source": ["bytes": .string(data)]]
                    ]
                case .imageURL(let url, _):
                    // Converse takes image bytes only: a data: URI is unwrapped, a remote URL cannot be sent.
                    guard url.hasPrefix("data:image/"), let comma = url.firstIndex(of: ","), let semi = url.firstIndex(of: ";") else {
                        return nil
                    }
                    let format = String(url[url.index(url.startIndex, offsetBy: 11)..<semi])
                    return ["image": ["format": .string(format), "source": ["bytes": .string(String(url[url.index(after: comma)...]))]]]
                }
            }
        }
    }

    static func finishReason(_ s: String?) -> FinishReason {
        switch s {
        case "content_filtered", "guardrail_intervened": .contentFilter
        case "model_context_window_exceeded": .length
        case nil: .stop
        default: FinishReason(wire: s!)
        }
    }

    static func usage(_ u: JSONValue?) -> Usage? {
        guard let u, case .object = u else { return nil }
        let read = Int(u["cacheReadInputTokens"]?.intValue ?? 0)
        let written = Int(u["cacheWriteInputTokens"]?.intValue ?? 0)
        return Usage(
            inputTokens: Int(u["inputTokens"]?.intValue ?? 0).saturatingAdding(read).saturatingAdding(written),
            outputTokens: Int(u["outputTokens"]?.intValue ?? 0), cachedTokens: read, cacheWriteTokens: written)
    }

    /// A Converse response.
    public static func response(_ data: Data, model: String, provider: String) throws(ProviderError) -> ChatResponse {
        guard let json = try? JSONValue.parse(data), case .array(let blocks)? = json["output"]?["message"]?["content"] else {
            throw ProviderError(.decoding, provider: provider, message: "upstream sent a malformed Converse response")
        }
        var text = "", reasoning = ""
        var calls: [ToolCall] = []
        for b in blocks {
            if let t = b["text"]?.stringValue { text += t }
            if let r = b["reasoningContent"]?["reasoningText"]?["text"]?.stringValue { reasoning += r }
            if let use = b["toolUse"] {
                calls.append(
                    ToolCall(
                        id: use["toolUseId"]?.stringValue ?? "", name: use["name"]?.stringValue ?? "",
                        arguments: (use["input"] ?? .object([:])).jsonString()))
            }
        }
        return ChatResponse(
            id: "", model: model, provider: provider,
            message: .assistant(text, toolCalls: calls, reasoning: reasoning.isEmpty ? nil : reasoning),
            finishReason: finishReason(json["stopReason"]?.stringValue), usage: usage(json["usage"]))
    }
}

/// Turns ConverseStream event messages into unified stream events. The stream is complete after
/// `messageStop` and `metadata` (which carries the usage).
public struct BedrockStreamDecoder: Sendable {
    let provider: String
    let model: String
    private var toolIndex: [Int: Int] = [:]
    private var reason: String?
    private var stopped = false
    /// Whether the stream ended properly.
    public private(set) var isComplete = false

    /// A decoder for one stream.
    public init(provider: String, model: String) {
        self.provider = provider
        self.model = model
    }

    /// Events for one event-stream message.
    public mutating func decode(_ message: EventStreamMessage) throws(ProviderError) -> [StreamEvent] {
        let payload = try? JSONValue.parse(Data(message.payload))
        switch message.headers[":message-type"] {
        case "exception":
            let type = message.headers[":exception-type"] ?? "exception"
            let status: Int =
                switch type {
                case "throttlingException": 429
                case "serviceUnavailableException": 503
                case "validationException": 400
                case "modelStreamErrorException": 424
                default: 500
                }
            throw ProviderError(
                ProviderError.classify(status: status, code: type, message: payload?["message"]?.stringValue ?? type, retryAfter: nil),
                provider: provider, status: status, message: payload?["message"]?.stringValue ?? type, code: type)
        case "error":
            let code = message.headers[":error-code"] ?? "error"
            throw ProviderError(.server(status: 500), provider: provider, message: message.headers[":error-message"] ?? code, code: code)
        default: break
        }
        guard let payload else { throw ProviderError(.decoding, provider: provider, message: "a stream event is not JSON") }
        let index = Int(payload["contentBlockIndex"]?.intValue ?? -1)
        switch message.headers[":event-type"] {
        case "messageStart":
            return [.started(id: "", model: model, provider: provider)]
        case "contentBlockStart":
            guard let use = payload["start"]?["toolUse"] else { return [] }
            let ordinal = toolIndex.count
            toolIndex[index] = ordinal
            return [.toolCallDelta(ToolCallDelta(index: ordinal, id: use["toolUseId"]?.stringValue, name: use["name"]?.stringValue))]
        case "contentBlockDelta":
            let d = payload["delta"]
            if let t = d?["text"]?.stringValue { return [.textDelta(t)] }
            if let r = d?["reasoningContent"]?["text"]?.stringValue { return [.reasoningDelta(r)] }
            if let input = d?["toolUse"]?["input"]?.stringValue {
                guard let ordinal = toolIndex[index] else {
                    throw ProviderError(.decoding, provider: provider, message: "tool input for a block that did not start")
                }
                return input.isEmpty ? [] : [.toolCallDelta(ToolCallDelta(index: ordinal, arguments: input))]
            }
            return []
        case "messageStop":
            reason = payload["stopReason"]?.stringValue
            stopped = true
            return [.finish(BedrockTranslation.finishReason(reason))]
        case "metadata":
            isComplete = stopped
            return BedrockTranslation.usage(payload["usage"]).map { [.usage($0)] } ?? []
        default:
            return []
        }
    }
}
