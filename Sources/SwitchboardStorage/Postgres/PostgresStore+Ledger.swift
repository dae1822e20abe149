public import Foundation
import PostgresNIO
public import SwitchboardCore

extension PostgresStore {
    private static let insertColumns = """
        request_id, ts, key_id, user_name, task, provider, model, input_tokens, output_tokens, cached_tokens,
        reasoning_tokens, cost_nano_usd, estimated, latency_ms, ttft_ms, status, attempts, route, cache, cache_write_tokens, cost_input_nano_usd, cost_cache_read_nano_usd,
        cost_cache_write_nano_usd, cost_output_nano_usd, cost_reasoning_nano_usd, cost_msats
        """

    /// Columns a record fills.
    private static let parameters = 26

    /// One multi-row INSERT per batch: a single round trip and a single commit for every record in it.
    public func append(_ records: [UsageRecord]) async throws {
        guard !records.isEmpty else { return }
        // `parameters` a row; PostgreSQL allows 65,535 per statement.
        for chunk in stride(from: 0, to: records.count, by: 2000).map({ records[$0..<min($0 + 2000, records.count)] }) {
            var binds = PostgresBindings(capacity: chunk.count * Self.parameters)
            var sql = "INSERT INTO usage_ledger (\(Self.insertColumns)) VALUES "
            for (i, r) in chunk.enumerated() {
                let base = i * Self.parameters
                sql += (i == 0 ? "(" : ", (") + (1...Self.parameters).map { "$\(base + $0)" }.joined(separator: ", ") + ")"
                binds.append(r.requestID)
                binds.append(r.timestamp.timeIntervalSince1970)
                binds.append(r.keyID)
                binds.append(r.user)
                binds.append(r.task)
                binds.append(r.provider)
                binds.append(r.model)
                binds.append(Int64(r.inputTokens))
                binds.append(Int64(r.outputTokens))
                binds.append(Int64(r.cachedTokens))
                binds.append(Int64(r.reasoningTokens))
                binds.append(r.costNanoUSD)
                binds.append(r.estimated)
                binds.append(Int64(r.latencyMs))
                binds.append(r.ttftMs.map(Int64.init))
                binds.append(Int32(r.status))
                binds.append(Int32(r.attempts))
                binds.append(r.route)
                binds.append(r.cache)
                binds.append(Int64(r.cacheWriteTokens))
                for part in r.costs.map({ [$0.input, $0.cacheRead, $0.cacheWrite, $0.output, $0.reasoning] }) ?? [] {
                    binds.append(part.value)
                }
                if r.costs == nil { for _ in 0..<5 { binds.append(Int64?.none) } }
                binds.append(r.costMsats)
            }
            try await client.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
        }
    }

    private static func costs(_ c: PostgresRandomAccessRow) throws -> CostBreakdown? {
        guard let input = try c[20].decode(Int64?.self) else { return nil }
        return CostBreakdown(
            input: NanoUSD(input), cacheRead: NanoUSD(try c[21].decode(Int64?.self) ?? 0),
            cacheWrite: NanoUSD(try c[22].decode(Int64?.self) ?? 0), output: NanoUSD(try c[23].decode(Int64?.self) ?? 0),
            reasoning: NanoUSD(try c[24].decode(Int64?.self) ?? 0))
    }

    private static func whereClause(_ f: UsageFilter, _ binds: inout PostgresBindings) -> String {
        var parts: [String] = []
        if let since = f.since { binds.append(since.timeIntervalSince1970); parts.append("ts >= $\(binds.count)") }
        if let key = f.keyID { binds.append(key); parts.append("key_id = $\(binds.count)") }
        if let user = f.user { binds.append(user); parts.append("user_name = $\(binds.count)") }
        if let model = f.model {
            binds.append(model)
            parts.append("(model = $\(binds.count) OR provider || '/' || model = $\(binds.count))")
        }
        return parts.isEmpty ? "" : "WHERE " + parts.joined(separator: " AND ")
    }

