public import Foundation
import GRDB

/// The embedded store: one SQLite file in WAL mode, migrated at open. GRDB runs every statement on its
/// own queue, never on an event loop.
public final class SQLiteStore: KeyStore {
    let pool: DatabasePool
    /// A separate connection for checkpoints, so copying the WAL never waits behind, or holds up, the
    /// ledger's inserts on the pool's writer.
    let checkpointer: DatabaseQueue
    /// The database file.
    public let path: String

    /// Opens (creating if needed) and migrates the database at `path`.
    public init(path: String) throws {
        self.path = path
        var config = Configuration()
        config.busyMode = .timeout(5)
        // WAL with synchronous=NORMAL: a commit is durable against a crash or SIGKILL of the process (the WAL
        // is in the OS's hands), without an fsync per transaction; only a power loss can drop the last ones.
        // Checkpoints run on the ledger's schedule (about once a second), not inside whichever commit pushes
        // the WAL past SQLite's threshold: that commit, and every request waiting on it, would pay for it.
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 0")
        }
        pool = try DatabasePool(path: path, configuration: config)
        try Self.migrator.migrate(pool)
        checkpointer = try DatabaseQueue(path: path, configuration: config)
    }

    /// Versioned migrations, run at start-up; later versions append, never edit.
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1-api-keys") { db in
            try db.create(table: "api_keys") { t in
                t.column("id", .text).primaryKey()
                t.column("name", .text).notNull()
                t.column("user", .text)
                t.column("prefix", .text).notNull()
                t.column("secret_hash", .text).notNull().unique()
                t.column("created_at", .double).notNull()
                t.column("revoked_at", .double)
                t.column("allowed_models", .text)
            }
        }
        registerLedgerMigration(&m)
        return m
    }

    /// The journal mode in force (WAL expected).
    public func journalMode() async throws -> String {
        try await pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
    }

    public func createKey(name: String, user: String?, allowedModels: [String]?) async throws -> (record: APIKeyRecord, secret: String) {
        let secret = APIKeys.generateSecret()
        let record = APIKeyRecord(id: APIKeys.generateID(), name: name, user: user, prefix: String(secret.prefix(10)),
                                  createdAt: Date(), allowedModels: allowedModels)
        let models = try allowedModels.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO api_keys (id, name, user, prefix, secret_hash, created_at, allowed_models)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [record.id, name, user, record.prefix, APIKeys.hash(secret), record.createdAt.timeIntervalSince1970, models])
        }
        return (record, secret)
    }

    public func listKeys() async throws -> [APIKeyRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM api_keys ORDER BY created_at DESC, id").map(Self.record)
        }
    }

    public func revokeKey(id: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                           arguments: [Date().timeIntervalSince1970, id])
            if db.changesCount > 0 { return true }
            return try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM api_keys WHERE id = ?", arguments: [id]) ?? 0 > 0
        }
    }

    public func key(hash: String) async throws -> APIKeyRecord? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM api_keys WHERE secret_hash = ?", arguments: [hash]).map(Self.record)
        }
    }

    /// The stored hash of a key, for tests that check nothing but the hash is kept.
    public func storedSecretHashes() async throws -> [String] {
        try await pool.read { db in try String.fetchAll(db, sql: "SELECT secret_hash FROM api_keys") }
    }

    private static func record(_ row: Row) throws -> APIKeyRecord {
        let models: [String]? = try (row["allowed_models"] as String?).map {
            try JSONDecoder().decode([String].self, from: Data($0.utf8))
        }
        return APIKeyRecord(
            id: row["id"], name: row["name"], user: row["user"], prefix: row["prefix"],
            createdAt: Date(timeIntervalSince1970: row["created_at"]),
            revokedAt: (row["revoked_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
            allowedModels: models)
    }
}
