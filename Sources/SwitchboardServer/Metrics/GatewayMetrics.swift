import CoreMetrics
import Metrics
import Prometheus
public import SwitchboardCore
import Synchronization

/// The gateway's metrics, on swift-metrics with a Prometheus registry of its own (so several servers in
/// one process, as in tests, do not share counters).
public final class GatewayMetrics: Sendable, RouterObserver {
    let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory

    /// Handles by label set, made once: creating a metric looks it up in the registry under a lock and
    /// builds its label strings, which cost more per request than the recording itself.
    private struct RequestKey: Hashable {
        var route: String, model: String, provider: String, status: Int
    }
    private struct RequestHandles {
        var requests: CoreMetrics.Counter
        var total: Metrics.Timer
        var upstream: Metrics.Timer
        var overhead: Metrics.Timer
    }
    private struct TokenKey: Hashable {
        var provider: String, model: String
    }
    /// Which label values become series of their own; any other is counted as `other`, so a client-chosen model
    /// name cannot add a series (nil: every value, for a registry no server uses).
    struct LabelVocabulary: Sendable {
        var isKnownModel: @Sendable (String) -> Bool
        var isKnownProvider: @Sendable (String) -> Bool
    }
    private let vocabulary = Mutex<LabelVocabulary?>(nil)
    /// The label value of anything outside the vocabulary.
    static let other = "other"
    private let requestHandles = Mutex<[RequestKey: RequestHandles]>([:])
    private let tokenHandles = Mutex<[TokenKey: (input: CoreMetrics.Counter, output: CoreMetrics.Counter)]>([:])
    /// Label sets past this many are not cached (client-chosen model names must not grow memory without bound).
    private static let cacheLimit = 10_000
    private struct SpendKey: Hashable {
        var provider, model, lane, key: String
    }

    private let spendHandles = Mutex<[SpendKey: CoreMetrics.Counter]>([:])
    private let loopChats: CoreMetrics.Counter
    private let cacheHits: CoreMetrics.Counter
    private let cacheMisses: CoreMetrics.Counter
    private let cacheHitBytes: CoreMetrics.Counter

