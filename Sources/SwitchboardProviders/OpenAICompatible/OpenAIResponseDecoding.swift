public import Foundation
public import SwitchboardCore

/// Lenient wire shapes shared by responses and stream chunks.
struct WireCompletion: Decodable {
    var id: String?
    var model: String?
    var choices: [WireChoice]?
    var usage: WireUsage?
    var error: JSONValue?
    var status_code: Int?
}

struct WireChoice: Decodable {
    var index: Int?
    var message: WireMessage?
    var delta: WireMessage?
    var finish_reason: String?
}

struct WireMessage: Decodable {
    var content: JSONValue?
    var tool_calls: [WireToolCall]?
    var reasoning: JSONValue?
    var reasoning_content: JSONValue?
    var reasoning_details: JSONValue?
    var refusal: String?

    func reasoningText(fields: [String]) -> String? {
        for field in fields {
            let value: JSONValue? =
                switch field {
                case "reasoning": reasoning
                case "reasoning_content": reasoning_content
                case "reasoning_details": reasoning_details
                default: nil
                }
            if let text = value.flatMap(WireMessage.text(of:)), !text.isEmpty { return text }
        }
        return nil
    }

    /// Text of a string, an array of text parts, or reasoning-detail objects.
    static func text(of value: JSONValue) -> String? {
        switch value {
        case .string(let s): return s
        case .array(let items):
            let texts = items.compactMap { item -> String? in
                if case .string(let s) = item { return s }
                return item["text"]?.stringValue ?? item["summary"]?.stringValue
            }
            return texts.isEmpty ? nil : texts.joined()
        default: return nil
        }
    }
}

struct WireToolCall: Decodable {
    var index: Int?
    var id: String?
    var function: WireFunction?
}

struct WireFunction: Decodable {
    var name: String?
    var arguments: JSONValue?

    /// Arguments as text; some servers send an object instead of a string.
    var argumentsText: String? {
        switch arguments {
        case .none, .some(.null): nil
        case .some(.string(let s)): s
        case .some(let other): other.jsonString()
        }
    }
}

struct WireUsage: Decodable {
    var prompt_tokens: Int?
    var completion_tokens: Int?
    var prompt_tokens_details: Details?
    var completion_tokens_details: Details?

    struct Details: Decodable {
        var cached_tokens: Int?
        var reasoning_tokens: Int?
    }

    var usage: Usage {
        Usage(
            inputTokens: prompt_tokens ?? 0, outputTokens: completion_tokens ?? 0,
            reasoningTokens: completion_tokens_details?.reasoning_tokens ?? 0,
            cachedTokens: prompt_tokens_details?.cached_tokens ?? 0)
    }
}

/// Pure translation of OpenAI-compatible responses into unified types.
public enum OpenAIResponseDecoding {
    /// Decodes a non-streamed chat completion.
    public static func chatResponse(_ data: Data, descriptor: ProviderDescriptor, provider: String) throws(ProviderError) -> ChatResponse {
        let wire: WireCompletion
        do {
            wire = try JSONDecoder().decode(WireCompletion.self, from: data)
        } catch {
            throw ProviderError(.decoding, provider: provider, message: "upstream sent a response that is not a chat completion: \(error)")
        }
        if let error = wire.error {
            throw OpenAIErrorDecoding.error(fromObject: error, status: wire.status_code ?? 500, provider: provider, headers: [])
        }
        guard let choice = wire.choices?.first, let message = choice.message else {
            throw ProviderError(.decoding, provider: provider, message: "upstream response has no choices")
        }
        let calls = (message.tool_calls ?? []).enumerated().map { i, call in
            ToolCall(id: call.id ?? "call_\(i)", name: call.function?.name ?? "", arguments: call.function?.argumentsText ?? "")
        }
        let text = message.content.flatMap(WireMessage.text(of:)) ?? ""
        let reply = Message.assistant(text, toolCalls: calls, reasoning: message.reasoningText(fields: descriptor.reasoningFields))
        return ChatResponse(
            id: wire.id ?? "", model: wire.model ?? "", provider: provider, message: reply,
            finishReason: choice.finish_reason.map(FinishReason.init(wire:)) ?? (calls.isEmpty ? .stop : .toolCalls),
            usage: wire.usage?.usage)
    }

