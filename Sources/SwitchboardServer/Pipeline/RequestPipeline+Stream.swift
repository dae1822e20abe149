import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SwitchboardCore
import SwitchboardProviders

/// One server-sent event: an optional `event:` name and its `data:` text.
struct SSEFrame: Sendable {
    var event: String?
    var data: String

    init(event: String? = nil, _ data: String) {
        self.event = event
        self.data = data
    }
}

/// An event a stream relays: a unified `StreamEvent`, or a forwarded dialect's own event.
protocol RelayedEvent: Sendable {
    /// The unified event, when this is one (the relay counts its text, notes its provider and folds it for the cache).
    var unified: StreamEvent? { get }
}

extension StreamEvent: RelayedEvent {
    var unified: StreamEvent? { self }
}

extension ResponsesStreamEvent: RelayedEvent {
    var unified: StreamEvent? { nil }
}

/// Turns one stream's events into the SSE frames of one API family.
protocol StreamEventEncoder: Sendable {
    /// What the stream carries: unified events, unless it relays a dialect's own.
    associatedtype Event: RelayedEvent = StreamEvent
    /// Frames for one event.
    mutating func encode(_ event: Event) -> [SSEFrame]
    /// The closing frames once the record is committed: `usage` is what the record holds (the upstream's report once
    /// checked, else an estimate), `cost` the cost fields.
    mutating func finish(usage: Usage?, cost: [String: JSONValue]) -> [SSEFrame]
    /// The frame that ends a stream that failed after it began.
    func failure(_ error: APIError) -> SSEFrame
    /// Usage the upstream reported so far.
    var usage: Usage? { get }
    /// Keeps what a stream that ended well answered, before its closing frames are sent (the Responses API's stored
    /// responses); a failure fails the stream.
    mutating func persist(usage: Usage?, cost: [String: JSONValue]) async throws
}

extension StreamEventEncoder {
    mutating func persist(usage: Usage?, cost: [String: JSONValue]) async throws {}
}

extension OpenAIChunkEncoder: StreamEventEncoder {
    mutating func encode(_ event: StreamEvent) -> [SSEFrame] { encodePayloads(event).map { SSEFrame($0) } }
    func finish(usage: Usage?, cost: [String: JSONValue]) -> [SSEFrame] {
        finish(usage: usage, usageExtras: cost).map { SSEFrame($0) }
    }
    /// A last chunk whose choice finished with `error`, carrying the error object: clients that read choices see the
    /// stream end in error, and the official SDKs raise the error they find in it.
    func failure(_ error: APIError) -> SSEFrame { SSEFrame(failureChunk(error.body).jsonString()) }
}

extension RequestPipeline {
    /// One streamed chat call: the first event awaited (so a failure before any output is an HTTP error and the
    /// router can still fail over), then the rest relayed through `encoder` as server-sent events, the record
    /// committed at the end. `client`: how the relay learns its client left.
    func stream<Encoder: StreamEventEncoder>(
        _ request: ChatRequest, at provider: any LLMProvider, context: CallContext, encoder: Encoder,
        call: GatewayCall, client: StreamClient, cache: CachePlan? = nil
    ) async throws -> Response where Encoder.Event == StreamEvent {
        noteInput(request, call: call)
        let events = provider.stream(request, context: streaming(context, call: call))
        return try await relay(
            events, encoder: encoder, promptCharacters: request.promptCharacters, call: call, client: client, cache: cache)
    }

    /// A stream is bounded by its provider's first-byte and idle timeouts, not by the request timeout: a healthy
    /// stream is never cut for being long. A day stands for no deadline. Its attempt begins here (tracing).
    func streaming(_ context: CallContext, call: GatewayCall) -> CallContext {
        var context = attempting(context, call: call)
        context.deadline = .now + .seconds(86_400)
        return context
    }

    /// Relays a stream the call opened (with `streaming`'s context): its first event awaited, then as `stream`.
    func relay<Encoder: StreamEventEncoder>(
        _ stream: AsyncThrowingStream<Encoder.Event, any Error>, encoder: Encoder, promptCharacters: Int, call: GatewayCall,
        client: StreamClient, cache: CachePlan? = nil
    ) async throws -> Response {
        let (first, events) = try await firstEvent(stream, call: call)
        return sseResponse(
            first: first, events: events, encoder: encoder, promptCharacters: promptCharacters, call: call, client: client, cache: cache)
    }

