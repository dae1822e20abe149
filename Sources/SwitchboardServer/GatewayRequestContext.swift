public import Hummingbird
import SwitchboardCore
import Synchronization
public import SwitchboardStorage

/// Who is calling.
public enum Principal: Sendable {
    /// The master key: every model, admin routes.
    case master
    /// A stored API key.
    case key(APIKeyRecord)
    /// `[server] auth = "none"`.
    case anonymous

    /// The caller as rate limits and budgets see it.
    var quotaCaller: QuotaEnforcer.Caller {
        switch self {
        case .key(let k): QuotaEnforcer.Caller(keyID: k.id, keyLimits: k.limits, user: k.user)
        case .master, .anonymous: QuotaEnforcer.Caller()
        }
    }

    /// Whether this caller may use `model` at `provider` (where a name resolved to in `gateway`).
    func allows(provider: String, model: String, in gateway: Gateway) -> Bool {
        guard case .key(let record) = self else { return true }
        return record.allows(provider: provider, model: model) { prefix in
            prefix == gateway.router.id || gateway.provider(id: String(prefix)) != nil
        }
    }
}

/// What a handler learned that the outer middleware reports and records: upstream time, model, provider,
/// usage. Handlers and the middleware share it through the context.
final class RequestRecord: Sendable {
    struct State {
        var upstream: Duration = .zero
        /// The model as the client named it (metrics label).
        var clientModel = ""
        var provider = ""
        /// The model as the provider was asked for it (prices, ledger).
        var upstreamModel = ""
        /// Ledger task name; nil for routes that are not billed.
        var task: String?
        var usage: Usage?
        var estimated = false
        var ttft: Duration?
        /// The route wrote its own ledger record (streams record at their end).
        var recorded = false
        var trace: CallTrace?
        /// The authenticated caller, shared with the outer middleware.
        var principal: Principal?
        /// What the request reserved against rate limits and budgets, settled when it is recorded.
        var admission: QuotaEnforcer.Admission?
    }

    private let state = Mutex(State())

    func update(_ change: (inout State) -> Void) {
        state.withLock { change(&$0) }
    }

    var snapshot: State { state.withLock { $0 } }

    var upstream: Duration {
        get { state.withLock { $0.upstream } }
        set { state.withLock { $0.upstream = newValue } }
    }

    func route(task: String, clientModel: String, provider: String, upstreamModel: String) {
        state.withLock {
            $0.task = task
            $0.clientModel = clientModel
            $0.provider = provider
            $0.upstreamModel = upstreamModel
        }
    }

    var labels: (model: String, provider: String) { state.withLock { ($0.clientModel, $0.provider) } }
}

/// The request context of every gateway route.
public struct GatewayRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Kept from the client's `x-request-id`, else the ledger id.
    public var requestID = ""
    /// The ledger's id for this request: always a fresh UUID, so a client reusing a request id cannot
    /// collide with another record.
    public var ledgerID = ""
    public var principal: Principal?
    let record = RequestRecord()
    /// Answered by `DirectRouteHandler`, which cancels the request's task itself when the client goes away.
    var direct = false

    /// Creates the context for one request.
    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }
}