    /// Model ids from a `GET /models` list (OpenAI `data[]` or a bare array).
    public static func modelIDs(_ data: Data, provider: String) throws(ProviderError) -> [String] {
        let value: JSONValue
        do { value = try JSONValue.parse(data) } catch {
            throw ProviderError(.decoding, provider: provider, message: "model list is not JSON")
        }
        let items: [JSONValue]
        switch value {
        case .array(let a): items = a
        case .object(let o): items = o["data"].flatMap { if case .array(let a) = $0 { a } else { nil } } ?? []
        default: items = []
        }
        return items.compactMap { $0["id"]?.stringValue ?? $0["name"]?.stringValue }
    }
}

extension OpenAIResponseDecoding {
    private struct WireEmbeddings: Decodable {
        struct Item: Decodable {
            var index: Int?
            var embedding: [Double]
        }
        var data: [Item]
        var model: String?
        var usage: WireUsage?
    }

    /// Decodes an images response: `data[]` of `b64_json` or `url`.
    public static func images(_ data: Data, provider: String) throws(ProviderError) -> [GeneratedImage] {
        guard let json = try? JSONValue.parse(data), case .array(let items)? = json["data"],
            items.allSatisfy({ $0["b64_json"]?.stringValue != nil || $0["url"]?.stringValue != nil })
        else {
            throw ProviderError(.decoding, provider: provider, message: "upstream sent a malformed images response")
        }
        return items.map {
            GeneratedImage(
                base64: $0["b64_json"]?.stringValue, url: $0["url"]?.stringValue,
                revisedPrompt: $0["revised_prompt"]?.stringValue)
        }
    }

    /// Decodes an embeddings response, ordering vectors by `index`.
    public static func embeddings(_ data: Data, provider: String) throws(ProviderError) -> EmbeddingResponse {
        do {
            let wire = try JSONDecoder().decode(WireEmbeddings.self, from: data)
            let ordered = wire.data.enumerated().sorted { ($0.element.index ?? $0.offset) < ($1.element.index ?? $1.offset) }
            return EmbeddingResponse(
                vectors: ordered.map(\.element.embedding), model: wire.model ?? "",
                usage: wire.usage?.usage ?? Usage())
        } catch {
            throw ProviderError(.decoding, provider: provider, message: "upstream sent a malformed embeddings response")
        }
    }
}

/// The few fields of a chat completion the gateway needs when it forwards the body untouched.
/// What the gateway needs of a completion it forwards untouched: the model and the usage.
struct WireCompletionSummary {
    var model: String?
    var usage: Usage?
}

extension OpenAIResponseDecoding {
    /// Checks a chat completion and reads its usage without decoding the message; nil when the body is not a
    /// plain successful completion (the caller then decodes it fully, which reports the problem).
    static func summary(_ bytes: UnsafeRawBufferPointer) -> WireCompletionSummary? {
        // A body that is not JSON is not a plain completion; the full decoder names the problem.
        guard let value = try? JSONValue.parse(bytes: bytes, building: summaryMembers), value["error"] == nil,
            let choices = value["choices"]?.arrayValue, !choices.isEmpty
        else { return nil }
        return WireCompletionSummary(model: value["model"]?.stringValue, usage: value["usage"].flatMap(usage))
    }

    /// What `summary` reads; the choices (most of the body) only need to be there.
    private static let summaryMembers: Set<String> = ["model", "usage"]

    /// Usage from an OpenAI `usage` object; nil when it is not one.
    static func usage(_ u: JSONValue) -> Usage? {
        guard case .object = u else { return nil }
        func count(_ v: JSONValue?) -> Int { v?.intValue.map { Int(clamping: $0) } ?? 0 }
        return Usage(
            inputTokens: count(u["prompt_tokens"]), outputTokens: count(u["completion_tokens"]),
            reasoningTokens: count(u["completion_tokens_details"]?["reasoning_tokens"]),
            cachedTokens: count(u["prompt_tokens_details"]?["cached_tokens"]))
    }
}
