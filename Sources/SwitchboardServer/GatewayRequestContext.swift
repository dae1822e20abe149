public import Hummingbird
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

    /// Whether this caller may use `model`.
    func allows(model: String) -> Bool {
        if case .key(let record) = self { return record.allows(model: model) }
        return true
    }
}

/// What a handler learned that the outer middleware reports: upstream time, model and provider.
final class RequestRecord: Sendable {
    private struct State {
        var upstream: Duration = .zero
        var model = ""
        var provider = ""
    }

    private let state = Mutex(State())

    var upstream: Duration {
        get { state.withLock { $0.upstream } }
        set { state.withLock { $0.upstream = newValue } }
    }

    func route(model: String, provider: String) {
        state.withLock {
            $0.model = model
            $0.provider = provider
        }
    }

    var labels: (model: String, provider: String) { state.withLock { ($0.model, $0.provider) } }
}

/// The request context of every gateway route.
public struct GatewayRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Kept from the client's `x-request-id`, else generated.
    public var requestID = ""
    public var principal: Principal?
    let record = RequestRecord()

    /// Creates the context for one request.
    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }
}
