import Foundation
import SwitchboardCore
import SwitchboardStorage
import Testing

/// One suite, every store: what the gateway relies on must hold for SQLite and PostgreSQL alike.
@Suite struct StorageConformanceTests {
    func record(_ i: Int, key: String? = "key_a", model: String = "m1", cost: Int64? = 100) -> UsageRecord {
        UsageRecord(
            requestID: UUID().uuidString, timestamp: Date(timeIntervalSince1970: 1_800_000_000 + Double(i)), keyID: key,
            user: "u", task: "chat.completions", provider: "p", model: model, inputTokens: 10, outputTokens: 5,
            costNanoUSD: cost, latencyMs: 3, ttftMs: i % 2 == 0 ? 7 : nil, status: 200, attempts: 1)
    }

    @Test func postgresIsPresentWhenTheTestScriptPromisedIt() {
        #expect(
            !StoreKind.postgresRequired || StoreKind.postgresURL != nil,
            "SWITCHBOARD_REQUIRE_POSTGRES=1 but SWITCHBOARD_TEST_POSTGRES_URL is not set")
    }

    @Test(arguments: StoreKind.available)
    func keysAreStoredHashedWithLimitsAndFoundByHash(kind: StoreKind) async throws {
        let store = try await kind.make()
        let limits = UsageLimits(requestsPerMinute: 100, tokensPerDay: 5000, budgetPerMonth: NanoUSD(usd: "2.5"))
        let (record, secret) = try await store.createKey(NewAPIKey(name: "ci", user: "alice", allowedModels: ["mock/echo"], limits: limits))
        #expect(secret.hasPrefix("sk-sb-") && secret.count == 46)
        #expect(record.prefix == String(secret.prefix(10)))
        let found = try #require(try await store.key(hash: APIKeys.hash(secret)))
        #expect(found.id == record.id && found.user == "alice" && found.allowedModels == ["mock/echo"])
        #expect(found.limits == limits)
        #expect(try await store.key(hash: APIKeys.hash(secret + "x")) == nil)
        #expect(try await store.key(hash: secret) == nil, "the secret itself is not what is stored")
        await store.close()
    }

    @Test(arguments: StoreKind.available)
    func aKeysScopesAreKept(kind: StoreKind) async throws {
        let store = try await kind.make()
        let (_, admin) = try await store.createKey(NewAPIKey(name: "ops", scopes: [.admin]))
        let (_, plain) = try await store.createKey(NewAPIKey(name: "app"))
        #expect(try await store.key(hash: APIKeys.hash(admin))?.scopes == [.admin])
        #expect(try await store.key(hash: APIKeys.hash(plain))?.scopes == [])
        #expect(Set(try await store.listKeys().map(\.scopes)) == [[.admin], []])
        await store.close()
    }

    @Test(arguments: StoreKind.available)
    func theSeriesSumsRecordsByBucketLaneKeyAndLatencyClass(kind: StoreKind) async throws {
        let store = try await kind.make()
        var records: [UsageRecord] = []
        for i in 0..<6 {
            var r = record(i * 30, key: i < 4 ? "key_a" : "key_b")
            r.latencyMs = i < 3 ? 40 : 900
            r.status = i == 5 ? 502 : 200
            r.route = i % 2 == 0 ? "lane:fast: p/m1=ok" : (i == 3 ? "lane:outer>lane:inner: p/m1=ok" : nil)
            records.append(r)
        }
        var outside = record(400)
        outside.inputTokens = 999
        var corrupt = record(31)
        corrupt.inputTokens = -1
        try await store.append(records + [outside, corrupt])
        let rows = try await store.series(
            UsageSeriesQuery(
                from: Date(timeIntervalSince1970: 1_800_000_000), to: Date(timeIntervalSince1970: 1_800_000_400), bucketSeconds: 60))
        #expect(rows.reduce(0) { $0 + $1.requests } == 7)
        #expect(rows.reduce(0) { $0 + $1.inputTokens } == 60, "the corrupt record is counted, not summed")
        #expect(rows.reduce(0) { $0 + $1.corruptRecords } == 1)
        #expect(rows.reduce(0) { $0 + $1.errors } == 1)
        #expect(rows.reduce(Int64(0)) { $0 + $1.costNanoUSD } == 600)
        #expect(Set(rows.map { $0.bucket.timeIntervalSince1970 }) == [1_800_000_000, 1_800_000_060, 1_800_000_120])
        var byLane: [String: Int] = [:]
        for row in rows { byLane[row.lane ?? "-", default: 0] += row.requests }
        #expect(byLane == ["lane:fast": 3, "lane:outer": 1, "-": 3])
        var byClass: [Int: Int] = [:]
        for row in rows where row.corruptRecords == 0 { byClass[row.latencyClass, default: 0] += row.requests }
        #expect(byClass == [3: 3, 7: 3], "40 ms is under 50, 900 ms under 1000")
        #expect(rows.filter { $0.keyID == "key_b" }.reduce(0) { $0 + $1.requests } == 2)
        await store.close()
    }

    @Test(arguments: StoreKind.available)
    func revokeMarksTheKeyAndUnknownIDsAreReported(kind: StoreKind) async throws {
        let store = try await kind.make()
        let (record, secret) = try await store.createKey(NewAPIKey(name: "a"))
        _ = try await store.createKey(NewAPIKey(name: "b", user: "bob"))
        #expect(try await store.revokeKey(id: record.id))
        #expect(try await store.revokeKey(id: record.id), "revoking twice still finds the key")
        #expect(try await store.key(hash: APIKeys.hash(secret))?.isRevoked == true)
        #expect(try await store.revokeKey(id: "key_nope") == false)
        #expect(Set(try await store.listKeys().map(\.name)) == ["a", "b"])
        await store.close()
    }

    @Test(arguments: StoreKind.available)
    func totalsOverRecordsThatWouldOverflowSaturateAndCountThemCorrupt(kind: StoreKind) async throws {
        let store = try await kind.make()
        var huge = [record(1), record(2)]
        for i in huge.indices {
            huge[i].inputTokens = 1 << 62
            huge[i].outputTokens = 1 << 62
        }
        var negative = record(3)
        negative.inputTokens = -5
        var dear = [record(4, cost: Int64.max / 2), record(5, cost: Int64.max / 2), record(6, cost: Int64.max / 2)]
        dear[0].outputTokens = 7
        try await store.append(huge + [negative] + dear + [record(7)])
        let totals = try await store.totals(UsageFilter())
        let all = try #require(totals.last)
        #expect(all.requests == 7)
        #expect(all.corruptRecords == 3)
        #expect(all.inputTokens == 40 && all.outputTokens == 22)
        #expect(all.costNanoUSD == Int64.max)
        #expect(try await store.spend(keyID: "key_a", user: nil, since: Date(timeIntervalSince1970: 0)) == NanoUSD(Int64.max))
        await store.close()
    }

    @Test(arguments: StoreKind.available)
    func ledgerAppendsQueriesAndTotals(kind: StoreKind) async throws {
        let store = try await kind.make()
        try await store.append([record(1), record(2, model: "m2", cost: nil), record(3, key: "key_b")])
        #expect(try await store.count(UsageFilter()) == 3)
        #expect(try await store.count(UsageFilter(keyID: "key_a")) == 2)
        #expect(try await store.count(UsageFilter(model: "p/m2")) == 1)
        #expect(try await store.count(UsageFilter(model: "m2")) == 1)
        #expect(try await store.count(UsageFilter(since: Date(timeIntervalSince1970: 1_800_000_002))) == 2)
        let newest = try await store.records(UsageFilter())
        #expect(newest.map(\.keyID) == ["key_b", "key_a", "key_a"])
        #expect(newest.last?.costNanoUSD == 100 && newest[1].costNanoUSD == nil)
        #expect(newest.last?.ttftMs == nil && newest.first?.ttftMs == nil && newest[1].ttftMs == 7)
        var page = UsageFilter()
        page.limit = 1
        page.offset = 1
        #expect(try await store.records(page).map(\.model) == ["m2"])
        let totals = try await store.totals(UsageFilter())
        let all = try #require(totals.last)
        #expect(all.requests == 3 && all.costNanoUSD == 200 && all.unpricedRequests == 1 && all.inputTokens == 30)
        #expect(totals.first { $0.model == "m2" }?.unpricedRequests == 1)
        #expect(try await store.spend(keyID: "key_a", user: nil, since: Date(timeIntervalSince1970: 0)) == NanoUSD(100))
        await store.close()
    }

    @Test(arguments: StoreKind.available)
    func everyTextOfALedgerRecordReadsBackAsWritten(kind: StoreKind) async throws {
        let store = try await kind.make()
        // Short (inline) and long strings, non-ASCII text and absent values, the way the journal's mover binds them.
        var long = record(1, key: nil, model: "modèle-de-démonstration/a-rather-long-model-name-v2")
        long.user = nil
        long.task = "hf.text-generation"
        long.provider = "a-provider-with-a-long-id"
        long.route = "lane:fast: a-provider-with-a-long-id/x=failed(overloaded 503), p/m=ok"
        long.cache = "miss"
        long.cacheWriteTokens = 3
        long.costs = CostBreakdown(
            input: NanoUSD(40), cacheRead: NanoUSD(5), cacheWrite: NanoUSD(7), output: NanoUSD(30), reasoning: NanoUSD(18))
        var short = record(2, key: "k", model: "m")
        short.provider = "p"
        try await store.append([long, short])
        let read = try await store.records(UsageFilter())
        #expect(read.map(\.requestID) == [short.requestID, long.requestID])
        #expect(read.map(\.keyID) == [short.keyID, nil] && read.map(\.user) == [short.user, nil])
        #expect(read.map(\.task) == [short.task, long.task] && read.map(\.provider) == ["p", long.provider])
        #expect(read.map(\.model) == ["m", long.model])
        #expect(read.map(\.route) == [nil, long.route])
        #expect(read.map(\.cache) == [nil, "miss"])
        #expect(read.map(\.cacheWriteTokens) == [0, 3] && read.map(\.costs) == [nil, long.costs])
        await store.close()
    }

    @Test(arguments: StoreKind.available)
    func cachedAnswersAreSharedUntilTheyExpire(kind: StoreKind) async throws {
        let store = try #require(try await kind.make() as? any ResponseCacheStore & Storage)
        let key = ResponseCacheKey(target: "p/m", request: ChatRequest(model: "m", messages: [.user("héllo")], temperature: 0))
        let other = ResponseCacheKey(target: "p/m", request: ChatRequest(model: "m", messages: [.user("hello")], temperature: 0))
        let now = Date()
        let body = Array(#"{"object":"chat.completion","choices":[]}"#.utf8) + [0, 255]
        let answer = CachedAnswer(
            body: body, usage: Usage(inputTokens: 11, outputTokens: 7, reasoningTokens: 2, cachedTokens: 3), provider: "p", model: "m")
        try await store.storeAnswer(answer, for: key, expires: now.addingTimeInterval(60))
        #expect(try await store.cachedAnswer(key, now: now) == answer)
        #expect(try await store.cachedAnswer(other, now: now) == nil)
        #expect(try await store.cachedAnswer(key, now: now.addingTimeInterval(61)) == nil)
        // A newer answer replaces the old one.
        var newer = answer
        newer.provider = "q"
        try await store.storeAnswer(newer, for: key, expires: now.addingTimeInterval(120))
        #expect(try await store.cachedAnswer(key, now: now.addingTimeInterval(61))?.provider == "q")
        await store.close()
    }

    @Test(arguments: StoreKind.available)
    func storedResponsesAreTheirOwnersAloneAndGoWithTheRetentionPeriod(kind: StoreKind) async throws {
        let store = try await kind.make()
        let now = Date()
        let body = Array(#"{"id":"resp_a","object":"response","output":[]}"#.utf8) + [0, 255]
        let items = Array(#"[{"type":"message","role":"user","content":"hi"}]"#.utf8)
        let response = StoredResponse(id: "resp_a", owner: "key-1", createdAt: now, body: body, inputItems: items)
        try await store.storeResponse(response, retainedSince: nil)
        let read = try #require(try await store.storedResponse(id: "resp_a", owner: "key-1", retainedSince: nil))
        #expect(read.body == body && read.inputItems == items && read.owner == "key-1")
        #expect(abs(read.createdAt.timeIntervalSince(now)) < 0.001)
        // Another key cannot read it or delete it.
        #expect(try await store.storedResponse(id: "resp_a", owner: "key-2", retainedSince: nil) == nil)
        #expect(try await store.deleteResponse(id: "resp_a", owner: "key-2", retainedSince: nil) == false)
        // Past the retention period it is gone for reads at once, and removed when the next response is stored.
        let old = StoredResponse(id: "resp_old", owner: "key-1", createdAt: now.addingTimeInterval(-7200), body: body, inputItems: items)
        try await store.storeResponse(old, retainedSince: nil)
        #expect(try await store.storedResponse(id: "resp_old", owner: "key-1", retainedSince: now.addingTimeInterval(-3600)) == nil)
        #expect(try await store.storedResponse(id: "resp_old", owner: "key-1", retainedSince: nil) != nil)
        try await store.storeResponse(
            StoredResponse(id: "resp_b", owner: "key-1", createdAt: now, body: body, inputItems: items),
            retainedSince: now.addingTimeInterval(-3600))
        #expect(try await store.storedResponse(id: "resp_old", owner: "key-1", retainedSince: nil) == nil)
        #expect(try await store.deleteResponse(id: "resp_a", owner: "key-1", retainedSince: nil))
        #expect(try await store.storedResponse(id: "resp_a", owner: "key-1", retainedSince: nil) == nil)
        #expect(try await store.deleteResponse(id: "resp_a", owner: "key-1", retainedSince: nil) == false)
        // An id is stored once.
        await #expect(throws: (any Error).self) { try await store.storeResponse(response.with(id: "resp_b"), retainedSince: nil) }
        await store.close()
    }

    @Test(arguments: StoreKind.available)
    func bigCostsSumWithoutOverflow(kind: StoreKind) async throws {
        let store = try await kind.make()
        let big = Int64(4_000_000_000_000_000_000)  // 4 billion dollars each
        try await store.append([record(1, cost: big), record(2, cost: big)])
        #expect(try await store.totals(UsageFilter()).last?.costNanoUSD == 2 * big)
        await store.close()
    }

    @Test(arguments: StoreKind.available)
    func concurrentRecordsAreGroupCommittedAndAllArrive(kind: StoreKind) async throws {
        let store = try await kind.make()
        let writer = LedgerWriter(store: store)
        let runner = Task { await writer.run() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<500 { group.addTask { try await writer.record(record(i)) } }
            try await group.waitForAll()
        }
        #expect(try await store.count(UsageFilter()) == 500)
        let stats = writer.statistics
        #expect(stats.records == 500)
        #expect(stats.batches < 500)
        writer.stop()
        await runner.value
        await #expect(throws: LedgerError.self) { try await writer.record(record(0)) }
        await store.close()
    }

    @Test(arguments: StoreKind.available)
    func aFailedBatchFailsEveryCallerInItAndStoresNothingOfIt(kind: StoreKind) async throws {
        let store = try await kind.make()
        let writer = LedgerWriter(store: store)
        let runner = Task { await writer.run() }
        let r = record(1)
        try await writer.record(r)
        await #expect(throws: (any Error).self) { try await writer.record(r) }  // duplicate request id
        #expect(try await store.count(UsageFilter()) == 1)
        writer.stop()
        await runner.value
        await store.close()
    }

    @Test(arguments: StoreKind.available)
    func modelMappingsAreSavedReplacedAndListed(kind: StoreKind) async throws {
        let store = try await kind.make()
        try await store.saveMapping(HubModelMapping(task: "summarization", providerModelID: "fake/a", hubModelID: "org/sum"))
        try await store.saveMapping(
            HubModelMapping(
                task: "text-generation", providerModelID: "fake/b", hubModelID: "org/gen",
                parameters: #"{"temperature":0.2}"#))
        try await store.saveMapping(HubModelMapping(task: "summarization", providerModelID: "fake/c", hubModelID: "org/sum"))
        let all = try await store.mappings(task: nil)
        #expect(all.map(\.hubModelID) == ["org/sum", "org/gen"])
        #expect(all.first?.providerModelID == "fake/c")
        #expect(try await store.mappings(task: "text-generation").first?.parameters == #"{"temperature":0.2}"#)
        #expect(try await store.mappings(task: "translation").isEmpty)
        await store.close()
    }

    @Test(arguments: StoreKind.available)
    func concurrentChargesNeverPassTheLimit(kind: StoreKind) async throws {
        let store = try await kind.make()
        let counters = store.counters
        let expiry = Int64(Date().timeIntervalSince1970) + 120
        let applied = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<120 {
                group.addTask {
                    let outcome = try await counters.charge([
                        CounterCharge(counter: "k:a:rpm", amount: 1, limit: 50, expiresAt: expiry),
                        CounterCharge(counter: "g:rpm", amount: 1, limit: 1000, expiresAt: expiry),
                    ])
                    if case .applied = outcome { return true }
                    return false
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(applied == 50)
        // All or nothing: the refused 70 left the second counter alone.
        if case .applied(let values) = try await counters.charge([CounterCharge(counter: "g:rpm", amount: 0, limit: nil, expiresAt: expiry)]
        ) {
            #expect(values == [50])
        } else {
            Issue.record("an unconditional charge was refused")
        }
        await store.close()
    }

    @Test(arguments: StoreKind.available)
    func countersAdjustSeedAndRefuseWithTheCurrentValue(kind: StoreKind) async throws {
        let store = try await kind.make()
        let c = store.counters
        let expiry = Int64(Date().timeIntervalSince1970) + 120
        #expect(try await c.exists("spend") == false)
        #expect(try await c.seed("spend", value: 700, expiresAt: expiry) == 700)
        #expect(try await c.seed("spend", value: 5, expiresAt: expiry) == 700, "seeding never overwrites")
        #expect(try await c.exists("spend"))
        try await c.adjust("spend", by: 300, expiresAt: expiry)
        try await c.adjust("tokens", by: -20, expiresAt: expiry)
        let outcome = try await c.charge([CounterCharge(counter: "spend", amount: 0, limit: 999, expiresAt: expiry)])
        #expect(outcome == .refused(index: 0, current: 1000))
        #expect(try await c.charge([CounterCharge(counter: "tokens", amount: 25, limit: 5, expiresAt: expiry)]) == .applied([5]))
        await store.close()
    }
}

extension StoredResponse {
    fileprivate func with(id: String) -> StoredResponse {
        var copy = self
        copy.id = id
        return copy
    }
}
