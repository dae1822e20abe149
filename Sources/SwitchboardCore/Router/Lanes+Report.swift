extension Lanes {
    /// Every lane with its slots in the order the next call would try them, each slot's health (from `health`, by
    /// provider id), moving averages, price, and why it is where it is: what `switchboard lanes` and `GET /v1/lanes`
    /// show.
    public func report(health: [String: String] = [:]) -> JSONValue {
        .array(
            definitions.compactMap { lane in
                byName[lane.name].map { router in
                    var o: [String: JSONValue] = [
                        "name": .string(lane.modelName), "strategy": .string(lane.strategy.rawValue),
                        "slots": .array(
                            router.status().enumerated().map { Self.slot($1, position: $0, strategy: lane.strategy, health: health) }),
                    ]
                    o["ttft_timeout_ms"] = lane.ttftTimeout.map { .int($0.inMilliseconds) } ?? .null
                    o["total_timeout_ms"] = lane.totalTimeout.map { .int($0.inMilliseconds) } ?? .null
                    return .object(o)
                }
            })
    }

    private static func slot(_ s: ProviderRouter.SlotStatus, position: Int, strategy: LaneStrategy, health: [String: String]) -> JSONValue {
        let provider = String(s.name.prefix { $0 != "/" })
        var reason: String
        switch strategy {
        case .priority: reason = "position \(position + 1) in the lane"
        case .roundRobin: reason = "position \(position + 1); each request starts one slot further on"
        case .weighted: reason = "weight \(s.weight ?? 0): first on that share of requests, else in the lane's order"
        case .latency:
            reason =
                (s.ttft ?? s.latency).map { "\($0.inMilliseconds) ms to answer (moving average)" }
                ?? "untried: tried first, to be measured"
        case .cost:
            reason = s.price.map { "$\($0.usdString) per million tokens, input plus output" } ?? "unpriced: after the priced slots"
        }
        if let until = s.coolingUntil {
            reason += "; skipped for \(max(0, (until - .now).inMilliseconds / 1000)) s more (rate limit, quota or failed connect)"
        }
        return [
            "slot": .string(s.name), "health": .string(health[provider] ?? "unknown"),
            "latency_ms": s.latency.map { .int($0.inMilliseconds) } ?? .null, "ttft_ms": s.ttft.map { .int($0.inMilliseconds) } ?? .null,
            "price_nano_usd_per_million": s.price.map { .int($0.value) } ?? .null, "cooling": .bool(s.coolingUntil != nil),
            "why": .string(reason),
        ]
    }
}
