extension ProviderRouter {
    /// One call's way through the router's slots, for whoever makes the attempts: the router's own failover loops, or
    /// a caller on an event loop that cannot wait. `next` gives the slot to try (cooling ones and ones whose breaker is
    /// open are skipped and noted), and each attempt ends with `answered` or `failed`, which keep the breakers,
    /// cool-downs, averages and the call's trace as the router's loops do.
    public struct Walk: Sendable {
        /// One attempt at one slot.
        public struct Step: Sendable {
            public let slot: RouterSlot
            /// The call's request with the slot's model.
            public let request: ChatRequest
            /// The attempt's context (its upstream headers when an observer watches).
            public let context: CallContext
            let index: Int
            let start: ContinuousClock.Instant
        }

        let router: ProviderRouter
        let request: ChatRequest
        /// The call's context within the plan's limits.
        public let context: CallContext
        private let order: [Int]
        private var position = 0
        private var attempts: [AllProvidersFailed.Attempt] = []

        init(router: ProviderRouter, request: ChatRequest, context: CallContext, order: [Int]) {
            self.router = router
            self.request = request
            self.context = context
            self.order = order
        }

        /// The walk is not taken after all (nothing was sent; the call is answered another way): a rotating strategy's
        /// turn is given back.
        public func declined() {
            router.giveBack(order)
        }

        /// The next slot to try, its attempt noted; nil when every slot was tried or skipped, or the call's time is up.
        public mutating func next() -> Step? {
            while position < order.count && context.deadline > .now {
                let index = order[position]
                position += 1
                let slot = router.slots[index]
                let model = slot.model ?? request.model
                if let skip = router.skipIfCooling(index, slot: slot, model: model, context: context) {
                    attempts.append(skip)
                    continue
                }
                let attempt = router.note(index, model: model, in: context)
                return Step(slot: slot, request: request.withModel(model), context: attempt, index: index, start: .now)
            }
            return nil
        }

        /// The step's slot gave its whole answer.
        public func answered(_ step: Step) {
            router.record(step.index, latency: .now - step.start, firstToken: false)
            router.settle(step.index, nil)
            router.answered(step.index, context)
        }

        /// The step's slot streamed its first event.
        func began(_ step: Step) {
            router.record(step.index, latency: .now - step.start, firstToken: true)
            router.settle(step.index, nil)
        }

        /// The step's stream ended well.
        func ended(_ step: Step) {
            router.answered(step.index, context)
        }

        /// The step failed with `error`: nil when the next slot is to be tried, else what the call fails with. Once
        /// anything was `delivered` to the caller, no failure moves on.
        public mutating func failed(_ step: Step, _ error: any Error, delivered: Bool = false) -> (any Error)? {
            switch error {
            case let error as ProviderError where error.triesNextSlot && !delivered:
                attempts.append(
                    router.recordFailure(step.index, slot: step.slot, model: step.request.model, error: error, context: context))
                return nil
            case let inner as AllProvidersFailed where !delivered:
                // A lane in this slot tried all of its own: the next slot.
                attempts += inner.attempts
                return nil
            case let error as ProviderError:
                router.settle(step.index, error)
                router.traceFailure(step.index, error, context)
                return error
            default:
                return error
            }
        }

        /// What the call fails with when no slot is left.
        public var exhausted: AllProvidersFailed { AllProvidersFailed(attempts: attempts) }

        /// Adds what the step's answer used to the lane's spend, for a walk from `walkNow` (which keeps it here).
        public func spent(_ step: Step, usage: Usage?) {
            guard let cost = router.cost(step.index, usage: usage) else { return }
            router.spentNanoUSD.wrappingAdd(cost, ordering: .relaxed)
        }
    }

    /// The walk a call takes: the lane noted in its trace, its context within the plan's limits, the slots in the
    /// plan's order.
    public func walk(_ request: ChatRequest, context: CallContext) -> Walk {
        let bounded = bounded(context)
        guard plan.strategy == .priority else { return Walk(router: self, request: request, context: bounded, order: order()) }
        return Walk(router: self, request: request, context: bounded, order: inOrder)
    }

    /// The walk for a caller that cannot wait: nil when the lane's spend is kept in a shared store, which must be read
    /// first; throws `budgetExceeded` when the budget is spent.
    public func walkNow(_ request: ChatRequest, context: CallContext) throws(ProviderError) -> Walk? {
        if let budget = plan.budget {
            guard sharedSpend.withLock({ $0 == nil }) else { return nil }
            try checkBudget(budget)
        }
        return walk(request, context: context)
    }
}