    public func records(_ filter: UsageFilter) async throws -> [UsageRecord] {
        var binds = PostgresBindings()
        let clause = Self.whereClause(filter, &binds)
        binds.append(Int64(filter.limit))
        binds.append(Int64(filter.offset))
        let sql =
            "SELECT \(Self.insertColumns) FROM usage_ledger \(clause) ORDER BY ts DESC, request_id LIMIT $\(binds.count - 1) OFFSET $\(binds.count)"
        var out: [UsageRecord] = []
        for try await row in try await client.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger) {
            let c = row.makeRandomAccess()
            out.append(
                UsageRecord(
                    requestID: try c[0].decode(String.self), timestamp: Date(timeIntervalSince1970: try c[1].decode(Double.self)),
                    keyID: try c[2].decode(String?.self), user: try c[3].decode(String?.self), task: try c[4].decode(String.self),
                    provider: try c[5].decode(String?.self), model: try c[6].decode(String?.self),
                    inputTokens: Int(try c[7].decode(Int64.self)), outputTokens: Int(try c[8].decode(Int64.self)),
                    cachedTokens: Int(try c[9].decode(Int64.self)), reasoningTokens: Int(try c[10].decode(Int64.self)),
                    costNanoUSD: try c[11].decode(Int64?.self), estimated: try c[12].decode(Bool.self),
                    latencyMs: Int(try c[13].decode(Int64.self)), ttftMs: try c[14].decode(Int64?.self).map(Int.init),
                    status: Int(try c[15].decode(Int32.self)), attempts: Int(try c[16].decode(Int32.self)),
                    route: try c[17].decode(String?.self), cache: try c[18].decode(String?.self),
                    cacheWriteTokens: Int(try c[19].decode(Int64.self)), costs: try Self.costs(c),
                    costMsats: try c[25].decode(Int64?.self)))
        }
        return out
    }

    public func count(_ filter: UsageFilter) async throws -> Int {
        var binds = PostgresBindings()
        let clause = Self.whereClause(filter, &binds)
        let rows = try await client.query(
            PostgresQuery(unsafeSQL: "SELECT COUNT(*) FROM usage_ledger \(clause)", binds: binds), logger: logger)
        for try await n in rows.decode(Int64.self) { return Int(n) }
        return 0
    }

    public func series(_ query: UsageSeriesQuery) async throws -> [UsageSeriesRow] {
        let ok = UsageTotals.plausible
        let width = query.bucketSeconds
        func sum(_ column: String) -> String {
            "LEAST(COALESCE(SUM(\(column)) FILTER (WHERE \(ok)), 0), 9223372036854775807)::BIGINT"
        }
        var binds = PostgresBindings()
        binds.append(query.from.timeIntervalSince1970)
        binds.append(query.to.timeIntervalSince1970)
        let sql = """
            SELECT (floor(ts / \(width)) * \(width))::BIGINT AS b, provider, model,
              CASE WHEN route LIKE 'lane:%' THEN substring(route from '^lane:[^:>]*') END AS lane, key_id,
              \(UsageSeriesRow.latencyClassSQL) AS lc, COUNT(*)::BIGINT AS n, COUNT(*) FILTER (WHERE status >= 400)::BIGINT AS e,
              \(sum("input_tokens")) AS i, \(sum("output_tokens")) AS o, \(sum("cost_nano_usd")) AS c,
              COUNT(*) FILTER (WHERE cost_nano_usd IS NULL AND \(ok))::BIGINT AS u, COUNT(*) FILTER (WHERE NOT \(ok))::BIGINT AS bad
            FROM usage_ledger WHERE ts >= $1 AND ts < $2
            GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1
            """
        var out: [UsageSeriesRow] = []
        let rows = try await client.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
        for try await (b, p, m, lane, key, lc, n, e, i, o, c, u, bad) in rows.decode(
            (Int64, String?, String?, String?, String?, Int32, Int64, Int64, Int64, Int64, Int64, Int64, Int64).self)
        {
            out.append(
                UsageSeriesRow(
                    bucket: Date(timeIntervalSince1970: Double(b)), provider: p, model: m, lane: lane, keyID: key,
                    latencyClass: Int(lc), requests: Int(n), errors: Int(e), inputTokens: Int(i), outputTokens: Int(o),
                    costNanoUSD: c, unpricedRequests: Int(u), corruptRecords: Int(bad)))
        }
        return out
    }

    public func totals(_ filter: UsageFilter) async throws -> [UsageTotals] {
        var binds = PostgresBindings()
        let clause = Self.whereClause(filter, &binds)
        // NUMERIC sums cannot overflow; each is held at BIGINT's largest value before it is cast back.
        let ok = UsageTotals.plausible
        func sum(_ column: String) -> String {
            "LEAST(COALESCE(SUM(\(column)) FILTER (WHERE \(ok)), 0), 9223372036854775807)::BIGINT"
        }
        let select = """
            COUNT(*)::BIGINT AS n, \(sum("input_tokens")) AS i, \(sum("output_tokens")) AS o, \(sum("cost_nano_usd")) AS c,
            COUNT(*) FILTER (WHERE cost_nano_usd IS NULL AND \(ok))::BIGINT AS u, COUNT(*) FILTER (WHERE NOT \(ok))::BIGINT AS bad,
            LEAST(COALESCE(SUM(cost_msats) FILTER (WHERE \(ok) AND cost_msats >= 0), 0), 9223372036854775807)::BIGINT AS m
            """
        var out: [UsageTotals] = []
        let grouped = try await client.query(
            PostgresQuery(
                unsafeSQL: "SELECT provider, model, \(select) FROM usage_ledger \(clause) GROUP BY provider, model ORDER BY c DESC, n DESC",
                binds: binds), logger: logger)
        for try await (p, m, n, i, o, c, u, bad, msats) in grouped.decode(
            (String?, String?, Int64, Int64, Int64, Int64, Int64, Int64, Int64).self)
        {
            out.append(
                UsageTotals(
                    provider: p, model: m, requests: Int(n), inputTokens: Int(i), outputTokens: Int(o),
                    costNanoUSD: c, unpricedRequests: Int(u), corruptRecords: Int(bad), paidMsats: msats))
        }
        let all = try await client.query(
            PostgresQuery(unsafeSQL: "SELECT \(select) FROM usage_ledger \(clause)", binds: binds),
            logger: logger)
        for try await (n, i, o, c, u, bad, msats) in all.decode((Int64, Int64, Int64, Int64, Int64, Int64, Int64).self) {
            out.append(
                UsageTotals(
                    provider: nil, model: nil, requests: Int(n), inputTokens: Int(i), outputTokens: Int(o),
                    costNanoUSD: c, unpricedRequests: Int(u), corruptRecords: Int(bad), paidMsats: msats))
        }
        return out
    }
}
