import Foundation
import HTTPTypes
import Logging
import SwitchboardCore
import SwitchboardProviders

/// The one path of a gateway call, from a decoded request to its committed record, as stages every route and both
/// executions use (a task through the router, or callbacks on the connection's event loop in `DirectChat`):
///
/// 1. `enter`: the route's dialect and ledger task, set where the route is registered (`RouteMiddleware`).
/// 2. `authenticate`: the master key or a stored key, a `Principal`.
/// 3. `resolve`: the provider and upstream model of the client's name, and the key's allow-list.
/// 4. `admit`: a reservation against every rate limit and budget that applies.
/// 5. The call (`RequestPipeline+Call`): `complete`, `forward`, `stream` or `embed`, timed and traced.
/// 6. `account`: the upstream's usage checked (or estimated) and noted for the ledger, metrics and the response.
/// 7. `commit` (`RequestPipeline+Conclusion`): the ledger record, before the response completes.
/// 8. `finish`: the cost, rate-limit, id and overhead headers, and the request's metrics.
///
/// Errors become the caller's dialect in `errorAnswer`. Tracing (`RequestPipeline+Tracing`) opens a span at the head,
/// watches each upstream attempt, and closes the span with `finish`.
struct RequestPipeline: Sendable {
    struct Options: Sendable {
        var maxBodyBytes: Int
        var requestTimeout: Duration
        /// How long stored responses are kept; nil: until deleted.
        var responseRetention: Duration?
    }

    let gateway: Gateway
    let ledger: UsageLedger
    let metrics: GatewayMetrics
    let authenticator: Authenticator
    let options: Options
    let logger: Logger
    /// Upstream usage is checked here before anything counts it.
    let usageAudit = UsageAudit()
    /// The providers that forward a same-dialect body, by id, cast once: a cast to an existential looks up a
    /// conformance, too dear for every request.
    let forwarders: [String: Forwarder]
    /// The billed requests still to be recorded, which shutdown waits for.
    let drain: DrainState
    /// The response cache; nil when it is off.
    let cache: ResponseCache?
    /// Where spans go; nil when tracing is off.
    let tracing: RequestTracing?

    init(
        gateway: Gateway, ledger: UsageLedger, metrics: GatewayMetrics, authenticator: Authenticator, options: Options,
        drain: DrainState = DrainState(), cache: ResponseCache? = nil, tracing: RequestTracing? = nil, logger: Logger
    ) {
        self.drain = drain
        self.cache = cache
        self.tracing = tracing
        self.gateway = gateway
        self.ledger = ledger
        self.metrics = metrics
        self.authenticator = authenticator
        self.options = options
        self.logger = logger
        // The first provider with an id is the one a name resolves to.
        var forwarders: [String: Forwarder] = [:]
        var seen = Set<String>()
        for provider in gateway.providers where seen.insert(provider.id).inserted {
            // A router among the providers (the swarm's hybrid mode) forwards only when every slot can.
            guard let forwarding = provider as? any OpenAIChatForwarding, (provider as? ProviderRouter)?.forwardsEverySlot ?? true
            else { continue }
            forwarders[provider.id] = Forwarder(provider: forwarding, routes: provider is any RoutingProvider)
        }
        // A lane whose slots all speak the client's dialect forwards the client's body to whichever slot answers.
        for lane in gateway.lanes.byName.values where lane.forwardsEverySlot {
            forwarders[lane.id] = Forwarder(provider: lane, routes: true)
        }
        self.forwarders = forwarders
    }

    // MARK: 1. enter

    /// What a route is, as declared where it is registered.
    struct Route: Sendable {
        var dialect: APIDialect
        /// The ledger task of a billed route; nil for a route that is not billed.
        var task: String?
        var requiresKey: Bool
    }

    /// Marks the call as `route`'s: its errors in the route's dialect, and (when `billed`) its ledger task, so it is
    /// recorded even when it fails before its handler runs (a bad key, bad JSON).
    func enter(_ call: GatewayCall, route: Route, billed: Bool) {
        let opened = billed && route.task != nil
        call.update {
            $0.dialect = route.dialect
            if opened {
                $0.task = route.task
                $0.open = true
            }
        }
        if opened { drain.opened() }
    }

    /// A billed call that goes no further here (another execution takes it up afresh).
    func abandon(_ call: GatewayCall) {
        if call.close() { drain.closed() }
    }

    // MARK: 2. authenticate

    /// The caller of `headers`, noted on the call; throws 401 for a missing, unknown or revoked key.
    func authenticate(_ call: GatewayCall, headers: HTTPFields) async throws {
        let principal = try await authenticator.authenticate(headers)
        call.update { $0.principal = principal }
    }

