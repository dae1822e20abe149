public import Foundation
public import Logging
import PostgresNIO
public import SwitchboardCore
import Synchronization

/// The shared store: PostgreSQL through postgres-nio's connection pool. Several gateway replicas may use
/// one database; keys, the ledger, model mappings and the limit counters are all shared.
public final class PostgresStore: Storage, CounterStore {
    let client: Client
    let logger: Logger
    private let runner: Task<Void, Never>
    private let nextCleanup = Mutex<Int64>(0)
    public let location: String
    public var counters: any CounterStore { self }

    /// How long an operation waits for a connection by default before the store counts as unavailable.
    public static let defaultPoolTimeout: Duration = .seconds(5)

    /// Connects to `url` (`postgres://user:password@host:port/database`, `?sslmode=disable|prefer|require`)
    /// and runs the migrations. Replicas starting together migrate one at a time. An operation still waiting for a
    /// connection once the database has answered nothing for `poolTimeout` throws `StorageError.unavailable`.
    public init(url: String, poolTimeout: Duration = defaultPoolTimeout, logger: Logger) async throws {
        let config = try Self.configuration(url)
        let pool = PostgresClient(configuration: config, backgroundLogger: logger)
        self.logger = logger
        runner = Task { await pool.run() }
        location = "postgres://\(config.host ?? config.unixSocketPath ?? "")/\(config.database ?? "")"
        client = Client(pool: pool, poolTimeout: poolTimeout, location: location)
        do {
            try await migrate()
        } catch {
            runner.cancel()
            throw StorageError.unavailable("cannot prepare the PostgreSQL database at \(location): \(String(reflecting: error))")
        }
    }

    public func close() async {
        runner.cancel()
        _ = await runner.value
    }

    static func configuration(_ url: String) throws -> PostgresClient.Configuration {
        guard let parts = URLComponents(string: url), ["postgres", "postgresql"].contains(parts.scheme ?? ""),
            let host = parts.host, !host.isEmpty
        else {
            throw StorageError.invalidURL("store url must look like postgres://user:password@host:5432/database")
        }
        let database = String(parts.path.drop(while: { $0 == "/" }))
        let mode = parts.queryItems?.first(where: { $0.name == "sslmode" })?.value ?? "prefer"
        let tls: PostgresClient.Configuration.TLS
        switch mode {
        case "disable": tls = .disable
        case "prefer": tls = .prefer(.makeClientConfiguration())
        case "require": tls = .require(.makeClientConfiguration())
        default: throw StorageError.invalidURL("sslmode must be disable, prefer or require, not '\(mode)'")
        }
        var config = PostgresClient.Configuration(
            host: host, port: parts.port ?? 5432, username: parts.user.flatMap { $0.removingPercentEncoding } ?? "postgres",
            password: parts.password.flatMap { $0.removingPercentEncoding }, database: database.isEmpty ? nil : database, tls: tls)
        config.options.maximumConnections = 16
        return config
    }

