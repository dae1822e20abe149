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
        let (provider, model) = try await resolve(clientModel, principal: context.principal, requestID: context.requestID)
        context.record.route(task: "messages", clientModel: clientModel, provider: provider.id, upstreamModel: model)
        try await admit(context, request: decoded.request)
        var chatRequest = decoded.request
        chatRequest.model = model
        let call = CallContext(logger: logger, requestID: context.requestID, timeout: options.requestTimeout).traced()
        context.record.update { $0.trace = call.trace }
        let promptCharacters = chatRequest.messages.reduce(0) { $0 + $1.text.count }
        let id = "msg_" + context.ledgerID.replacingOccurrences(of: "-", with: "")

        if decoded.stream {
            let (first, events, start) = try await firstEvent(provider.stream(chatRequest, context: call), context: context)
            return sseResponse(first: first, events: events, start: start, encoder: AnthropicStreamEncoder(id: id, model: clientModel),
                               promptCharacters: promptCharacters, request: request, context: context)
        }
        let start = ContinuousClock.now
        var response = try await provider.chat(chatRequest, context: call)
        context.record.upstream = ContinuousClock.now - start
        context.record.update { $0.provider = response.provider }
        response.usage = record(usage: response.usage, fallbackCharacters: (promptCharacters, response.content.count), context: context)
        return jsonResponse(AnthropicResponseEncoding.message(response, id: id, model: clientModel, costs: [:]))
    }
}
