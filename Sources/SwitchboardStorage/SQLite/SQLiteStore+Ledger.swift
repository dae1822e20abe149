public import Foundation
import GRDB
import GRDBSQLite
import SwitchboardCore

extension SQLiteStore: ImmediateLedgerStore {
    static func registerLedgerMigration(_ m: inout DatabaseMigrator) {
        m.registerMigration("v2-usage-ledger") { db in
            try db.create(table: "usage_ledger") { t in
                t.column("request_id", .text).primaryKey()
                t.column("ts", .double).notNull()
                t.column("key_id", .text)
                t.column("user", .text)
                t.column("task", .text).notNull()
                t.column("provider", .text)
                t.column("model", .text)
                t.column("input_tokens", .integer).notNull()
                t.column("output_tokens", .integer).notNull()
                t.column("cached_tokens", .integer).notNull()
                t.column("reasoning_tokens", .integer).notNull()
                t.column("cost_nano_usd", .integer)
                t.column("estimated", .boolean).notNull()
                t.column("latency_ms", .integer).notNull()
                t.column("ttft_ms", .integer)
                t.column("status", .integer).notNull()
                t.column("attempts", .integer).notNull()
            }
            try db.create(index: "usage_ledger_ts", on: "usage_ledger", columns: ["ts"])
            try db.create(index: "usage_ledger_key", on: "usage_ledger", columns: ["key_id", "ts"])
        }
    }

    /// The ledger keyed by its request id alone: a rowid table with a text primary key is two b-trees, and
    /// every commit wrote (and checksummed into the WAL) a page of each, plus one per index. Request ids are
    /// time-ordered (UUID v7), so rows still go in at the right edge.
    static func registerLedgerWithoutRowIDMigration(_ m: inout DatabaseMigrator) {
        m.registerMigration("v4-usage-ledger-without-rowid") { db in
            try db.execute(
                sql: """
                    CREATE TABLE usage_ledger_v4 (
                      request_id TEXT NOT NULL PRIMARY KEY, ts DOUBLE NOT NULL, key_id TEXT, user TEXT, task TEXT NOT NULL,
                      provider TEXT, model TEXT, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
                      cached_tokens INTEGER NOT NULL, reasoning_tokens INTEGER NOT NULL, cost_nano_usd INTEGER,
                      estimated BOOLEAN NOT NULL, latency_ms INTEGER NOT NULL, ttft_ms INTEGER, status INTEGER NOT NULL,
                      attempts INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    INSERT INTO usage_ledger_v4 (request_id, ts, key_id, user, task, provider, model, input_tokens, output_tokens,
                      cached_tokens, reasoning_tokens, cost_nano_usd, estimated, latency_ms, ttft_ms, status, attempts)
                    SELECT request_id, ts, key_id, user, task, provider, model, input_tokens, output_tokens,
                      cached_tokens, reasoning_tokens, cost_nano_usd, estimated, latency_ms, ttft_ms, status, attempts FROM usage_ledger;
                    DROP TABLE usage_ledger;
                    ALTER TABLE usage_ledger_v4 RENAME TO usage_ledger;
                    CREATE INDEX usage_ledger_ts ON usage_ledger(ts);
                    CREATE INDEX usage_ledger_key ON usage_ledger(key_id, ts);
                    """)
        }
    }

    /// The cost by token class of a row, when it has one.
    static func costs(_ row: Row) -> CostBreakdown? {
        guard let input: Int64 = row["cost_input_nano_usd"] else { return nil }
        return CostBreakdown(
            input: NanoUSD(input), cacheRead: NanoUSD(row["cost_cache_read_nano_usd"] ?? 0),
            cacheWrite: NanoUSD(row["cost_cache_write_nano_usd"] ?? 0), output: NanoUSD(row["cost_output_nano_usd"] ?? 0),
            reasoning: NanoUSD(row["cost_reasoning_nano_usd"] ?? 0))
    }

