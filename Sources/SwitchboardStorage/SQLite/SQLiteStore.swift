public import Foundation
import GRDB
public import SwitchboardCore

/// The embedded store: one SQLite file in WAL mode, migrated at open. GRDB runs every statement on its
/// own queue, never on an event loop.
public final class SQLiteStore: Storage {
    let pool: DatabasePool
    /// A separate connection for checkpoints, so copying the WAL never waits behind, or holds up, the
    /// ledger's inserts on the pool's writer.
    let checkpointer: DatabaseQueue
    /// The ledger's journal, when this instance owns it (see `LedgerJournal`); nil in a second process
    /// opening the same database, which then writes its records straight into the tables.
    let journal: LedgerJournal?
    private let lastCheckpoint = NSLock()
    nonisolated(unsafe) private var checkpointedAt = ContinuousClock.now
    nonisolated(unsafe) private var walWritten = false
    /// The database file.
    public let path: String
    /// One instance, so counters live in memory.
    public let counters: any CounterStore = InMemoryCounterStore()
    public var location: String { "sqlite:\(path)" }

    /// Opens (creating if needed) and migrates the database at `path`.
    public convenience init(path: String) throws {
        try self.init(path: path, journalSegmentBytes: LedgerJournal.defaultSegmentBytes)
    }

    init(path: String, journalSegmentBytes: Int) throws {
        self.path = path
        var config = Configuration()
        config.busyMode = .timeout(5)
        // WAL with synchronous=NORMAL: a commit is durable against a crash or SIGKILL of the process (the WAL
        // is in the OS's hands), without an fsync per transaction; only a power loss can drop the last ones.
        // Checkpoints run on the ledger's schedule (about once a second), not inside whichever commit pushes
        // the WAL past SQLite's threshold: that commit, and every request waiting on it, would pay for it.
        config.prepareDatabase { db in
            db.add(function: SaturatingSum.function)
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 0")
            // 512 KiB of page cache a connection instead of SQLite's 2 MB: the ledger appends at the right edge
            // of its b-trees, and the OS's file cache answers the rest, with less resident memory.
            try db.execute(sql: "PRAGMA cache_size = -512")
        }
        // Owner-only, as the journals are: SQLite gives the -wal and -shm files the database file's mode.
        let fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
        if fd >= 0 { Glibc.close(fd) }
        pool = try DatabasePool(path: path, configuration: config)
        try Self.migrator.migrate(pool)
        checkpointer = try DatabaseQueue(path: path, configuration: config)
        journal = try LedgerJournal(databasePath: path, segmentBytes: journalSegmentBytes)
        if let journal {
            // What a previous owner journaled and had not moved yet goes into the tables before anything else.
            let left = try journal.leftovers()
            if !left.isEmpty {
                try pool.write { db in try Self.insert(left.lazy.flatMap(\.records), db, ignoringDuplicates: true) }
                journal.moved(left)
            }
            try journal.start(after: left.last?.number ?? 0)
        }
    }

    /// Readies the journal's next segment, moves journaled records into the tables and, about once a
    /// second, checkpoints the WAL. An idle store does nothing: no empty transaction, no checkpoint.
    public func maintain() throws {
        if let journal {
            try journal.prepare()
            if journal.pending > 0 { try moveJournal() }
        }
        let due = lastCheckpoint.withLock { () -> Bool in
            guard walWritten, ContinuousClock.now - checkpointedAt >= .seconds(1) else { return false }
            checkpointedAt = .now
            walWritten = false
            return true
        }
        if due { try checkpointer.writeWithoutTransaction { db in _ = try db.checkpoint(.passive) } }
    }

    /// Notes that ledger rows went into the WAL, for the next checkpoint.
    func ledgerWritten() {
        lastCheckpoint.withLock { walWritten = true }
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
        m.registerMigration("v3-key-limits-and-model-map") { db in
            try db.alter(table: "api_keys") { t in t.add(column: "limits", .text) }
            try db.create(table: "hf_model_map") { t in
                t.column("task", .text).notNull()
                t.column("hub_model_id", .text).notNull()
                t.column("provider_model_id", .text).notNull()
                t.column("parameters", .text)
                t.primaryKey(["task", "hub_model_id"])
            }
        }
        registerLedgerWithoutRowIDMigration(&m)
        registerLedgerRouteMigration(&m)
        registerResponseCacheMigration(&m)
        registerLedgerCostByClassMigration(&m)
        registerResponsesMigration(&m)
        m.registerMigration("v9-key-scopes") { db in
            try db.alter(table: "api_keys") { t in t.add(column: "scopes", .text) }
        }
        registerLedgerMsatsMigration(&m)
        return m
    }

    /// The journal mode in force (WAL expected).
    public func journalMode() async throws -> String {
        try await pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
    }

    public func close() async {
        if let journal {
            do {
                try moveJournal()
                journal.release(removingUnused: true)
            } catch {
                // Nothing is lost: the records stay in the journal's files, and the next owner moves them first.
                journal.release()
            }
        }
        try? pool.close()
        try? checkpointer.close()
    }

    public func createKey(_ key: NewAPIKey) async throws -> (record: APIKeyRecord, secret: String) {
        let (record, secret) = key.make()
        let columns = try KeyColumns(record)
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO api_keys (id, name, user, prefix, secret_hash, created_at, allowed_models, limits, scopes)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    record.id, record.name, record.user, record.prefix, APIKeys.hash(secret),
                    record.createdAt.timeIntervalSince1970, columns.models, columns.limits, columns.scopes,
                ])
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
            try db.execute(
                sql: "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
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
        try KeyColumns(models: row["allowed_models"], limits: row["limits"], scopes: row["scopes"]).record(
            id: row["id"], name: row["name"], user: row["user"], prefix: row["prefix"],
            createdAt: Date(timeIntervalSince1970: row["created_at"]),
            revokedAt: (row["revoked_at"] as Double?).map(Date.init(timeIntervalSince1970:)))
    }

    public func saveMapping(_ mapping: HubModelMapping) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO hf_model_map (task, hub_model_id, provider_model_id, parameters) VALUES (?, ?, ?, ?)
                    ON CONFLICT (task, hub_model_id) DO UPDATE SET provider_model_id = excluded.provider_model_id,
                      parameters = excluded.parameters
                    """,
                arguments: [mapping.task, mapping.hubModelID, mapping.providerModelID, mapping.parameters])
        }
    }

    public func mappings(task: String?) async throws -> [HubModelMapping] {
        try await pool.read { db in
            let rows =
                try task.map {
                    try Row.fetchAll(db, sql: "SELECT * FROM hf_model_map WHERE task = ? ORDER BY task, hub_model_id", arguments: [$0])
                } ?? Row.fetchAll(db, sql: "SELECT * FROM hf_model_map ORDER BY task, hub_model_id")
            return rows.map {
                HubModelMapping(
                    task: $0["task"], providerModelID: $0["provider_model_id"], hubModelID: $0["hub_model_id"],
                    parameters: $0["parameters"])
            }
        }
    }
}
