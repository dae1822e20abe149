import Foundation
import Logging
import PostgresNIO

/// The PostgreSQL server the test script started (`scripts/with-postgres`), if any.
public enum TestPostgres {
    /// `SWITCHBOARD_TEST_POSTGRES_URL`: the server's `postgres` database.
    public static var url: String? { ProcessInfo.processInfo.environment["SWITCHBOARD_TEST_POSTGRES_URL"] }
    /// `scripts/test` sets `SWITCHBOARD_REQUIRE_POSTGRES=1`: there a missing server fails a test instead of skipping it.
    public static var required: Bool { ProcessInfo.processInfo.environment["SWITCHBOARD_REQUIRE_POSTGRES"] == "1" }

    /// Creates an empty database on the test server and returns its URL.
    public static func freshDatabase() async throws -> String {
        guard let base = url, var parts = URLComponents(string: base) else { throw Unavailable() }
        let name = "sb_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        let config = PostgresClient.Configuration(
            host: parts.host ?? "127.0.0.1", port: parts.port ?? 5432,
            username: parts.user ?? "postgres", password: parts.password,
            database: String(parts.path.dropFirst()), tls: .disable)
        var logger = Logger(label: "test-postgres")
        logger.logLevel = .critical
        let client = PostgresClient(configuration: config, backgroundLogger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
            group.cancelAll()
        }
        parts.path = "/" + name
        return parts.string! + (parts.query == nil ? "?sslmode=disable" : "")
    }

    /// `url` with its host and port replaced (to reach the server through a `TCPRelay`).
    public static func via(_ url: String, host: String = "127.0.0.1", port: Int) -> String {
        guard var parts = URLComponents(string: url) else { return url }
        parts.host = host
        parts.port = port
        return parts.string ?? url
    }

    /// Thrown when no test server was started.
    public struct Unavailable: Error, CustomStringConvertible {
        public var description: String { "SWITCHBOARD_TEST_POSTGRES_URL is not set" }
    }
}
