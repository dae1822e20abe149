import Foundation
import Logging
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

    static var postgresURL: String? { TestPostgres.url }
    static var postgresRequired: Bool { TestPostgres.required }
    static var available: [StoreKind] { postgresURL == nil ? [.sqlite] : [.sqlite, .postgres] }

    var testDescription: String { rawValue }

    /// A fresh, empty store: a new SQLite file, or a new PostgreSQL database.
    func make() async throws -> any Storage {
        switch self {
        case .sqlite: return try SQLiteStore(path: temporaryDatabase())
        case .postgres: return try await PostgresStore(url: try await TestPostgres.freshDatabase(), logger: quietLogger)
        }
    }
}

let quietLogger: Logger = {
    var l = Logger(label: "test")
    l.logLevel = .critical
    return l
}()
