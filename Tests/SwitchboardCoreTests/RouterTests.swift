import SwitchboardCore
import SwitchboardTesting
import Testing

@Suite struct RouterTests {
    @Test func triesSlotsInOrderOnRetryableFailures() async throws {
        let a = ScriptedProvider(id: "a", steps: [.fail(503)])
        let b = ScriptedProvider(id: "b", steps: [.fail(429)])
        let c = ScriptedProvider(id: "c", steps: [.reply("hello world")])
        let router = ProviderRouter(slots: [.init(provider: a), .init(provider: b, model: "b-model"), .init(provider: c)])
        let r = try await router.chat(ChatRequest(model: "m", messages: [.user("hi")]), context: .testing())
        #expect(r.content == "hello world")
        #expect(r.provider == "c")
        #expect(a.calls == ["m"] && b.calls == ["b-model"] && c.calls == ["m"])
    }

    @Test(arguments: [401, 403, 404])
    func aRefusalThatIsTheSlotsAloneMovesOn(status: Int) async throws {
        // A key refused or a model missing at one provider says nothing of the next.
        let a = ScriptedProvider(id: "a", steps: [.fail(status)])
        let b = ScriptedProvider(id: "b", steps: [.reply("next")])
        let router = ProviderRouter(slots: [.init(provider: a), .init(provider: b)])
        let answer = try await router.chat(ChatRequest(model: "m", messages: [.user("hi")]), context: .testing())
        #expect(answer.provider == "b")
    }

