public import Foundation
public import NIOCore
public import SwitchboardCore

/// Pure translation between the unified types and Ollama's native API (`shared/reference/ollama.md`).
public enum OllamaTranslation {
    /// Runner options a configuration sets for every request.
    public struct Defaults: Sendable, Hashable {
        /// Context length (`num_ctx`); Ollama's own default is small (4096).
        public var numCtx: Int?
        /// How long the model stays loaded (`"5m"`, `"1h"`).
        public var keepAlive: String?

        /// No overrides.
        public init(numCtx: Int? = nil, keepAlive: String? = nil) {
            self.numCtx = numCtx
            self.keepAlive = keepAlive
        }
    }

    /// `OLLAMA_HOST` as Ollama reads it: scheme and port defaulted, an unspecified bind address connected
    /// to on loopback.
    public static func baseURL(host: String?) -> String {
        guard var h = host?.trimmingCharacters(in: .whitespaces), !h.isEmpty else { return "http://127.0.0.1:11434" }
        if h == "ollama.com" { return "https://ollama.com:443" }
        if !h.contains("://") { h = "http://" + h }
        guard var parts = URLComponents(string: h), let hostName = parts.host else { return "http://127.0.0.1:11434" }
        if parts.port == nil, !host!.contains("://") { parts.port = 11434 }
        if hostName == "0.0.0.0" { parts.host = "127.0.0.1" }
        if hostName == "::" || hostName == "[::]" { parts.host = "[::1]" }
        var s = parts.string ?? "http://127.0.0.1:11434"
        while s.hasSuffix("/") { s.removeLast() }
        return s
    }

    /// The `/api/chat` body.
    public static func body(_ r: ChatRequest, stream: Bool, defaults: Defaults) -> JSONValue {
        var names: [String: String] = [:]
        for m in r.messages { for c in m.toolCalls { names[c.id] = c.name } }
        let messages: [JSONValue] = r.messages.map { m in
            var o: [String: JSONValue] = ["role": .string(m.role == .developer ? "system" : m.role.rawValue), "content": .string(m.text)]
            var images: [JSONValue] = []
            if case .parts(let parts) = m.content {
                for p in parts {
                    switch p {
                    case .imageBase64(let data, _): images.append(.string(data))
                    case .imageURL(let url, _):
                        // Ollama takes raw base64 only; a data: URI is unwrapped, a remote URL cannot be sent.
                        if url.hasPrefix("data:"), let comma = url.firstIndex(of: ",") {
                            images.append(.string(String(url[url.index(after: comma)...])))
                        }
                    case .text: break
                    }
                }
            }
            if !images.isEmpty { o["images"] = .array(images) }
            if let reasoning = m.reasoning { o["thinking"] = .string(reasoning) }
            if !m.toolCalls.isEmpty {
                o["tool_calls"] = .array(
                    m.toolCalls.map { c in
                        ["id": .string(c.id), "function": ["name": .string(c.name), "arguments": c.argumentsObject]]
                    })
            }
            if m.role == .tool, let id = m.toolCallID {
                o["tool_call_id"] = .string(id)
                if let name = names[id] { o["tool_name"] = .string(name) }
            }
            return .object(o)
        }
        var o: [String: JSONValue] = ["model": .string(r.model), "messages": .array(messages), "stream": .bool(stream)]
        if !r.tools.isEmpty {
            o["tools"] = .array(
                r.tools.map { t in
                    var f: [String: JSONValue] = ["name": .string(t.name), "parameters": t.parameters ?? ["type": "object"]]
                    if let d = t.description { f["description"] = .string(d) }
                    return ["type": "function", "function": .object(f)]
                })
        }
        switch r.responseFormat {
        case .jsonObject?: o["format"] = "json"
        case .jsonSchema(_, let schema, _, _)?: o["format"] = schema
        default: break
        }
        if let reasoning = r.reasoning {
            if reasoning.disable == true || reasoning.effort == "none" {
                o["think"] = false
            } else if let effort = reasoning.effort {
                o["think"] = ["low", "medium", "high", "max"].contains(effort) ? .string(effort) : true
            }
        }
        var options: [String: JSONValue] = [:]
        if let t = r.temperature { options["temperature"] = .double(t) }
        if let p = r.topP { options["top_p"] = .double(p) }
        if let s = r.seed { options["seed"] = .int(s) }
        if let n = r.maxTokens { options["num_predict"] = .int(Int64(n)) }
        if let stop = r.stop, !stop.isEmpty { options["stop"] = .array(stop.map(JSONValue.string)) }
        if let ctx = defaults.numCtx { options["num_ctx"] = .int(Int64(ctx)) }
        if !options.isEmpty { o["options"] = .object(options) }
        if let keep = defaults.keepAlive { o["keep_alive"] = .string(keep) }
        for (k, v) in r.passthrough { o[k] = v }
        return .object(o)
    }

