import Logging
import Synchronization

/// One place the router can send a request: a provider and, optionally, the model to ask it for.
public struct RouterSlot: Sendable {
    public var provider: any LLMProvider
    /// Replaces the request's model for this slot when set.
    public var model: String?

    /// Creates a slot.
    public init(provider: any LLMProvider, model: String? = nil) {
        self.provider = provider
        self.model = model
    }
}

/// Observes the router's decisions (for metrics); every method has an empty default.
public protocol RouterObserver: Sendable {
    /// A slot failed with a retryable error and the router moves on.
    func routerFailedOver(from provider: String, error: ProviderError)
}

/// Tries ordered slots until one answers; itself a provider.
///
/// Retryable failures (429, 408, 5xx, 529, timeouts, connection errors) move on to the next slot;
/// anything else fails at once. A stream fails over only before its first event reached the caller.
/// A `Retry-After` puts the slot in cool-down for that long.
public final class ProviderRouter: RoutingProvider, SharedSpending {
    public let id: String
    public let displayName: String
    public let slots: [RouterSlot]
    /// How the slots are ordered and bounded for each call.
    public let plan: Plan
    private let cooldowns = Mutex<[Int: ContinuousClock.Instant]>([:])
    let stats: Mutex<Stats>
    /// One circuit breaker per slot.
    let breakers: Mutex<[CircuitBreaker]>
    /// What the lane has spent, in nano-USD, against its budget.
    let spentNanoUSD = Atomic<Int64>(0)
    /// Where the spend is kept when replicas share it (`keepSpend`).
    let sharedSpend = Mutex<(any CounterStore)?>(nil)
    /// Whether this router is a lane (`lane:NAME`).
    let isLane: Bool
    /// Which slots are routers themselves, which note their own slots' attempts in the trace.
    private let nested: [Bool]
    /// Every slot's index, in order: a priority walk's order, made once.
    let inOrder: [Int]
    /// Slots skipped because their upstream could not be reached, until a probe sees their provider up.
    private let unreachable = Mutex<Set<Int>>([])
    private let observer: (any RouterObserver)?

    /// Creates a router over `slots`, tried in order, or as `plan` orders them (a lane).
    public convenience init(id: String = "router", slots: [RouterSlot], observer: (any RouterObserver)? = nil, plan: Plan = Plan()) {
        self.init(id: id, slots: slots, observer: observer, plan: plan, breaker: CircuitBreaker.Settings())
    }

    init(id: String, slots: [RouterSlot], observer: (any RouterObserver)?, plan: Plan, breaker: CircuitBreaker.Settings) {
        self.id = id
        isLane = id.hasPrefix(Lane.prefix)
        nested = slots.map { $0.provider is ProviderRouter }
        self.displayName = isLane ? "Lane \(id.dropFirst(Lane.prefix.count))" : "Failover router"
        self.slots = slots
        inOrder = Array(slots.indices)
        self.observer = observer
        self.plan = plan
        stats = Mutex(Stats(count: slots.count))
        breakers = Mutex(Array(repeating: CircuitBreaker(settings: breaker), count: slots.count))
    }

    public var capabilities: Set<Capability> {
        slots.reduce(into: Set<Capability>()) { $0.formUnion($1.provider.capabilities) }
    }

    public var isConfigured: Bool { slots.contains { $0.provider.isConfigured } }

    /// The slot's cool-down end, if it is cooling down now.
    public func coolingDown(slot index: Int) -> ContinuousClock.Instant? {
        cooldowns.withLock { map in
            guard let until = map[index] else { return nil }
            if until <= .now { map[index] = nil; return nil }
            return until
        }
    }

    public func chat(_ request: ChatRequest, context: CallContext) async throws -> ChatResponse {
        try await attempt(request, context: context, usage: \.usage) { slot, request, context in
            try await slot.provider.chat(request, context: context)
        }
    }

    /// Tries the slots as `chat` does, making each attempt with `call` (given the slot, the request with the slot's
    /// model, and the call's context): how a caller that needs another answer than a `ChatResponse` (a forwarded
    /// body) gets the router's order, failover, breakers, budget and trace. `usage` reads what an answer used.
    public func attempt<Answer>(
        _ request: ChatRequest, context: CallContext, usage: (Answer) -> Usage?,
        _ call: (RouterSlot, ChatRequest, CallContext) async throws -> Answer
    ) async throws -> Answer {
        try await checkBudget()
        var walk = walk(request, context: context)
        return try await run(&walk, usage: usage) { try await call($0.slot, $0.request, $0.context) }
    }

