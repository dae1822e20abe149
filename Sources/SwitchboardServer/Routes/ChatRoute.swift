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
        let (json, client) = try await jsonBody(&request, forwarding: true)
        let decoded = try OpenAIChatRequestDecoding.decode(json)
        let (provider, model) = try await resolve(decoded.request.model, principal: context.principal, requestID: context.requestID)
        let call = callContext(
            task: "chat.completions", clientModel: decoded.request.model, provider: provider, model: model,
            context: context)
        try await admit(context, request: decoded.request)
        var chatRequest = decoded.request
        chatRequest.model = model
        let created = Int64(Date().timeIntervalSince1970)

        if !decoded.stream, let sameDialect = forwarder(provider) {
            // The upstream speaks the client's dialect: its answer goes back untouched, and the client's body goes up
            // as it came when it says what the encoded request would.
            let start = ContinuousClock.now
            let result = try await sameDialect.chatOpenAIBody(chatRequest, client: client, context: call)
            context.record.upstream = ContinuousClock.now - start
            record(usage: result.usage, fallbackCharacters: (chatRequest.promptCharacters, result.body.readableBytes), context: context)
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: result.body))
        }
        if !decoded.stream {
            let response = try await complete(chatRequest, at: provider, call: call, context: context)
            return jsonResponse(OpenAIChatResponseEncoding.completion(response, created: created))
        }

        let encoder = OpenAIChunkEncoder(
            id: "chatcmpl-\(context.requestID)", model: model, created: created,
            includeUsage: decoded.includeUsage)
        return try await stream(chatRequest, at: provider, call: call, encoder: encoder, answering: request, context: context)
    }

    /// Notes usage for metrics and the ledger; without reported (or believable) usage, estimates it from text length.
    /// Returns what it noted, which is what the response reports.
    @discardableResult
    func record(usage: Usage?, fallbackCharacters: (prompt: Int, output: Int), context: GatewayRequestContext) -> Usage {
        record(usage: usage, fallbackCharacters: fallbackCharacters, into: context.record)
    }

    @discardableResult
    func record(usage: Usage?, fallbackCharacters: (prompt: Int, output: Int), into record: RequestRecord) -> Usage {
        let labels = record.snapshot
        if let usage = usageAudit.check(usage, provider: labels.provider, logger: logger) {
            metrics.tokens(provider: labels.provider, model: labels.upstreamModel, usage: usage)
            record.update { $0.usage = usage }
            return usage
        }
        let estimate = Usage(
            inputTokens: estimatedTokens(fallbackCharacters.prompt), outputTokens: estimatedTokens(fallbackCharacters.output))
        record.update {
            $0.usage = estimate
            $0.estimated = true
        }
        return estimate
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
