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
        let call = callContext(task: "messages", clientModel: clientModel, provider: provider, model: model, context: context)
        try await admit(context, request: decoded.request)
        var chatRequest = decoded.request
        chatRequest.model = model
        let id = "msg_" + context.ledgerID.replacingOccurrences(of: "-", with: "")

        if decoded.stream {
            return try await stream(
                chatRequest, at: provider, call: call, encoder: AnthropicStreamEncoder(id: id, model: clientModel),
                answering: request, context: context)
        }
        let response = try await complete(chatRequest, at: provider, call: call, context: context)
        return jsonResponse(AnthropicResponseEncoding.message(response, id: id, model: clientModel, costs: [:]))
    }
}