    /// A fresh registry.
    public init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        let fast: [Duration] = [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        ]
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
            .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30), .seconds(60),
        ]
        factory.durationHistogramBuckets = ["switchboard_gateway_overhead_seconds": fast]
        self.factory = factory
        loopChats = Counter(label: "switchboard_loop_chat_requests_total", factory: factory)
        cacheHits = Counter(label: "switchboard_cache_requests_total", dimensions: [("outcome", "hit")], factory: factory)
        cacheMisses = Counter(label: "switchboard_cache_requests_total", dimensions: [("outcome", "miss")], factory: factory)
        cacheHitBytes = Counter(label: "switchboard_cache_hit_bytes_total", factory: factory)
    }

    /// A response cache lookup: a hit with the bytes it answered, or a miss.
    func cache(_ outcome: CacheOutcome, bytes: Int = 0) {
        switch outcome {
        case .hit:
            cacheHits.increment()
            cacheHitBytes.increment(by: bytes)
        case .miss: cacheMisses.increment()
        case .bypass: break
        }
    }

    /// What the response cache holds in memory.
    func cacheHeld(bytes: Int, entries: Int) {
        Gauge(label: "switchboard_cache_bytes", factory: factory).record(bytes)
        Gauge(label: "switchboard_cache_entries", factory: factory).record(entries)
    }

    /// A chat completion answered on its connection's event loop without a task.
    func loopChatAnswered() {
        loopChats.increment()
    }

    /// Prometheus text exposition.
    public func exposition() -> [UInt8] {
        registry.emitToBuffer()
    }

    /// Keeps label values to `vocabulary` from now on.
    func limitLabels(to vocabulary: LabelVocabulary) {
        self.vocabulary.withLock { $0 = vocabulary }
    }

    private func bounded(model: String) -> String {
        guard !model.isEmpty, let vocabulary = vocabulary.withLock({ $0 }) else { return model }
        return vocabulary.isKnownModel(model) ? model : Self.other
    }

    private func bounded(provider: String) -> String {
        guard !provider.isEmpty, let vocabulary = vocabulary.withLock({ $0 }) else { return provider }
        return vocabulary.isKnownProvider(provider) ? provider : Self.other
    }

    /// What a request cost, by provider, model, lane and key (labels bounded: configured providers, models and lanes,
    /// and the key ids an administrator made).
    func spend(provider: String, model: String, lane: String, key: String, cost: NanoUSD) {
        guard cost.value > 0 else { return }
        let raw = SpendKey(provider: provider, model: model, lane: lane, key: key)
        let counter =
            spendHandles.withLock { $0[raw] }
            ?? {
                // The vocabulary names a model with its provider, as the configuration and the catalog do.
                let known = bounded(model: provider.isEmpty ? model : "\(provider)/\(model)") != Self.other
                let bounded = SpendKey(provider: bounded(provider: provider), model: known ? model : Self.other, lane: lane, key: key)
                let made = Counter(
                    label: "switchboard_cost_nano_usd_total",
                    dimensions: [("provider", bounded.provider), ("model", bounded.model), ("lane", bounded.lane), ("key", bounded.key)],
                    factory: factory)
                spendHandles.withLock { if $0.count < Self.cacheLimit { $0[raw] = made } }
                return made
            }()
        counter.increment(by: cost.value)
    }

    /// What is left of a key's budget for its current period.
    func budgetRemaining(key: String, period: String, remaining: NanoUSD) {
        Gauge(label: "switchboard_budget_remaining_nano_usd", dimensions: [("key", key), ("period", period)], factory: factory)
            .record(remaining.value)
    }

    /// One finished request.
    func request(route: String, model: String, provider: String, status: Int, total: Duration, upstream: Duration?) {
        let raw = RequestKey(route: route, model: model, provider: provider, status: status)
        // A label set seen before is known to be within the vocabulary: only a new one is checked.
        let handles =
            requestHandles.withLock { $0[raw] }
            ?? {
                let key = RequestKey(route: route, model: bounded(model: model), provider: bounded(provider: provider), status: status)
                return requestHandles.withLock { $0[key] } ?? makeRequestHandles(key)
            }()
        handles.requests.increment()
        handles.total.recordNanoseconds(total.inNanoseconds)
        if let upstream { handles.upstream.recordNanoseconds(upstream.inNanoseconds) }
        handles.overhead.recordNanoseconds(max(.zero, total - (upstream ?? .zero)).inNanoseconds)
    }

    private func makeRequestHandles(_ key: RequestKey) -> RequestHandles {
        let handles = RequestHandles(
            requests: Counter(
                label: "switchboard_requests_total",
                dimensions: [
                    ("route", key.route), ("model", key.model), ("provider", key.provider),
                    ("status", String(key.status)),
                ], factory: factory),
            total: Metrics.Timer(label: "switchboard_request_duration_seconds", dimensions: [("route", key.route)], factory: factory),
            upstream: Metrics.Timer(
                label: "switchboard_upstream_duration_seconds", dimensions: [("provider", key.provider)],
                factory: factory),
            overhead: Metrics.Timer(label: "switchboard_gateway_overhead_seconds", dimensions: [("route", key.route)], factory: factory))
        requestHandles.withLock { if $0.count < Self.cacheLimit { $0[key] = handles } }
        return handles
    }

    /// Time until the first streamed token.
    func timeToFirstToken(provider: String, _ d: Duration) {
        Metrics.Timer(
            label: "switchboard_time_to_first_token_seconds", dimensions: [("provider", bounded(provider: provider))],
            factory: factory
        )
        .recordNanoseconds(d.inNanoseconds)
    }

    /// Tokens of one finished request.
    func tokens(provider: String, model: String, usage: Usage) {
        let raw = TokenKey(provider: provider, model: model)
        let handles =
            tokenHandles.withLock { $0[raw] }
            ?? {
                let known = bounded(model: provider.isEmpty ? model : "\(provider)/\(model)") != Self.other
                let key = TokenKey(provider: bounded(provider: provider), model: known ? model : Self.other)
                if let made = tokenHandles.withLock({ $0[key] }) { return made }
                let dims = [("provider", key.provider), ("model", key.model)]
                let made = (
                    input: Counter(label: "switchboard_input_tokens_total", dimensions: dims, factory: factory),
                    output: Counter(label: "switchboard_output_tokens_total", dimensions: dims, factory: factory)
                )
                tokenHandles.withLock { if $0.count < Self.cacheLimit { $0[key] = made } }
                return made
            }()
        handles.input.increment(by: max(0, usage.inputTokens))
        handles.output.increment(by: max(0, usage.outputTokens))
    }

    /// A provider's health as 1 (up) or 0 (down); degraded counts as up.
    func providerUp(_ provider: String, _ up: Bool) {
        Gauge(label: "switchboard_provider_up", dimensions: [("provider", provider)], factory: factory).record(up ? 1 : 0)
    }

    /// The ledger's commit counters, read at scrape time.
    func ledger(batches: Int, records: Int, waited: Int) {
        Gauge(label: "switchboard_ledger_batches", factory: factory).record(batches)
        Gauge(label: "switchboard_ledger_records", factory: factory).record(records)
        // Requests whose record waited for the writer's transaction: with SQLite, ones that found the journal
        // full because housekeeping fell behind.
        Gauge(label: "switchboard_ledger_records_waited", factory: factory).record(waited)
    }

    /// The router moved on from a failed slot: a retry elsewhere.
    public func routerFailedOver(from provider: String, error: ProviderError) {
        Counter(label: "switchboard_failovers_total", dimensions: [("from", provider), ("kind", error.kind.name)], factory: factory)
            .increment()
        Counter(label: "switchboard_upstream_retries_total", dimensions: [("provider", provider)], factory: factory).increment()
    }
}
