import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SwitchboardCore
import SwitchboardProviders

extension GatewayRoutes {
    /// `POST /v1/chat/completions`.
    func chat(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        var request = request
        let json = try await jsonBody(&request)
        let decoded = try OpenAIChatRequestDecoding.decode(json)
        let (provider, model) = try resolve(decoded.request.model, principal: context.principal)
        context.record.route(task: "chat.completions", clientModel: decoded.request.model, provider: provider.id, upstreamModel: model)
        var chatRequest = decoded.request
        chatRequest.model = model
        let call = CallContext(logger: logger, requestID: context.requestID, timeout: options.requestTimeout).traced()
        context.record.update { $0.trace = call.trace }
        let created = Int64(Date().timeIntervalSince1970)
        let promptCharacters = chatRequest.messages.reduce(0) { $0 + $1.text.count }

        if !decoded.stream, let sameDialect = provider as? OpenAICompatibleProvider {
            // The upstream speaks the client's dialect: forward its body untouched.
            let start = ContinuousClock.now
            let result = try await sameDialect.chatOpenAIBody(chatRequest, context: call)
            context.record.upstream = ContinuousClock.now - start
            record(usage: result.usage, fallbackCharacters: (promptCharacters, result.body.readableBytes), context: context)
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: result.body))
        }
        if !decoded.stream {
            let start = ContinuousClock.now
            let response = try await provider.chat(chatRequest, context: call)
            context.record.upstream = ContinuousClock.now - start
            context.record.update { $0.provider = response.provider }
            record(usage: response.usage, fallbackCharacters: (promptCharacters, response.content.count), context: context)
            return jsonResponse(OpenAIChatResponseEncoding.completion(response, created: created))
        }

        // Wait for the first event before answering, so a failure before any output is a proper HTTP error
        // and the router can still fail over.
        let start = ContinuousClock.now
        let events = EventIterator(provider.stream(chatRequest, context: call))
        let first = try await events.next()
        let ttft = ContinuousClock.now - start
        context.record.upstream = ttft
        context.record.update {
            $0.ttft = ttft
            $0.recorded = true
            if case .started(_, _, let served)? = first { $0.provider = served }
        }
        metrics.timeToFirstToken(provider: provider.id, ttft)

        let encoder = OpenAIChunkEncoder(id: "chatcmpl-\(context.requestID)", model: model, created: created,
                                         includeUsage: decoded.includeUsage)
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        // Watching for the client going away consumes the connection, so it is not reused after the stream;
        // saying so keeps clients from sending the next request down a closing connection.
        headers[.connection] = "close"
        let requestBody = request.body
        let body = ResponseBody { [self] writer in
            // A client that goes away cancels this closure, which cancels the upstream stream.
            try await requestBody.consumeWithCancellationOnInboundClose { _ in
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
                // The record is committed before the client is told the stream is complete, whatever happened.
                record(usage: encoder.usage, fallbackCharacters: (promptCharacters, outputCharacters), context: context)
                let cancelled = clientGone || failure is CancellationError || Task.isCancelled
                let status = failure == nil ? 200 : (cancelled ? 499 : Int(APIError.from(failure!).status.code))
                let snapshot = context.record.snapshot
                try await ledger.record(snapshot, requestID: context.requestID, principal: context.principal, status: status,
                                        latency: ContinuousClock.now - start)
                if let failure, !cancelled {
                    // Never a silent clean end: the client gets an error event and no [DONE].
                    logger.warning("stream failed after it began",
                                   metadata: ["error": "\(Redacted(failure))", "request_id": "\(context.requestID)"])
                    try await writer.write(Self.sse([APIError.from(failure).body.jsonString()]))
                } else if !cancelled {
                    try await writer.write(Self.sse(encoder.finish(usageExtras: ledger.costFields(ledger.cost(snapshot)))))
                }
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    /// Notes usage for metrics and the ledger; without reported usage, estimates it from text length.
    func record(usage: Usage?, fallbackCharacters: (prompt: Int, output: Int), context: GatewayRequestContext) {
        let labels = context.record.snapshot
        if let usage {
            metrics.tokens(provider: labels.provider, model: labels.upstreamModel, usage: usage)
            context.record.update { $0.usage = usage }
        } else {
            let estimate = Usage(inputTokens: estimatedTokens(fallbackCharacters.prompt),
                                 outputTokens: estimatedTokens(fallbackCharacters.output))
            context.record.update {
                $0.usage = estimate
                $0.estimated = true
            }
        }
    }

    static func sse(_ payloads: [String]) -> ByteBuffer {
        var buffer = ByteBuffer()
        for p in payloads {
            buffer.writeString("data: ")
            buffer.writeString(p)
            buffer.writeString("\n\n")
        }
        return buffer
    }
}

/// Lets the response body keep pulling the stream the handler started; only one task uses it at a time.
final class EventIterator: @unchecked Sendable {
    private var iterator: AsyncThrowingStream<StreamEvent, any Error>.AsyncIterator

    init(_ stream: AsyncThrowingStream<StreamEvent, any Error>) {
        iterator = stream.makeAsyncIterator()
    }

    func next() async throws -> StreamEvent? {
        try await iterator.next()
    }
}

/// Describes an error for logs without secrets (provider errors are already redacted).
struct Redacted: CustomStringConvertible {
    let error: any Error
    init(_ error: any Error) { self.error = error }
    var description: String { Redaction.redact("\(error)") }
}
