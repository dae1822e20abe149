import Foundation
import Hummingbird
import NIOCore
import SwitchboardCore
import SwitchboardProviders
import SwitchboardStorage

/// OpenAI's Responses API over whichever provider serves the model, with the conversation kept here: a response
/// stored under its key continues with `previous_response_id` on any backend, whichever provider answered before.
extension GatewayRoutes {
    /// `POST /v1/responses`.
    func responses(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        var request = request
        let json = try await jsonBody(&request)
        guard let name = json["model"]?.stringValue, !name.isEmpty else {
            throw APIError.invalid("'model' is required and must be a non-empty string", param: "model")
        }
        let call = context.call
        // A provider that serves the Responses API itself gets the request as it came: nothing need be translatable.
        let (provider, model) = try await pipeline.resolve(name, call: call)
        let forwarding = provider.capabilities.contains(.responses) ? provider as? any OpenAIResponsesForwarding : nil
        let decoded = try ResponsesRequestDecoding.decode(json, forwarded: forwarding != nil)
        let owner = call.principal?.keyID ?? ""
        let envelope = ResponsesEnvelope(
            base: call.ledgerID.replacingOccurrences(of: "-", with: ""), createdAt: Int64(Date().timeIntervalSince1970),
            decoded: decoded)
        let earlier = try await history(decoded.previousResponseID, owner: owner)
        let own = ResponsesRequestDecoding.identified(decoded.input, base: envelope.base)
        let items = earlier + own
        var chatRequest = decoded.request
        chatRequest.messages = try ResponsesRequestDecoding.messages(
            instructions: decoded.instructions,
            items: earlier.filter(ResponsesRequestDecoding.translatable) + own,
            forwarded: forwarding != nil)
        guard forwarding != nil || chatRequest.messages.contains(where: { $0.role != .system && $0.role != .developer }) else {
            throw APIError.invalid("'input' is required: give at least one message", param: "input")
        }
        let upstream = pipeline.callContext(task: "responses", clientModel: decoded.model, provider: provider, model: model, call: call)
        try await pipeline.admit(call, usage: pipeline.reservation(chatRequest))
        chatRequest.model = model
        var keep: ResponsesStreamEncoder.Keep?
        if decoded.store {
            keep = { @Sendable [self] response in try await self.keep(response, items: items, owner: owner, envelope: envelope) }
        }
        if let forwarding {
            let body = ResponsesForwarding.body(json, model: model, history: earlier)
            let forwarded = Forwarded(
                provider: forwarding, body: body, request: chatRequest, context: upstream, envelope: envelope, keep: keep)
            return try await forward(forwarded, stream: decoded.stream, call: call, client: context.client(request))
        }
        let cache = pipeline.cachePlan(chatRequest, at: provider, headers: request.headers, call: call)
        let hit = await pipeline.cached(cache, call: call)

        let answer = try await pipeline.answer(
            chatRequest, at: provider, context: upstream, stream: decoded.stream,
            encoder: ResponsesStreamEncoder(envelope: envelope, keep: keep),
            cache: cache, hit: hit, call: call, client: context.client(request))
        switch answer {
        case .stream(let response): return response
        case .whole(let whole):
            let object = envelope.object(whole, costs: [:])
            try await keep?(object)
            return jsonResponse(object)
        }
    }

    /// A request for a provider that serves the Responses API itself.
    private struct Forwarded {
        var provider: any OpenAIResponsesForwarding
        var body: JSONValue
        var request: ChatRequest
        var context: CallContext
        var envelope: ResponsesEnvelope
        var keep: ResponsesStreamEncoder.Keep?
    }

    /// Sends the client's request to the provider's own Responses API and answers with what it said, adopted (this
    /// gateway's id, the client's model name) and stored like any other.
    private func forward(_ f: Forwarded, stream: Bool, call: GatewayCall, client: StreamClient) async throws -> Response {
        if stream {
            let events = f.provider.streamResponses(f.body, request: f.request, context: pipeline.streaming(f.context, call: call))
            return try await pipeline.relay(
                events, encoder: ForwardedResponsesEncoder(envelope: f.envelope, keep: f.keep),
                promptCharacters: f.request.promptCharacters, call: call, client: client)
        }
        let result = try await pipeline.timed(call, f.context) { try await f.provider.responses(f.body, request: f.request, context: $0) }
        call.served(by: result.provider)
        pipeline.account(usage: result.usage, fallbackCharacters: (f.request.promptCharacters, result.body.readableBytes), call: call)
        let object = f.envelope.adopt(try result.body.withUnsafeReadableBytes { try JSONValue.parse(bytes: $0) })
        try await f.keep?(object)
        return jsonResponse(object)
    }

    /// The items of the stored conversation `id` continues (its input items, then its output); none without an id.
    private func history(_ id: String?, owner: String) async throws -> [JSONValue] {
        guard let id else { return [] }
        guard let stored = try await storedResponse(id, owner: owner) else {
            throw APIError(
                status: .badRequest, message: "Previous response with id '\(id)' not found.", type: "invalid_request_error",
                param: "previous_response_id", code: "previous_response_not_found")
        }
        let inputs = try JSONValue.parse(Data(stored.inputItems)).arrayValue ?? []
        let output = try JSONValue.parse(Data(stored.body))["output"]?.arrayValue ?? []
        return inputs + output
    }

