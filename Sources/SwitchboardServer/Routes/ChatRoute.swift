import Foundation
import Hummingbird
import SwitchboardCore
import SwitchboardProviders

extension GatewayRoutes {
    /// `POST /v1/chat/completions`.
    func chat(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        var request = request
        let (json, client) = try await jsonBody(&request, forwarding: true)
        let decoded = try OpenAIChatRequestDecoding.decode(json)
        let call = context.call
        let (provider, model) = try await pipeline.resolve(decoded.request.model, call: call)
        let upstream = pipeline.callContext(
            task: "chat.completions", clientModel: decoded.request.model, provider: provider, model: model, call: call)
        try await pipeline.admit(call, usage: pipeline.reservation(decoded.request))
        var chatRequest = decoded.request
        chatRequest.model = model
        let created = Int64(Date().timeIntervalSince1970)
        let cache = pipeline.cachePlan(chatRequest, at: provider, headers: request.headers, call: call)
        let hit = await pipeline.cached(cache, call: call)
        let encoder = OpenAIChunkEncoder(
            id: "chatcmpl-\(call.requestID)", model: model, created: created, includeUsage: decoded.includeUsage,
            agentActions: request.headers[.agentActions]?.lowercased() == "on")

        if let hit, !decoded.stream { return Self.json(ByteBuffer(bytes: hit.body)) }
        if let hit {
            return try pipeline.stream(replaying: hit, encoder: encoder, call: call, client: context.client(request))
        }
        if !decoded.stream, let sameDialect = pipeline.forwarder(provider)?.provider {
            let body = try await pipeline.forward(chatRequest, client: client, at: sameDialect, context: upstream, call: call)
            if cache?.decision.store == true, let usage = call.snapshot.usage {
                pipeline.keep(body, usage: usage, plan: cache, call: call)
            }
            return Self.json(body)
        }
        if !decoded.stream {
            let response = try await pipeline.complete(chatRequest, at: provider, context: upstream, call: call)
            if let usage = response.usage { pipeline.keep(response, usage: usage, plan: cache, call: call) }
            return jsonResponse(OpenAIChatResponseEncoding.completion(response, created: created))
        }
        return try await pipeline.stream(
            chatRequest, at: provider, context: upstream, encoder: encoder, call: call, client: context.client(request),
            cache: cache)
    }
}

extension GatewayRoutes {
    static func json(_ body: ByteBuffer) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: body))
    }
}

extension GatewayRequestContext {
    /// How a stream learns its client left: nothing to watch when `DirectRouteHandler` runs the request (it cancels
    /// the task itself), else the request body and the connection.
    func client(_ request: Request) -> StreamClient {
        direct ? StreamClient(writeExecutor: writeExecutor) : StreamClient(inbound: request.body, channel: channel)
    }
}

/// Describes an error for logs without secrets (provider errors are already redacted).
struct Redacted: CustomStringConvertible {
    let error: any Error
    init(_ error: any Error) { self.error = error }
    var description: String { Redaction.redact("\(error)") }
}