    public func stream(_ request: ChatRequest, context: CallContext) -> AsyncThrowingStream<StreamEvent, any Error> {
        let walk = walk(request, context: context)
        return stream(walk)
    }

    /// The call's context within the plan's limits, the lane noted in its trace.
    func bounded(_ context: CallContext) -> CallContext {
        if isLane { context.trace?.entered(lane: id) }
        guard plan.totalTimeout != nil || plan.ttftTimeout != nil else { return context }
        var context = context
        if let total = plan.totalTimeout { context.deadline = min(context.deadline, .now + total) }
        if let ttft = plan.ttftTimeout { context.firstByteTimeout = ttft }
        return context
    }

    /// The router over only the slots of `providers` that take the request's model (slots without a model of their
    /// own), sharing this router's cool-downs; nil when there are none.
    public func serving(providers: [String]) -> (any LLMProvider)? {
        let indexes = slots.indices.filter { slots[$0].model == nil && providers.contains(slots[$0].provider.id) }
        return indexes.isEmpty ? nil : RouterSelection(router: self, indexes: indexes)
    }

    /// Runs `walk` until a slot answers, making each attempt with `call`, starting with `step` when one was begun.
    public func run<Answer>(
        _ walk: inout Walk, from step: Walk.Step? = nil, usage: (Answer) -> Usage?, _ call: (Walk.Step) async throws -> Answer
    ) async throws -> Answer {
        var next = step ?? walk.next()
        while let step = next {
            do {
                let answer = try await call(step)
                walk.answered(step)
                await spend(step.index, usage: usage(answer), logger: walk.context.logger)
                return answer
            } catch {
                if let end = walk.failed(step, error) { throw end }
            }
            next = walk.next()
        }
        throw walk.exhausted
    }

    /// A stream over the slots `walk` visits: one fails over to the next only before its first event.
    func stream(_ walk: Walk) -> AsyncThrowingStream<StreamEvent, any Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                do { try await checkBudget() } catch {
                    continuation.finish(throwing: error)
                    return
                }
                var walk = walk
                while let step = walk.next() {
                    var delivered = false
                    do {
                        for try await event in step.slot.provider.stream(step.request, context: step.context) {
                            if !delivered { walk.began(step) }
                            delivered = true
                            if case .usage(let usage) = event { await spend(step.index, usage: usage, logger: walk.context.logger) }
                            continuation.yield(event)
                        }
                        walk.ended(step)
                        continuation.finish()
                        return
                    } catch {
                        if let end = walk.failed(step, error, delivered: delivered) {
                            continuation.finish(throwing: end)
                            return
                        }
                    }
                }
                continuation.finish(throwing: walk.exhausted)
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Every slot's models, de-duplicated by provider.
    public func models(context: CallContext) async throws -> [ModelInfo] {
        var seen = Set<String>()
        var out: [ModelInfo] = []
        for slot in slots where seen.insert(slot.provider.id).inserted {
            out += try await slot.provider.models(context: context)
        }
        return out
    }

    /// Healthy when every slot is; degraded when some are; down when none answers.
    public func health(context: CallContext) async -> ProviderHealth {
        let start = ContinuousClock.now
        var statuses: [ProviderHealth.Status] = []
        for slot in slots { statuses.append(await slot.provider.health(context: context).status) }
        let status: ProviderHealth.Status =
            statuses.allSatisfy { $0 == .healthy } ? .healthy : (statuses.contains(.healthy) ? .degraded : .down)
        return ProviderHealth(status: status, latency: .now - start)
    }

    /// How long a slot whose account is out of quota or credit is skipped (topping an account up takes a person).
    static let quotaCooldown: Duration = .seconds(300)
    /// How long a slot whose upstream could not be reached is skipped at most, when no probe says it is back first.
    static let unreachableCooldown: Duration = .seconds(300)

    /// A health probe saw `provider` answer: its slots that were skipped as unreachable are tried again.
    public func markReachable(provider: String) {
        let indexes = slots.indices.filter { slots[$0].provider.id == provider }
        let cleared = unreachable.withLock { set in indexes.filter { set.remove($0) != nil } }
        guard !cleared.isEmpty else { return }
        cooldowns.withLock { map in for index in cleared { map[index] = nil } }
    }

    /// A slot's call ended: its breaker counts the upstream's own failures; anything else shows the upstream answers.
    func settle(_ index: Int, _ error: ProviderError?) {
        let now = ContinuousClock.now
        breakers.withLock { breakers in
            if let error, CircuitBreaker.counts(error) { breakers[index].failed(now: now) } else { breakers[index].succeeded() }
        }
    }

