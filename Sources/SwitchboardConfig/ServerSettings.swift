public import SwitchboardProviders
/// `[server]`: how `switchboard serve` listens and guards itself.
public struct ServerSettings: Sendable, Hashable {
    public var host = "127.0.0.1"
    public var port = 8080
    /// Larger request bodies get 413.
    public var maxBodyBytes = 1 << 20
    /// Whole-request deadline for a non-streamed call's upstream work (streams have first-byte and idle timeouts).
    public var requestTimeoutSeconds = 600
    /// A client connection owing no response must send a whole request head within this (idle keep-alive
    /// connections and slow headers alike), else it is closed.
    public var headerTimeoutSeconds = 60
    /// A request's body must arrive within this after its head, else the connection is closed.
    public var bodyTimeoutSeconds = 60
    /// Client connections past this many are refused with a 503; nil: half the process's descriptor limit, at most 10,000.
    public var maxConnections: Int?
    /// How long in-flight requests and streams may run after SIGTERM/SIGINT.
    public var drainTimeoutSeconds = 30
    /// The admin key; `env:NAME` reads a variable.
    public var masterKey: SecretSource?
    /// `keys` (default) or `none` for keyless local use.
    public var auth: AuthMode = .keys
    /// Seconds between background health probes.
    public var healthIntervalSeconds = 30
    /// Longest wait for a TCP (and TLS) connection to an upstream.
    public var upstreamConnectTimeoutSeconds = 10
    /// An idle kept-alive upstream connection is closed after this long.
    public var upstreamIdleTimeoutSeconds = 30
    /// A streamed call's longest wait for its first body byte (a provider's `first_byte_timeout_seconds` overrides it).
    public var upstreamFirstByteTimeout: Duration = .seconds(120)
    /// A streamed call's longest silence once its body began (a provider's `stream_idle_timeout_seconds` overrides it).
    public var upstreamStreamIdleTimeout: Duration = .seconds(300)
    /// Answer `POST /v1/chat/completions` from a channel handler (false: through Hummingbird's async channel
    /// like every other route; the same handlers either way).
    public var directRoutes = true
    /// With `directRoutes`, answer non-streamed chat completions that need nothing to wait for on the
    /// connection's event loop without a task (false: every one as a task through the router).
    public var loopChat = true

    /// Authentication modes.
    public enum AuthMode: String, Sendable, Hashable {
        case keys, none
    }

    /// Defaults.
    public init() {}
}

/// `[store]`: where keys (and later the ledger) live.
public struct StoreSettings: Sendable, Hashable {
    /// SQLite file path.
    public var path = "switchboard.db"
    /// A PostgreSQL URL (`postgres://...`, or `env:NAME`); when set, it is the store instead of SQLite.
    public var url: SecretSource?
    /// Record every request in the usage ledger (off only to measure what it costs).
    public var ledger = true
    /// `pool_timeout_seconds`: how long PostgreSQL may answer nothing while an operation waits for a connection
    /// before the store counts as unavailable (the request then gets a 503).
    public var poolTimeout: Duration = .seconds(5)

    /// Defaults.
    public init() {}
}
