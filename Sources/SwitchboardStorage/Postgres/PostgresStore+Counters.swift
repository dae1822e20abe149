import Foundation
import PostgresNIO
public import SwitchboardCore

extension PostgresStore {
    private struct Refused: Error {
        let index: Int
        let current: Int64
    }

    /// One transaction; each counter row is locked by its conditional upsert until commit, so replicas
    /// charging the same counter queue behind each other and never overshoot. Counters are charged in name
    /// order so two transactions never wait on each other in a cycle.
    public func charge(_ charges: [CounterCharge]) async throws -> CounterOutcome {
        let now = Int64(Date().timeIntervalSince1970)
        try await cleanupCounters(now: now)
        let order = charges.indices.sorted { charges[$0].counter < charges[$1].counter }
        do {
            let values = try await client.withTransaction(logger: logger) { [logger] conn -> [Int64] in
                var values = [Int64](repeating: 0, count: charges.count)
                for i in order {
                    let c = charges[i]
                    // An unconditional charge is a limit no counter reaches.
                    let limit = c.limit ?? Int64.max
                    let rows = try await conn.query(
                        """
                        INSERT INTO limit_counters (name, value, expires_at) VALUES (\(c.counter), \(c.amount), \(c.expiresAt))
                        ON CONFLICT (name) DO UPDATE SET value = limit_counters.value + EXCLUDED.value,
                          expires_at = GREATEST(limit_counters.expires_at, EXCLUDED.expires_at)
                        WHERE limit_counters.value + EXCLUDED.value <= \(limit)
                        RETURNING value
                        """, logger: logger)
                    var updated: Int64?
                    for try await v in rows.decode(Int64.self) { updated = v }
                    guard let updated else {
                        var current: Int64 = 0
                        for try await v in try await conn.query(
                            "SELECT value FROM limit_counters WHERE name = \(c.counter)",
                            logger: logger
                        ).decode(Int64.self) { current = v }
                        throw Refused(index: i, current: current)
                    }
                    values[i] = updated
                }
                return values
            }
            return .applied(values)
        } catch let error as PostgresTransactionError {
            guard let refused = error.closureError as? Refused, error.rollbackError == nil else { throw error }
            return .refused(index: refused.index, current: refused.current)
        }
    }

    public func adjust(_ counter: String, by amount: Int64, expiresAt: Int64) async throws {
        try await client.query(
            """
            INSERT INTO limit_counters (name, value, expires_at) VALUES (\(counter), \(amount), \(expiresAt))
            ON CONFLICT (name) DO UPDATE SET value = limit_counters.value + EXCLUDED.value,
              expires_at = GREATEST(limit_counters.expires_at, EXCLUDED.expires_at)
            """, logger: logger)
    }

    public func seed(_ counter: String, value: Int64, expiresAt: Int64) async throws -> Int64 {
        let rows = try await client.query(
            """
            INSERT INTO limit_counters (name, value, expires_at) VALUES (\(counter), \(value), \(expiresAt))
            ON CONFLICT (name) DO UPDATE SET expires_at = limit_counters.expires_at RETURNING value
            """, logger: logger)
        for try await v in rows.decode(Int64.self) { return v }
        return value
    }

    public func exists(_ counter: String) async throws -> Bool {
        let now = Int64(Date().timeIntervalSince1970)
        let rows = try await client.query(
            "SELECT 1::BIGINT FROM limit_counters WHERE name = \(counter) AND expires_at >= \(now)",
            logger: logger)
        for try await _ in rows.decode(Int64.self) { return true }
        return false
    }
}
