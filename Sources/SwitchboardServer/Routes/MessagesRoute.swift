import Foundation
import Hummingbird
import SwitchboardCore

extension GatewayRoutes {
    /// `POST /v1/messages`: Anthropic's Messages API over whichever provider serves the model.
    func messages(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        var request = request
        let json = try await jsonBody(&request)
        let decoded = try AnthropicRequestDecoding.decode(json)
        let clientModel = decoded.request.model
        let call = context.call
        let (provider, model) = try await pipeline.resolve(clientModel, call: call)
        let upstream = pipeline.callContext(task: "messages", clientModel: clientModel, provider: provider, model: model, call: call)
        try await pipeline.admit(call, usage: pipeline.reservation(decoded.request))
        var chatRequest = decoded.request
        chatRequest.model = model
        let id = "msg_" + call.ledgerID.replacingOccurrences(of: "-", with: "")
        let cache = pipeline.cachePlan(chatRequest, at: provider, headers: request.headers, call: call)
        let hit = await pipeline.cached(cache, call: call)
        let encoder = AnthropicStreamEncoder(id: id, model: clientModel)

        let answer = try await pipeline.answer(
            chatRequest, at: provider, context: upstream, stream: decoded.stream, encoder: encoder, cache: cache, hit: hit, call: call,
            client: context.client(request))
        switch answer {
        case .stream(let response): return response
        case .whole(let whole): return jsonResponse(AnthropicResponseEncoding.message(whole, id: id, model: clientModel, costs: [:]))
        }
    }
}
