import HTTPTypes
import NIOCore
import SwitchboardCore
import Tracing

/// The tracing stage: a server span per request (continuing the client's W3C trace), a client span per upstream
/// attempt (the router's, or the pipeline's own for a single provider), and the OpenTelemetry GenAI attributes once
/// the call is concluded. Nothing here runs when tracing is off.
extension RequestPipeline {
    /// Opens the request's span when tracing is on; probes and scrapes (`/health`, `/metrics`) get none.
    func beginSpan(_ call: GatewayCall, request: HTTPRequest) {
        guard let tracing, let path = request.path, !path.hasPrefix("/health"), !path.hasPrefix("/metrics") else { return }
        let spans = tracing.begin(request.headerFields, name: request.method.rawValue)
        spans.span.updateAttributes { a in
            a["http.request.method"] = request.method.rawValue
            a["switchboard.request_id"] = call.ledgerID
        }
        call.update { $0.spans = spans }
    }

    /// The call's spans; nil (without taking the call's lock) when tracing is off.
    func spans(_ call: GatewayCall) -> CallSpans? {
        tracing == nil ? nil : call.spans
    }

    /// The attempts of the call are watched; a provider that routes nothing itself gets one attempt from the pipeline.
    func observe(_ context: inout CallContext, provider: any LLMProvider, model: String, call: GatewayCall) {
        guard let spans = spans(call) else { return }
        context.observer = spans
        if !(provider is any RoutingProvider) { spans.single = (provider.id, model) }
    }

    /// The context for the call's upstream work: the pipeline's own attempt begun when it has one to begin.
    func attempting(_ context: CallContext, call: GatewayCall) -> CallContext {
        guard let spans = spans(call), let single = spans.takeSingle() else { return context }
        return context.attempt(single.provider, model: single.model)
    }

    /// Ends what is left of the call's attempts: answered, or failed with `error`.
    func endAttempts(_ call: GatewayCall, error: (any Error)?) {
        guard let spans = spans(call) else { return }
        if let error {
            spans.endOpenAttempts((error as? ProviderError)?.kind.name ?? (error is CancellationError ? "cancelled" : "error"))
        } else {
            spans.ended(nil)
        }
    }

    /// Notes the conversation on the request's span, when spans carry content.
    func noteInput(_ request: ChatRequest, call: GatewayCall) {
        guard let spans = spans(call), spans.tracing.captureContent else { return }
        let messages = request.messages.map { m -> JSONValue in
            .object(["role": .string(m.role.rawValue), "parts": .array([.object(["type": "text", "content": .string(m.text)])])])
        }
        spans.span.attributes["gen_ai.input.messages"] = JSONValue.array(messages).jsonString()
    }

    /// Notes how the answer ended for the span's finish reasons and, when spans carry content, its text.
    func noteAnswer(reason: FinishReason?, text: String?, call: GatewayCall) {
        guard let spans = spans(call) else { return }
        if let reason { call.update { $0.finishReason = reason } }
        guard spans.tracing.captureContent, let text else { return }
        var message: [String: JSONValue] = [
            "role": "assistant", "parts": .array([.object(["type": "text", "content": .string(text)])]),
        ]
        if let reason { message["finish_reason"] = .string(reason.wireValue) }
        spans.span.attributes["gen_ai.output.messages"] = JSONValue.array([.object(message)]).jsonString()
    }

    /// Notes a forwarded answer's finish reason (and, when spans carry content, its text): read from the body only
    /// when tracing is on.
    func noteForwarded(_ body: ByteBuffer, call: GatewayCall) {
        // A body that is not JSON has nothing to note (the client gets it as it came).
        guard let answer = try? body.withUnsafeReadableBytes({ try JSONValue.parse(bytes: $0) }),
            let choice = answer["choices"]?[0]
        else { return }
        noteAnswer(
            reason: choice["finish_reason"]?.stringValue.map(FinishReason.init(wire:)),
            text: choice["message"]?["content"]?.stringValue ?? "", call: call)
    }

    /// Closes the request's span with what the call came to: the route, the status, where it went, the usage, the
    /// cost, the lane and the cache (never the key, only its id).
    func endSpan(_ call: GatewayCall, status: HTTPResponse.Status, route: String) {
        guard let spans = spans(call) else { return }
        let state = call.snapshot
        spans.endOpenAttempts((200..<300).contains(status.code) ? "cancelled" : "failed")
        let span = spans.span
        span.operationName = "\(span.operationName) \(route)"
        span.updateAttributes { a in
            a["http.route"] = route
            a["http.response.status_code"] = Int(status.code)
            if let task = state.task {
                a["gen_ai.operation.name"] = task.contains("embedding") ? "embeddings" : "chat"
                a["switchboard.task"] = task
            }
            if !state.provider.isEmpty { a["gen_ai.provider.name"] = state.provider }
            if !state.clientModel.isEmpty { a["gen_ai.request.model"] = state.clientModel }
            if !state.upstreamModel.isEmpty { a["gen_ai.response.model"] = state.upstreamModel }
            if let usage = state.usage {
                a["gen_ai.usage.input_tokens"] = usage.inputTokens
                a["gen_ai.usage.output_tokens"] = usage.outputTokens
                if usage.cachedTokens > 0 { a["gen_ai.usage.cache_read.input_tokens"] = usage.cachedTokens }
                if usage.cacheWriteTokens > 0 { a["gen_ai.usage.cache_creation.input_tokens"] = usage.cacheWriteTokens }
                if usage.reasoningTokens > 0 { a["gen_ai.usage.reasoning.output_tokens"] = usage.reasoningTokens }
            }
            if let reason = state.finishReason { a["gen_ai.response.finish_reasons"] = [reason.wireValue] }
            a["gen_ai.request.stream"] = state.streaming
            if let ttft = state.ttft, ttft > .zero { a["gen_ai.response.time_to_first_chunk"] = Double(ttft.inMicroseconds) / 1_000_000 }
            if let lane = state.trace?.lanes.first { a["switchboard.lane"] = lane }
            if let attempts = state.trace?.attemptCount, attempts > 0 { a["switchboard.attempts"] = attempts }
            if let cache = state.cache { a["switchboard.cache"] = cache.rawValue }
            if let key = state.principal?.keyID { a["switchboard.key_id"] = key }
            if state.task != nil, let cost = ledger.cost(state) { a["switchboard.cost_nano_usd"] = Int(cost.value) }
        }
        if status.code >= 500 || (status.code >= 400 && status.code != 499) {
            span.setStatus(SpanStatus(code: .error, message: String(status.code)))
            span.attributes["error.type"] = String(status.code)
        }
        span.end()
    }
}