    static func toolCalls(_ v: JSONValue?, startingAt offset: Int) -> [ToolCall] {
        guard case .array(let calls)? = v else { return [] }
        return calls.enumerated().map { i, c in
            let args = c["function"]?["arguments"] ?? .object([:])
            return ToolCall(
                id: c["id"]?.stringValue ?? "call_\(offset + i)", name: c["function"]?["name"]?.stringValue ?? "",
                arguments: args.stringValue ?? args.jsonString())
        }
    }

    static func usage(_ o: JSONValue) -> Usage? {
        guard o["prompt_eval_count"] != nil || o["eval_count"] != nil else { return nil }
        return Usage(inputTokens: Int(o["prompt_eval_count"]?.intValue ?? 0), outputTokens: Int(o["eval_count"]?.intValue ?? 0))
    }

    static func finish(_ o: JSONValue, sawTools: Bool) -> FinishReason {
        if sawTools { return .toolCalls }
        return o["done_reason"]?.stringValue.map(FinishReason.init(wire:)) ?? .stop
    }

    /// A non-streamed `/api/chat` answer.
    public static func response(_ data: Data, provider: String) throws(ProviderError) -> ChatResponse {
        guard let o = try? JSONValue.parse(data), let message = o["message"] else {
            throw ProviderError(.decoding, provider: provider, message: "upstream sent a malformed /api/chat response")
        }
        let calls = toolCalls(message["tool_calls"], startingAt: 0)
        return ChatResponse(
            id: "", model: o["model"]?.stringValue ?? "", provider: provider,
            message: .assistant(
                message["content"]?.stringValue ?? "", toolCalls: calls,
                reasoning: message["thinking"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }),
            finishReason: finish(o, sawTools: !calls.isEmpty), usage: usage(o))
    }
}

/// Splits an NDJSON byte stream into lines, across chunk boundaries.
public struct NDJSONSplitter: Sendable {
    private var pending: [UInt8] = []

    /// An empty splitter.
    public init() {}

    /// Complete lines in `chunk` (with what earlier chunks left over); blank lines are skipped.
    public mutating func feed(_ chunk: ByteBuffer) -> [String] {
        pending.append(contentsOf: chunk.readableBytesView)
        var lines: [String] = []
        var start = 0
        for (i, byte) in pending.enumerated() where byte == UInt8(ascii: "\n") {
            let line = String(decoding: pending[start..<i], as: UTF8.self).trimmingCharacters(in: .whitespaces)
            if !line.isEmpty { lines.append(line) }
            start = i + 1
        }
        pending.removeFirst(start)
        return lines
    }

    /// What is left once the stream ended (a last line without a newline).
    public mutating func finish() -> [String] {
        let line = String(decoding: pending, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        pending = []
        return line.isEmpty ? [] : [line]
    }
}

/// Turns `/api/chat` NDJSON lines into unified stream events. Tool calls arrive whole; each becomes one
/// delta numbered in arrival order.
public struct OllamaStreamDecoder: Sendable {
    let provider: String
    private var started = false
    private var tools = 0
    /// Whether the `done` line arrived.
    public private(set) var isComplete = false

    /// A decoder for one stream.
    public init(provider: String) {
        self.provider = provider
    }

    /// Events for one line.
    public mutating func decode(_ line: String) throws(ProviderError) -> [StreamEvent] {
        guard let o = try? JSONValue.parse(Data(line.utf8)), case .object = o else {
            throw ProviderError(.decoding, provider: provider, message: "upstream sent a malformed NDJSON line")
        }
        if let error = o["error"]?.stringValue {
            // An error after streaming began keeps HTTP 200; the line says what happened.
            throw ProviderError(
                ProviderError.classify(status: 500, code: nil, message: error, retryAfter: nil), provider: provider,
                message: error)
        }
        var out: [StreamEvent] = []
        if !started {
            started = true
            out.append(.started(id: "", model: o["model"]?.stringValue ?? "", provider: provider))
        }
        if let thinking = o["message"]?["thinking"]?.stringValue, !thinking.isEmpty { out.append(.reasoningDelta(thinking)) }
        if let text = o["message"]?["content"]?.stringValue, !text.isEmpty { out.append(.textDelta(text)) }
        for call in OllamaTranslation.toolCalls(o["message"]?["tool_calls"], startingAt: tools) {
            out.append(.toolCallDelta(ToolCallDelta(index: tools, id: call.id, name: call.name, arguments: call.arguments)))
            tools += 1
        }
        if o["done"]?.boolValue == true {
            isComplete = true
            out.append(.finish(OllamaTranslation.finish(o, sawTools: tools > 0)))
            if let u = OllamaTranslation.usage(o) { out.append(.usage(u)) }
        }
        return out
    }
}
