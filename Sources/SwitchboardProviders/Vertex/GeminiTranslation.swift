public import Foundation
public import SwitchboardCore

/// Pure translation between the unified types and Gemini's `generateContent` (`shared/reference/vertex-gemini.md`).
public enum GeminiTranslation {
    /// The `GenerateContentRequest` body.
    public static func body(_ r: ChatRequest) -> JSONValue {
        var system: [String] = []
        var turns: [(role: String, parts: [JSONValue])] = []
        func add(_ role: String, _ parts: [JSONValue]) {
            guard !parts.isEmpty else { return }
            if let last = turns.last, last.role == role { turns[turns.count - 1].parts += parts } else { turns.append((role, parts)) }
        }
        var names: [String: String] = [:]
        for m in r.messages { for c in m.toolCalls { names[c.id] = c.name } }
        for m in r.messages {
            switch m.role {
            case .system, .developer: system.append(m.text)
            case .user: add("user", parts(m.content))
            case .tool:
                // The response must be an object: the tool's text is wrapped.
                let result: JSONValue =
                    (try? JSONValue.parse(Data(m.text.utf8))).flatMap { $0.objectValue != nil ? $0 : nil } ?? ["result": .string(m.text)]
                var response: [String: JSONValue] = ["name": .string(names[m.toolCallID ?? ""] ?? ""), "response": result]
                if let id = m.toolCallID { response["id"] = .string(id) }
                add("user", [["functionResponse": .object(response)]])
            case .assistant:
                var p: [JSONValue] = m.content.text.isEmpty ? [] : [["text": .string(m.content.text)]]
                for c in m.toolCalls {
                    p.append(["functionCall": ["id": .string(c.id), "name": .string(c.name), "args": c.argumentsObject]])
                }
                add("model", p)
            }
        }
        var o: [String: JSONValue] = ["contents": .array(turns.map { ["role": .string($0.role), "parts": .array($0.parts)] })]
        if !system.isEmpty { o["systemInstruction"] = ["parts": [["text": .string(system.joined(separator: "\n\n"))]]] }
        var config: [String: JSONValue] = [:]
        if let t = r.temperature { config["temperature"] = .double(t) }
        if let p = r.topP { config["topP"] = .double(p) }
        if let n = r.maxTokens { config["maxOutputTokens"] = .int(Int64(n)) }
        if let stop = r.stop, !stop.isEmpty { config["stopSequences"] = .array(stop.map(JSONValue.string)) }
        if let seed = r.seed { config["seed"] = .int(seed) }
        switch r.responseFormat {
        case .jsonObject?: config["responseMimeType"] = "application/json"
        case .jsonSchema(_, let schema, _, _)?:
            config["responseMimeType"] = "application/json"
            config["responseJsonSchema"] = schema
        default: break
        }
        if let reasoning = r.reasoning {
            if reasoning.disable == true || reasoning.effort == "none" {
                config["thinkingConfig"] = ["thinkingBudget": 0]
            } else if let effort = reasoning.effort {
                config["thinkingConfig"] = [
                    "thinkingBudget": .int(Int64(AnthropicTranslation.thinkingBudget(effort))), "includeThoughts": true,
                ]
            }
        }
        if !config.isEmpty { o["generationConfig"] = .object(config) }
        if !r.tools.isEmpty {
            o["tools"] = [
                [
                    "functionDeclarations": .array(
                        r.tools.map { t in
                            var d: [String: JSONValue] = [
                                "name": .string(t.name), "parametersJsonSchema": t.parameters ?? ["type": "object"],
                            ]
                            if let desc = t.description { d["description"] = .string(desc) }
                            return .object(d)
                        })
                ]
            ]
            switch r.toolChoice {
            case .required?: o["toolConfig"] = ["functionCallingConfig": ["mode": "ANY"]]
            case .none?: o["toolConfig"] = ["functionCallingConfig": ["mode": "NONE"]]
            case .named(let name)?: o["toolConfig"] = ["functionCallingConfig": ["mode": "ANY", "allowedFunctionNames": [.string(name)]]]
            default: break
            }
        }
        for (k, v) in r.passthrough { o[k] = v }
        return .object(o)
    }

    static func parts(_ c: MessageContent) -> [JSONValue] {
        switch c {
        case .text(let s): return s.isEmpty ? [] : [["text": .string(s)]]
        case .parts(let parts):
            return parts.map { part -> JSONValue in
                switch part {
                case .text(let t): return ["text": .string(t)]
                case .imageBase64(let data, let media): return ["inlineData": ["mimeType": .string(media), "data": .string(data)]]
                case .imageURL(let url, _):
                    if url.hasPrefix("data:"), let comma = url.firstIndex(of: ","), let semi = url.firstIndex(of: ";") {
                        return [
                            "inlineData": [
                                "mimeType": .string(String(url[url.index(url.startIndex, offsetBy: 5)..<semi])),
                                "data": .string(String(url[url.index(after: comma)...])),
                            ]
                        ]
                    }
                    return ["fileData": ["mimeType": "image/*", "fileUri": .string(url)]]
                }
            }
        }
    }

