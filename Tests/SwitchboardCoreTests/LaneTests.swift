import SwitchboardTesting
import Testing

@testable import SwitchboardCore

/// Lanes: named routes over slots, each ordered by its strategy, reached as `lane:NAME` everywhere a model name is.
@Suite struct LaneTests {
    static func providers(_ ids: [String], steps: [ScriptedProvider.Step] = [.reply("ok")]) -> [ScriptedProvider] {
        ids.map { ScriptedProvider(id: $0, steps: steps, models: ["m"]) }
    }

    static func first(_ lane: ProviderRouter) async throws -> String {
        try await lane.chat(ChatRequest(model: lane.id, messages: [.user("x")]), context: .testing()).provider
    }

    @Test func eachStrategyOrdersTheSlots() async throws {
        let ps = Self.providers(["a", "b", "c"])
        var prices = PriceTable()
        prices.set(ModelPrice(inputPerMillion: NanoUSD(3), outputPerMillion: NanoUSD(3)), for: "a/m")
        prices.set(ModelPrice(inputPerMillion: NanoUSD(1), outputPerMillion: NanoUSD(1)), for: "b/m")
        let lanes = try Lanes(
            [
                Lane(name: "p", models: ["a/m", "b/m", "c/m"]),
                Lane(name: "rr", models: ["a/m", "b/m", "c/m"], strategy: .roundRobin),
                Lane(name: "w", models: ["a/m", "b/m"], strategy: .weighted, weights: [3, 1]),
                Lane(name: "cost", models: ["c/m", "a/m", "b/m"], strategy: .cost),
            ], providers: ps, prices: prices)
        #expect(try await Self.first(#require(lanes.byName["p"])) == "a")
        var rotation: [String] = []
        for _ in 0..<4 { rotation.append(try await Self.first(#require(lanes.byName["rr"]))) }
        #expect(rotation == ["a", "b", "c", "a"])
        var shares: [String: Int] = [:]
        for _ in 0..<8 { shares[try await Self.first(#require(lanes.byName["w"])), default: 0] += 1 }
        #expect(shares == ["a": 6, "b": 2])
        // Cheapest first, the unpriced slot last.
        #expect(try #require(lanes.byName["cost"]).status().map(\.name) == ["b/m", "a/m", "c/m"])
        #expect(try await Self.first(#require(lanes.byName["cost"])) == "b")
    }

    @Test func latencyTriesUntriedSlotsThenTheFastestByMovingAverage() throws {
        let ps = Self.providers(["a", "b", "c"])
        let lanes = try Lanes([Lane(name: "l", models: ["a/m", "b/m", "c/m"], strategy: .latency)], providers: ps, prices: PriceTable())
        let lane = try #require(lanes.byName["l"])
        // Measurements are given, not waited for: a slot's time is what the router notes after a call.
        lane.record(0, latency: .milliseconds(300), firstToken: false)
        lane.record(1, latency: .milliseconds(100), firstToken: false)
        // c is untried, so it goes first, to be measured; then b, then a.
        #expect(lane.order() == [2, 1, 0])
        lane.record(2, latency: .milliseconds(500), firstToken: false)
        #expect(lane.order() == [1, 0, 2])
        // One slow answer moves b's average by a third of the difference, not all the way.
        lane.record(1, latency: .milliseconds(700), firstToken: false)
        #expect(lane.status().first { $0.name == "b/m" }?.latency?.inMilliseconds == 280)
        #expect(lane.order() == [1, 0, 2])
        // For streams, time to first token is what counts.
        lane.record(0, latency: .milliseconds(50), firstToken: true)
        #expect(lane.order() == [0, 1, 2])
    }

    @Test func aLaneFailsOverAcrossItsSlotsAndIntoANestedLane() async throws {
        let broken = ScriptedProvider(id: "broken", steps: [.fail(503)], models: ["m"])
        let local = ScriptedProvider(id: "local", steps: [.fail(500)], models: ["m"])
        let cloud = ScriptedProvider(id: "cloud", steps: [.reply("ok")], models: ["big"])
        let lanes = try Lanes(
            [
                Lane(name: "hybrid", models: ["local/m", "lane:fast"]),
                Lane(name: "fast", models: ["broken/m", "cloud/big"]),
            ], providers: [broken, local, cloud], prices: PriceTable())
        let trace = CallTrace()
        var context = CallContext.testing()
        context.trace = trace
        let hybrid = try #require(lanes.byName["hybrid"])
        let answer = try await hybrid.chat(ChatRequest(model: "lane:hybrid", messages: [.user("x")]), context: context)
        #expect(answer.provider == "cloud")
        // Each slot was asked for its own model; the nested lane is no attempt of its own.
        #expect(trace.attempts == ["local", "broken", "cloud"])
        #expect(trace.model(askedOf: "cloud") == "big")
        #expect(cloud.calls == ["big"])
    }

    @Test func aNestedLaneThatFailsEntirelyIsFollowedByTheOuterLanesNextSlot() async throws {
        let a = ScriptedProvider(id: "a", steps: [.fail(503)], models: ["m"])
        let b = ScriptedProvider(id: "b", steps: [.fail(500)], models: ["m"])
        let c = ScriptedProvider(id: "c", steps: [.reply("ok")], models: ["m"])
        let lanes = try Lanes(
            [Lane(name: "outer", models: ["lane:inner", "c/m"]), Lane(name: "inner", models: ["a/m", "b/m"])], providers: [a, b, c],
            prices: PriceTable())
        let outer = try #require(lanes.byName["outer"])
        for stream in [false, true] {
            let trace = CallTrace()
            var context = CallContext.testing()
            context.trace = trace
            let request = ChatRequest(model: "lane:outer", messages: [.user("x")])
            let provider =
                stream
                ? try await StreamAccumulator.collect(outer.stream(request, context: context)).provider
                : try await outer.chat(request, context: context).provider
            #expect(provider == "c")
            #expect(trace.route == "lane:outer>lane:inner: a/m=failed(overloaded 503), b/m=failed(server_error 500), c/m=ok")
        }
    }

    @Test func aLaneWhoseBudgetIsSpentTurnsItselfOffAndAnOuterLaneMovesToACheaperOne() async throws {
        // Each scripted reply uses 1 input token and 1 output token per word; $1 per token either way.
        let dear = ScriptedProvider(id: "dear", steps: [.reply("ok")], models: ["m"])
        let cheap = ScriptedProvider(id: "cheap", steps: [.reply("ok")], models: ["m"])
        var prices = PriceTable()
        prices.set(ModelPrice(inputPerMillion: NanoUSD(usd: "1000000")!, outputPerMillion: NanoUSD(usd: "1000000")!), for: "dear/m")
        let lanes = try Lanes(
            [
                Lane(name: "best", models: ["dear/m"], budget: NanoUSD(usd: "3")!),
                Lane(name: "any", models: ["lane:best", "cheap/m"]),
            ], providers: [dear, cheap], prices: prices)
        let best = try #require(lanes.byName["best"])
        _ = try await Self.first(best)
        #expect(best.spent == NanoUSD(usd: "2")!)
        _ = try await Self.first(best)
        let error = await #expect(throws: ProviderError.self) { _ = try await Self.first(best) }
        #expect(error?.kind == .budgetExceeded)
        #expect(error?.triesNextSlot == true)
        #expect(try await Self.first(#require(lanes.byName["any"])) == "cheap")
        #expect(dear.calls.count == 2)
    }

    @Test func aLanesBudgetInMsatsCountsWhatItsSlotsPaid() async throws {
        // 3000 msats a call at 100,000 USD a bitcoin (0.003 USD) against 5000 msats: the second call passes it.
        let swarm = ScriptedProvider(id: "swarm", steps: [.paid("ok", msats: 3000)], models: ["any"])
        let lanes = try Lanes(
            [Lane(name: "sats", models: ["swarm/any"], budget: NanoUSD(usd: "1")!, budgetMsats: 5000)], providers: [swarm],
            prices: PriceTable(), sats: .standard)
        let lane = try #require(lanes.byName["sats"])
        #expect(lane.plan.budget == NanoUSD(usd: "0.005")!, "the lower of the two budgets")
        _ = try await Self.first(lane)
        _ = try await StreamAccumulator.collect(lane.stream(ChatRequest(model: "any", messages: [.user("hi")]), context: .testing()))
        #expect(lane.spent == NanoUSD(usd: "0.006")!)
        let error = await #expect(throws: ProviderError.self) { _ = try await Self.first(lane) }
        #expect(error?.kind == .budgetExceeded)
    }

    @Test func replicasSharingACounterStoreShareALanesBudget() async throws {
        // Two gateways' lanes over one counter store, as replicas over one PostgreSQL: $2 a call against $5.
        var prices = PriceTable()
        prices.set(ModelPrice(inputPerMillion: NanoUSD(usd: "1000000")!, outputPerMillion: NanoUSD(usd: "1000000")!), for: "dear/m")
        let counters = InMemoryCounterStore()
        var replicas: [ProviderRouter] = []
        for _ in 0..<2 {
            let dear = ScriptedProvider(id: "dear", steps: [.reply("ok")], models: ["m"])
            let lanes = try Lanes([Lane(name: "best", models: ["dear/m"], budget: NanoUSD(usd: "5")!)], providers: [dear], prices: prices)
            let lane = try #require(lanes.byName["best"])
            lane.keepSpend(in: counters)
            replicas.append(lane)
        }
        _ = try await Self.first(replicas[0])
        _ = try await Self.first(replicas[1])
        // A stream counts too, and is refused the same way once the shared spend is past the budget.
        _ = try await StreamAccumulator.collect(
            replicas[0].stream(ChatRequest(model: "m", messages: [.user("hi")]), context: .testing()))
        #expect(replicas[0].spent == NanoUSD(usd: "6")!)
        let refused = await #expect(throws: ProviderError.self) {
            _ = try await StreamAccumulator.collect(
                replicas[1].stream(ChatRequest(model: "m", messages: [.user("hi")]), context: .testing()))
        }
        #expect(refused?.kind == .budgetExceeded)
        #expect(replicas[1].spent == NanoUSD(usd: "6")!, "it read what the other replica spent")
    }

    @Test func aMeterAddsUpUsageAndCostAcrossCalls() {
        var prices = PriceTable()
        prices.set(ModelPrice(inputPerMillion: NanoUSD(usd: "2")!, outputPerMillion: NanoUSD(usd: "4")!), for: "p/m")
        let meter = UsageMeter(prices: prices, sats: SatsRate(btcPrice: NanoUSD(usd: "100000")!))
        meter.add(Usage(inputTokens: 1_000_000, outputTokens: 500_000), provider: "p", model: "m")
        meter.add(Usage(inputTokens: 10, outputTokens: 10), provider: "p", model: "unpriced")
        let totals = meter.totals
        #expect(totals.calls == 2 && totals.unpriced == 1)
        #expect(totals.usage.inputTokens == 1_000_010 && totals.usage.outputTokens == 500_010)
        #expect(totals.cost == NanoUSD(usd: "4")!)
        // $4 at $100,000 a bitcoin: 4e-5 BTC, 4,000,000 msats.
        #expect(totals.msats == 4_000_000)
        // A response through a lane is priced at the model its slot was asked for, as the trace noted.
        let trace = CallTrace()
        trace.attempt("p", model: "m")
        meter.add(
            ChatResponse(
                id: "1", model: "m-2026-01-01", provider: "p", message: .assistant("x"), finishReason: .stop,
                usage: Usage(inputTokens: 1_000_000)), trace: trace)
        #expect(meter.totals.cost == NanoUSD(usd: "6")!)
    }

    @Test func badLanesAreRefusedNamingTheLane() {
        let ps = Self.providers(["a"])
        let cases: [([Lane], String)] = [
            ([Lane(name: "x", models: ["nope/m"])], "lane 'x': 'nope/m' is not a configured provider's"),
            ([Lane(name: "x", models: ["lane:y"]), Lane(name: "y", models: ["lane:x"])], "routes back to itself"),
            ([Lane(name: "x", models: ["lane:missing"])], "no lane is named 'missing'"),
            ([Lane(name: "x", models: ["a/m"], strategy: .weighted, weights: [1, 2])], "one positive weight per model"),
        ]
        for (lanes, message) in cases {
            let error = #expect(throws: LaneError.self) { try Lanes(lanes, providers: ps, prices: PriceTable()) }
            #expect(error?.description.contains(message) == true, "\(error?.description ?? "")")
        }
    }

    @Test func aLanesTimeoutsBoundEachSlotsCall() async throws {
        let a = ScriptedProvider(id: "a", steps: [.reply("ok")], models: ["m"])
        let lanes = try Lanes(
            [Lane(name: "t", models: ["a/m"], ttftTimeout: .milliseconds(400), totalTimeout: .seconds(2))], providers: [a],
            prices: PriceTable())
        _ = try await Self.first(#require(lanes.byName["t"]))
        let seen = try #require(a.callContexts.first)
        #expect(seen.firstByteTimeout == .milliseconds(400))
        #expect(seen.deadline <= .now + .seconds(2))
    }

    @Test func laneNamesResolveEverywhereAModelNameDoes() throws {
        let ps = Self.providers(["a"])
        let lanes = try Lanes([Lane(name: "fast", models: ["a/m"])], providers: ps, prices: PriceTable())
        let gateway = Gateway(providers: ps, router: ProviderRouter(slots: ps.map { RouterSlot(provider: $0) }), lanes: lanes)
        #expect(try gateway.resolve(model: "lane:fast").provider.id == "lane:fast")
        #expect(gateway.lane("fast")?.id == "lane:fast")
        let error = #expect(throws: ModelResolutionError.self) { try gateway.resolve(model: "lane:slow") }
        #expect(error.map(String.init(describing:)) == "no lane is named 'slow'; lanes: fast")
    }
}
