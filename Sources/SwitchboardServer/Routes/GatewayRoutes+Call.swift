import Foundation
import Hummingbird
import SwitchboardCore

/// The steps every billed route takes around its provider call, written once: the call's context and trace, the
/// timed call, and its usage checked and recorded.
extension GatewayRoutes {
    /// Notes where the request goes (task, the client's name, provider, upstream model) and makes the call's
    /// context, whose trace counts the router's attempts for the ledger.
    func callContext(
        task: String, clientModel: String, provider: any LLMProvider, model: String,
        context: GatewayRequestContext
    ) -> CallContext {
        context.record.route(task: task, clientModel: clientModel, provider: provider.id, upstreamModel: model)
        let call = CallContext(logger: logger, requestID: context.requestID, timeout: options.requestTimeout).traced()
        context.record.update { $0.trace = call.trace }
        return call
    }

    /// One non-streamed chat call, timed, with the provider that answered noted and its usage checked and
    /// recorded; the response carries the usage recorded.
    func complete(
        _ request: ChatRequest, at provider: any LLMProvider, call: CallContext,
        context: GatewayRequestContext
    ) async throws -> ChatResponse {
        let start = ContinuousClock.now
        var response = try await provider.chat(request, context: call)
        context.record.upstream = ContinuousClock.now - start
        context.record.update { $0.provider = response.provider }
        response.usage = record(
            usage: response.usage, fallbackCharacters: (request.promptCharacters, response.content.count),
            context: context)
        return response
    }

    /// One streamed chat call: the first event awaited (so a failure before any output is an HTTP error and the router
    /// can still fail over), then the rest relayed through `encoder` as server-sent events, recorded at the end.
    func stream(
        _ request: ChatRequest, at provider: any LLMProvider, call: CallContext, encoder: some StreamEventEncoder,
        answering http: Request, context: GatewayRequestContext
    ) async throws -> Response {
        let (first, events, start) = try await firstEvent(provider.stream(request, context: call), context: context)
        return sseResponse(
            first: first, events: events, start: start, encoder: encoder, promptCharacters: request.promptCharacters,
            request: http, context: context)
    }

    /// One embeddings call, timed, its usage checked and recorded.
    func embed(
        _ inputs: [String], model: String, at embedder: any EmbeddingProvider, call: CallContext,
        context: GatewayRequestContext
    ) async throws -> EmbeddingResponse {
        let start = ContinuousClock.now
        var result = try await embedder.embed(inputs, model: model, context: call)
        context.record.upstream = ContinuousClock.now - start
        result.usage = record(
            usage: result.usage, fallbackCharacters: (inputs.reduce(0) { $0.saturatingAdding($1.count) }, 0),
            context: context)
        return result
    }
}

extension ChatRequest {
    /// The characters of the conversation, for estimating tokens when a provider reports none.
    var promptCharacters: Int { messages.reduce(0) { $0.saturatingAdding($1.text.count) } }
}
