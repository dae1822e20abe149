public import NIOCore
public import SwitchboardCore

/// A chat-completions body as the client sent it, with what forwarding its text needs.
public struct ClientChatBody: Sendable {
    /// The body's bytes.
    public let bytes: ByteBuffer
    let object: [String: JSONValue]
    /// Where the model's value is, relative to the first readable byte.
    let modelSpan: Range<Int>

    /// Parses a chat-completions body, keeping it as the client's text too when that text can stand for its value
    /// (an object with a model, no member named twice); throws what `JSONValue.parse` throws.
    public static func parse(_ bytes: ByteBuffer) throws -> (json: JSONValue, client: ClientChatBody?) {
        let (json, notes) = try bytes.withUnsafeReadableBytes { try JSONValue.parse(bytes: $0, noting: "model") }
        guard case .object(let object) = json, let span = notes.span, !notes.repeatedMember else { return (json, nil) }
        return (json, ClientChatBody(bytes: bytes, object: object, modelSpan: span))
    }

    private init(bytes: ByteBuffer, object: [String: JSONValue], modelSpan: Range<Int>) {
        self.bytes = bytes
        self.object = object
        self.modelSpan = modelSpan
    }
}

extension OpenAIRequestEncoding {
    /// The client's own text with only the model's value replaced, when it says exactly what the non-streamed
    /// `body(request, descriptor:stream:)` would: nil otherwise, and the body is written again.
    ///
    /// The check is against the request the typed path would encode, not against a list of keys the decoder
    /// handles, so a field that decoder changes, drops or adds (a `stop` string made an array, `n`, `stream_options`,
    /// a null `user`, a `"stream": false`, a message's extra member) or that the descriptor renames or drops makes
    /// the body be written. Numbers are the same numbers (`1` where the typed path writes `1.0`); everything else is
    /// the same JSON.
    public static func forwarded(_ client: ClientChatBody, as request: ChatRequest, descriptor: ProviderDescriptor) -> ByteBuffer? {
        guard saysTheSame(client.object, as: request, descriptor: descriptor) else { return nil }
        let bytes = client.bytes
        let model = JSONValue.string(request.model).jsonBytes()
        var out = ByteBufferAllocator().buffer(capacity: bytes.readableBytes - client.modelSpan.count + model.count)
        out.writeImmutableBuffer(bytes.getSlice(at: bytes.readerIndex, length: client.modelSpan.lowerBound)!)
        out.writeBytes(model)
        let rest = bytes.readableBytes - client.modelSpan.upperBound
        out.writeImmutableBuffer(bytes.getSlice(at: bytes.readerIndex + client.modelSpan.upperBound, length: rest)!)
        return out
    }

    static func saysTheSame(_ o: [String: JSONValue], as r: ChatRequest, descriptor: ProviderDescriptor) -> Bool {
        // What the typed path would add or reshape.
        guard r.stop == nil, r.tools.isEmpty, r.toolChoice == nil, r.parallelToolCalls == nil, r.responseFormat == nil,
            r.reasoning == nil
        else { return false }
        for key in o.keys where descriptor.renames[key] != nil || descriptor.dropParams.contains(key) { return false }
        guard case .string? = o["model"], case .array(let messages)? = o["messages"], messages.count == r.messages.count else {
            return false
        }
        for (wire, message) in zip(messages, r.messages) where !saysTheSame(wire, as: message) { return false }
        var members = 2
        func same(_ key: String, _ typed: JSONValue?) -> Bool {
            guard let wire = o[key] else { return typed == nil }
            members += 1
            switch (wire, typed) {
            case (.int, .double(let d)?), (.double, .double(let d)?): return wire.doubleValue == d
            case (_, let typed?): return wire == typed
            case (_, nil): return false
            }
        }
        guard same("temperature", r.temperature.map(JSONValue.double)), same("top_p", r.topP.map(JSONValue.double)),
            same("max_tokens", r.maxTokens.map { .int(Int64($0)) }), same("seed", r.seed.map(JSONValue.int)),
            same("user", r.user.map(JSONValue.string))
        else { return false }
        for (key, value) in r.passthrough {
            guard o[key] == value else { return false }
            members += 1
        }
        // No member the typed body leaves out.
        return o.count == members
    }

    static func saysTheSame(_ wire: JSONValue, as m: Message) -> Bool {
        guard case .object(let o) = wire, m.toolCalls.isEmpty, m.toolCallID == nil, m.reasoning == nil,
            case .text(let text) = m.content, o["role"] == .string(m.role.rawValue), o["content"] == .string(text)
        else { return false }
        if let name = m.name { return o["name"] == .string(name) && o.count == 3 }
        return o.count == 2
    }
}
