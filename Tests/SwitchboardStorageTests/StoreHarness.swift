import Foundation
import Logging
import PostgresNIO
import SwitchboardCore
import SwitchboardStorage
import Testing
import SwitchboardTesting

func temporaryDatabase() -> String {
    ScratchFiles.path("sb", suffix: ".db")
}

/// The stores the shared suite runs against. PostgreSQL joins when the test script started one
/// (`SWITCHBOARD_TEST_POSTGRES_URL`); `scripts/test` sets `SWITCHBOARD_REQUIRE_POSTGRES=1`, so there a
/// missing server fails the run instead of quietly testing SQLite alone.
enum StoreKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite, postgres

    static var postgresURL: String? { ProcessInfo.processInfo.environment["SWITCHBOARD_TEST_POSTGRES_URL"] }
    static var postgresRequired: Bool { ProcessInfo.processInfo.environment["SWITCHBOARD_REQUIRE_POSTGRES"] == "1" }
    static var available: [StoreKind] { postgresURL == nil ? [.sqlite] : [.sqlite, .postgres] }

    var testDescription: String { rawValue }

    /// A fresh, empty store: a new SQLite file, or a new PostgreSQL database.
    func make() async throws -> any Storage {
        switch self {
        case .sqlite: return try SQLiteStore(path: temporaryDatabase())
        case .postgres: return try await PostgresStore(url: try await freshPostgresDatabase(), logger: quietLogger)
        }
    }
}

let quietLogger: Logger = {
    var l = Logger(label: "test")
    l.logLevel = .critical
    return l
}()

/// Creates an empty database on the test server and returns its URL.
func freshPostgresDatabase() async throws -> String {
    guard let base = StoreKind.postgresURL, var parts = URLComponents(string: base) else {
        throw PostgresUnavailable()
    }
    let name = "sb_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
    let config = PostgresClient.Configuration(
        host: parts.host ?? "127.0.0.1", port: parts.port ?? 5432,
        username: parts.user ?? "postgres", password: parts.password,
        database: String(parts.path.dropFirst()), tls: .disable)
    let client = PostgresClient(configuration: config, backgroundLogger: quietLogger)
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await client.run() }
        try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: quietLogger)
        group.cancelAll()
    }
    parts.path = "/" + name
    return parts.string! + (parts.query == nil ? "?sslmode=disable" : "")
}

struct PostgresUnavailable: Error, CustomStringConvertible {
    var description: String { "SWITCHBOARD_TEST_POSTGRES_URL is not set" }
}
