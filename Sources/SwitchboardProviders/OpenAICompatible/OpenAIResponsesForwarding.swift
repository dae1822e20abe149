public import NIOCore
public import SwitchboardCore

/// One event of a Responses API stream as the upstream sent it: its type and its JSON.
public struct ResponsesStreamEvent: Sendable, Hashable {
    /// The event's `type` (its `event:` name).
    public var type: String
    public var json: JSONValue

    /// Creates an event.
    public init(type: String, json: JSONValue) {
        self.type = type
        self.json = json
    }
}

extension ResponsesStreamEvent {
    /// Whether this event ends a response that did not fail (`response.completed`, `response.incomplete`).
    public var isTerminal: Bool { type == "response.completed" || type == "response.incomplete" }
}

extension Usage {
    /// The usage of a Responses API `usage` object; nil without its token counts.
    public init?(responses u: JSONValue?) {
        guard let u, let input = u["input_tokens"]?.intValue, let output = u["output_tokens"]?.intValue else { return nil }
        self.init(
            inputTokens: Int(clamping: input), outputTokens: Int(clamping: output),
            reasoningTokens: Int(clamping: u["output_tokens_details"]?["reasoning_tokens"]?.intValue ?? 0),
            cachedTokens: Int(clamping: u["input_tokens_details"]?["cached_tokens"]?.intValue ?? 0))
    }
}

/// A whole response of the Responses API as the upstream sent it, with what billing needs.
public struct ResponsesBody: Sendable {
    /// The body exactly as the upstream sent it.
    public var body: ByteBuffer
    public var provider: String
    public var usage: Usage?
}

/// A provider whose upstream serves OpenAI's Responses API itself (`Capability.responses`): a `/v1/responses` request
/// goes to it as the client wrote it, so its hosted tools, encrypted reasoning and every field it knows keep working.
public protocol OpenAIResponsesForwarding: LLMProvider {
    /// A non-streamed response. `request` is the same request translated, for the provider's own plan limits.
    func responses(_ body: JSONValue, request: ChatRequest, context: CallContext) async throws -> ResponsesBody
    /// A streamed response's events as the upstream sent them, ended by its terminal event; a `response.failed` or
    /// `error` event is thrown as the provider's error.
    func streamResponses(
        _ body: JSONValue, request: ChatRequest, context: CallContext
    ) -> AsyncThrowingStream<ResponsesStreamEvent, any Error>
}

extension OpenAICompatibleProvider: OpenAIResponsesForwarding {
    private var responsesPath: String { descriptor.responsesPath ?? "/responses" }

    public func responses(_ body: JSONValue, request: ChatRequest, context: CallContext) async throws -> ResponsesBody {
        let reservation = try reserve(prepared(request))
        var usage: Usage?
        defer { settle(reservation, usage: usage) }
        let response = try await post(path: responsesPath, bytes: ByteBuffer(bytes: body.jsonBytes()), stream: false, context: context)
        let data: ByteBuffer
        do { data = try await response.body.collect(upTo: options.maxResponseBytes) } catch let error as TransportError {
            throw providerError(error)
        }
        let json: JSONValue
        do { json = try data.withUnsafeReadableBytes { try JSONValue.parse(bytes: $0) } } catch {
            throw ProviderError(.decoding, provider: id, message: "the Responses API answered something other than JSON")
        }
        guard json["object"] == "response" else {
            throw ProviderError(.decoding, provider: id, message: "the Responses API answered JSON that is not a response")
        }
        usage = Usage(responses: json["usage"])
        return ResponsesBody(body: data, provider: id, usage: usage)
    }

    public func streamResponses(
        _ body: JSONValue, request: ChatRequest, context: CallContext
    ) -> AsyncThrowingStream<ResponsesStreamEvent, any Error> {
        let reservation: ClientRateLimiter.Reservation?
        do { reservation = try reserve(prepared(request)) } catch { return AsyncThrowingStream { $0.finish(throwing: error) } }
        let bytes = ByteBuffer(bytes: body.jsonBytes())
        return upstream.stream(ResponsesEventDecoder(provider: id), ended: { [self] usage in settle(reservation, usage: usage) }) {
            [self] in
            try await post(path: responsesPath, bytes: bytes, stream: true, context: context)
        }
    }
}

/// The Responses API's event stream: each SSE event's JSON, complete at `response.completed` or `response.incomplete`;
/// `response.failed` and `error` events become the provider's error.
struct ResponsesEventDecoder: StreamChunkDecoder {
    typealias Event = ResponsesStreamEvent
    private var parser = SSEParser()
    let provider: String
    private(set) var isComplete = false

    init(provider: String) {
        self.provider = provider
    }

    func usage(in event: ResponsesStreamEvent) -> Usage? {
        event.isTerminal ? Usage(responses: event.json["response"]?["usage"]) : nil
    }

    mutating func feed(_ chunk: ByteBuffer, emit: (ResponsesStreamEvent) -> Void) throws {
        for event in try parser.feed(chunk) { try decode(event, emit: emit) }
    }

    mutating func finish(emit: (ResponsesStreamEvent) -> Void) throws {
        for event in parser.finish() { try decode(event, emit: emit) }
    }

    private mutating func decode(_ event: SSEEvent, emit: (ResponsesStreamEvent) -> Void) throws {
        guard !event.data.isEmpty, event.data != "[DONE]" else { return }
        let json: JSONValue
        var text = event.data
        do { json = try text.withUTF8 { try JSONValue.parse(bytes: UnsafeRawBufferPointer($0)) } } catch {
            throw ProviderError(.decoding, provider: provider, message: "a Responses stream event is not JSON")
        }
        let type = json["type"]?.stringValue ?? event.event ?? ""
        switch type {
        case "response.failed", "error":
            let error = json["response"]?["error"] ?? json
            let code = error["code"]?.stringValue
            let message = error["message"]?.stringValue ?? "the upstream's response failed"
            let kind: ProviderError.Kind =
                switch code {
                case "rate_limit_exceeded": .rateLimited(retryAfter: nil)
                case "insufficient_quota": .quotaExceeded
                case "context_length_exceeded", "invalid_prompt": .invalidRequest
                default: .server(status: 500)
                }
            throw ProviderError(kind, provider: provider, message: Redaction.redact(message), code: code)
        default:
            let decoded = ResponsesStreamEvent(type: type, json: json)
            if decoded.isTerminal { isComplete = true }
            emit(decoded)
        }
    }
}