    /// `authenticate` without waiting: false when the key store must be asked (or the key is refused).
    func authenticateNow(_ call: GatewayCall, headers: HTTPFields) -> Bool {
        guard case .principal(let principal) = authenticator.lookup(headers) else { return false }
        call.update { $0.principal = principal }
        return true
    }

    // MARK: 3. resolve

    /// The provider and model a client's name resolves to (`Gateway.resolve`, the rule the CLI and the library
    /// use too), once the caller's key may use them.
    func resolve(_ model: String, call: GatewayCall) async throws -> (any LLMProvider, String) {
        let context = CallContext(logger: logger, requestID: call.requestID, timeout: .seconds(15))
        let resolved: (provider: any LLMProvider, model: String)
        do { resolved = try await gateway.resolve(model: model, context: context) } catch { throw APIError.resolution(error) }
        return try allowed(resolved, name: model, principal: call.principal)
    }

    /// `resolve` without waiting, for a caller on an event loop: nil when the catalog must be loaded first.
    func resolveNow(_ model: String, call: GatewayCall) throws -> (any LLMProvider, String)? {
        let resolved: (provider: any LLMProvider, model: String)?
        do { resolved = try gateway.resolveIfLoaded(model: model) } catch { throw APIError.resolution(error) }
        return try resolved.map { try allowed($0, name: model, principal: call.principal) }
    }

    /// A key's model allow-list is checked against where the name resolved to, never against the name's text.
    private func allowed(
        _ resolved: (provider: any LLMProvider, model: String), name: String, principal: Principal?
    ) throws -> (any LLMProvider, String) {
        guard principal?.allows(provider: resolved.provider.id, model: resolved.model, in: gateway) ?? true else {
            throw APIError(
                status: .forbidden, message: "this API key may not use model '\(name)'", type: "invalid_request_error",
                param: "model", code: "model_not_allowed")
        }
        return resolved
    }

    /// A provider that forwards the client's body, and whether it routes among slots (whose attempts its call's
    /// trace keeps).
    struct Forwarder: Sendable {
        let provider: any OpenAIChatForwarding
        let routes: Bool
    }

    /// The one provider that `forwarders` holds for this one, if it forwards.
    func forwarder(_ provider: any LLMProvider) -> Forwarder? {
        forwarders.isEmpty ? nil : forwarders[provider.id]
    }

    // MARK: 4. admit

    /// What a chat request may use at most: its prompt's estimate and its output limit (or the configured default).
    func reservation(_ request: ChatRequest) -> Usage {
        Usage(
            inputTokens: estimatedTokens(request.promptCharacters),
            outputTokens: request.maxTokens ?? ledger.quotas?.configuration.defaultReserveTokens ?? 0)
    }

    /// Reserves one request, its tokens and (against budgets) its worst-case cost at the model it resolved to, against
    /// the caller's rate limits and budgets (throws 429 when over).
    func admit(_ call: GatewayCall, usage: Usage) async throws {
        guard let quotas = ledger.quotas else { return }
        let caller = call.principal?.quotaCaller ?? QuotaEnforcer.Caller()
        let admission = try await quotas.admit(caller, tokens: usage.totalTokens, cost: worstCost(call, usage))
        call.update { $0.admission = admission }
    }

    /// `admit` for input tokens alone (embeddings, images).
    func admit(_ call: GatewayCall, tokens: Int) async throws {
        try await admit(call, usage: Usage(inputTokens: tokens, outputTokens: 0))
    }

    /// `admit` without waiting: false when the counters must be waited for; throws the same refusals.
    func admitNow(_ call: GatewayCall, usage: Usage) throws -> Bool {
        guard let quotas = ledger.quotas else { return true }
        let caller = call.principal?.quotaCaller ?? QuotaEnforcer.Caller()
        if !quotas.limits(caller) { return true }
        guard let admission = try quotas.admitImmediately(caller, tokens: usage.totalTokens, cost: worstCost(call, usage)) else {
            return false
        }
        call.update { $0.admission = admission }
        return true
    }

    /// What `usage` would cost at the model the call resolved to; zero without a price.
    private func worstCost(_ call: GatewayCall, _ usage: Usage) -> NanoUSD {
        let state = call.snapshot
        return ledger.prices.cost(provider: state.provider, model: state.upstreamModel, usage: usage) ?? .zero
    }
}

extension ChatRequest {
    /// The characters of the conversation, for estimating tokens when a provider reports none.
    var promptCharacters: Int { messages.reduce(0) { $0.saturatingAdding($1.text.count) } }
}