    @Test(arguments: [400])
    func aRequestEveryProviderWouldRefuseStopsAtOnce(status: Int) async throws {
        let a = ScriptedProvider(id: "a", steps: [.fail(status)])
        let b = ScriptedProvider(id: "b", steps: [.reply("never")])
        let router = ProviderRouter(slots: [.init(provider: a), .init(provider: b)])
        let error = await #expect(throws: ProviderError.self) {
            try await router.chat(ChatRequest(model: "m", messages: [.user("hi")]), context: .testing())
        }
        #expect(error?.status == status)
        #expect(b.calls.isEmpty)
    }

    @Test func contentFilterIsNotRetried() async throws {
        let a = ScriptedProvider(id: "a", steps: [.error(ProviderError(.contentFiltered, provider: "a", status: 400, message: "no"))])
        let b = ScriptedProvider(id: "b", steps: [.reply("never")])
        let router = ProviderRouter(slots: [.init(provider: a), .init(provider: b)])
        await #expect(throws: ProviderError.self) {
            try await router.chat(ChatRequest(model: "m", messages: [.user("hi")]), context: .testing())
        }
        #expect(b.calls.isEmpty)
    }

    @Test func allFailedListsEveryAttemptInOrder() async throws {
        let a = ScriptedProvider(id: "a", steps: [.fail(500)])
        let b = ScriptedProvider(id: "b", steps: [.fail(429)])
        let router = ProviderRouter(slots: [.init(provider: a, model: "x"), .init(provider: b, model: "y")])
        let error = await #expect(throws: AllProvidersFailed.self) {
            try await router.chat(ChatRequest(model: "m", messages: [.user("hi")]), context: .testing())
        }
        #expect(error?.attempts.map(\.provider) == ["a", "b"])
        #expect(error?.attempts.map(\.model) == ["x", "y"])
        #expect(error?.attempts.map(\.error.status) == [500, 429])
        #expect(error?.description == "all providers failed: 1. a/x: server_error (HTTP 500); 2. b/y: rate_limited (HTTP 429)")
    }

    @Test func streamFailsOverBeforeTheFirstEvent() async throws {
        let a = ScriptedProvider(id: "a", steps: [.delay(.milliseconds(5), then: .fail(502))])
        let b = ScriptedProvider(id: "b", steps: [.reply("from b")])
        let router = ProviderRouter(slots: [.init(provider: a), .init(provider: b)])
        let r = try await StreamAccumulator.collect(router.stream(ChatRequest(model: "m", messages: [.user("x")]), context: .testing()))
        #expect(r.content == "from b")
    }

    @Test func streamNeverFailsOverAfterTheFirstEventAndEndsWithAnError() async throws {
        let a = ScriptedProvider(id: "a", steps: [.drop(afterEvents: 2, text: "one two three four")])
        let b = ScriptedProvider(id: "b", steps: [.reply("from b")])
        let router = ProviderRouter(slots: [.init(provider: a), .init(provider: b)])
        var texts: [String] = []
        let error = await #expect(throws: ProviderError.self) {
            for try await event in router.stream(ChatRequest(model: "m", messages: [.user("x")]), context: .testing()) {
                if case .textDelta(let t) = event { texts.append(t) }
            }
        }
        #expect(error?.kind == .network)
        #expect(texts == ["one", " two"])
        #expect(b.calls.isEmpty)
    }

    @Test func retryAfterCoolsTheSlotDown() async throws {
        let a = ScriptedProvider(id: "a", steps: [.fail(429, retryAfter: .seconds(30)), .reply("a again")])
        let b = ScriptedProvider(id: "b", steps: [.reply("b")])
        let router = ProviderRouter(slots: [.init(provider: a), .init(provider: b)])
        let request = ChatRequest(model: "m", messages: [.user("x")])
        #expect(try await router.chat(request, context: .testing()).provider == "b")
        #expect(try await router.chat(request, context: .testing()).provider == "b")
        #expect(a.calls.count == 1)
        #expect(router.coolingDown(slot: 0) != nil)
    }

    @Test(arguments: [
        ProviderError(.quotaExceeded, provider: "a", status: 429, message: "You exceeded your current quota", code: "insufficient_quota"),
        ProviderError(.quotaExceeded, provider: "a", status: 402, message: "insufficient credit"),
    ])
    func anAccountOutOfQuotaFailsOverAndIsSkippedForAWhile(error: ProviderError) async throws {
        let a = ScriptedProvider(id: "a", steps: [.error(error), .reply("a again")])
        let b = ScriptedProvider(id: "b", steps: [.reply("b")])
        let router = ProviderRouter(slots: [.init(provider: a), .init(provider: b)])
        let request = ChatRequest(model: "m", messages: [.user("x")])
        #expect(try await router.chat(request, context: .testing()).provider == "b")
        #expect(try await router.chat(request, context: .testing()).provider == "b")
        #expect(a.calls.count == 1)
        #expect(router.coolingDown(slot: 0) != nil)
        // Streams too, before their first event.
        let events = router.stream(request, context: .testing())
        var text = ""
        for try await case .textDelta(let t) in events { text += t }
        #expect(text == "b")
    }

    @Test func anUnreachableSlotIsSkippedUntilAProbeSeesItUp() async throws {
        var refused = ProviderError(.network, provider: "a", message: "cannot connect to the upstream")
        refused.unreachable = true
        let a = ScriptedProvider(id: "a", steps: [.error(refused), .reply("a is back")])
        let b = ScriptedProvider(id: "b", steps: [.reply("b")])
        let router = ProviderRouter(slots: [.init(provider: a), .init(provider: b)])
        let request = ChatRequest(model: "m", messages: [.user("x")])
        #expect(try await router.chat(request, context: .testing()).provider == "b")
        // No connect timeout paid again: the slot is not tried.
        #expect(try await router.chat(request, context: .testing()).provider == "b")
        #expect(a.calls.count == 1)
        router.markReachable(provider: "b")
        #expect(router.coolingDown(slot: 0) != nil, "only a probe of its own provider brings it back")
        router.markReachable(provider: "a")
        #expect(try await router.chat(request, context: .testing()).provider == "a")
    }

    @Test func aProbeBringsBackAnUnreachableSlotInEveryLaneToo() async throws {
        var refused = ProviderError(.network, provider: "a", message: "cannot connect to the upstream")
        refused.unreachable = true
        let a = ScriptedProvider(id: "a", steps: [.error(refused), .reply("a is back")], models: ["m"])
        let b = ScriptedProvider(id: "b", steps: [.reply("b")], models: ["m"])
        let lanes = try Lanes([Lane(name: "l", models: ["a/m", "b/m"])], providers: [a, b], prices: PriceTable())
        let gateway = Gateway(providers: [a, b], router: ProviderRouter(slots: [.init(provider: a), .init(provider: b)]), lanes: lanes)
        let lane = try #require(gateway.lane("l"))
        let request = ChatRequest(model: "lane:l", messages: [.user("x")])
        #expect(try await lane.chat(request, context: .testing()).provider == "b")
        #expect(lane.coolingDown(slot: 0) != nil)
        gateway.markReachable(provider: "a")
        #expect(try await lane.chat(request, context: .testing()).provider == "a")
    }

    @Test func allSlotsCoolingDownReportsSkippedAttempts() async throws {
        let a = ScriptedProvider(id: "a", steps: [.fail(429, retryAfter: .seconds(30))])
        let router = ProviderRouter(slots: [.init(provider: a)])
        let request = ChatRequest(model: "m", messages: [.user("x")])
        await #expect(throws: AllProvidersFailed.self) { try await router.chat(request, context: .testing()) }
        let error = await #expect(throws: AllProvidersFailed.self) { try await router.chat(request, context: .testing()) }
        #expect(error?.attempts.first?.skipped == true)
        #expect(a.calls.count == 1)
    }

    @Test func gatewayResolvesProviderPrefixesOnlyForConfiguredIDs() throws {
        let a = ScriptedProvider(id: "groq", steps: [.reply("x")])
        let router = ProviderRouter(slots: [.init(provider: a)])
        let gateway = Gateway(providers: [a], router: router, defaultModel: "groq/llama")
        #expect(try gateway.resolve(model: "groq/llama-3").provider.id == "groq")
        #expect(try gateway.resolve(model: "groq/llama-3").model == "llama-3")
        #expect(try gateway.resolve(model: "").model == "llama")
        // A prefix that is no provider is part of a name, and no provider lists this one.
        #expect(throws: ModelResolutionError.self) { try gateway.resolve(model: "meta-llama/Llama-3") }
    }

    @Test func aNameGoesOnlyToProvidersThatListItAndAnUnlistedNameIsRefusedNamingThem() async throws {
        let a = ScriptedProvider(id: "a", steps: [.fail(503)], models: ["shared", "meta-llama/Llama-3"])
        let b = ScriptedProvider(id: "b", steps: [.reply("from b")], models: ["shared", "only-b"])
        let c = ScriptedProvider(id: "c", steps: [.reply("from c")], models: ["other"])
        let router = ProviderRouter(slots: [.init(provider: a), .init(provider: b), .init(provider: c)])
        let gateway = Gateway(providers: [a, b, c], router: router)
        await gateway.catalog.refresh(gateway.providers, context: .testing())

        #expect(try gateway.resolve(model: "only-b").provider.id == "b")
        #expect(try gateway.resolve(model: "meta-llama/Llama-3").provider.id == "a")
        // Listed by two: the router over those two only, in its order, failing over from a to b and never to c.
        let (shared, model) = try gateway.resolve(model: "shared")
        #expect(shared.id == "router")
        let answer = try await shared.chat(ChatRequest(model: model, messages: [.user("x")]), context: .testing())
        #expect(answer.provider == "b")
        #expect(c.calls.isEmpty)

        for name in ["onyl-b", "nosuchprovider/foo"] {
            let error = #expect(throws: ModelResolutionError.self) { try gateway.resolve(model: name) }
            let text = error.map(String.init(describing:)) ?? ""
            #expect(text.contains("'\(name)'"))
            #expect(text.contains("a (2 models listed), b (2 models listed), c (1 model listed)"))
        }
    }

    @Test func anOpenProviderTakesNamesNoOneListsAndAFallbackSlotsModelNamesTheChain() async throws {
        let listed = ScriptedProvider(id: "listed", steps: [.reply("x")], models: ["m"])
        let open = ScriptedProvider(id: "open", steps: [.reply("x")], models: [])
        let chain = ProviderRouter(slots: [.init(provider: listed, model: "big"), .init(provider: open, model: "big")])
        let gateway = Gateway(providers: [listed, open], router: chain, catalog: ModelCatalog(openProviders: ["open"]))
        await gateway.catalog.refresh(gateway.providers, context: .testing())
        #expect(try gateway.resolve(model: "anything").provider.id == "open")
        #expect(try gateway.resolve(model: "big").provider.id == "router")
        // Listed by one and taken by the open one, but the explicit chain has no slot that takes the name: the first.
        #expect(try gateway.resolve(model: "m").provider.id == "listed")
    }

    @Test func aProviderWhoseListFailedIsNamedWithTheReason() async throws {
        let a = FailingLister(id: "a")
        let gateway = Gateway(providers: [a], router: ProviderRouter(slots: [.init(provider: a)]))
        await gateway.catalog.refresh(gateway.providers, context: .testing())
        let error = #expect(throws: ModelResolutionError.self) { try gateway.resolve(model: "x") }
        #expect(error.map(String.init(describing:))?.contains("a (model list unavailable: ") == true)
    }

    @Test func aProviderIsFoundByIdAndTheFirstOfTwoWithOneIdWins() throws {
        let first = ScriptedProvider(id: "dup", steps: [.reply("first")])
        let second = ScriptedProvider(id: "dup", steps: [.reply("second")])
        let other = ScriptedProvider(id: "other", steps: [.reply("x")])
        let gateway = Gateway(providers: [first, other, second], router: ProviderRouter(slots: [.init(provider: first)]))
        #expect(gateway.provider(id: "dup") as? ScriptedProvider === first)
        #expect(gateway.provider(id: "other") as? ScriptedProvider === other)
        #expect(gateway.provider(id: "none") == nil)
        #expect(try gateway.resolve(model: "other/m").provider as? ScriptedProvider === other)
        #expect(try gateway.resolve(model: "other/m").model == "m")
        // A name whose first slash follows non-ASCII text is split at that slash.
        #expect(try gateway.resolve(model: "dup/é/x").model == "é/x")
        #expect(throws: ModelResolutionError.self) { try gateway.resolve(model: "é/x") }
    }
}