    static func usage(_ u: JSONValue?) -> Usage? {
        guard let u, case .object = u else { return nil }
        let thoughts = Int(u["thoughtsTokenCount"]?.intValue ?? 0)
        return Usage(
            inputTokens: Int(u["promptTokenCount"]?.intValue ?? 0),
            outputTokens: Int(u["candidatesTokenCount"]?.intValue ?? 0).saturatingAdding(thoughts), reasoningTokens: thoughts,
            cachedTokens: Int(u["cachedContentTokenCount"]?.intValue ?? 0))
    }

    static func finishReason(_ s: String?, sawCalls: Bool) -> FinishReason {
        if sawCalls { return .toolCalls }
        switch s {
        case "STOP", nil: return .stop
        case "MAX_TOKENS": return .length
        case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII": return .contentFilter
        default: return s!.hasPrefix("IMAGE_") ? .contentFilter : .other(s!.lowercased())
        }
    }

    /// Text, thoughts and calls of one response's first candidate.
    static func pieces(_ json: JSONValue, callOffset: Int) -> (text: String, thoughts: String, calls: [ToolCall]) {
        var text = "", thoughts = ""
        var calls: [ToolCall] = []
        for part in json["candidates"]?[0]?["content"]?["parts"]?.arrayValue ?? [] {
            if let t = part["text"]?.stringValue {
                if part["thought"]?.boolValue == true { thoughts += t } else { text += t }
            }
            if let call = part["functionCall"] {
                calls.append(
                    ToolCall(
                        id: call["id"]?.stringValue ?? "call_\(callOffset + calls.count)", name: call["name"]?.stringValue ?? "",
                        arguments: (call["args"] ?? .object([:])).jsonString()))
            }
        }
        return (text, thoughts, calls)
    }

    /// A non-streamed response.
    public static func response(_ data: Data, model: String, provider: String) throws(ProviderError) -> ChatResponse {
        guard let json = try? JSONValue.parse(data), case .object = json else {
            throw ProviderError(.decoding, provider: provider, message: "upstream sent a malformed generateContent response")
        }
        if json["candidates"]?.arrayValue?.isEmpty ?? true, let blocked = json["promptFeedback"]?["blockReason"]?.stringValue {
            throw ProviderError(.contentFiltered, provider: provider, message: "the prompt was blocked (\(blocked))")
        }
        let p = pieces(json, callOffset: 0)
        return ChatResponse(
            id: json["responseId"]?.stringValue ?? "", model: json["modelVersion"]?.stringValue ?? model, provider: provider,
            message: .assistant(p.text, toolCalls: p.calls, reasoning: p.thoughts.isEmpty ? nil : p.thoughts),
            finishReason: finishReason(json["candidates"]?[0]?["finishReason"]?.stringValue, sawCalls: !p.calls.isEmpty),
            usage: usage(json["usageMetadata"]))
    }
}

/// Turns `alt=sse` chunks into unified events. Gemini sends no end marker: the chunk with a
/// `finishReason` completes the stream (its usage is the final count).
public struct GeminiStreamDecoder: Sendable {
    let provider: String
    let model: String
    private var started = false
    private var calls = 0
    /// Whether a chunk with a finish reason arrived.
    public private(set) var isComplete = false

    /// A decoder for one stream.
    public init(provider: String, model: String) {
        self.provider = provider
        self.model = model
    }

    /// Events for one `data:` payload.
    public mutating func decode(_ data: String) throws(ProviderError) -> [StreamEvent] {
        guard let json = try? JSONValue.parse(Data(data.utf8)), case .object = json else {
            throw ProviderError(.decoding, provider: provider, message: "upstream sent a malformed stream chunk")
        }
        if let error = json["error"] {
            let status = Int(error["code"]?.intValue ?? 500)
            let message = error["message"]?.stringValue ?? "stream error"
            throw ProviderError(
                ProviderError.classify(status: status, code: error["status"]?.stringValue, message: message, retryAfter: nil),
                provider: provider, status: status, message: message, code: error["status"]?.stringValue)
        }
        var out: [StreamEvent] = []
        if !started {
            started = true
            out.append(
                .started(id: json["responseId"]?.stringValue ?? "", model: json["modelVersion"]?.stringValue ?? model, provider: provider))
        }
        let p = GeminiTranslation.pieces(json, callOffset: calls)
        if !p.thoughts.isEmpty { out.append(.reasoningDelta(p.thoughts)) }
        if !p.text.isEmpty { out.append(.textDelta(p.text)) }
        for c in p.calls {
            out.append(.toolCallDelta(ToolCallDelta(index: calls, id: c.id, name: c.name, arguments: c.arguments)))
            calls += 1
        }
        if let reason = json["candidates"]?[0]?["finishReason"]?.stringValue {
            isComplete = true
            out.append(.finish(GeminiTranslation.finishReason(reason, sawCalls: calls > 0)))
            if let u = GeminiTranslation.usage(json["usageMetadata"]) { out.append(.usage(u)) }
        }
        return out
    }
}
