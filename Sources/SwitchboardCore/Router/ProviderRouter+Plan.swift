import Logging
import Synchronization

extension ProviderRouter {
    /// How a router orders and bounds its attempts: a lane's settings (the failover router tries its slots in order).
    public struct Plan: Sendable {
        public var strategy: LaneStrategy
        /// One weight per slot, for `weighted`.
        public var weights: [Int]
        /// Each slot's price, for `cost` and the budget; nil when unpriced.
        public var prices: [ModelPrice?]
        /// Spend at which the lane turns itself off (calls fail with `budgetExceeded`); unpriced slots spend nothing.
        public var budget: NanoUSD?
        /// No first byte of a streamed answer by then: the next slot.
        public var ttftTimeout: Duration?
        /// The whole call's limit, failovers included.
        public var totalTimeout: Duration?

        /// What a call paid in msats is in nano-USD at this rate, for the budget.
        public var sats: SatsRate?

        /// A plan; the default tries slots in order, unbounded.
        public init(
            strategy: LaneStrategy = .priority, weights: [Int] = [], prices: [ModelPrice?] = [], ttftTimeout: Duration? = nil,
            totalTimeout: Duration? = nil, budget: NanoUSD? = nil, sats: SatsRate? = nil
        ) {
            self.budget = budget
            self.sats = sats
            self.strategy = strategy
            self.weights = weights
            self.prices = prices
            self.ttftTimeout = ttftTimeout
            self.totalTimeout = totalTimeout
        }
    }

    /// What each slot has shown: moving averages of time to answer and to first token, and the ordering state.
    struct Stats {
        var latency: [Duration?]
        var ttft: [Duration?]
        /// Smooth weighted round-robin's running weights.
        var current: [Int]
        var turn = 0

        init(count: Int) {
            latency = Array(repeating: nil, count: count)
            ttft = Array(repeating: nil, count: count)
            current = Array(repeating: 0, count: count)
        }
    }

    /// How much a new measurement moves a slot's average, in tenths.
    static let smoothingTenths: Int64 = 3

    /// Notes how long a slot took to answer (or to its first token).
    func record(_ index: Int, latency: Duration, firstToken: Bool) {
        // The failover router keeps no averages: nothing orders by them or shows them.
        guard isLane || plan.strategy == .latency else { return }
        stats.withLock { s in
            func moved(_ old: Duration?) -> Duration {
                guard let old else { return latency }
                // In whole nanoseconds: exact, and no drift from binary fractions.
                let next = (old.inNanoseconds * (10 - Self.smoothingTenths) + latency.inNanoseconds * Self.smoothingTenths) / 10
                return .nanoseconds(next)
            }
            if firstToken { s.ttft[index] = moved(s.ttft[index]) } else { s.latency[index] = moved(s.latency[index]) }
        }
    }

    /// Gives back the turn `order()` took for a call that then tried no slot (declined, to be walked again), so a
    /// rotating strategy starts the next call where this one would have started.
    func giveBack(_ order: [Int]) {
        guard slots.count > 1, let first = order.first else { return }
        switch plan.strategy {
        case .roundRobin:
            stats.withLock { $0.turn &-= 1 }
        case .weighted:
            let weights = plan.weights
            stats.withLock { s in
                for i in s.current.indices { s.current[i] -= weights[i] }
                s.current[first] += weights.reduce(0, +)
            }
        case .priority, .latency, .cost:
            break
        }
    }

    /// The order to try the slots in for the next call.
    func order() -> [Int] {
        let all = inOrder
        guard slots.count > 1 else { return all }
        switch plan.strategy {
        case .priority:
            return all
        case .roundRobin:
            let count = slots.count
            let start: Int = stats.withLock { s in
                defer { s.turn &+= 1 }
                return s.turn % count
            }
            return Array(all[start...]) + Array(all[..<start])
        case .weighted:
            let weights = plan.weights
            let first: Int = stats.withLock { s in
                // nginx's smooth weighted round-robin: even spacing, exact shares.
                let total = weights.reduce(0, +)
                for i in s.current.indices { s.current[i] += weights[i] }
                let picked = s.current.indices.max { s.current[$0] < s.current[$1] || (s.current[$0] == s.current[$1] && $0 > $1) }!
                s.current[picked] -= total
                return picked
            }
            return [first] + all.filter { $0 != first }
        case .latency:
            let (latency, ttft) = stats.withLock { ($0.latency, $0.ttft) }
            // Untried slots first, so each gets measured; then the fastest.
            return all.sorted { a, b in
                let x: Duration = ttft[a] ?? latency[a] ?? .zero
                let y: Duration = ttft[b] ?? latency[b] ?? .zero
                return x != y ? x < y : a < b
            }
        case .cost:
            return all.sorted { a, b in
                let x = perMillion(a)
                let y = perMillion(b)
                switch (x, y) {
                case (let x?, let y?) where x != y: return x < y
                case (.some, nil): return true
                case (nil, .some): return false
                default: return a < b
                }
            }
        }
    }

    /// A slot's input plus output price per million tokens.
    func perMillion(_ index: Int) -> NanoUSD? {
        guard plan.prices.indices.contains(index), let price = plan.prices[index] else { return nil }
        return price.inputPerMillion + price.outputPerMillion
    }