    /// Notes the attempt in the call's trace and tells the call's observer, returning the attempt's context; a lane in
    /// a slot notes its own slots' attempts.
    func note(_ index: Int, model: String, in context: CallContext) -> CallContext {
        guard !nested[index] else { return context }
        context.trace?.attempt(slots[index].provider.id, model: model)
        return context.attempt(slots[index].provider.id, model: model)
    }

    /// The attempt at a slot answered; a lane in a slot told its own.
    func answered(_ index: Int, _ context: CallContext) {
        guard !nested[index] else { return }
        context.observer?.ended(nil)
    }

    /// Notes that the attempt at a slot failed; a lane in a slot noted its own.
    func traceFailure(_ index: Int, _ error: ProviderError, _ context: CallContext) {
        guard !nested[index] else { return }
        context.trace?.failed(error)
        context.observer?.ended(error)
    }

    func skipIfCooling(_ index: Int, slot: RouterSlot, model: String, context: CallContext) -> AllProvidersFailed.Attempt? {
        let error: ProviderError
        let reason: String
        if let until = coolingDown(slot: index) {
            reason = "cooling"
            error = ProviderError(
                .rateLimited(retryAfter: until - .now), provider: slot.provider.id,
                message: "skipped after a rate limit, a quota error or a failed connect")
        } else if !breakers.withLock({ $0[index].allows(now: .now) }) {
            reason = "circuit_open"
            error = ProviderError(
                .overloaded, provider: slot.provider.id, message: "skipped: its circuit breaker is open after repeated failures")
        } else {
            return nil
        }
        context.trace?.skipped(slot.provider.id, model: model, because: error, reason: reason)
        return .init(provider: slot.provider.id, model: model, error: error, skipped: true)
    }

    func recordFailure(
        _ index: Int, slot: RouterSlot, model: String, error: ProviderError, context: CallContext
    ) -> AllProvidersFailed.Attempt {
        if error.unreachable {
            // A blackholed or refusing upstream would cost every request its connect timeout: skip it until probed.
            unreachable.withLock { _ = $0.insert(index) }
            cooldowns.withLock { $0[index] = .now + Self.unreachableCooldown }
        } else if let wait = error.retryAfter ?? error.rateLimit?.suggestedWait
            ?? (error.kind == .quotaExceeded ? Self.quotaCooldown : nil), wait > .zero
        {
            cooldowns.withLock { $0[index] = .now + wait }
        }
        context.logger.warning(
            "provider failed, trying next slot",
            metadata: [
                "provider": "\(slot.provider.id)", "kind": "\(error.kind.name)", "status": "\(error.status ?? 0)",
                "request_id": "\(context.requestID)", "detail": "\(error.diagnostic ?? error.message)",
            ])
        settle(index, error)
        traceFailure(index, error, context)
        observer?.routerFailedOver(from: slot.provider.id, error: error)
        return .init(provider: slot.provider.id, model: model, error: error, skipped: false)
    }
}

extension RouterObserver {
    /// Does nothing.
    public func routerFailedOver(from provider: String, error: ProviderError) {}
}

/// Some of a router's slots, tried in the router's order with its cool-downs: where a name several providers list goes.
struct RouterSelection: RoutingProvider {
    let router: ProviderRouter
    let indexes: [Int]

    var id: String { router.id }
    var displayName: String { router.displayName }
    var capabilities: Set<Capability> {
        indexes.reduce(into: Set<Capability>()) { $0.formUnion(router.slots[$1].provider.capabilities) }
    }
    var isConfigured: Bool { indexes.contains { router.slots[$0].provider.isConfigured } }

    func chat(_ request: ChatRequest, context: CallContext) async throws -> ChatResponse {
        var walk = ProviderRouter.Walk(router: router, request: request, context: context, order: indexes)
        return try await router.run(&walk, usage: \.usage) { try await $0.slot.provider.chat($0.request, context: $0.context) }
    }

    func stream(_ request: ChatRequest, context: CallContext) -> AsyncThrowingStream<StreamEvent, any Error> {
        let walk = ProviderRouter.Walk(router: router, request: request, context: context, order: indexes)
        return router.stream(walk)
    }

    func models(context: CallContext) async throws -> [ModelInfo] { try await router.models(context: context) }

    func health(context: CallContext) async -> ProviderHealth { await router.health(context: context) }
}
