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
        context.record.route(model: decoded.request.model, provider: provider.id)
        var chatRequest = decoded.request
        chatRequest.model = model
        let call = CallContext(logger: logger, requestID: context.requestID, timeout: options.requestTimeout)
        let created = Int64(Date().timeIntervalSince1970)

        if !decoded.stream, let sameDialect = provider as? OpenAICompatibleProvider {
            // The upstream speaks the client's dialect: forward its body untouched.
            let start = ContinuousClock.now
            let result = try await sameDialect.chatOpenAIBody(chatRequest, context: call)
            context.record.upstream = ContinuousClock.now - start
            if let usage = result.usage { metrics.tokens(provider: result.provider, model: result.model, usage: usage) }
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: result.body))
        }
        if !decoded.stream {
            let start = ContinuousClock.now
            let response = try await provider.chat(chatRequest, context: call)
            context.record.upstream = ContinuousClock.now - start
            if let usage = response.usage { metrics.tokens(provider: response.provider, model: response.model, usage: usage) }
            return jsonResponse(OpenAIChatResponseEncoding.completion(response, created: created))
        }

        // Wait for the first event before answering, so a failure before any output is a proper HTTP error
        // and the router can still fail over.
        let start = ContinuousClock.now
        let events = EventIterator(provider.stream(chatRequest, context: call))
        let first = try await events.next()
        context.record.upstream = ContinuousClock.now - start
        metrics.timeToFirstToken(provider: provider.id, ContinuousClock.now - start)

        let encoder = OpenAIChunkEncoder(id: "chatcmpl-\(context.requestID)", model: model, created: created,
                                         includeUsage: decoded.includeUsage)
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        // Watching for the client going away consumes the connection, so it is not reused after the stream;
        // saying so keeps clients from sending the next request down a closing connection.
        headers[.connection] = "close"
        let metrics = self.metrics
        let providerID = provider.id
        let logger = call.logger
        let requestID = call.requestID
        let requestBody = request.body
        let body = ResponseBody { writer in
            // A client that goes away cancels this closure, which cancels the upstream stream.
            try await requestBody.consumeWithCancellationOnInboundClose { _ in
                var encoder = encoder
                var event = first
                do {
                    while let current = event {
                        let payloads = encoder.encode(current)
                        if !payloads.isEmpty { try await writer.write(Self.sse(payloads)) }
                        event = try await events.next()
                    }
                    try Task.checkCancellation()
                    try await writer.write(Self.sse(encoder.finish()))
                    if let usage = encoder.usage { metrics.tokens(provider: providerID, model: model, usage: usage) }
                } catch let error where !(error is CancellationError) && !Task.isCancelled {
                    // Never a silent clean end: the client gets an error event and no [DONE].
                    logger.warning("stream failed after it began", metadata: ["error": "\(Redacted(error))", "request_id": "\(requestID)"])
                    try await writer.write(Self.sse([APIError.from(error).body.jsonString()]))
                }
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
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
