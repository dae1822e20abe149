import CoreMetrics
import Metrics
import Prometheus
public import SwitchboardCore

/// The gateway's metrics, on swift-metrics with a Prometheus registry of its own (so several servers in
/// one process, as in tests, do not share counters).
public final class GatewayMetrics: Sendable, RouterObserver {
    let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory

    /// A fresh registry.
    public init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        let fast: [Duration] = [.microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
                                .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50)]
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
            .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30), .seconds(60),
        ]
        factory.durationHistogramBuckets = ["switchboard_gateway_overhead_seconds": fast]
        self.factory = factory
    }

    /// Prometheus text exposition.
    public func exposition() -> [UInt8] {
        registry.emitToBuffer()
    }

    /// One finished request.
    func request(route: String, model: String, provider: String, status: Int, total: Duration, upstream: Duration?) {
        Counter(label: "switchboard_requests_total",
                dimensions: [("route", route), ("model", model), ("provider", provider), ("status", String(status))],
                factory: factory).increment()
        Metrics.Timer(label: "switchboard_request_duration_seconds", dimensions: [("route", route)], factory: factory)
            .recordNanoseconds(total.inNanoseconds)
        if let upstream {
            Metrics.Timer(label: "switchboard_upstream_duration_seconds", dimensions: [("provider", provider)], factory: factory)
                .recordNanoseconds(upstream.inNanoseconds)
        }
        Metrics.Timer(label: "switchboard_gateway_overhead_seconds", dimensions: [("route", route)], factory: factory)
            .recordNanoseconds(max(.zero, total - (upstream ?? .zero)).inNanoseconds)
    }

    /// Time until the first streamed token.
    func timeToFirstToken(provider: String, _ d: Duration) {
        Metrics.Timer(label: "switchboard_time_to_first_token_seconds", dimensions: [("provider", provider)], factory: factory)
            .recordNanoseconds(d.inNanoseconds)
    }

    /// Tokens of one finished request.
    func tokens(provider: String, model: String, usage: Usage) {
        let dims = [("provider", provider), ("model", model)]
        Counter(label: "switchboard_input_tokens_total", dimensions: dims, factory: factory).increment(by: usage.inputTokens)
        Counter(label: "switchboard_output_tokens_total", dimensions: dims, factory: factory).increment(by: usage.outputTokens)
    }

    /// A provider's health as 1 (up) or 0 (down); degraded counts as up.
    func providerUp(_ provider: String, _ up: Bool) {
        Gauge(label: "switchboard_provider_up", dimensions: [("provider", provider)], factory: factory).record(up ? 1 : 0)
    }

    /// The ledger's commit counters, read at scrape time.
    func ledger(batches: Int, records: Int) {
        Gauge(label: "switchboard_ledger_batches", factory: factory).record(batches)
        Gauge(label: "switchboard_ledger_records", factory: factory).record(records)
    }

    /// The router moved on from a failed slot: a retry elsewhere.
    public func routerFailedOver(from provider: String, error: ProviderError) {
        Counter(label: "switchboard_failovers_total", dimensions: [("from", provider), ("kind", error.kind.name)], factory: factory)
            .increment()
        Counter(label: "switchboard_upstream_retries_total", dimensions: [("provider", provider)], factory: factory).increment()
    }
}