    /// Versioned migrations; later versions append, never edit.
    static let migrations: [(String, [String])] = [
        (
            "v1-api-keys",
            [
                """
                CREATE TABLE api_keys (id TEXT PRIMARY KEY, name TEXT NOT NULL, user_name TEXT, prefix TEXT NOT NULL,
                  secret_hash TEXT NOT NULL UNIQUE, created_at DOUBLE PRECISION NOT NULL, revoked_at DOUBLE PRECISION,
                  allowed_models TEXT)
                """
            ]
        ),
        (
            "v2-usage-ledger",
            [
                """
                CREATE TABLE usage_ledger (request_id TEXT PRIMARY KEY, ts DOUBLE PRECISION NOT NULL, key_id TEXT, user_name TEXT,
                  task TEXT NOT NULL, provider TEXT, model TEXT, input_tokens BIGINT NOT NULL, output_tokens BIGINT NOT NULL,
                  cached_tokens BIGINT NOT NULL, reasoning_tokens BIGINT NOT NULL, cost_nano_usd BIGINT, estimated BOOLEAN NOT NULL,
                  latency_ms BIGINT NOT NULL, ttft_ms BIGINT, status INTEGER NOT NULL, attempts INTEGER NOT NULL)
                """,
                "CREATE INDEX usage_ledger_ts ON usage_ledger (ts)",
                "CREATE INDEX usage_ledger_key ON usage_ledger (key_id, ts)",
            ]
        ),
        (
            "v3-key-limits-and-model-map",
            [
                "ALTER TABLE api_keys ADD COLUMN limits TEXT",
                """
                CREATE TABLE hf_model_map (task TEXT NOT NULL, hub_model_id TEXT NOT NULL, provider_model_id TEXT NOT NULL,
                  parameters TEXT, PRIMARY KEY (task, hub_model_id))
                """,
                "CREATE TABLE limit_counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL, expires_at BIGINT NOT NULL)",
                "CREATE INDEX limit_counters_expiry ON limit_counters (expires_at)",
            ]
        ),
        ("v4-usage-ledger-route", ["ALTER TABLE usage_ledger ADD COLUMN route TEXT"]),
        (
            "v5-response-cache",
            [
                """
                CREATE TABLE response_cache (key_hash TEXT PRIMARY KEY, body BYTEA NOT NULL, provider TEXT NOT NULL,
                  model TEXT NOT NULL, input_tokens BIGINT NOT NULL, output_tokens BIGINT NOT NULL,
                  cached_tokens BIGINT NOT NULL, reasoning_tokens BIGINT NOT NULL, expires_at DOUBLE PRECISION NOT NULL)
                """,
                "CREATE INDEX response_cache_expiry ON response_cache (expires_at)",
                "ALTER TABLE usage_ledger ADD COLUMN cache TEXT",
            ]
        ),
        (
            "v6-usage-ledger-cost-by-class",
            [
                "ALTER TABLE usage_ledger ADD COLUMN cache_write_tokens BIGINT NOT NULL DEFAULT 0",
                "ALTER TABLE usage_ledger ADD COLUMN cost_input_nano_usd BIGINT",
                "ALTER TABLE usage_ledger ADD COLUMN cost_cache_read_nano_usd BIGINT",
                "ALTER TABLE usage_ledger ADD COLUMN cost_cache_write_nano_usd BIGINT",
                "ALTER TABLE usage_ledger ADD COLUMN cost_output_nano_usd BIGINT",
                "ALTER TABLE usage_ledger ADD COLUMN cost_reasoning_nano_usd BIGINT",
            ]
        ),
        responsesMigration,
        ("v8-key-scopes", ["ALTER TABLE api_keys ADD COLUMN scopes TEXT"]),
        ("v9-usage-ledger-msats", ["ALTER TABLE usage_ledger ADD COLUMN cost_msats BIGINT"]),
    ]

    /// How long start-up waits for the database: one started alongside the gateway may take a while to accept.
    static let startupTimeout: Duration = .seconds(60)