    /// Cache-write tokens and the cost by token class.
    static func registerLedgerCostByClassMigration(_ m: inout DatabaseMigrator) {
        m.registerMigration("v7-usage-ledger-cost-by-class") { db in
            try db.execute(sql: "ALTER TABLE usage_ledger ADD COLUMN cache_write_tokens INTEGER NOT NULL DEFAULT 0")
            for column in ["input", "cache_read", "cache_write", "output", "reasoning"] {
                try db.execute(sql: "ALTER TABLE usage_ledger ADD COLUMN cost_\(column)_nano_usd INTEGER")
            }
        }
    }

    /// What a call was paid in msats.
    static func registerLedgerMsatsMigration(_ m: inout DatabaseMigrator) {
        m.registerMigration("v10-usage-ledger-msats") { db in
            try db.execute(sql: "ALTER TABLE usage_ledger ADD COLUMN cost_msats INTEGER")
        }
    }

    /// Where a routed request went.
    static func registerLedgerRouteMigration(_ m: inout DatabaseMigrator) {
        m.registerMigration("v5-usage-ledger-route") { db in
            try db.execute(sql: "ALTER TABLE usage_ledger ADD COLUMN route TEXT")
        }
    }

    public func append(_ records: [UsageRecord]) async throws {
        guard !records.isEmpty else { return }
        try await pool.write { db in try Self.insert(records, db) }
        ledgerWritten()
    }

    /// Appends on the calling thread (the ledger writer's own): to the journal when this instance owns it,
    /// else in one transaction. Refuses the whole batch when a request id is already recorded.
    public func appendBlocking(_ records: [UsageRecord]) throws {
        guard !records.isEmpty else { return }
        guard let journal else {
            try pool.write { db in try Self.insert(records, db) }
            ledgerWritten()
            return
        }
        let ids = records.map(\.requestID)
        let taken = try pool.read { db in
            let marks = Array(repeating: "?", count: ids.count).joined(separator: ",")
            return try String.fetchOne(
                db, sql: "SELECT request_id FROM usage_ledger WHERE request_id IN (\(marks)) LIMIT 1",
                arguments: StatementArguments(ids))
        }
        if let taken { throw JournalError.duplicate(taken) }
        _ = try journal.append(records, immediate: false)
    }

    /// Journals one record from an event loop without blocking; false when only `appendBlocking` can take it.
    /// Only the journal's unmoved records are checked for its id: reading the tables would block.
    public func appendImmediately(_ record: UsageRecord) throws -> Bool {
        guard let journal else { return false }
        return try journal.append(record, immediate: true)
    }

    /// Transactions and records moved from the journal into the tables.
    public var immediateStatistics: (batches: Int, records: Int) { journal?.statistics ?? (0, 0) }

    /// Called when an event loop takes the journal's spare segment.
    public func onRoomWanted(_ wanted: @escaping @Sendable () -> Void) {
        journal?.onSpareTaken(wanted)
    }

    /// Readies a spare segment; true when the journal holds more closed segments than a round leaves.
    public func prepareRoom() throws -> Bool {
        guard let journal else { return false }
        try journal.prepare()
        return journal.closedSegments >= LedgerJournal.closedSegmentsBeforeMove
    }

    /// Moves every journaled record into the tables, in one transaction, and deletes the journal files
    /// behind them. A record moved twice (a crash between the commit and the deletion) is kept once.
    func moveJournal() throws {
        guard let journal else { return }
        let token = journal.newClaimToken()
        let segments: [LedgerJournal.Segment], inserted: Int
        do {
            (segments, inserted) = try pool.write { db in try Self.move(journal, token, db) }
        } catch {
            journal.unclaim(token)
            throw error
        }
        journal.moved(segments, token: token)
        ledgerWritten()
        let repeated = segments.reduce(0) { $0 + $1.records.count } - inserted
        if repeated > 0 { throw JournalError.repeated(repeated) }
    }

    /// Before a read: what the journal holds goes into the tables, so a read sees every committed record.
    private func flushJournal() async throws {
        guard let journal, journal.pending > 0 else { return }
        let token = journal.newClaimToken()
        do {
            let (segments, _) = try await pool.write { db in try Self.move(journal, token, db) }
            journal.moved(segments, token: token)
            ledgerWritten()
        } catch {
            journal.unclaim(token)
            throw error
        }
    }

