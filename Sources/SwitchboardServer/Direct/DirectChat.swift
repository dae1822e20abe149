import HTTPTypes
import NIOCore
import SwitchboardCore
import SwitchboardProviders

/// `POST /v1/chat/completions` run through the pipeline's stages in callbacks on the connection's event loop, with
/// no task, no thread hop and no suspension, when no stage has to wait: a caller the headers or the key cache
/// decide, limits kept in this process's memory, a non-streamed request to a provider that speaks the client's
/// dialect over a transport that answers on the loop, and a ledger that commits without waiting.
///
/// It runs the same stages as the router's execution (`GatewayMiddleware` and the chat route), through the same
/// functions; a request it cannot finish that way is declined before anything was reserved or sent, and the router
/// answers it. Only the wait at the end is different: a commit that must wait runs in a task.
///
/// A class because the exchange's callback holds it: a struct would be copied into it, retaining every reference
/// the pipeline holds.
final class DirectChat: Sendable {
    let pipeline: RequestPipeline

    init(pipeline: RequestPipeline) {
        self.pipeline = pipeline
    }

    static let path = "/v1/chat/completions"
    static let route = RequestPipeline.Route(dialect: .openAI, task: "chat.completions", requiresKey: true)
    /// Room for every field an answer gets (its own, the pipeline's, the connection's), so none regrows the list.
    static let answerFields = 16

    /// A response ready to write.
    struct Answer: Sendable {
        var status: HTTPResponse.Status
        var headers: HTTPFields
        var body: ByteBuffer

        init(status: HTTPResponse.Status, headers: HTTPFields, body: ByteBuffer) {
            self.status = status
            self.headers = headers
            self.body = body
        }

        /// An error as the pipeline answers it.
        init(_ answer: (HTTPResponse.Status, HTTPFields, ByteBuffer)) {
            var headers = answer.1
            headers.reserveCapacity(DirectChat.answerFields)
            self.init(status: answer.0, headers: headers, body: answer.2)
        }
    }

    /// How the answer is given: once, on the loop, possibly before `start` returned.
    typealias Reply = @Sendable (Answer) -> Void

    /// Takes the request on and returns what stops it when the client leaves, or returns nil (having done nothing)
    /// for the router to answer.
    func start(_ head: HTTPRequest, body: ByteBuffer, on loop: any EventLoop, reply: @escaping Reply) -> (@Sendable () -> Void)? {
        let call = GatewayCall()
        guard pipeline.authenticateNow(call, headers: head.headerFields) else { return nil }
        // A request the route would refuse is declined here and refused there, with the route's own message: these
        // errors only decide that.
        guard body.readableBytes <= pipeline.options.maxBodyBytes,
            let (json, client) = try? ClientChatBody.parse(body),
            let decoded = try? OpenAIChatRequestDecoding.decode(json), !decoded.stream,
            let (resolved, model) = try? pipeline.resolveNow(decoded.request.model, call: call)
        else { return nil }
        var request = decoded.request
        request.model = model
        let cache = pipeline.cachePlan(request, at: resolved, headers: head.headerFields, call: call)
        let (hit, decided) = pipeline.cachedNow(cache, call: call)
        guard decided else { return nil }
        if let hit, let cache {
            return answer(hit, plan: cache, call: call, head: head, request: decoded.request, provider: resolved, on: loop, reply: reply)
        }
        guard let forwarder = pipeline.forwarder(resolved) else { return nil }
        let provider = forwarder.provider
        call.identify(head.headerFields)
        let context = pipeline.loopContext(
            task: "chat.completions", clientModel: decoded.request.model, provider: forwarder, model: model, call: call)
        // Spent plan limits or budget: the route throws the same refusal.
        guard let forward = try? provider.loopForward(request, client: client, context: context, on: loop) else { return nil }

        pipeline.enter(call, route: Self.route, billed: true)
        do {
            guard try pipeline.admitNow(call, usage: pipeline.reservation(decoded.request)) else {
                forward.abandon()
                pipeline.abandon(call)
                return nil
            }
        } catch {
            forward.abandon()
            conclude(Answer(pipeline.errorAnswer(error, call: call)), call: call, on: loop, reply: reply)
            return {}
        }
        if let cache, cache.decision.lookup { pipeline.noteLookup(nil, plan: cache, call: call) }

        let promptCharacters = request.promptCharacters
        let upstreamStart = ContinuousClock.now
        let routes = forwarder.routes
        return forward.start { [self] finished in
            call.upstream = ContinuousClock.now - upstreamStart
            if routes, case .success(let result) = finished { call.served(by: result.provider) }
            answer(finished, call: call, promptCharacters: promptCharacters, cache: cache, on: loop, reply: reply)
        }
    }

