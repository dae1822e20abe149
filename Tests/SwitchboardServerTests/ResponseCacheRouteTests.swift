import Foundation
import SwitchboardCore
import SwitchboardProviders
import SwitchboardStorage
import SwitchboardTesting
import Testing

/// The response cache as clients see it: which requests it answers, in which dialect and shape, what the headers
/// and the ledger say, and that a hit makes no upstream call.
@Suite(.timeLimit(.minutes(1))) struct ResponseCacheRouteTests {
    static func start(
        _ configuration: ResponseCache.Configuration = .init(), loopChat: Bool = true, shared: (any ResponseCacheStore)? = nil,
        store: (any Storage)? = nil, lanes: [Lane] = []
    ) async throws -> LiveGateway {
        try await LiveGateway.start(store: store, loopChat: loopChat, lanes: lanes) {
            $0.cache = ResponseCache(configuration, shared: shared)
        }
    }

    static func deterministic(
        _ model: String = "fake/fake-model", stream: Bool = false, text: String = "hi", maxTokens: Int? = nil
    ) -> JSONValue {
        var body = chatBody(model, stream: stream, text: text).objectValue!
        body["temperature"] = 0
        body["max_tokens"] = maxTokens.map { .int(Int64($0)) }
        return .object(body)
    }

    static func chats(_ gw: LiveGateway) -> Int { gw.fake.received.filter { $0.path.hasSuffix("/chat/completions") }.count }

    static func records(_ gw: LiveGateway, count: Int) async throws -> [UsageRecord] {
        var records: [UsageRecord] = []
        #expect(
            try await eventually {
                records = try await gw.store.records(UsageFilter())
                return records.count == count
            }, "\(records)")
        return records.sorted { $0.timestamp < $1.timestamp }
    }

    @Test(arguments: [true, false])
    func aRepeatedTemperatureZeroRequestIsAnsweredFromTheCacheAtNoCost(loopChat: Bool) async throws {
        try await LiveGateway.with(try await Self.start(loopChat: loopChat)) { gw in
            gw.fake.set(.reply(FakeReply("cached words")), forModel: "fake-model")
            let first = try await gw.send("POST", "/v1/chat/completions", json: Self.deterministic())
            let second = try await gw.send("POST", "/v1/chat/completions", json: Self.deterministic())
            #expect(first.status == 200 && second.status == 200)
            #expect(first.header("x-switchboard-cache") == "miss")
            #expect(second.header("x-switchboard-cache") == "hit")
            #expect(second.json?["choices"]?[0]?["message"]?["content"]?.stringValue == "cached words", "\(second.body)")
            #expect(second.header("x-switchboard-cost-nano-usd") == "0")
            #expect(first.header("x-switchboard-cost-nano-usd") != "0")
            #expect(second.header("x-switchboard-route") == "fake/fake-model: cache=hit")
            #expect(Self.chats(gw) == 1)
            let records = try await Self.records(gw, count: 2)
            #expect(records.map(\.cache) == ["miss", "hit"])
            #expect(records[1].costNanoUSD == 0 && records[1].attempts == 0 && records[1].status == 200)
            // The hit records the tokens it saved: what the call it replays used.
            #expect(records[1].inputTokens == records[0].inputTokens && records[1].outputTokens == records[0].outputTokens)
            #expect(records[1].outputTokens > 0)
            let metrics = try await gw.send("GET", "/metrics").body
            #expect(metrics.contains("switchboard_cache_requests_total{outcome=\"hit\"} 1"), "\(metrics)")
            #expect(metrics.contains("switchboard_cache_requests_total{outcome=\"miss\"} 1"))
            if loopChat { #expect(try await DirectChatTests.loopAnswered(gw) == 2) }
        }
    }

    @Test func oneStoredAnswerServesStreamsAndTheMessagesDialect() async throws {
        try await LiveGateway.with(try await Self.start()) { gw in
            gw.fake.set(.reply(FakeReply("one answer for all")), forModel: "fake-model")
            // Stored by a stream, at its clean end. (The Messages API asks for max_tokens, so every request here does.)
            let streamed = try await gw.send("POST", "/v1/chat/completions", json: Self.deterministic(stream: true, maxTokens: 64))
            #expect(streamed.header("x-switchboard-cache") == "miss" && streamed.body.contains("[DONE]"))
            let plain = try await gw.send("POST", "/v1/chat/completions", json: Self.deterministic(maxTokens: 64))
            #expect(plain.header("x-switchboard-cache") == "hit", "\(plain.headers)")
            #expect(plain.json?["choices"]?[0]?["message"]?["content"]?.stringValue == "one answer for all", "\(plain.body)")
            let replayed = try await gw.send("POST", "/v1/chat/completions", json: Self.deterministic(stream: true, maxTokens: 64))
            #expect(replayed.header("x-switchboard-cache") == "hit")
            #expect(replayed.body.contains("one answer for all") && replayed.body.hasSuffix("data: [DONE]\n\n"), "\(replayed.body)")
            var messages = SecurityTests.messagesBody().objectValue!
            messages["temperature"] = 0
            for stream in [false, true] {
                messages["stream"] = .bool(stream)
                let r = try await gw.send("POST", "/v1/messages", json: .object(messages))
                #expect(r.status == 200 && r.header("x-switchboard-cache") == "hit", "\(r.body)")
                #expect(r.body.contains("one answer for all"), "\(r.body)")
                if stream { #expect(r.body.contains("event: message_stop")) }
            }
            #expect(Self.chats(gw) == 1)
            let records = try await Self.records(gw, count: 5)
            #expect(records.map(\.cache) == ["miss", "hit", "hit", "hit", "hit"])
            #expect(records.dropFirst().allSatisfy { $0.costNanoUSD == 0 && $0.outputTokens == records[0].outputTokens })
        }
    }

    @Test func onlyEligibleRequestsAreCachedAndClientsCanSkipTheCache() async throws {
        try await LiveGateway.with(try await Self.start()) { gw in
            // Not deterministic and not asked for: bypassed.
            for _ in 0..<2 {
                let r = try await gw.send("POST", "/v1/chat/completions", json: chatBody())
                #expect(r.header("x-switchboard-cache") == "bypass")
            }
            #expect(Self.chats(gw) == 2)
            // Asked for: cached whatever the temperature.
            var warm = chatBody(text: "warm").objectValue!
            warm["temperature"] = 0.9
            let asked = [("x-switchboard-cache", "on")]
            _ = try await gw.send("POST", "/v1/chat/completions", json: .object(warm), headers: asked)
            let again = try await gw.send("POST", "/v1/chat/completions", json: .object(warm), headers: asked)
            #expect(again.header("x-switchboard-cache") == "hit")
            #expect(Self.chats(gw) == 3)
            // no-cache: asks the upstream again (and keeps the new answer); no-store: keeps nothing.
            let fresh = try await gw.send(
                "POST", "/v1/chat/completions", json: .object(warm), headers: asked + [("Cache-Control", "no-cache")])
            #expect(fresh.header("x-switchboard-cache") == "bypass")
            #expect(Self.chats(gw) == 4)
            let unstored = Self.deterministic(text: "secret")
            _ = try await gw.send("POST", "/v1/chat/completions", json: unstored, headers: [("Cache-Control", "no-store")])
            let after = try await gw.send("POST", "/v1/chat/completions", json: unstored)
            #expect(after.header("x-switchboard-cache") == "miss")
            #expect(Self.chats(gw) == 6)
            // The stream flag and the end-user id are not part of the key; the messages are.
            var withUser = Self.deterministic(text: "secret").objectValue!
            withUser["user"] = "someone"
            #expect(try await gw.send("POST", "/v1/chat/completions", json: .object(withUser)).header("x-switchboard-cache") == "hit")
            let other = try await gw.send("POST", "/v1/chat/completions", json: Self.deterministic(text: "secret!"))
            #expect(other.header("x-switchboard-cache") == "miss")
        }
    }

    @Test func failedAnswersAreNotKept() async throws {
        try await LiveGateway.with(try await Self.start()) { gw in
            gw.fake.set(.serverError(500), forModel: "fake-model")
            let failed = try await gw.send("POST", "/v1/chat/completions", json: Self.deterministic())
            #expect(failed.status >= 500)
            gw.fake.set(.reply(FakeReply("better now")), forModel: "fake-model")
            let next = try await gw.send("POST", "/v1/chat/completions", json: Self.deterministic())
            #expect(next.status == 200 && next.header("x-switchboard-cache") == "miss")
            // A stream cut after it began is not kept either.
            gw.fake.set(.dropAfter(chunks: 2, reply: FakeReply("one two three four")), forModel: "fake-model")
            _ = try await gw.send("POST", "/v1/chat/completions", json: Self.deterministic(stream: true, text: "cut"))
            gw.fake.set(.reply(FakeReply("whole")), forModel: "fake-model")
            let whole = try await gw.send("POST", "/v1/chat/completions", json: Self.deterministic(text: "cut"))
            #expect(whole.header("x-switchboard-cache") == "miss" && whole.body.contains("whole"))
        }
    }

    @Test func perKeyEntriesAreNotSharedBetweenKeys() async throws {
        try await LiveGateway.with(try await Self.start(.init(perKey: true))) { gw in
            let (_, other) = try await gw.store.createKey(NewAPIKey(name: "other"))
            _ = try await gw.send("POST", "/v1/chat/completions", json: Self.deterministic())
            let mine = try await gw.send("POST", "/v1/chat/completions", json: Self.deterministic())
            let theirs = try await gw.send("POST", "/v1/chat/completions", json: Self.deterministic(), key: other)
            #expect(mine.header("x-switchboard-cache") == "hit")
            #expect(theirs.header("x-switchboard-cache") == "miss")
        }
    }

    @Test func aLaneIsItsOwnTargetWithItsOwnTimeToLive() async throws {
        let lanes = [Lane(name: "pair", models: ["fake/fake-model", "fake/other-model"])]
        try await LiveGateway.with(try await Self.start(.init(laneTTL: ["pair": .seconds(60)]), lanes: lanes)) { gw in
            _ = try await gw.send("POST", "/v1/chat/completions", json: Self.deterministic("lane:pair"))
            let hit = try await gw.send("POST", "/v1/chat/completions", json: Self.deterministic("lane:pair"))
            #expect(hit.header("x-switchboard-cache") == "hit")
            #expect(hit.header("x-switchboard-route") == "lane:pair: cache=hit")
            // The same conversation sent to the slot's model itself is another key.
            let direct = try await gw.send("POST", "/v1/chat/completions", json: Self.deterministic())
            #expect(direct.header("x-switchboard-cache") == "miss")
            let records = try await Self.records(gw, count: 3)
            #expect(records[1].provider == "fake" && records[1].model == "fake-model" && records[1].cache == "hit")
        }
    }

    @Test func replicasShareEntriesThroughTheStore() async throws {
        let path = ScratchFiles.path("cache", suffix: ".db")
        let store = try SQLiteStore(path: path)
        defer {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        }
        try await LiveGateway.with(try await Self.start(shared: store, store: store)) { gw in
            gw.fake.set(.reply(FakeReply("shared answer")), forModel: "fake-model")
            _ = try await gw.send("POST", "/v1/chat/completions", json: Self.deterministic())
            // Another replica: its own memory, the same store.
            let key = ResponseCacheKey(
                target: "fake/fake-model", request: ChatRequest(model: "fake-model", messages: [.user("hi")], temperature: 0))
            let replica = ResponseCache(.init(), shared: store)
            var found: CachedAnswer?
            #expect(
                try await eventually {
                    found = try await replica.lookup(key)
                    return found != nil
                })
            let text = String(decoding: found?.body ?? [], as: UTF8.self)
            #expect(text.contains("shared answer"))
            #expect(found?.provider == "fake" && found?.model == "fake-model")
            #expect((found?.usage.outputTokens ?? 0) > 0)
        }
        await store.close()
    }
}