    /// Inserts the closed segments no other move has claimed, inside the caller's transaction, and returns
    /// them, to be forgotten once it has committed, with the number of rows inserted.
    private static func move(_ journal: LedgerJournal, _ token: Int, _ db: Database) throws -> ([LedgerJournal.Segment], Int) {
        let segments = try journal.claim(token)
        let before = db.totalChangesCount
        try insert(segments.lazy.flatMap(\.records), db, ignoringDuplicates: true, yielding: true)
        return (segments, db.totalChangesCount - before)
    }

    /// With `yielding`, the thread offers its core to any other runnable thread every `yieldEvery` records:
    /// a move is a few milliseconds of CPU, and in one piece it kept an event loop woken on its core waiting.
    static func insert(
        _ records: some Sequence<UsageRecord>, _ db: Database, ignoringDuplicates: Bool = false,
        yielding: Bool = false
    ) throws {
        let statement = try db.cachedStatement(
            sql: """
                INSERT \(ignoringDuplicates ? "OR IGNORE " : "")INTO usage_ledger (request_id, ts, key_id, user, task, provider, model, input_tokens, output_tokens,
                  cached_tokens, reasoning_tokens, cost_nano_usd, estimated, latency_ms, ttft_ms, status, attempts, route, cache,
                  cache_write_tokens, cost_input_nano_usd, cost_cache_read_nano_usd, cost_cache_write_nano_usd,
                  cost_output_nano_usd, cost_reasoning_nano_usd, cost_msats)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
        // Bound with SQLite's own calls: GRDB's StatementArguments box each of the values in an existential,
        // which on the ledger's hot path cost more than the insert.
        let s = statement.sqliteStatement
        for (i, r) in records.enumerated() {
            if yielding, i > 0, i % yieldEvery == 0 { sched_yield() }
            // Bindings were cleared after the last step (and at the end of the last call).
            sqlite3_reset(s)
            // The texts are bound without a copy (SQLITE_TRANSIENT would have SQLite allocate one for each): they
            // stay valid until the step has run, and the bindings are cleared before they go.
            try withCStrings(of: r) { texts in
                for (column, text) in zip(textColumns, texts) {
                    if let text { sqlite3_bind_text(s, column, text, -1, nil) } else { sqlite3_bind_null(s, column) }
                }
                sqlite3_bind_double(s, 2, r.timestamp.timeIntervalSince1970)
                sqlite3_bind_int64(s, 8, Int64(r.inputTokens))
                sqlite3_bind_int64(s, 9, Int64(r.outputTokens))
                sqlite3_bind_int64(s, 10, Int64(r.cachedTokens))
                sqlite3_bind_int64(s, 11, Int64(r.reasoningTokens))
                if let cost = r.costNanoUSD { sqlite3_bind_int64(s, 12, cost) } else { sqlite3_bind_null(s, 12) }
                sqlite3_bind_int64(s, 13, r.estimated ? 1 : 0)
                sqlite3_bind_int64(s, 14, Int64(r.latencyMs))
                if let ttft = r.ttftMs { sqlite3_bind_int64(s, 15, Int64(ttft)) } else { sqlite3_bind_null(s, 15) }
                sqlite3_bind_int64(s, 16, Int64(r.status))
                sqlite3_bind_int64(s, 17, Int64(r.attempts))
                sqlite3_bind_int64(s, 20, Int64(r.cacheWriteTokens))
                if let costs = r.costs {
                    sqlite3_bind_int64(s, 21, costs.input.value)
                    sqlite3_bind_int64(s, 22, costs.cacheRead.value)
                    sqlite3_bind_int64(s, 23, costs.cacheWrite.value)
                    sqlite3_bind_int64(s, 24, costs.output.value)
                    sqlite3_bind_int64(s, 25, costs.reasoning.value)
                } else {
                    for column in Int32(21)...25 { sqlite3_bind_null(s, column) }
                }
                if let msats = r.costMsats { sqlite3_bind_int64(s, 26, msats) } else { sqlite3_bind_null(s, 26) }
                let rc = sqlite3_step(s)
                sqlite3_clear_bindings(s)
                guard rc == SQLITE_DONE else {
                    let message = String(cString: sqlite3_errmsg(db.sqliteConnection))
                    sqlite3_reset(s)
                    throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: message, sql: statement.sql)
                }
            }
        }
        sqlite3_reset(s)
        sqlite3_clear_bindings(s)
    }

    /// Rows inserted between offers of the core to other threads: short enough that a woken event loop does not
    /// wait long behind the move, long enough that yielding costs little.
    static let yieldEvery = 64

    /// The columns of `insert`'s texts, in the order it passes them.
    private static let textColumns: [Int32] = [1, 3, 4, 5, 6, 7, 18, 19]

    /// Runs `body` with `record`'s texts as C strings (nil for nil) in `textColumns`' order, all valid until it
    /// returns; a native string's own storage is used, and the pointers are kept on the stack, so nothing is allocated.
    private static func withCStrings(
        of record: UsageRecord, _ body: (UnsafeBufferPointer<UnsafePointer<CChar>?>) throws -> Void
    ) throws {
        func text(_ index: Int) -> String? {
            switch index {
            case 0: record.requestID
            case 1: record.keyID
            case 2: record.user
            case 3: record.task
            case 4: record.provider
            case 5: record.model
            case 6: record.route
            default: record.cache
            }
        }
        try withUnsafeTemporaryAllocation(of: UnsafePointer<CChar>?.self, capacity: textColumns.count) { pointers in
            func nest(_ index: Int) throws {
                guard index < textColumns.count else { return try body(UnsafeBufferPointer(pointers)) }
                guard let value = text(index) else {
                    pointers.initializeElement(at: index, to: nil)
                    return try nest(index + 1)
                }
                try value.withCString { c in
                    pointers.initializeElement(at: index, to: c)
                    try nest(index + 1)
                }
            }
            try nest(0)
        }
    }

    private static func whereClause(_ f: UsageFilter) -> (String, StatementArguments) {
        var parts: [String] = []
        var args: [(any DatabaseValueConvertible)?] = []
        if let since = f.since { parts.append("ts >= ?"); args.append(since.timeIntervalSince1970) }
        if let key = f.keyID { parts.append("key_id = ?"); args.append(key) }
        if let user = f.user { parts.append("user = ?"); args.append(user) }
        if let model = f.model {
            parts.append("(model = ? OR provider || '/' || model = ?)")
            args.append(model)
            args.append(model)
        }
        return (parts.isEmpty ? "" : "WHERE " + parts.joined(separator: " AND "), StatementArguments(args))
    }

    public func records(_ filter: UsageFilter) async throws -> [UsageRecord] {
        try await flushJournal()
        let (clause, args) = Self.whereClause(filter)
        return try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM usage_ledger \(clause) ORDER BY ts DESC, request_id LIMIT ? OFFSET ?",
                arguments: args + [filter.limit, filter.offset]
            ).map { row in
                UsageRecord(
                    requestID: row["request_id"], timestamp: Date(timeIntervalSince1970: row["ts"]), keyID: row["key_id"],
                    user: row["user"], task: row["task"], provider: row["provider"], model: row["model"],
                    inputTokens: row["input_tokens"], outputTokens: row["output_tokens"], cachedTokens: row["cached_tokens"],
                    reasoningTokens: row["reasoning_tokens"], costNanoUSD: row["cost_nano_usd"], estimated: row["estimated"],
                    latencyMs: row["latency_ms"], ttftMs: row["ttft_ms"], status: row["status"], attempts: row["attempts"],
                    route: row["route"], cache: row["cache"], cacheWriteTokens: row["cache_write_tokens"],
                    costs: Self.costs(row), costMsats: row["cost_msats"])
            }
        }
    }

    public func count(_ filter: UsageFilter) async throws -> Int {
        try await flushJournal()
        let (clause, args) = Self.whereClause(filter)
        return try await pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM usage_ledger \(clause)", arguments: args) ?? 0 }
    }

    public func totals(_ filter: UsageFilter) async throws -> [UsageTotals] {
        try await flushJournal()
        let (clause, args) = Self.whereClause(filter)
        // SQLite's SUM fails the whole query on an overflow: sound records are summed by `saturating_sum`.
        let ok = UsageTotals.plausible
        let select = """
            COUNT(*) AS n, COALESCE(saturating_sum(CASE WHEN \(ok) THEN input_tokens END), 0) AS i,
            COALESCE(saturating_sum(CASE WHEN \(ok) THEN output_tokens END), 0) AS o,
            COALESCE(saturating_sum(CASE WHEN \(ok) THEN cost_nano_usd END), 0) AS c,
            COALESCE(SUM(cost_nano_usd IS NULL AND \(ok)), 0) AS u, COALESCE(SUM(NOT \(ok)), 0) AS bad,
            COALESCE(saturating_sum(CASE WHEN \(ok) AND cost_msats >= 0 THEN cost_msats END), 0) AS m
            """
        return try await pool.read { db in
            func totals(_ row: Row, provider: String?, model: String?) -> UsageTotals {
                UsageTotals(
                    provider: provider, model: model, requests: row["n"], inputTokens: row["i"], outputTokens: row["o"],
                    costNanoUSD: row["c"], unpricedRequests: row["u"], corruptRecords: row["bad"], paidMsats: row["m"])
            }
            var out = try Row.fetchAll(
                db, sql: "SELECT provider, model, \(select) FROM usage_ledger \(clause) GROUP BY provider, model ORDER BY c DESC, n DESC",
                arguments: args
            ).map { totals($0, provider: $0["provider"], model: $0["model"]) }
            if let all = try Row.fetchOne(db, sql: "SELECT \(select) FROM usage_ledger \(clause)", arguments: args) {
                out.append(totals(all, provider: nil, model: nil))
            }
            return out
        }
    }
}

extension SQLiteStore {
    public func series(_ query: UsageSeriesQuery) async throws -> [UsageSeriesRow] {
        try await flushJournal()
        let ok = UsageTotals.plausible
        let width = query.bucketSeconds
        // The outermost lane of a route: `lane:NAME` up to the next ':' or '>'.
        let lane = """
            CASE WHEN route LIKE 'lane:%' THEN substr(route, 1, 4 + min(instr(substr(route, 6) || ':', ':'),             instr(substr(route, 6) || '>', '>'))) END
            """
        let sql = """
            SELECT CAST(ts / \(width) AS INTEGER) * \(width) AS b, provider, model, \(lane) AS lane, key_id,
              \(UsageSeriesRow.latencyClassSQL) AS lc, COUNT(*) AS n, COALESCE(SUM(status >= 400), 0) AS e,
              COALESCE(saturating_sum(CASE WHEN \(ok) THEN input_tokens END), 0) AS i,
              COALESCE(saturating_sum(CASE WHEN \(ok) THEN output_tokens END), 0) AS o,
              COALESCE(saturating_sum(CASE WHEN \(ok) THEN cost_nano_usd END), 0) AS c,
              COALESCE(SUM(cost_nano_usd IS NULL AND \(ok)), 0) AS u, COALESCE(SUM(NOT \(ok)), 0) AS bad
            FROM usage_ledger WHERE ts >= ? AND ts < ?
            GROUP BY b, provider, model, lane, key_id, lc ORDER BY b
            """
        return try await pool.read { db in
            try Row.fetchAll(db, sql: sql, arguments: [query.from.timeIntervalSince1970, query.to.timeIntervalSince1970]).map { r in
                UsageSeriesRow(
                    bucket: Date(timeIntervalSince1970: Double(r["b"] as Int64)), provider: r["provider"], model: r["model"],
                    lane: r["lane"], keyID: r["key_id"], latencyClass: r["lc"], requests: r["n"], errors: r["e"],
                    inputTokens: r["i"], outputTokens: r["o"], costNanoUSD: r["c"], unpricedRequests: r["u"], corruptRecords: r["bad"])
            }
        }
    }
}

/// `saturating_sum(x)`: the sum of the integers, held at `Int64.max` (or `.min`) instead of failing on overflow.
final class SaturatingSum: DatabaseAggregate {
    private var total: Int64 = 0
    private var any = false

    init() {}

    func step(_ values: [DatabaseValue]) throws {
        guard let value = Int64.fromDatabaseValue(values[0]) else { return }
        any = true
        total = total.saturatingAdding(value)
    }

    func finalize() throws -> (any DatabaseValueConvertible)? { any ? total : nil }

    static let function = DatabaseFunction("saturating_sum", argumentCount: 1, pure: true, aggregate: SaturatingSum.self)
}
