import Foundation
import SwitchboardCore
import SwitchboardStorage
import SwitchboardTesting
import Synchronization
import Testing

@Suite struct RateLimitRouteTests {
    /// Sends `count` requests at once and returns the replies.
    func burst(
        _ gw: LiveGateway, _ count: Int, key: String, path: String = "/v1/chat/completions",
        body: JSONValue = chatBody()
    ) async throws -> [LiveGateway.Reply] {
        try await withThrowingTaskGroup(of: LiveGateway.Reply.self) { group in
            for _ in 0..<count { group.addTask { try await gw.send("POST", path, json: body, key: key) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
    }

    /// `count` requests at once, those admitted held at the upstream until every one was refused or got there: none
    /// settles before the last is admitted, however slowly a loaded machine sends them.
    func heldBurst(_ gw: LiveGateway, _ count: Int, key: String, body: JSONValue, reply: FakeReply) async throws -> [LiveGateway.Reply] {
        let gate = FakeGate()
        gw.fake.setDefault(.gated(gate, then: .reply(reply)))
        func chats() -> Int { gw.fake.received.filter { $0.path.hasSuffix("/chat/completions") }.count }
        let upstreamBefore = chats()
        final class Count: Sendable { let value = Atomic<Int>(0) }
        let answered = Count()
        async let replies = withThrowingTaskGroup(of: LiveGateway.Reply.self) { group in
            for _ in 0..<count {
                group.addTask {
                    let reply = try await gw.send("POST", "/v1/chat/completions", json: body, key: key)
                    answered.value.add(1, ordering: .relaxed)
                    return reply
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(await eventually { answered.value.load(ordering: .relaxed) + chats() - upstreamBefore >= count })
        gate.open()
        return try await replies
    }

    @Test func aKeysRequestsPerMinuteCountExactlyUnderConcurrency() async throws {
        let clock = pinnedClock()
        try await LiveGateway.with(try await LiveGateway.start { $0.clock = clock }) { (gw) async throws in
            let (_, secret) = try await gw.store.createKey(NewAPIKey(name: "app", limits: UsageLimits(requestsPerMinute: 20)))
            let replies = try await burst(gw, 45, key: secret)
            let ok = replies.filter { $0.status == 200 }
            let limited = replies.filter { $0.status == 429 }
            #expect(ok.count == 20 && limited.count == 25)
            let now = Int(clock().timeIntervalSince1970)
            for r in ok {
                #expect(r.header("x-ratelimit-limit") == "20")
                #expect(Int(r.header("x-ratelimit-remaining") ?? "") != nil)
                let reset = try #require(Int(r.header("x-ratelimit-reset") ?? ""))
                #expect(reset > now && reset <= now + 61 && reset % 60 == 0)
            }
            #expect(Set(ok.compactMap { $0.header("x-ratelimit-remaining") }) == Set((0..<20).map(String.init)))
            let refused = try #require(limited.first)
            #expect(Int(refused.header("retry-after") ?? "") ?? 0 >= 1)
            #expect(refused.header("x-ratelimit-remaining") == "0")
            #expect(refused.json?["error"]?["code"]?.stringValue == "rate_limit_exceeded")
            #expect(refused.json?["error"]?["message"]?.stringValue?.contains("20 requests per minute") == true)
            // Refused requests are recorded too, and cost nothing.
            #expect(try await gw.store.count(UsageFilter()) == 45)
        }
    }

    @Test func aUsersLimitCoversAllOfTheirKeysAndTheGatewayLimitCoversEveryone() async throws {
        var limits = QuotaEnforcer.Configuration()
        limits.users["dave"] = UsageLimits(requestsPerMinute: 6)
        limits.global = UsageLimits(requestsPerMinute: 10)
        let clock = pinnedClock()
        try await LiveGateway.with(try await LiveGateway.start(limits: limits) { $0.clock = clock }) { (gw) async throws in
            let (_, a) = try await gw.store.createKey(NewAPIKey(name: "a", user: "dave"))
            let (_, b) = try await gw.store.createKey(NewAPIKey(name: "b", user: "dave"))
            let first = try await burst(gw, 5, key: a)
            let second = try await burst(gw, 5, key: b)
            #expect((first + second).filter { $0.status == 200 }.count == 6)
            // The gateway-wide limit (10) leaves 4 for the master key.
            let master = try await burst(gw, 8, key: LiveGateway.master)
            #expect(master.filter { $0.status == 200 }.count == 4)
            #expect(master.first { $0.status == 429 }?.json?["error"]?["message"]?.stringValue?.contains("gateway") == true)
        }
    }

    @Test func streamsReserveTheirMaxTokensUpFrontAndSettleToWhatTheyUsed() async throws {
        let clock = pinnedClock()
        try await LiveGateway.with(try await LiveGateway.start { $0.clock = clock }) { (gw) async throws in
            var reply = FakeReply("a streamed answer")
            reply.usage = Usage(inputTokens: 10, outputTokens: 5)
            let (_, secret) = try await gw.store.createKey(NewAPIKey(name: "app", limits: UsageLimits(tokensPerMinute: 300)))
            var body = chatBody(stream: true, includeUsage: true).objectValue!
            body["max_tokens"] = 100
            // Each reserves 101 (1 prompt + 100): two fit in 300, a third would overshoot.
            let replies = try await heldBurst(gw, 6, key: secret, body: .object(body), reply: reply)
            #expect(replies.filter { $0.status == 200 }.count == 2)
            #expect(replies.filter { $0.status == 429 }.count == 4)
            // Settled to 15 each, so 270 are free again: two more fit.
            let again = try await heldBurst(gw, 3, key: secret, body: .object(body), reply: reply)
            #expect(again.filter { $0.status == 200 }.count == 2)
            // A request that alone reserves more than the window holds is a client error, not a retry.
            body["max_tokens"] = 1000
            let tooBig = try await gw.send("POST", "/v1/chat/completions", json: .object(body), key: secret)
            #expect(tooBig.status == 400 && tooBig.json?["error"]?["param"]?.stringValue == "max_tokens")
        }
    }

    @Test func concurrentStreamsReserveTheirWorstCaseSoABudgetIsNotOverrun() async throws {
        try await LiveGateway.with(try await LiveGateway.start()) { (gw) async throws in
            var reply = FakeReply("priced")
            reply.usage = Usage(inputTokens: 1000, outputTokens: 333)  // 3,165,750 nano-USD
            reply.chunkDelay = .milliseconds(20)
            gw.fake.setDefault(.reply(reply))
            let budget = NanoUSD(10_000_000)
            let (record, secret) = try await gw.store.createKey(NewAPIKey(name: "app", limits: UsageLimits(budgetPerDay: budget)))
            // A prompt of about 1,000 tokens and max_tokens 333: the worst case is close to what each one costs.
            guard case .object(var fields) = chatBody(stream: true, includeUsage: true, text: String(repeating: "word ", count: 800))
            else { return }
            fields["max_tokens"] = 333
            let body = JSONValue.object(fields)
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<30 {
                    group.addTask { try await gw.send("POST", "/v1/chat/completions", json: body, key: secret).status }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            let spent = try await gw.store.records(UsageFilter()).filter { $0.keyID == record.id }
                .reduce(Int64(0)) { $0 + ($1.costNanoUSD ?? 0) }
            // Without reserving, all 30 were admitted while the spend was still 0 (9.5x the budget).
            #expect(statuses.filter { $0 == 200 }.count == 3, "\(statuses)")
            #expect(spent <= budget.value, "spent \(spent) of \(budget.value)")
        }
    }

    @Test func tokensUsedBeyondTheReservationCountAgainstTheWindow() async throws {
        let clock = pinnedClock()
        try await LiveGateway.with(try await LiveGateway.start { $0.clock = clock }) { (gw) async throws in
            var reply = FakeReply("long")
            reply.usage = Usage(inputTokens: 1000, outputTokens: 333)
            gw.fake.setDefault(.reply(reply))
            let (_, secret) = try await gw.store.createKey(NewAPIKey(name: "app", limits: UsageLimits(tokensPerMinute: 1000)))
            guard case .object(var fields) = chatBody() else { return }
            fields["max_tokens"] = 10
            // Reserved: a token of prompt and 10 of output; used: 1,333. The window holds the 1,333, so the next is refused.
            #expect(try await gw.send("POST", "/v1/chat/completions", json: .object(fields), key: secret).status == 200)
            let next = try await gw.send("POST", "/v1/chat/completions", json: .object(fields), key: secret)
            #expect(next.status == 429 && next.json?["error"]?["code"]?.stringValue == "rate_limit_exceeded")
        }
    }

    @Test func budgetsStopAKeyOnceSpentAndStreamedSpendCounts() async throws {
        try await LiveGateway.with(try await LiveGateway.start()) { (gw) async throws in
            var reply = FakeReply("priced")
            reply.usage = Usage(inputTokens: 1000, outputTokens: 333)  // 3,165,750 nano-USD
            gw.fake.setDefault(.reply(reply))
            // Each request reserves its worst case (about 2,050,000 nano-USD: 1,024 output tokens by default) and
            // settles to what it cost (3,165,750): the third would pass 7,000,000 and is refused.
            let (_, secret) = try await gw.store.createKey(NewAPIKey(name: "app", limits: UsageLimits(budgetPerDay: NanoUSD(7_000_000))))
            let first = try await gw.send("POST", "/v1/chat/completions", json: chatBody(stream: true, includeUsage: true), key: secret)
            #expect(first.status == 200 && first.body.contains("[DONE]"))
            let second = try await gw.send("POST", "/v1/chat/completions", json: chatBody(), key: secret)
            #expect(second.status == 200)
            let third = try await gw.send("POST", "/v1/chat/completions", json: chatBody(), key: secret)
            #expect(third.status == 429)
            #expect(third.json?["error"]?["type"]?.stringValue == "budget_exceeded")
            #expect(Int(third.header("retry-after") ?? "") ?? 0 >= 1)
            let hf = try await gw.send(
                "POST", "/hf/tasks/text-generation", json: ["inputs": "hello", "model": "fake/fake-model"], key: secret)
            #expect(hf.status == 429)
            #expect(hf.json?["error_type"]?.stringValue == "budget_exceeded")
        }
    }
}