    private func migrate() async throws {
        let patient = Client(pool: client.pool, poolTimeout: max(client.poolTimeout, Self.startupTimeout), location: location)
        try await patient.withTransaction(logger: logger) { [logger] conn in
            // One replica migrates at a time; the others wait here and then find nothing to do. (Even
            // CREATE TABLE IF NOT EXISTS races when run concurrently, so it too waits for the lock.)
            try await conn.query("SELECT pg_advisory_xact_lock(7262737761)", logger: logger)
            try await conn.query(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)
                """, logger: logger)
            var applied = Set<String>()
            for try await version in try await conn.query("SELECT version FROM schema_migrations", logger: logger).decode(String.self) {
                applied.insert(version)
            }
            for (version, statements) in Self.migrations where !applied.contains(version) {
                for sql in statements { try await conn.query(PostgresQuery(unsafeSQL: sql), logger: logger) }
                let now = Date().timeIntervalSince1970
                try await conn.query("INSERT INTO schema_migrations (version, applied_at) VALUES (\(version), \(now))", logger: logger)
            }
        }
    }

    /// The migrations applied, in order.
    public func appliedMigrations() async throws -> [String] {
        var out: [String] = []
        for try await v in try await client.query("SELECT version FROM schema_migrations ORDER BY applied_at, version", logger: logger)
            .decode(String.self)
        { out.append(v) }
        return out
    }

    // MARK: keys

    public func createKey(_ key: NewAPIKey) async throws -> (record: APIKeyRecord, secret: String) {
        let (record, secret) = key.make()
        let c = try KeyColumns(record)
        let hash = APIKeys.hash(secret)
        try await client.query(
            """
            INSERT INTO api_keys (id, name, user_name, prefix, secret_hash, created_at, allowed_models, limits, scopes)
            VALUES (\(record.id), \(record.name), \(record.user), \(record.prefix), \(hash),
                    \(record.createdAt.timeIntervalSince1970), \(c.models), \(c.limits), \(c.scopes))
            """, logger: logger)
        return (record, secret)
    }

    private static let keyColumns = "id, name, user_name, prefix, created_at, revoked_at, allowed_models, limits, scopes"

    private func keys(_ query: PostgresQuery) async throws -> [APIKeyRecord] {
        var out: [APIKeyRecord] = []
        let rows = try await client.query(query, logger: logger)
        for try await (id, name, user, prefix, created, revoked, models, limits, scopes)
            in rows.decode((String, String, String?, String, Double, Double?, String?, String?, String?).self)
        {
            out.append(
                try KeyColumns(models: models, limits: limits, scopes: scopes).record(
                    id: id, name: name, user: user, prefix: prefix, createdAt: Date(timeIntervalSince1970: created),
                    revokedAt: revoked.map(Date.init(timeIntervalSince1970:))))
        }
        return out
    }

    public func listKeys() async throws -> [APIKeyRecord] {
        try await keys(PostgresQuery(unsafeSQL: "SELECT \(Self.keyColumns) FROM api_keys ORDER BY created_at DESC, id"))
    }

    public func revokeKey(id: String) async throws -> Bool {
        let now = Date().timeIntervalSince1970
        let rows = try await client.query(
            "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, \(now)) WHERE id = \(id) RETURNING id",
            logger: logger)
        for try await _ in rows.decode(String.self) { return true }
        return false
    }

    public func key(hash: String) async throws -> APIKeyRecord? {
        var binds = PostgresBindings()
        binds.append(hash)
        return try await keys(PostgresQuery(unsafeSQL: "SELECT \(Self.keyColumns) FROM api_keys WHERE secret_hash = $1", binds: binds))
            .first
    }

    // MARK: model map

    public func saveMapping(_ m: HubModelMapping) async throws {
        try await client.query(
            """
            INSERT INTO hf_model_map (task, hub_model_id, provider_model_id, parameters)
            VALUES (\(m.task), \(m.hubModelID), \(m.providerModelID), \(m.parameters))
            ON CONFLICT (task, hub_model_id) DO UPDATE SET provider_model_id = EXCLUDED.provider_model_id,
              parameters = EXCLUDED.parameters
            """, logger: logger)
    }

    public func mappings(task: String?) async throws -> [HubModelMapping] {
        let rows: PostgresRowSequence
        if let task {
            rows = try await client.query(
                """
                SELECT task, hub_model_id, provider_model_id, parameters FROM hf_model_map WHERE task = \(task)
                ORDER BY task, hub_model_id
                """, logger: logger)
        } else {
            rows = try await client.query(
                "SELECT task, hub_model_id, provider_model_id, parameters FROM hf_model_map ORDER BY task, hub_model_id",
                logger: logger)
        }
        var out: [HubModelMapping] = []
        for try await (t, hub, provider, params) in rows.decode((String, String, String, String?).self) {
            out.append(HubModelMapping(task: t, providerModelID: provider, hubModelID: hub, parameters: params))
        }
        return out
    }

    /// Deletes expired limit counters about once a minute.
    func cleanupCounters(now: Int64) async throws {
        let due = nextCleanup.withLock { next -> Bool in
            guard now >= next else { return false }
            next = now + 60
            return true
        }
        guard due else { return }
        try await client.query("DELETE FROM limit_counters WHERE expires_at < \(now)", logger: logger)
    }
}

/// A store could not be opened or used.
public enum StorageError: Error, CustomStringConvertible {
    case invalidURL(String)
    case unavailable(String)

    public var description: String {
        switch self {
        case .invalidURL(let m), .unavailable(let m): m
        }
    }
}
