public import Foundation
public import Hummingbird
public import Logging
import HummingbirdCore
import NIOCore
public import ServiceLifecycle
public import SwitchboardCore
public import SwitchboardStorage
public import UnixSignals

/// `switchboard serve`: the OpenAI-compatible HTTP gateway over a `Gateway`.
public struct GatewayServer: Sendable {
    /// Listening, limits and auth.
    public struct Options: Sendable {
        public var host = "127.0.0.1"
        public var port = 8080
        public var maxBodyBytes = 1 << 20
        public var requestTimeout: Duration = .seconds(600)
        /// A connection owing no response must send a whole request head within this, else it is closed.
        public var headerTimeout: Duration = .seconds(60)
        /// A request's body must arrive within this after its head, else the connection is closed.
        public var bodyTimeout: Duration = .seconds(60)
        /// How long a looked-up API key is trusted before the store is asked again (revocation takes this long, and
        /// the lookup that follows).
        public var keyCacheTTL: Duration = .seconds(1)
        /// Wall-clock time for rate-limit windows and budget periods; tests pin it rather than wait for a fresh minute.
        public var clock: @Sendable () -> Date = { Date() }
        /// Client connections past this many are refused with a 503; nil: from the process's descriptor limit.
        public var maxConnections: Int?
        public var drainTimeout: Duration = .seconds(30)
        public var healthInterval: Duration = .seconds(30)
        /// The master key in clear; only its hash is kept.
        public var masterKey: String?
        /// False for `[server] auth = "none"`.
        public var requireKeys = true
        /// Gateway-wide and per-user limits (`[limits]`); keys carry their own.
        public var limits = QuotaEnforcer.Configuration()
        /// Answer the chat route from a channel handler instead of through Hummingbird's async channel (`DirectRouteHandler`).
        public var directRoutes = true
        /// With `directRoutes`: non-streamed chat completions that need nothing to wait for are answered on the
        /// connection's event loop without a task; false runs every one as a task through the router.
        public var loopChat = true
        /// The response cache (`[cache]`); nil: off.
        public var cache: ResponseCache?
        /// How long stored responses (`/v1/responses` with `store`) are kept; nil: until deleted.
        public var responseRetention: Duration? = .seconds(30 * 86_400)
        /// Where request spans go (`[telemetry]`, `OTEL_*`); nil: no tracing. With tracing, every request runs as a
        /// task (the event-loop execution has no place for spans).
        public var tracing: RequestTracing?

        /// Defaults.
        public init() {}
    }

    public let gateway: Gateway
    public let store: any Storage
    /// Rate limits and budgets, over the store's counters.
    public let quotas: QuotaEnforcer
    /// Commits a usage record per request; nil runs without a ledger.
    public let ledger: LedgerWriter?
    public let options: Options
    public let metrics: GatewayMetrics
    public let logger: Logger
    let prober: HealthProber
    /// Open client connections, against `Options.maxConnections`.
    let connections: ConnectionCount
    /// The billed requests still to be recorded, which the ledger waits for at shutdown.
    let drain = DrainState()

    /// Creates the server; `metrics` should be the observer the gateway's router was built with.
    public init(
        gateway: Gateway, store: any Storage, ledger: LedgerWriter?, options: Options, metrics: GatewayMetrics,
        logger: Logger
    ) {
        self.gateway = gateway
        self.store = store
        // After a restart, in-memory budget counters start from what the ledger says was spent.
        let spend: QuotaEnforcer.SpendSource? =
            ledger == nil
            ? nil
            : { @Sendable key, user, since in
                try await store.spend(keyID: key, user: user, since: since)
            }
        self.quotas = QuotaEnforcer(configuration: options.limits, counters: store.counters, spendSource: spend, clock: options.clock)
        // Replicas that share their counters (PostgreSQL) share each lane's budget, and the swarm's, too.
        if !(store.counters is any ImmediateCounterStore) {
            for lane in gateway.lanes.byName.values where lane.plan.budget != nil { lane.keepSpend(in: store.counters) }
            for case let spender as any SharedSpending in gateway.providers { spender.keepSpend(in: store.counters) }
        }
        self.ledger = ledger
        self.options = options
        self.metrics = metrics
        self.logger = logger
        self.connections = ConnectionCount(limit: options.maxConnections ?? ConnectionCount.defaultLimit())
        self.prober = HealthProber(gateway: gateway, metrics: metrics, interval: options.healthInterval, logger: logger)
        let catalog = gateway.catalog
        // The models the configuration names (prices, router slots, the default), known before any listing arrives.
        var configured = Set(gateway.prices.prices.keys)
        for slot in gateway.router.slots { if let model = slot.model { configured.insert("\(slot.provider.id)/\(model)") } }
        if let model = gateway.defaultModel { configured.insert(model) }
        metrics.limitLabels(
            to: .init(
                isKnownModel: { [configured] in configured.contains($0) || catalog.knows($0) },
                isKnownProvider: { $0 == gateway.router.id || gateway.provider(id: $0) != nil }))
    }

