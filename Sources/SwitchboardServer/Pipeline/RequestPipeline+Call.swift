import Foundation
import NIOCore
import SwitchboardCore
import SwitchboardProviders

/// The call stages: where the request goes, the timed provider call, and its usage accounted.
extension RequestPipeline {
    // MARK: 5. call

    /// Notes where the request goes (task, the client's name, provider, upstream model) and makes the upstream
    /// call's context, whose trace counts the router's attempts for the ledger.
    func callContext(
        task: String, clientModel: String, provider: any LLMProvider, model: String, call: GatewayCall
    ) -> CallContext {
        call.route(task: task, clientModel: clientModel, provider: provider.id, upstreamModel: model)
        var context = CallContext(logger: logger, requestID: call.requestID, timeout: options.requestTimeout).traced()
        context.session = call.session
        call.update { $0.trace = context.trace }
        observe(&context, provider: provider, model: model, call: call)
        return context
    }

    /// `callContext` for a call run on the event loop (no tracing there): a trace only for a provider that routes
    /// among slots, as one provider's call has no attempts of its own to keep.
    func loopContext(task: String, clientModel: String, provider: Forwarder, model: String, call: GatewayCall) -> CallContext {
        guard !provider.routes else {
            return callContext(task: task, clientModel: clientModel, provider: provider.provider, model: model, call: call)
        }
        call.route(task: task, clientModel: clientModel, provider: provider.provider.id, upstreamModel: model)
        return CallContext(logger: logger, requestID: call.requestID, timeout: options.requestTimeout)
    }

    /// One non-streamed chat call, timed, with the provider that answered noted and its usage accounted; the
    /// response carries the usage recorded.
    func complete(
        _ request: ChatRequest, at provider: any LLMProvider, context: CallContext, call: GatewayCall
    ) async throws -> ChatResponse {
        noteInput(request, call: call)
        var response = try await timed(call, context) { try await provider.chat(request, context: $0) }
        call.served(by: response.provider)
        noteAnswer(reason: response.finishReason, text: response.content, call: call)
        response.usage = account(
            usage: response.usage, fallbackCharacters: (request.promptCharacters, response.content.count), call: call)
        return response
    }

    /// One non-streamed chat call to a provider that speaks the client's dialect: the client's body goes up as it
    /// came when it says what the encoded request would, and the upstream's answer comes back untouched.
    func forward(
        _ request: ChatRequest, client: ClientChatBody?, at provider: any OpenAIChatForwarding, context: CallContext,
        call: GatewayCall
    ) async throws -> ByteBuffer {
        noteInput(request, call: call)
        let result = try await timed(call, context) { try await provider.chatOpenAIBody(request, client: client, context: $0) }
        call.served(by: result.provider)
        account(usage: result.usage, fallbackCharacters: (request.promptCharacters, result.body.readableBytes), call: call)
        if spans(call) != nil { noteForwarded(result.body, call: call) }
        return result.body
    }

    /// One embeddings call, timed, its usage accounted.
    func embed(
        _ inputs: [String], model: String, at embedder: any EmbeddingProvider, context: CallContext, call: GatewayCall
    ) async throws -> EmbeddingResponse {
        var result = try await timed(call, context) { try await embedder.embed(inputs, model: model, context: $0) }
        call.servedAsTraced()
        result.usage = account(
            usage: result.usage, fallbackCharacters: (inputs.reduce(0) { $0.saturatingAdding($1.count) }, 0), call: call)
        return result
    }

    /// Runs an upstream call and notes its time as the call's upstream time whether it answers, fails or times out:
    /// waiting on a provider is never the gateway's overhead. The call's attempts end with it (tracing).
    func timed<T>(_ call: GatewayCall, _ context: CallContext, _ upstream: (CallContext) async throws -> T) async throws -> T {
        let start = ContinuousClock.now
        defer { call.upstream = ContinuousClock.now - start }
        guard spans(call) != nil else { return try await upstream(context) }
        do {
            let answer = try await upstream(attempting(context, call: call))
            endAttempts(call, error: nil)
            return answer
        } catch {
            endAttempts(call, error: error)
            throw error
        }
    }

    // MARK: 6. account

    /// Notes usage for metrics and the ledger; without reported (or believable) usage, estimates it from text length.
    /// Returns what it noted, which is what the response reports.
    @discardableResult
    func account(usage: Usage?, fallbackCharacters: (prompt: Int, output: Int), call: GatewayCall) -> Usage {
        let labels = call.snapshot
        if let usage = usageAudit.check(usage, provider: labels.provider, logger: logger), !usage.isPricedWithoutTokens {
            // A cache hit's tokens were not taken from the upstream.
            if labels.cache != .hit { metrics.tokens(provider: labels.provider, model: labels.upstreamModel, usage: usage) }
            call.update { $0.usage = usage }
            return usage
        }
        var estimate = Usage(
            inputTokens: estimatedTokens(fallbackCharacters.prompt), outputTokens: estimatedTokens(fallbackCharacters.output))
        // A price the provider reported stands; only its tokens are estimated.
        estimate.reportedCost = usage?.reportedCost
        estimate.reportedMsats = usage?.reportedMsats
        call.update {
            $0.usage = estimate
            $0.estimated = true
        }
        return estimate
    }
}
