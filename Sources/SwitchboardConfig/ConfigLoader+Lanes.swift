import SwitchboardCore

extension Reader {
    /// `[lanes.NAME]` tables: `models`, `strategy`, `weights`, `ttft_timeout_seconds`, `total_timeout_seconds`,
    /// `budget_usd`, `budget_msats`, `cache_ttl_seconds`; in the order they are written.
    func readLanes(_ node: TOMLNode) throws(ConfigError) -> [Lane] {
        var lanes: [(line: Int, lane: Lane)] = []
        for (name, value) in try entries(node, table: "lanes", key: "lanes") {
            let table = "lanes.\(name)"
            guard !name.isEmpty, !name.contains("/") else { throw fail("a lane's name must not contain '/'", key: name, table: "lanes") }
            var lane = Lane(name: name, models: [])
            for (k, v) in try entries(value, table: table, key: name) {
                let path = "\(table).\(k)"
                switch k {
                case "models":
                    guard case .array(let items) = v, !items.isEmpty else {
                        throw fail(
                            "'\(path)' must be a non-empty array of \"provider/model\" or \"lane:NAME\" strings", key: k, table: table)
                    }
                    for item in items {
                        let model = try string(item, "\(path)[]", key: k, table: table)
                        guard model.hasPrefix(Lane.prefix) || model.contains("/") else {
                            throw fail("'\(path)' entry '\(model)' must be \"provider/model\" or \"lane:NAME\"", key: k, table: table)
                        }
                        lane.models.append(model)
                    }
                case "strategy": lane.strategy = try choice(v, path, key: k, table: table)
                case "weights":
                    guard case .array(let items) = v else { throw fail("'\(path)' must be an array of integers", key: k, table: table) }
                    for item in items { lane.weights.append(try int(item, "\(path)[]", key: k, table: table, range: 1...1_000_000)) }
                case "ttft_timeout_seconds": lane.ttftTimeout = try seconds(v, path, key: k, table: table, range: 0.05...3600)
                case "total_timeout_seconds": lane.totalTimeout = try seconds(v, path, key: k, table: table, range: 0.05...86_400)
                case "budget_usd": lane.budget = try dollars(v, path, key: k, table: table)
                case "budget_msats": lane.budgetMsats = Int64(try int(v, path, key: k, table: table, range: 0...Int.max))
                case "cache_ttl_seconds": lane.cacheTTL = try seconds(v, path, key: k, table: table, range: 1...31_536_000)
                default:
                    throw fail(
                        "unknown key '\(path)' (expected models, strategy, weights, ttft_timeout_seconds, total_timeout_seconds, budget_usd, budget_msats, cache_ttl_seconds)",
                        key: k,
                        table: table)
                }
            }
            guard !lane.models.isEmpty else {
                throw ConfigError(file: source.file, line: source.headerLine(table), message: "[\(table)] needs 'models'")
            }
            if lane.strategy == .weighted, lane.weights.count != lane.models.count {
                throw ConfigError(
                    file: source.file, line: source.headerLine(table),
                    message: "[\(table)] strategy \"weighted\" needs 'weights' with one weight per model")
            }
            lanes.append((source.headerLine(table) ?? .max, lane))
        }
        return lanes.sorted { $0.line < $1.line }.map(\.lane)
    }
}
