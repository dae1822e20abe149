public import Hummingbird
import NIOCore
import SwitchboardCore
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

    /// The ledger's name for the caller's key: a stored key's id, `master`; nil without keys.
    var keyID: String? {
        switch self {
        case .key(let k): k.id
        case .master: "master"
        case .anonymous: nil
        }
    }

    /// Whether this caller may read what every key spent (the dashboard): the master key, a key with the `admin` scope,
    /// or anyone when the server asks for no keys.
    var isAdmin: Bool {
        switch self {
        case .master, .anonymous: true
        case .key(let k): k.scopes.contains(.admin)
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

/// The request context of every gateway route.
public struct GatewayRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The request as the pipeline carries it: ids, caller, dialect, and what its stages learned.
    let call = GatewayCall()
    /// Kept from the client's `x-request-id`, else the ledger id.
    public var requestID: String { call.requestID }
    /// The ledger's id for this request.
    public var ledgerID: String { call.ledgerID }
    /// The authenticated caller.
    public var principal: Principal? { call.principal }
    /// Answered by `DirectRouteHandler`, which cancels the request's task itself when the client goes away.
    var direct = false
    /// Where a response body must be written from (the direct handler's event loop); nil: anywhere.
    var writeExecutor: (any TaskExecutor)?
    /// The client's connection.
    let channel: any Channel

    /// Creates the context for one request.
    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}