    /// A request the cache answers: admitted and recorded as any other, with the stored body as its answer.
    private func answer(
        _ hit: CachedAnswer, plan: RequestPipeline.CachePlan, call: GatewayCall, head: HTTPRequest, request: ChatRequest,
        provider: any LLMProvider, on loop: any EventLoop, reply: @escaping Reply
    ) -> (@Sendable () -> Void)? {
        call.identify(head.headerFields)
        pipeline.enter(call, route: Self.route, billed: true)
        call.route(task: "chat.completions", clientModel: request.model, provider: provider.id, upstreamModel: hit.model)
        do {
            guard try pipeline.admitNow(call, usage: pipeline.reservation(request)) else {
                pipeline.abandon(call)
                return nil
            }
        } catch {
            conclude(Answer(pipeline.errorAnswer(error, call: call)), call: call, on: loop, reply: reply)
            return {}
        }
        pipeline.noteLookup(hit, plan: plan, call: call)
        var headers = HTTPFields()
        headers.reserveCapacity(DirectChat.answerFields)
        headers.append(HTTPField(name: .contentType, value: "application/json"))
        conclude(Answer(status: .ok, headers: headers, body: ByteBuffer(bytes: hit.body)), call: call, on: loop, reply: reply)
        return {}
    }

    /// The route's part once the upstream answered: the usage accounted and the answer, or the error.
    private func answer(
        _ finished: Result<OpenAIChatBody, any Error>, call: GatewayCall, promptCharacters: Int,
        cache: RequestPipeline.CachePlan?, on loop: any EventLoop, reply: @escaping Reply
    ) {
        switch finished {
        case .success(let result):
            let usage = pipeline.account(
                usage: result.usage, fallbackCharacters: (promptCharacters, result.body.readableBytes), call: call)
            pipeline.keep(result.body, usage: usage, plan: cache, call: call)
            var headers = HTTPFields()
            headers.reserveCapacity(DirectChat.answerFields)
            headers.append(HTTPField(name: .contentType, value: "application/json"))
            conclude(Answer(status: .ok, headers: headers, body: result.body), call: call, on: loop, reply: reply)
        case .failure(let error):
            conclude(Answer(pipeline.errorAnswer(error, call: call)), call: call, on: loop, reply: reply)
        }
    }

    /// The pipeline's conclusion: the commit (at once when the ledger and the counters can, else in a task), then
    /// the headers and the metrics.
    private func conclude(_ answer: consuming Answer, call: GatewayCall, on loop: any EventLoop, reply: @escaping Reply) {
        if let commit = pipeline.commitNow(call, status: answer.status) {
            reply(finished(answer, call: call, commit: commit))
            return
        }
        let waiting = answer  // a copy the task can hold
        Task { [self] in
            let answer = finished(waiting, call: call, commit: await pipeline.commit(call, status: waiting.status))
            loop.execute { reply(answer) }
        }
    }

    // Consuming, as `conclude` is: the answer's fields are then added to in place, not copied first.
    private func finished(_ answer: consuming Answer, call: GatewayCall, commit: RequestPipeline.Commit) -> Answer {
        var answer = answer
        if commit == .failed { answer = Answer(pipeline.errorAnswer(APIError.ledgerUnavailable, call: call)) }
        pipeline.finish(&answer.headers, status: answer.status, call: call, commit: commit, route: Self.path)
        pipeline.metrics.loopChatAnswered()
        return answer
    }
}