    /// A cache hit answered as a stream: the events its call streamed, relayed and recorded as any stream's are.
    func stream<Encoder: StreamEventEncoder>(
        replaying hit: CachedAnswer, encoder: Encoder, call: GatewayCall, client: StreamClient
    ) throws -> Response where Encoder.Event == StreamEvent {
        let events = EventIterator(try hit.events())
        call.update {
            $0.streaming = true
            $0.ttft = .zero
        }
        return sseResponse(first: nil, events: events, encoder: encoder, promptCharacters: 0, call: call, client: client, cache: nil)
    }

    /// Waits for the stream's first event, so a failure before any output is a proper HTTP error and the
    /// router can still fail over; returns it with the iterator for the rest.
    private func firstEvent<Event: RelayedEvent>(
        _ stream: AsyncThrowingStream<Event, any Error>, call: GatewayCall
    ) async throws -> (first: Event?, rest: EventIterator<Event>) {
        let start = ContinuousClock.now
        call.update { $0.upstreamStart = start }
        let events = EventIterator(stream)
        // The wait is upstream time even when it ends in a timeout or an error, not the gateway's overhead.
        defer { call.upstream = ContinuousClock.now - start }
        let first = try await events.next()
        // A client that left meanwhile ends the stream (quietly, with no first event): the request is a 499 like any
        // other that loses its client before its answer.
        try Task.checkCancellation()
        let ttft = ContinuousClock.now - start
        call.update {
            $0.ttft = ttft
            $0.streaming = true
        }
        if case .started(_, _, let served)? = first?.unified { call.served(by: served) }
        metrics.timeToFirstToken(provider: call.labels.provider, ttft)
        spans(call)?.firstChunk(after: ttft)
        return (first, events)
    }

