public import NIOCore
public import SwitchboardCore

/// Turns a streamed body's chunks into events (unified ones, or a forwarded dialect's own): a framing (SSE, NDJSON,
/// event-stream) plus the provider's event decoder.
public protocol StreamChunkDecoder: Sendable {
    /// What the stream carries: unified events, unless the stream is relayed in its own dialect.
    associatedtype Event: Sendable = StreamEvent
    /// Emits the events in the bytes that arrived, each as soon as it is decoded (so events before a
    /// failure in the same chunk still reach the consumer).
    mutating func feed(_ chunk: ByteBuffer, emit: (Event) -> Void) throws
    /// Emits events for whatever the framing held back when the body ended.
    mutating func finish(emit: (Event) -> Void) throws
    /// The usage an event reports, if it reports one (from the event alone: asked of a copy of the decoder).
    func usage(in event: Event) -> Usage?
    /// Whether the provider's end-of-answer marker arrived.
    var isComplete: Bool { get }
    /// Whether nothing more is to be read (by default, once complete; OpenAI's usage chunk comes after its finish
    /// reason, so its stream is read to `[DONE]`).
    var isFinished: Bool { get }
}

extension StreamChunkDecoder {
    public var isFinished: Bool { isComplete }
}

extension StreamChunkDecoder where Event == StreamEvent {
    public func usage(in event: StreamEvent) -> Usage? {
        if case .usage(let u) = event { u } else { nil }
    }
}

extension UpstreamClient {
    /// Runs a streamed call: opens the response, relays decoded events, ends at the decoder's completion,
    /// reports a body that stops early as a network error (never a quiet end), and cancels the upstream
    /// when the consumer goes away. `ended` is told the usage the stream reported, however it ended. `whole`, when
    /// given, decodes an upstream that answered with one JSON completion instead of a stream (some servers and
    /// caches do), whose events are then relayed as if streamed.
    public func stream<Decoder: StreamChunkDecoder>(
        _ decoder: Decoder, ended: @escaping @Sendable (Usage?) -> Void = { _ in },
        whole: (@Sendable (ByteBuffer) throws -> [Decoder.Event])? = nil,
        open: @escaping @Sendable () async throws -> TransportResponse
    ) -> AsyncThrowingStream<Decoder.Event, any Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                // Reading usage asks a copy: the decoder itself is being fed while it emits.
                let reader = decoder
                var decoder = decoder
                var usage: Usage?
                defer { ended(usage) }
                func emit(_ event: Decoder.Event) {
                    if let u = reader.usage(in: event) { usage = u }
                    continuation.yield(event)
                }
                do {
                    let response = try await UpstreamTimeouts.$streaming.withValue(true) { try await open() }
                    if let whole, response.header("content-type")?.lowercased().hasPrefix("application/json") == true {
                        let body: ByteBuffer
                        do { body = try await response.body.collect(upTo: 16 << 20) } catch let error as TransportError {
                            throw self.error(error)
                        }
                        for event in try whole(body) { emit(event) }
                        continuation.finish()
                        return
                    }
                    do {
                        for try await chunk in response.body {
                            try decoder.feed(chunk, emit: emit)
                            if decoder.isFinished { break }
                        }
                        if !decoder.isFinished { try decoder.finish(emit: emit) }
                    } catch let error as TransportError {
                        throw self.error(error)
                    } catch let error as SSEParseError {
                        throw ProviderError(.decoding, provider: provider, message: "bad event stream: \(error)")
                    }
                    guard decoder.isComplete else {
                        throw ProviderError(.network, provider: provider, message: "stream ended before the response was complete")
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

/// SSE framing around a decoder of `data:` payloads.
struct SSEChunks<D: SSEPayloadDecoder>: StreamChunkDecoder {
    var parser = SSEParser()
    var decoder: D

    mutating func feed(_ chunk: ByteBuffer, emit: (StreamEvent) -> Void) throws {
        for event in try parser.feed(chunk) { try decoder.decode(event.data).forEach(emit) }
    }

    mutating func finish(emit: (StreamEvent) -> Void) throws {
        for event in parser.finish() { try decoder.decode(event.data).forEach(emit) }
    }

    var isComplete: Bool { decoder.isComplete }
    var isFinished: Bool { decoder.isFinished }
}

/// A decoder of SSE `data:` payloads (OpenAI, Anthropic, Gemini).
protocol SSEPayloadDecoder: Sendable {
    mutating func decode(_ data: String) throws(ProviderError) -> [StreamEvent]
    var isComplete: Bool { get }
    /// Nothing more is to be read.
    var isFinished: Bool { get }
}

extension SSEPayloadDecoder {
    var isFinished: Bool { isComplete }
}

extension AnthropicStreamDecoder: SSEPayloadDecoder {}
extension GeminiStreamDecoder: SSEPayloadDecoder {}
extension OpenAIStreamDecoder: SSEPayloadDecoder {
    var isFinished: Bool { sawDone }
}

/// NDJSON framing around Ollama's line decoder.
struct OllamaChunks: StreamChunkDecoder {
    var lines = NDJSONSplitter()
    var decoder: OllamaStreamDecoder

    mutating func feed(_ chunk: ByteBuffer, emit: (StreamEvent) -> Void) throws {
        for line in lines.feed(chunk) { try decoder.decode(line).forEach(emit) }
    }

    mutating func finish(emit: (StreamEvent) -> Void) throws {
        for line in lines.finish() { try decoder.decode(line).forEach(emit) }
    }
    var isComplete: Bool { decoder.isComplete }
}

/// Event-stream framing around Bedrock's message decoder; a corrupt frame is a decoding error.
struct BedrockChunks: StreamChunkDecoder {
    var frames = EventStreamDecoder()
    var decoder: BedrockStreamDecoder
    let provider: String

    mutating func feed(_ chunk: ByteBuffer, emit: (StreamEvent) -> Void) throws {
        let messages: [EventStreamMessage]
        do { messages = try frames.feed(chunk) } catch { throw ProviderError(.decoding, provider: provider, message: error.description) }
        for message in messages { try decoder.decode(message).forEach(emit) }
    }

    mutating func finish(emit: (StreamEvent) -> Void) throws {}
    var isComplete: Bool { decoder.isComplete }
}

extension ProviderHealth {
    /// Health from a model listing: healthy when it answers, degraded when rate limited or overloaded.
    public static func listingModels(of provider: any LLMProvider, context: CallContext) async -> ProviderHealth {
        let start = ContinuousClock.now
        do {
            _ = try await provider.models(context: context)
            return ProviderHealth(status: .healthy, latency: .now - start)
        } catch let error as ProviderError {
            let status: ProviderHealth.Status =
                switch error.kind {
                case .rateLimited, .overloaded: .degraded
                default: .down
                }
            return ProviderHealth(status: status, latency: .now - start, message: error.description)
        } catch {
            return ProviderHealth(status: .down, latency: .now - start, message: "\(error)")
        }
    }
}