/// A provider whose model list always fails.
private struct FailingLister: LLMProvider {
    let id: String
    var displayName: String { id }
    var capabilities: Set<Capability> { [.chat] }
    var isConfigured: Bool { true }
    func chat(_ request: ChatRequest, context: CallContext) async throws -> ChatResponse {
        throw ProviderError(.network, provider: id, message: "unused")
    }
    func stream(_ request: ChatRequest, context: CallContext) -> AsyncThrowingStream<StreamEvent, any Error> {
        AsyncThrowingStream { $0.finish(throwing: ProviderError(.network, provider: id, message: "unused")) }
    }
    func models(context: CallContext) async throws -> [ModelInfo] {
        throw ProviderError(.network, provider: id, message: "connection refused")
    }
    func health(context: CallContext) async -> ProviderHealth { ProviderHealth(status: .down, latency: .zero) }
}

/// A router's walk driven by hand, as a caller on an event loop drives it: no task, each attempt's end told to it.
@Suite struct RouterWalkTests {
    static func failure(_ kind: ProviderError.Kind, _ status: Int) -> ProviderError {
        ProviderError(kind, provider: "x", status: status, message: "failed")
    }

    @Test(arguments: [LaneStrategy.roundRobin, .weighted])
    func aDeclinedWalkGivesItsTurnBack(strategy: LaneStrategy) throws {
        let providers = ["a", "b", "c"].map { ScriptedProvider(id: $0, steps: []) }
        func lane() -> ProviderRouter {
            ProviderRouter(
                id: "lane:turns", slots: providers.map { .init(provider: $0) }, observer: nil,
                plan: .init(strategy: strategy, weights: [3, 1, 2]))
        }
        let request = ChatRequest(model: "m", messages: [.user("hi")])
        func firstSlot(_ router: ProviderRouter, declining: Bool) -> String? {
            var walk = router.walk(request, context: .testing())
            let id = walk.next()?.slot.provider.id
            if declining { walk.declined() }
            return id
        }
        // Every call declined once before it is walked for real starts where it would have without the decline.
        let plain = lane()
        let declining = lane()
        var expected: [String?] = []
        var seen: [String?] = []
        for _ in 0..<12 {
            expected.append(firstSlot(plain, declining: false))
            let before = firstSlot(declining, declining: true)
            seen.append(firstSlot(declining, declining: false))
            #expect(before == seen.last!)
        }
        #expect(seen == expected)
        #expect(Set(expected.compactMap { $0 }).count == 3)
    }

