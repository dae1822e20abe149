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
                    o["budget_nano_usd"] = lane.budget.map { .int($0.value) } ?? .null
                    o["spent_nano_usd"] = .int(router.spent.value)
                    return .object(o)
                }
            })
    }

    private static func slot(_ s: ProviderRouter.SlotStatus, position: Int, strategy: LaneStrategy, health: [String: String]) -> JSONValue {
        let provider = String(s.name.prefix { $0 != "/" })
        return [
            "slot": .string(s.name), "health": .string(health[provider] ?? "unknown"),
            "latency_ms": s.latency.map { .int($0.inMilliseconds) } ?? .null, "ttft_ms": s.ttft.map { .int($0.inMilliseconds) } ?? .null,
            "price_nano_usd_per_million": s.price.map { .int($0.value) } ?? .null, "cooling": .bool(s.coolingUntil != nil),
            "why": .string(reason(s, position: position, strategy: strategy)),
        ]
    }

    /// Why a slot is at `position` in a lane's order.
    static func reason(_ s: ProviderRouter.SlotStatus, position: Int, strategy: LaneStrategy) -> String {
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
        return reason
    }
}

/// One slot a request would try, in order, and why it is there.
public struct PlannedAttempt: Sendable, Hashable {
    /// `provider/model`, or a lane's model name.
    public var slot: String
    public var why: String
}

extension Gateway {
    /// The slots a request for `model` would try now, in order, and why, without calling any of them (a bare name
    /// may load the model lists to be resolved).
    public func plan(model: String, context: CallContext) async throws(ModelResolutionError) -> (target: String, attempts: [PlannedAttempt])
    {
        let (provider, resolved) = try await resolve(model: model, context: context)
        if let lane = lanes.definitions.first(where: { $0.modelName == provider.id }), let router = lanes.byName[lane.name] {
            let attempts = router.status().enumerated().map {
                PlannedAttempt(slot: $1.name, why: Lanes.reason($1, position: $0, strategy: lane.strategy))
            }
            return (router.id, attempts)
        }
        let indexes: [Int]
        if let selection = provider as? RouterSelection {
            indexes = selection.indexes
        } else if provider.id == router.id {
            indexes = Array(router.slots.indices)
        } else {
            return (
                "\(provider.id)/\(resolved)",
                [PlannedAttempt(slot: "\(provider.id)/\(resolved)", why: "the name's provider, asked as it is")]
            )
        }
        let attempts = indexes.enumerated().map { position, i -> PlannedAttempt in
            let slot = router.slots[i]
            var why = "position \(position + 1) of the failover router's slots that take the name"
            if router.coolingDown(slot: i) != nil { why += "; skipped now (cooling down, or unreachable until probed)" }
            return PlannedAttempt(slot: "\(slot.provider.id)/\(slot.model ?? resolved)", why: why)
        }
        return (router.id, attempts)
    }
}
