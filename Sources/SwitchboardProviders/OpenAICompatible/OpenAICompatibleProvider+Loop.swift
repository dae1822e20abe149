public import NIOCore
public import SwitchboardCore

/// A non-streamed completion made ready to be sent from an event loop: the upstream request and what reading
/// its answer needs.
struct LoopCompletion: Sendable {
    /// The transport that answers on the loop.
    let transport: any LoopTransport
    /// The upstream request.
    let request: TransportRequest
    /// Largest body read.
    let bodyLimit: Int
    let prepared: ChatRequest
    let reservation: ClientRateLimiter.Reservation?
}

extension OpenAICompatibleProvider {
    /// The forwarded completion ready to run on `loop`: one exchange over the loop transport, its answer read as
    /// `chatOpenAIBody` reads it.
    public func loopForward(
        _ request: ChatRequest, client: ClientChatBody?, context: CallContext, on loop: any EventLoop
    ) throws(ProviderError) -> (any LoopForward)? {
        guard let completion = try loopCompletion(request, client: client, on: loop) else { return nil }
        return LoopExchangeCall(
            provider: self, completion: completion, loop: loop, deadline: NIODeadline.now() + .nanoseconds(context.remaining.inNanoseconds))
    }

    /// The completion ready to go from `loop`, or nil when it needs to wait for something first (a token source
    /// to ask) or the transport cannot answer on that loop. Reserves the plan's limits as `chat` does; throws
    /// when they are spent.
    ///
    /// With the client's own body (`client`), that text goes upstream with only its model replaced when it says what
    /// the encoded request would (`OpenAIRequestEncoding.forwarded`), so a long prompt is not written again.
    func loopCompletion(
        _ request: ChatRequest, client: ClientChatBody? = nil, on loop: any EventLoop
    ) throws(ProviderError)
        -> LoopCompletion?
    {
        guard options.tokenSource == nil, let transport = loopTransport, transport.answers(on: loop) else { return nil }
        let request = prepared(request)
        let reservation = try reserve(request)
        let outgoing = TransportRequest(
            method: "POST", url: baseURL + (options.chatPath ?? descriptor.chatPath),
            headers: headers(stream: false, token: options.apiKey),
            body: chatBody(request, client: client))
        return LoopCompletion(
            transport: transport, request: outgoing, bodyLimit: options.maxResponseBytes, prepared: request,
            reservation: reservation)
    }

    /// What `chatOpenAIBody` would have returned or thrown for this exchange's outcome; settles the plan's limits.
    func finish(_ call: LoopCompletion, _ outcome: Result<TransportResponse, any Error>) -> Result<OpenAIChatBody, any Error> {
        var usage: Usage?
        defer { settle(call.reservation, usage: usage) }
        do {
            let response: TransportResponse
            switch outcome {
            case .success(let r): response = r
            case .failure(let error as TransportError): throw providerError(error)
            case .failure(let error): throw error
            }
            guard (200..<300).contains(response.status) else {
                let error = upstream.error(status: response.status, headers: response.headers, body: response.body.bytes ?? ByteBuffer())
                if let info = error.rateLimit { lastRateLimit.withLock { $0 = info } }
                throw error
            }
            if let info = RateLimitInfo(headers: response.headers) { lastRateLimit.withLock { $0 = info } }
            let (body, used) = try openAIBody(call.prepared, response.body.bytes ?? ByteBuffer())
            usage = used
            return .success(body)
        } catch {
            return .failure(error)
        }
    }
}

/// One provider's forwarded completion on the loop: a single exchange.
final class LoopExchangeCall: LoopForward {
    let provider: OpenAICompatibleProvider
    let completion: LoopCompletion
    let loop: any EventLoop
    let deadline: NIODeadline

    init(provider: OpenAICompatibleProvider, completion: LoopCompletion, loop: any EventLoop, deadline: NIODeadline) {
        self.provider = provider
        self.completion = completion
        self.loop = loop
        self.deadline = deadline
    }

    func start(_ done: @escaping LoopForwardDone) -> @Sendable () -> Void {
        completion.transport.exchange(completion.request, on: loop, deadline: deadline, bodyLimit: completion.bodyLimit) {
            [self] outcome in
            if case .success(let response) = outcome, !(200..<300).contains(response.status) {
                // Reading an upstream's error means redacting its body: work for a task, not for the loop.
                Task {
                    let finished = provider.finish(completion, outcome)
                    loop.execute { done(finished) }
                }
                return
            }
            done(provider.finish(completion, outcome))
        }.cancel
    }

    func abandon() {
        _ = provider.finish(completion, .failure(CancellationError()))
    }
}