    /// What the lane has spent, at its slots' prices (with a shared counter: as of this process's last look at it).
    public var spent: NanoUSD { NanoUSD(spentNanoUSD.load(ordering: .relaxed)) }

    /// Keeps the lane's spend in `counters` (the store replicas share), so every replica's calls count against one
    /// budget, and a restart keeps what was spent when the store does. Without it, the spend is this process's.
    public func keepSpend(in counters: any CounterStore) {
        sharedSpend.withLock { $0 = counters }
        // A slot that keeps a budget of its own (the swarm in its hybrid router) shares it too.
        for case let spender as any SharedSpending in slots.map(\.provider) { spender.keepSpend(in: counters) }
    }

    /// The shared counter of the lane's spend.
    private var spendCounter: String { "lane-spend:" + id }

    /// Adds a slot's call to the spend (in the shared counter when there is one).
    func spend(_ index: Int, usage: Usage?, logger: Logger) async {
        guard let cost = cost(index, usage: usage) else { return }
        guard let counters = sharedSpend.withLock({ $0 }) else {
            spentNanoUSD.wrappingAdd(cost, ordering: .relaxed)
            return
        }
        do {
            try await noteShared(counters.charge([CounterCharge(counter: spendCounter, amount: cost, limit: nil, expiresAt: .max)]))
        } catch {
            // Counted here at least: this replica still stops at its budget.
            spentNanoUSD.wrappingAdd(cost, ordering: .relaxed)
            logger.warning("a lane's spend could not be added to the shared counter", metadata: ["lane": "\(id)", "error": "\(error)"])
        }
    }

    /// What a slot's call cost against the budget, in nano-USD; nil without a budget or a price.
    func cost(_ index: Int, usage: Usage?) -> Int64? {
        guard plan.budget != nil, let usage else { return nil }
        // What the slot said it cost (a swarm job's msats) stands; else its price.
        let reported = plan.sats.flatMap { usage.paidCost(at: $0) } ?? usage.reportedCost
        let priced = plan.prices.indices.contains(index) ? plan.prices[index]?.cost(of: usage) : nil
        return (reported ?? priced)?.value
    }

    /// Fails when the lane's budget is spent (reading the shared counter first when there is one).
    func checkBudget() async throws {
        guard let budget = plan.budget else { return }
        if let counters = sharedSpend.withLock({ $0 }) {
            try await noteShared(counters.charge([CounterCharge(counter: spendCounter, amount: 0, limit: nil, expiresAt: .max)]))
        }
        try checkBudget(budget)
    }

    /// Fails when the spend known here has reached `budget`.
    func checkBudget(_ budget: NanoUSD) throws(ProviderError) {
        guard spent >= budget else { return }
        throw ProviderError(
            .budgetExceeded, provider: id, message: "\(id) has spent its budget of \(budget) (\(spent) spent); use a cheaper lane")
    }

    private func noteShared(_ outcome: CounterOutcome) {
        if case .applied(let values) = outcome, let value = values.first { spentNanoUSD.store(value, ordering: .relaxed) }
    }

    /// One slot as the router sees it now, for `switchboard lanes`.
    public struct SlotStatus: Sendable {
        /// `provider/model`, or the lane's model name.
        public var name: String
        /// Skipped until then (a rate limit, a quota error, or a failed connect waiting for a probe).
        public var coolingUntil: ContinuousClock.Instant?
        /// Moving averages: time to a whole answer, and to a stream's first token.
        public var latency: Duration?
        public var ttft: Duration?
        /// Input plus output price per million tokens.
        public var price: NanoUSD?
        /// Its weight, for `weighted`.
        public var weight: Int?
    }

    /// Every slot, in the order the next call would try them.
    public func status() -> [SlotStatus] {
        let (latency, ttft) = stats.withLock { ($0.latency, $0.ttft) }
        let order: [Int]
        switch plan.strategy {
        case .latency, .cost, .priority: order = self.order()
        // Without moving the rotation: the configured order.
        case .weighted, .roundRobin: order = Array(slots.indices)
        }
        return order.map { i in
            let slot = slots[i]
            return SlotStatus(
                name: slot.model.map { "\(slot.provider.id)/\($0)" } ?? slot.provider.id, coolingUntil: coolingDown(slot: i),
                latency: latency[i], ttft: ttft[i], price: perMillion(i),
                weight: plan.weights.indices.contains(i) ? plan.weights[i] : nil)
        }
    }
}

extension ProviderRouter: EmbeddingProvider {
    /// Embeddings over the slots that embed, in the router's order, failing over as chat does; each slot's own model.
    public func embed(_ inputs: [String], model: String, context: CallContext) async throws -> EmbeddingResponse {
        try await attempt(ChatRequest(model: model, messages: []), context: context, usage: \.usage) { slot, request, context in
            // A slot without embeddings is passed over as one without the model would be.
            guard let embedder = slot.provider as? any EmbeddingProvider, slot.provider.capabilities.contains(.embeddings) else {
                throw ProviderError(.modelNotFound, provider: slot.provider.id, message: "does not offer embeddings")
            }
            return try await embedder.embed(inputs, model: request.model, context: context)
        }
    }
}