    /// Stores a response before the client hears it is complete: a client that continues at once finds it.
    private func keep(_ response: JSONValue, items: [JSONValue], owner: String, envelope: ResponsesEnvelope) async throws {
        let stored = StoredResponse(
            id: envelope.id, owner: owner, createdAt: Date(timeIntervalSince1970: TimeInterval(envelope.createdAt)),
            body: response.jsonBytes(), inputItems: JSONValue.array(items).jsonBytes())
        do { try await store.storeResponse(stored, retainedSince: retainedSince) } catch {
            logger.error("storing a response failed", metadata: ["error": "\(Redacted(error))", "response_id": "\(envelope.id)"])
            throw APIError(
                status: .serviceUnavailable, message: "the response could not be stored; retry, or send store: false",
                type: "server_error", code: "response_not_stored")
        }
    }

    /// The earliest creation time a stored response may have and still be served.
    private var retainedSince: Date? {
        options.responseRetention.map { Date().addingTimeInterval(-$0.inSeconds) }
    }

    private func storedResponse(_ id: String, owner: String) async throws -> StoredResponse? {
        try await store.storedResponse(id: id, owner: owner, retainedSince: retainedSince)
    }

    private func notFound(_ id: String) -> APIError {
        APIError(
            status: .notFound, message: "No response found with id '\(id)'.", type: "invalid_request_error", param: "response_id",
            code: "not_found")
    }

    private func responseID(_ context: GatewayRequestContext) -> String {
        context.parameters.get("id") ?? ""
    }

    /// `GET /v1/responses/{id}`: the stored response, to the key that made it.
    func retrieveResponse(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let id = responseID(context)
        if request.uri.queryParameters.get("stream") == "true" {
            throw APIError.invalid("replaying a stored response as a stream is not supported; omit 'stream'", param: "stream")
        }
        guard let stored = try await storedResponse(id, owner: context.call.principal?.keyID ?? "") else { throw notFound(id) }
        return Self.json(ByteBuffer(bytes: stored.body))
    }

    /// `DELETE /v1/responses/{id}`.
    func deleteResponse(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let id = responseID(context)
        guard try await store.deleteResponse(id: id, owner: context.call.principal?.keyID ?? "", retainedSince: retainedSince) else {
            throw notFound(id)
        }
        return jsonResponse(["id": .string(id), "object": "response", "deleted": true])
    }

    /// `GET /v1/responses/{id}/input_items`: the conversation's input items, newest first unless `order=asc`, a page
    /// of `limit` (1 to 100, default 20) after the item `after`.
    func responseInputItems(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let id = responseID(context)
        let query = request.uri.queryParameters
        let limit: Int
        if let text = query.get("limit") {
            guard let n = Int(text), (1...100).contains(n) else { throw APIError.invalid("'limit' must be from 1 to 100", param: "limit") }
            limit = n
        } else {
            limit = 20
        }
        let order = query.get("order") ?? "desc"
        guard order == "asc" || order == "desc" else { throw APIError.invalid("'order' must be asc or desc", param: "order") }
        guard let stored = try await storedResponse(id, owner: context.call.principal?.keyID ?? "") else { throw notFound(id) }
        var items = try JSONValue.parse(Data(stored.inputItems)).arrayValue ?? []
        if order == "desc" { items.reverse() }
        if let after = query.get("after") {
            guard let at = items.firstIndex(where: { $0["id"]?.stringValue == after }) else {
                throw APIError.invalid("'after' names no item of this response", param: "after")
            }
            items.removeFirst(at + 1)
        }
        let page = Array(items.prefix(limit))
        return jsonResponse([
            "object": "list", "data": .array(page), "has_more": .bool(items.count > limit),
            "first_id": page.first?["id"] ?? .null, "last_id": page.last?["id"] ?? .null,
        ])
    }

    /// `POST /v1/responses/input_tokens`: the input's token count, estimated as the limits estimate it (no provider is
    /// asked), and said to be an estimate.
    func responseInputTokens(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        var request = request
        var body = try await jsonBody(&request)
        // The model is optional here: the count does not depend on it.
        if body["model"] == nil, case .object(var o) = body {
            o["model"] = "any"
            body = .object(o)
        }
        let decoded = try ResponsesRequestDecoding.decode(body)
        let items = try await history(decoded.previousResponseID, owner: context.call.principal?.keyID ?? "") + decoded.input
        var chatRequest = decoded.request
        chatRequest.messages = try ResponsesRequestDecoding.messages(instructions: decoded.instructions, items: items)
        return jsonResponse(
            [
                "object": "response.input_tokens", "input_tokens": .int(Int64(pipeline.reservation(chatRequest).inputTokens)),
                "estimated": true,
            ])
    }

    /// `POST /v1/messages/count_tokens`: Anthropic's token count, estimated (and said to be).
    func countMessageTokens(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        var request = request
        var body = try await jsonBody(&request)
        // Counting takes no output limit; the decoder of a whole request asks for one.
        if case .object(var o) = body, o["max_tokens"] == nil {
            o["max_tokens"] = 1
            body = .object(o)
        }
        let decoded = try AnthropicRequestDecoding.decode(body)
        return jsonResponse(["input_tokens": .int(Int64(pipeline.reservation(decoded.request).inputTokens)), "estimated": true])
    }
}