    @Test func aWalkMovesOnAfterRetryableFailuresSkipsCoolingSlotsAndKeepsTheTrace() throws {
        let (a, b, c) = (ScriptedProvider(id: "a", steps: []), ScriptedProvider(id: "b", steps: []), ScriptedProvider(id: "c", steps: []))
        let lane = ProviderRouter(
            id: "lane:hand", slots: [.init(provider: a), .init(provider: b, model: "b-model"), .init(provider: c)],
            plan: .init(budget: NanoUSD(1_000)))
        let request = ChatRequest(model: "m", messages: [.user("hi")])

        let made = try lane.walkNow(request, context: CallContext.testing().traced())
        var walk = try #require(made)
        let firstStep = walk.next()
        let first = try #require(firstStep)
        #expect(first.slot.provider.id == "a" && first.request.model == "m")
        let moved = walk.failed(first, Self.failure(.rateLimited(retryAfter: .seconds(60)), 429)) == nil
        #expect(moved)
        // The route line is asked for along the way, and follows every change after it.
        #expect(walk.context.trace?.route == "lane:hand: a/m=failed(rate_limited 429)")
        let secondStep = walk.next()
        let second = try #require(secondStep)
        #expect(second.slot.provider.id == "b" && second.request.model == "b-model")
        let movedAgain = walk.failed(second, Self.failure(.overloaded, 503)) == nil
        #expect(movedAgain)
        let thirdStep = walk.next()
        let third = try #require(thirdStep)
        walk.answered(third)
        var usage = Usage(inputTokens: 10, outputTokens: 10)
        usage.reportedCost = NanoUSD(1_000)
        walk.spent(third, usage: usage)
        #expect(walk.context.trace?.route == "lane:hand: a/m=failed(rate_limited 429), b/b-model=failed(overloaded 503), c/m=ok")
        #expect(walk.context.trace?.attemptCount == 3)

        // The budget is spent: a caller that cannot wait is refused; a walk skips the slot that is cooling down.
        #expect(lane.spent == NanoUSD(1_000))
        #expect(throws: ProviderError.self) { try lane.walkNow(request, context: .testing()) }
        var next = lane.walk(request, context: CallContext.testing().traced())
        let skippedTo = next.next()
        #expect(skippedTo?.slot.provider.id == "b")
        #expect(next.context.trace?.entries.first?.reason == "cooling")
    }

    @Test func aWalkStopsAtARefusalEverySlotWouldShareAndWhenTheCallsTimeIsUp() throws {
        let (a, b) = (ScriptedProvider(id: "a", steps: []), ScriptedProvider(id: "b", steps: []))
        let router = ProviderRouter(slots: [.init(provider: a), .init(provider: b)])
        let request = ChatRequest(model: "m", messages: [.user("hi")])

        var walk = router.walk(request, context: .testing())
        let firstStep = walk.next()
        let first = try #require(firstStep)
        let refused = walk.failed(first, Self.failure(.invalidRequest, 400))
        #expect((refused as? ProviderError)?.status == 400)

        var late = router.walk(request, context: .testing(timeout: .zero))
        let none = late.next()
        #expect(none?.slot.provider.id == nil)
        #expect(late.exhausted.attempts.isEmpty)

        var all = router.walk(request, context: .testing())
        for _ in 0..<2 {
            let next = all.next()
            let step = try #require(next)
            let moved = all.failed(step, Self.failure(.server(status: 500), 500)) == nil
            #expect(moved)
        }
        let after = all.next()
        #expect(after?.slot.provider.id == nil)
        #expect(all.exhausted.attempts.map(\.provider) == ["a", "b"])
    }
}
