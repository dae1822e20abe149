import HTTPTypes
import NIOCore
import SwitchboardCore
import SwitchboardProviders
import SwitchboardStorage

/// `POST /v1/chat/completions` answered on the connection's event loop without a task, in the common case where
/// nothing the request needs has to wait: a caller the headers or the key cache decide (the master key, no
/// auth, a cached key), no rate limit or budget to reserve, a non-streamed request to a provider that speaks
/// the client's dialect over a transport that answers on the loop, and a ledger that commits without waiting.
///
/// The request is decoded, routed, sent upstream from this loop's connection pool and answered in callbacks on
/// the loop: no task, no thread hop, no suspension. It does what the router's middleware and chat route do,
/// through the same functions; anything else it declines before it has done anything, and the router answers
/// it (with its own errors for a request it refuses). It saves the task, the hops between threads and the
/// suspensions that the router's path pays for every request.
///
/// A class because the exchange's callback holds it: a struct would be copied into it, retaining every reference
/// the routes hold.
final class DirectChat: Sendable {
    let routes: GatewayRoutes
    let authenticator: Authenticator

    init(routes: GatewayRoutes, authenticator: Authenticator) {
        self.routes = routes
        self.authenticator = authenticator
    }

    static let path = "/v1/chat/completions"
    /// Room for every field an answer gets (its own, the middleware's, the connection's), so none regrows the list.
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

        /// An error as the route's middleware answers it.
        init(_ error: APIError) {
            var (headers, body) = error.payload(path: DirectChat.path)
            headers.reserveCapacity(DirectChat.answerFields)
            self.init(status: error.status, headers: headers, body: body)
        }
    }

    /// How the answer is given: once, on the loop, possibly before `start` returned.
    typealias Reply = @Sendable (Answer) -> Void

    /// Takes the request on and returns what stops it when the client leaves, or returns nil (having done nothing)
    /// for the router to answer.
    func start(_ head: HTTPRequest, body: ByteBuffer, on loop: any EventLoop, reply: @escaping Reply) -> (@Sendable () -> Void)? {
        let start = ContinuousClock.now
        guard case .principal(let principal) = authenticator.lookup(head.headerFields) else { return nil }
        if let quotas = routes.ledger.quotas, quotas.limits(principal.quotaCaller) { return nil }
        // A request the route would refuse is declined here and refused there, with the route's own message: these
        // errors only decide that.
        guard body.readableBytes <= routes.options.maxBodyBytes,
            let (json, client) = try? ClientChatBody.parse(body),
            let decoded = try? OpenAIChatRequestDecoding.decode(json), !decoded.stream,
            let (resolved, model) = try? routes.resolveNow(decoded.request.model, principal: principal),
            let provider = routes.forwarder(resolved)
        else { return nil }
        var request = decoded.request
        request.model = model
        // Spent plan limits: the route throws the same refusal.
        guard let call = try? provider.loopCompletion(request, client: client, on: loop) else { return nil }

        let ledgerID = UsageRecord.newRequestID()
        let context = Context(
            start: start, ledgerID: ledgerID, requestID: GatewayMiddleware.requestID(head.headerFields, ledgerID: ledgerID),
            principal: principal, record: RequestRecord())
        context.record.update { $0.principal = principal }
        context.record.route(task: "chat.completions", clientModel: decoded.request.model, provider: provider.id, upstreamModel: model)
        let promptCharacters = request.messages.reduce(0) { $0 + $1.text.count }
        let deadline = NIODeadline.now() + .nanoseconds(routes.options.requestTimeout.inNanoseconds)
        let upstreamStart = ContinuousClock.now
        let exchange = call.transport.exchange(call.request, on: loop, deadline: deadline, bodyLimit: call.bodyLimit) { [self] outcome in
            let upstream = ContinuousClock.now - upstreamStart
            if case .success(let response) = outcome, !(200..<300).contains(response.status) {
                // Reading an upstream's error means redacting its body: work for a task, not for the loop.
                Task {
                    let finished = provider.finish(call, outcome)
                    loop.execute {
                        self.conclude(
                            finished, context: context, upstream: upstream, promptCharacters: promptCharacters,
                            on: loop, reply: reply)
                    }
                }
                return
            }
            conclude(
                provider.finish(call, outcome), context: context, upstream: upstream, promptCharacters: promptCharacters,
                on: loop, reply: reply)
        }
        return exchange.cancel
    }

    /// The route's part once the upstream answered: the answer, or the error the route would give.
    private func conclude(
        _ finished: Result<OpenAIChatBody, any Error>, context: Context, upstream: Duration, promptCharacters: Int,
        on loop: any EventLoop, reply: @escaping Reply
    ) {
        let answer: Answer
        switch finished {
        case .success(let result):
            context.record.upstream = upstream
            routes.record(usage: result.usage, fallbackCharacters: (promptCharacters, result.body.readableBytes), into: context.record)
            var headers = HTTPFields()
            headers.reserveCapacity(DirectChat.answerFields)
            headers.append(HTTPField(name: .contentType, value: "application/json"))
            answer = Answer(status: .ok, headers: headers, body: result.body)
        case .failure(let error):
            APIError.logDiagnostics(of: error, requestID: context.requestID, logger: routes.logger)
            answer = Answer(APIError.from(error))
        }
        commit(answer, context: context, on: loop, reply: reply)
    }

    /// What the middleware knows of one request.
    private struct Context: Sendable {
        let start: ContinuousClock.Instant
        let ledgerID: String
        let requestID: String
        let principal: Principal
        let record: RequestRecord
    }

    /// The middleware's part once the route answered: commit the record (without waiting when the ledger can,
    /// else in a task), then stamp the headers and count the request.
    private func commit(_ answer: consuming Answer, context: Context, on loop: any EventLoop, reply: @escaping Reply) {
        let state = context.record.snapshot
        let status = Int(answer.status.code)
        do {
            if try routes.ledger.recordImmediately(
                state, requestID: context.ledgerID, principal: context.principal, status: status,
                latency: ContinuousClock.now - context.start)
            {
                reply(finished(answer, state: state, committed: true, context: context))
                return
            }
        } catch {
            reply(finished(Answer(.ledgerUnavailable), state: state, committed: false, context: context))
            return
        }
        let waiting = answer  // a copy the task can hold
        Task { [self] in
            let answer: Answer
            do {
                try await routes.ledger.record(
                    state, requestID: context.ledgerID, principal: context.principal, status: status,
                    latency: ContinuousClock.now - context.start)
                answer = finished(waiting, state: state, committed: true, context: context)
            } catch {
                answer = finished(Answer(.ledgerUnavailable), state: state, committed: false, context: context)
            }
            loop.execute { reply(answer) }
        }
    }

    // Consuming, as `commit` is: the answer's fields are then added to in place, not copied first.
    private func finished(_ answer: consuming Answer, state: RequestRecord.State, committed: Bool, context: Context) -> Answer {
        var answer = answer
        let total = ContinuousClock.now - context.start
        GatewayMiddleware.stamp(
            &answer.headers, status: answer.status, state: state, committed: committed, ledger: routes.ledger,
            ids: (context.ledgerID, context.requestID), overhead: total - state.upstream)
        routes.metrics.loopChatAnswered()
        routes.metrics.request(
            route: Self.path, model: state.clientModel, provider: state.provider, status: Int(answer.status.code),
            total: total, upstream: state.upstream > .zero ? state.upstream : nil)
        return answer
    }
}
