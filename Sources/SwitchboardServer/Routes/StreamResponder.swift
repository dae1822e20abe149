import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SwitchboardCore

/// One server-sent event: an optional `event:` name and its `data:` text.
struct SSEFrame: Sendable {
    var event: String?
    var data: String

    init(event: String? = nil, _ data: String) {
        self.event = event
        self.data = data
    }
}

/// Turns one stream's events into the SSE frames of one API family.
protocol StreamEventEncoder: Sendable {
    /// Frames for one event.
    mutating func encode(_ event: StreamEvent) -> [SSEFrame]
    /// The closing frames once the record is committed: `usage` is what the record holds (the upstream's report once
    /// checked, else an estimate), `cost` the cost fields.
    mutating func finish(usage: Usage?, cost: [String: JSONValue]) -> [SSEFrame]
    /// The frame that ends a stream that failed after it began.
    func failure(_ error: APIError) -> SSEFrame
    /// Usage the upstream reported so far.
    var usage: Usage? { get }
}

extension OpenAIChunkEncoder: StreamEventEncoder {
    mutating func encode(_ event: StreamEvent) -> [SSEFrame] { encodePayloads(event).map { SSEFrame($0) } }
    func finish(usage: Usage?, cost: [String: JSONValue]) -> [SSEFrame] {
        finish(usage: usage, usageExtras: cost).map { SSEFrame($0) }
    }
    func failure(_ error: APIError) -> SSEFrame { SSEFrame(error.body.jsonString()) }
}

extension GatewayRoutes {
    /// Waits for the stream's first event, so a failure before any output is a proper HTTP error and the
    /// router can still fail over; returns it with the iterator for the rest.
    func firstEvent(
        _ stream: AsyncThrowingStream<StreamEvent, any Error>, context: GatewayRequestContext
    )
        async throws -> (first: StreamEvent?, rest: EventIterator, start: ContinuousClock.Instant)
    {
        let start = ContinuousClock.now
        let events = EventIterator(stream)
        let first = try await events.next()
        let ttft = ContinuousClock.now - start
        context.record.upstream = ttft
        context.record.update {
            $0.ttft = ttft
            $0.recorded = true
            if case .started(_, _, let served)? = first { $0.provider = served }
        }
        metrics.timeToFirstToken(provider: context.record.labels.provider, ttft)
        return (first, events, start)
    }

    /// An SSE response that relays the stream, commits the ledger record before it tells the client the
    /// stream is complete, ends a failed stream with an error event (never a silent clean end), and
    /// cancels the upstream when the client goes away.
    func sseResponse(
        first: StreamEvent?, events: EventIterator, start: ContinuousClock.Instant, encoder: some StreamEventEncoder,
        promptCharacters: Int, request: Request, context: GatewayRequestContext
    ) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        // Watching for the client going away consumes the connection, so it is not reused after the stream;
        // saying so keeps clients from sending the next request down a closing connection.
        headers[.connection] = "close"
        let requestBody = request.body
        let direct = context.direct
        let body = ResponseBody { [self] writer in
            // A client that goes away cancels this closure, which cancels the upstream stream (a direct request's
            // handler cancels its whole task).
            try await Self.cancellingOnInboundClose(requestBody, unless: direct) {
                var encoder = encoder
                var event = first
                var outputCharacters = 0
                var failure: (any Error)?
                var clientGone = false
                do {
                    while let current = event {
                        if case .textDelta(let t) = current { outputCharacters += t.count }
                        if case .started(_, _, let served) = current { context.record.update { $0.provider = served } }
                        let payloads = encoder.encode(current)
                        if !payloads.isEmpty {
                            do { try await writer.write(Self.sse(payloads)) } catch {
                                // A write that fails means the client went away, whatever the error says.
                                clientGone = true
                                throw error
                            }
                        }
                        event = try await events.next()
                    }
                    try Task.checkCancellation()
                } catch {
                    failure = error
                }
                record(usage: encoder.usage, fallbackCharacters: (promptCharacters, outputCharacters), context: context)
                let cancelled = clientGone || failure is CancellationError || Task.isCancelled
                let status = failure == nil ? 200 : (cancelled ? 499 : Int(APIError.from(failure!).status.code))
                let snapshot = context.record.snapshot
                var committed = true
                do {
                    try await ledger.record(
                        snapshot, requestID: context.ledgerID, principal: context.principal, status: status,
                        latency: ContinuousClock.now - start)
                } catch {
                    committed = false
                }
                if !committed {
                    // Never a clean end for a response the ledger does not hold (`record` logged it with its id).
                    if !cancelled { try await writer.write(Self.sse([encoder.failure(.ledgerUnavailable)])) }
                } else if let failure, !cancelled {
                    logger.warning(
                        "stream failed after it began",
                        metadata: ["error": "\(Redacted(failure))", "request_id": "\(context.requestID)"])
                    APIError.logDiagnostics(of: failure, requestID: context.requestID, logger: logger)
                    try await writer.write(Self.sse([encoder.failure(APIError.from(failure))]))
                } else if !cancelled {
                    try await writer.write(Self.sse(encoder.finish(usage: snapshot.usage, cost: ledger.costFields(ledger.cost(snapshot)))))
                }
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    static func cancellingOnInboundClose(
        _ body: RequestBody, unless direct: Bool,
        _ operation: () async throws -> Void
    ) async throws {
        if direct {
            try await operation()
        } else {
            try await body.consumeWithCancellationOnInboundClose { _ in try await operation() }
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
