import SwitchboardTesting
import Testing

@testable import SwitchboardCore

/// A slot's circuit breaker, driven with given instants: nothing waits.
@Suite struct CircuitBreakerTests {
    static let t0 = ContinuousClock.now
    /// `allows` changes the breaker (an open one's time up starts a probe), so it is not called inside `#expect`.
    func allows(_ breaker: inout CircuitBreaker, _ now: ContinuousClock.Instant) -> Bool {
        breaker.allows(now: now)
    }

    static let settings = CircuitBreaker.Settings(
        consecutiveFailures: 3, errorRate: 0.5, window: 10, minimumCalls: 6, openFor: .seconds(30))

    @Test func consecutiveFailuresOpenItThenOneProbeDecides() {
        var breaker = CircuitBreaker(settings: Self.settings)
        for _ in 0..<2 { breaker.failed(now: Self.t0) }
        #expect(allows(&breaker, Self.t0))
        breaker.failed(now: Self.t0)
        #expect(breaker.state == .open(until: Self.t0 + .seconds(30)))
        #expect(!allows(&breaker, Self.t0 + .seconds(29)))
        // Time up: this call is the probe, and no other goes while it runs.
        #expect(allows(&breaker, Self.t0 + .seconds(30)))
        #expect(!allows(&breaker, Self.t0 + .seconds(31)))
        // A failed probe opens it again; a successful one closes it.
        breaker.failed(now: Self.t0 + .seconds(32))
        #expect(breaker.state == .open(until: Self.t0 + .seconds(62)))
        #expect(allows(&breaker, Self.t0 + .seconds(62)))
        breaker.succeeded()
        #expect(breaker.state == .closed)
        #expect(allows(&breaker, Self.t0 + .seconds(63)))
    }

    @Test func anErrorRateOpensItOnceThereAreEnoughCalls() {
        var breaker = CircuitBreaker(settings: Self.settings)
        // Failing every other call: never three in a row, but half of them.
        for i in 0..<5 {
            if i % 2 == 0 { breaker.failed(now: Self.t0) } else { breaker.succeeded() }
        }
        #expect(breaker.state == .closed)
        breaker.succeeded()
        breaker.failed(now: Self.t0)
        #expect(breaker.state == .open(until: Self.t0 + .seconds(30)))
    }

    @Test func aProbeWhoseCallerLeftIsReplacedAfterTheOpenTime() {
        var breaker = CircuitBreaker(settings: Self.settings)
        for _ in 0..<3 { breaker.failed(now: Self.t0) }
        #expect(allows(&breaker, Self.t0 + .seconds(30)))
        #expect(!allows(&breaker, Self.t0 + .seconds(59)))
        #expect(allows(&breaker, Self.t0 + .seconds(60)))
    }

    @Test func onlyTheUpstreamsOwnFailuresCount() {
        #expect(CircuitBreaker.counts(ProviderError(.server(status: 500), provider: "p", message: "")))
        #expect(CircuitBreaker.counts(ProviderError(.timeout, provider: "p", message: "")))
        #expect(!CircuitBreaker.counts(ProviderError(.rateLimited(retryAfter: nil), provider: "p", message: "")))
        #expect(!CircuitBreaker.counts(ProviderError(.invalidRequest, provider: "p", message: "")))
    }

    @Test func theRouterSkipsASlotWhoseBreakerIsOpenAndSaysSo() async throws {
        let flaky = ScriptedProvider(id: "flaky", steps: [.fail(500)])
        let steady = ScriptedProvider(id: "steady", steps: [.reply("ok")])
        let router = ProviderRouter(
            id: "router", slots: [.init(provider: flaky), .init(provider: steady)], observer: nil, plan: .init(),
            breaker: Self.settings)
        for _ in 0..<3 { _ = try await router.chat(ChatRequest(model: "m", messages: [.user("x")]), context: .testing()) }
        #expect(flaky.calls.count == 3)
        let trace = CallTrace()
        var context = CallContext.testing()
        context.trace = trace
        let answer = try await router.chat(ChatRequest(model: "m", messages: [.user("x")]), context: context)
        #expect(answer.provider == "steady")
        #expect(flaky.calls.count == 3)
        #expect(trace.route == "flaky/m=skipped(circuit_open), steady/m=ok")
    }
}