    /// The latest probe results, by provider.
    public var providerStatus: [String: ProviderHealth.Status] { prober.current }

    /// The router with every route and the middleware, and the pipeline they share.
    func makeRouter() -> (Router<GatewayRequestContext>, RequestPipeline) {
        let router = Router(context: GatewayRequestContext.self)
        let usage = UsageLedger(writer: ledger, prices: gateway.prices, sats: gateway.sats, quotas: quotas, logger: logger)
        let mode: Authenticator.Mode = options.requireKeys ? .keys(masterKeyHash: options.masterKey.map(APIKeys.hash)) : .none
        let pipeline = RequestPipeline(
            gateway: gateway, ledger: usage, metrics: metrics,
            authenticator: Authenticator(mode: mode, store: store, cacheTTL: options.keyCacheTTL),
            options: .init(
                maxBodyBytes: options.maxBodyBytes, requestTimeout: options.requestTimeout,
                responseRetention: options.responseRetention), drain: drain,
            cache: options.cache, tracing: options.tracing, logger: logger)
        router.add(middleware: GatewayMiddleware(pipeline: pipeline))
        GatewayRoutes(pipeline: pipeline, prober: prober, store: store, startedAt: .now).register(on: router)
        return (router, pipeline)
    }

    /// The server and its services: routes, middleware and the background prober.
    public func makeApplication(
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    )
        -> some Service
    {
        let (router, pipeline) = makeRouter()
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .notice)
        let responder = router.buildResponder()
        let serverName = "switchboard"
        let direct =
            options.directRoutes
            ? DirectRoutes(
                respond: { try await responder.respond(to: $0, context: $1) }, paths: ["/v1/chat/completions"],
                maxBodyBytes: options.maxBodyBytes, serverName: serverName, logger: quiet,
                chat: options.loopChat && options.tracing == nil ? DirectChat(pipeline: pipeline) : nil)
            : nil
        let limits = ConnectionLimits(
            headerTimeout: options.headerTimeout, bodyTimeout: options.bodyTimeout,
            maxBodyBytes: options.maxBodyBytes)
        let server = HTTPServerBuilder.gateway(connections: connections, limits: limits, direct: direct)
        return GatewayApplication(
            responder: responder,
            server: server,
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: serverName),
            // Shut down in reverse: the server drains first, the ledger commits last.
            services: (ledger.map { [LedgerService(writer: $0, drain: drain)] as [any Service] } ?? []) + [prober, MemoryTrimmer()],
            onServerRunning: onServerRunning,
            logger: quiet)
    }

    /// Serves until SIGTERM or SIGINT, then stops accepting, lets in-flight work finish within the drain
    /// timeout, and returns. `services` (a span exporter, say) run beside it and stop after it.
    public func run(
        services: [any Service] = [], onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) async throws {
        try await makeServiceGroup(signals: [.sigterm, .sigint], services: services, onServerRunning: onServerRunning).run()
    }

    /// The service group `run` uses; tests trigger its graceful shutdown directly.
    public func makeServiceGroup(
        signals: [UnixSignal], services: [any Service] = [],
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) -> ServiceGroup {
        let app = makeApplication(onServerRunning: onServerRunning)
        var config = ServiceGroupConfiguration(
            // A group stops its services in reverse: those given here stop last.
            services: services.map { .init(service: $0) } + [
                .init(service: app, successTerminationBehavior: .gracefullyShutdownGroup),
                .init(
                    service: StreamCutService(streams: drain.streams, drainTimeout: options.drainTimeout),
                    successTerminationBehavior: .ignore),
            ],
            gracefulShutdownSignals: signals,
            logger: logger)
        config.maximumGracefulShutdownDuration = options.drainTimeout
        return ServiceGroup(configuration: config)
    }
}
