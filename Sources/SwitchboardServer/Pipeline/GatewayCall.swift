import HTTPTypes
import SwitchboardCore
import SwitchboardStorage
import Synchronization

/// The API family a route speaks, chosen where the route is registered: its errors are answered in this shape.
enum APIDialect: Sendable {
    case openAI
    case anthropic
    case huggingFace
}

/// One gateway request as the pipeline carries it from its head to its committed record: its ids, its caller,
/// its dialect, and what each stage learned (where it went, usage, timing) for the ledger, the headers and the
/// metrics. Shared by the stages (and the executions of the pipeline) through a reference.
final class GatewayCall: Sendable {
    struct State {
        /// The client's `x-request-id` when usable, else the ledger id.
        var requestID = ""
        var dialect = APIDialect.openAI
        /// The authenticated caller.
        var principal: Principal?
        /// Time spent waiting on the upstream (a stream's: from its start to its end).
        var upstream: Duration = .zero
        /// When a stream's upstream call began.
        var upstreamStart: ContinuousClock.Instant?
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
        /// The response is a stream, whose body commits the record (and counts the request) at its end.
        var streaming = false
        /// The route's metrics label, kept for a stream's end.
        var route: String?
        /// A billed request counted as open until its record is committed (shutdown waits for it).
        var open = false
        var trace: CallTrace?
        /// What the request reserved against rate limits and budgets, settled when it is recorded.
        var admission: QuotaEnforcer.Admission?
        /// What the response cache did; nil without a cache.
        var cache: CacheOutcome?
        /// The agent session the client asked to continue (`x-switchboard-session`).
        var session: String?
        /// Where a cache hit's key resolved (`provider/model` or `lane:NAME`), for the route header.
        var cacheTarget: String?
        /// The request's trace spans; nil when tracing is off.
        var spans: CallSpans?
        /// Why the answer ended (`stop`, `length`, `tool_calls`), for the trace.
        var finishReason: FinishReason?
    }

    /// When the request's head arrived.
    let start: ContinuousClock.Instant
    /// The ledger's id for this request: always a fresh UUID, so a client reusing a request id cannot collide with
    /// another record.
    let ledgerID: String
    private let state: Mutex<State>

    init(start: ContinuousClock.Instant = .now) {
        self.start = start
        ledgerID = UsageRecord.newRequestID()
        state = Mutex(State(requestID: ledgerID))
    }

    func update(_ change: (inout State) -> Void) {
        state.withLock { change(&$0) }
    }

    var snapshot: State { state.withLock { $0 } }

    var requestID: String { state.withLock { $0.requestID } }
    var principal: Principal? { state.withLock { $0.principal } }
    var dialect: APIDialect { state.withLock { $0.dialect } }
    var session: String? { state.withLock { $0.session } }
    var spans: CallSpans? { state.withLock { $0.spans } }

    var upstream: Duration {
        get { state.withLock { $0.upstream } }
        set { state.withLock { $0.upstream = newValue } }
    }

    /// Takes the client's request id when it is usable.
    func identify(_ headers: HTTPFields) {
        guard let id = headers.value(.requestID), id.utf8.count <= 128, !id.isEmpty else { return }
        state.withLock { $0.requestID = id }
    }

    /// Whether the call was open (and is no longer).
    func close() -> Bool {
        state.withLock { s in
            let was = s.open
            s.open = false
            return was
        }
    }

    func route(task: String, clientModel: String, provider: String, upstreamModel: String) {
        state.withLock {
            $0.task = task
            $0.clientModel = clientModel
            $0.provider = provider
            $0.upstreamModel = upstreamModel
        }
    }

    /// The provider that answered, and the model it was asked for when a router's or a lane's slot named its own
    /// (prices and the ledger follow the model asked for).
    func served(by provider: String) {
        state.withLock { s in
            s.provider = provider
            if let model = s.trace?.model(askedOf: provider), !model.isEmpty { s.upstreamModel = model }
        }
    }

    /// The slot that answered, as the trace says, when the answer does not name its provider (embeddings).
    func servedAsTraced() {
        state.withLock { s in
            guard let answered = s.trace?.entries.last(where: { $0.failure == nil && !$0.skipped }) else { return }
            s.provider = answered.provider
            if !answered.model.isEmpty { s.upstreamModel = answered.model }
        }
    }

    var labels: (model: String, provider: String) { state.withLock { ($0.clientModel, $0.provider) } }
}