    /// An SSE response that relays the stream, commits the ledger record before it tells the client the
    /// stream is complete, ends a failed stream with an error event (never a silent clean end), and
    /// cancels the upstream when the client goes away.
    private func sseResponse<Encoder: StreamEventEncoder>(
        first: Encoder.Event?, events: EventIterator<Encoder.Event>, encoder: Encoder, promptCharacters: Int,
        call: GatewayCall, client: StreamClient, cache: CachePlan?
    ) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        // Watching for the client going away consumes the connection, so it is not reused after the stream;
        // saying so keeps clients from sending the next request down a closing connection.
        headers[.connection] = "close"
        let body = ResponseBody { [self] writer in
            // A client that goes away cancels this closure, which cancels the upstream stream (a direct request's
            // handler cancels its whole task).
            try await Self.cancellingOnInboundClose(client.inbound) {
                var encoder = encoder
                var event = first
                // Only a stream whose answer the cache keeps is folded into one response as it goes.
                var kept = cache?.decision.store == true ? StreamAccumulator() : nil
                var outputCharacters = 0
                // The answer's text, only when the trace carries content.
                var captured = spans(call)?.tracing.captureContent == true ? "" : nil
                var finished: FinishReason?
                var failure: (any Error)?
                var clientGone = false
                // A client that left before the response began closed a connection no body read watches any more:
                // nothing is relayed into it, and the request is what it was, a 499.
                if await client.left() {
                    clientGone = true
                    event = nil
                } else if first == nil {
                    event = try await events.next()
                }
                let cut = await drain.streams.relaying(on: client.writeExecutor) {
                    do {
                        while let current = event {
                            if let unified = current.unified {
                                if case .textDelta(let t) = unified {
                                    outputCharacters += t.count
                                    captured? += t
                                }
                                if case .finish(let reason) = unified { finished = reason }
                                if case .started(_, _, let served) = unified { call.served(by: served) }
                                kept?.add(unified)
                            }
                            let payloads = encoder.encode(current)
                            if !payloads.isEmpty {
                                do { try await writer.write(Self.sse(payloads)) } catch {
                                    // A write that fails means the client went away, whatever the error says, unless
                                    // the relay was stopped (by the drain, or by a client gone, which the caller sees).
                                    if !Task.isCancelled { clientGone = true }
                                    throw error
                                }
                            }
                            event = try await events.next()
                        }
                        try Task.checkCancellation()
                    } catch {
                        failure = error
                    }
                }
                // Stopped by the drain (unless it had ended meanwhile): the client is told, and the record says so.
                if cut, failure != nil, !clientGone { failure = APIError.shuttingDown }
                // The relay waited on the upstream (and on the client reading): none of it is the gateway's overhead.
                call.update { $0.upstream = $0.upstreamStart.map { ContinuousClock.now - $0 } ?? $0.upstream }
                account(usage: encoder.usage, fallbackCharacters: (promptCharacters, outputCharacters), call: call)
                endAttempts(call, error: failure ?? (clientGone ? CancellationError() : nil))
                noteAnswer(reason: finished, text: captured, call: call)
                if failure == nil, !clientGone, !Task.isCancelled {
                    let state = call.snapshot
                    do { try await encoder.persist(usage: state.usage, cost: ledger.costFields(state)) } catch {
                        failure = error
                    }
                }
                let cancelled = clientGone || failure is CancellationError || Task.isCancelled
                let status: HTTPResponse.Status =
                    failure == nil ? .ok : (cancelled ? APIError.clientClosed : APIError.from(failure!).status)
                let committed = await commit(call, status: status, byStream: true)
                finishStream(call, status: committed == .failed && !cancelled ? APIError.ledgerUnavailable.status : status)
                if committed == .failed {
                    // Never a clean end for a response the ledger does not hold (`record` logged it with its id).
                    if !cancelled { try await writer.write(Self.sse([encoder.failure(.ledgerUnavailable)])) }
                } else if let failure, !cancelled {
                    logger.warning(
                        "stream failed after it began",
                        metadata: ["error": "\(Redacted(failure))", "request_id": "\(call.requestID)"])
                    APIError.logDiagnostics(of: failure, requestID: call.requestID, logger: logger)
                    try await writer.write(Self.sse([encoder.failure(APIError.from(failure))]))
                } else if !cancelled {
                    let state = call.snapshot
                    if let kept, let usage = state.usage { keep(kept.response, usage: usage, plan: cache, call: call) }
                    try await writer.write(Self.sse(encoder.finish(usage: state.usage, cost: ledger.costFields(state))))
                }
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    private static func cancellingOnInboundClose(_ inbound: RequestBody?, _ operation: () async throws -> Void) async throws {
        if let inbound {
            try await inbound.consumeWithCancellationOnInboundClose { _ in try await operation() }
        } else {
            try await operation()
        }
    }

    static func sse(_ frames: [SSEFrame]) -> ByteBuffer {
        var buffer = ByteBuffer()
        for f in frames {
            if let event = f.event {
                buffer.writeString("event: ")
                buffer.writeString(event)
                buffer.writeString("\n")
            }
            buffer.writeString("data: ")
            buffer.writeString(f.data)
            buffer.writeString("\n\n")
        }
        return buffer
    }
}

/// How a stream's relay learns its client left: the request body closing (Hummingbird's async channel; nil on the
/// direct path, whose handler cancels the task itself), or the connection closed before the response began (which no
/// body read tells any more).
struct StreamClient: Sendable {
    var inbound: RequestBody?
    var channel: (any Channel)?
    /// Where the response body is written from, when it must be one place (the direct path's event loop).
    var writeExecutor: (any TaskExecutor)?

    /// Whether the client closed its connection, or its side of it, already (asked on the connection's loop).
    func left() async -> Bool {
        guard let channel else { return false }
        guard channel.isActive else { return true }
        let closed = channel.eventLoop.submit {
            try channel.pipeline.syncOperations.handler(type: ConnectionGuard.self).clientClosedInput
        }
        // A pipeline without the guard (it is always there in the server) has nothing to say.
        do { return try await closed.get() } catch { return false }
    }
}

/// Lets the response body keep pulling the stream the handler started; only one task uses it at a time.
final class EventIterator<Event: Sendable>: @unchecked Sendable {
    private var iterator: AsyncThrowingStream<Event, any Error>.AsyncIterator

    init(_ stream: AsyncThrowingStream<Event, any Error>) {
        iterator = stream.makeAsyncIterator()
    }

    func next() async throws -> Event? {
        try await iterator.next()
    }
}

extension RequestPipeline {
    /// How a request translated from the client's dialect is answered: a stream (replayed from the cache, or relayed
    /// live through `encoder`), or one whole answer (the cache's, or the provider's, kept when the plan says so) for the
    /// route to encode.
    enum Answer {
        case stream(Response)
        case whole(ChatResponse)
    }

    /// The answer to `request` at `provider` after the cache stage found `hit` (or nothing).
    func answer<Encoder: StreamEventEncoder>(
        _ request: ChatRequest, at provider: any LLMProvider, context: CallContext, stream: Bool, encoder: Encoder,
        cache: CachePlan?, hit: CachedAnswer?, call: GatewayCall, client: StreamClient
    ) async throws -> Answer where Encoder.Event == StreamEvent {
        if stream, let hit { return .stream(try self.stream(replaying: hit, encoder: encoder, call: call, client: client)) }
        if stream {
            return .stream(
                try await self.stream(request, at: provider, context: context, encoder: encoder, call: call, client: client, cache: cache))
        }
        if let hit { return .whole(try hit.response()) }
        let response = try await complete(request, at: provider, context: context, call: call)
        if let usage = response.usage { keep(response, usage: usage, plan: cache, call: call) }
        return .whole(response)
    }
}
