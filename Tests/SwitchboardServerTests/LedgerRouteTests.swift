import Foundation
import SwitchboardCore
import SwitchboardStorage
import SwitchboardTesting
import Testing

@Suite struct LedgerRouteTests {
    @Test func everyRequestIsRecordedBeforeItsResponseAndStreamsBillLikeNonStreams() async throws {
        try await LiveGateway.with(try await LiveGateway.start()) { (gw) async throws in
            var reply = FakeReply("Paris is the capital.")
            reply.usage = Usage(inputTokens: 1000, outputTokens: 333)
            gw.fake.setDefault(.reply(reply))
            let (key, secret) = try await gw.store.createKey(NewAPIKey(name: "app", user: "carol"))

            let plain = try await gw.send("POST", "/v1/chat/completions", json: chatBody(), key: secret)
            #expect(plain.status == 200)
            // Committed before the response came back.
            var records = try await gw.store.records(UsageFilter())
            #expect(records.count == 1)
            // 1000 * 2.25 + 333 * 2.75 micro-dollars = 2,250,000 + 915,750 nano-USD.
            #expect(plain.header("x-switchboard-cost-nano-usd") == "3165750")
            #expect(plain.header("x-switchboard-cost-usd") == "0.00316575")
            #expect(plain.header("x-switchboard-cost-msats") == "3166")

            let streamed = try await gw.send("POST", "/v1/chat/completions", json: chatBody(stream: true, includeUsage: true), key: secret)
            #expect(streamed.body.contains(#""cost_nano_usd":3165750"#))
            #expect(streamed.body.contains(#""cost_msats":3166"#))
            records = try await gw.store.records(UsageFilter())
            #expect(records.count == 2)
            let (s, n) = (records[0], records[1])
            #expect(s.costNanoUSD == 3_165_750 && n.costNanoUSD == 3_165_750)
            // The cost by token class adds up to it.
            #expect(s.costs?.total.value == s.costNanoUSD && n.costs == s.costs && (s.costs?.output.value ?? 0) > 0)
            #expect(s.inputTokens == n.inputTokens && s.outputTokens == n.outputTokens)
            #expect(
                s.keyID == key.id && s.user == "carol" && s.task == "chat.completions" && s.provider == "fake" && s.model == "fake-model")
            #expect(s.ttftMs != nil && n.ttftMs == nil)
            #expect(s.status == 200 && s.attempts == 1 && !s.estimated)
        }
    }

    @Test func failuresAndUnpricedModelsAreRecordedWithoutText() async throws {
        try await LiveGateway.with(try await LiveGateway.start()) { (gw) async throws in
            gw.fake.set(.serverError(500), forModel: "broken")
            gw.fake.set(.reply(FakeReply("secret answer text")), forModel: "unpriced")
            _ = try await gw.send("POST", "/v1/chat/completions", json: chatBody("fake/broken", text: "secret prompt text"))
            let unpriced = try await gw.send("POST", "/v1/chat/completions", json: chatBody("fake/unpriced"))
            #expect(unpriced.header("x-switchboard-cost-nano-usd") == "unknown")
            _ = try await gw.send("POST", "/v1/chat/completions", json: chatBody(), key: "sk-sb-wrong")
            // A failure at a priced model cost nothing: 0, not "unpriced".
            gw.fake.enqueue([.serverError(500)], forModel: "fake-model")
            #expect(try await gw.send("POST", "/v1/chat/completions", json: chatBody()).status == 502)
            let records = try await gw.store.records(UsageFilter())
            #expect(Set(records.map(\.status)) == [502, 200, 401])
            #expect(records.first { $0.status == 502 && $0.model == "fake-model" }?.costNanoUSD == 0)
            #expect(records.first { $0.status == 200 }?.costNanoUSD == nil)
            #expect(records.first { $0.status == 401 }?.keyID == nil)
            let db = try Data(contentsOf: URL(fileURLWithPath: (gw.store as! SQLiteStore).path))
            #expect(db.range(of: Data("secret prompt text".utf8)) == nil)
            #expect(db.range(of: Data("secret answer text".utf8)) == nil)
        }
    }

    @Test func missingUsageIsEstimatedAndFlagged() async throws {
        try await LiveGateway.with(try await LiveGateway.start()) { (gw) async throws in
            var reply = FakeReply("twelve characters long!!")
            reply.usage = nil
            gw.fake.setDefault(.reply(reply))
            _ = try await gw.send("POST", "/v1/chat/completions", json: chatBody(stream: true))
            let record = try #require(try await gw.store.records(UsageFilter()).first)
            #expect(record.estimated)
            #expect(record.outputTokens > 0 && record.inputTokens > 0)
        }
    }

    @Test func aStreamCutByTheClientIsStillRecorded() async throws {
        // Thirty seconds of stream within a minute's request timeout, so that the cut is noticed long before
        // either ends it (under the full suite's load noticing can take seconds).
        try await LiveGateway.with(try await LiveGateway.start(requestTimeout: .seconds(60))) { (gw) async throws in
            var reply = FakeReply(Array(repeating: "tick", count: 3000).joined(separator: " "))
            reply.chunkDelay = .milliseconds(10)
            gw.fake.setDefault(.reply(reply))
            let client = Task {
                let response = try await gw.open("POST", "/v1/chat/completions", json: chatBody(stream: true))
                var n = 0
                for try await chunk in response.body {
                    n += chunk.readableBytes
                    if n > 1500 { break }
                }
            }
            _ = await client.result
            var records: [UsageRecord] = []
            // Polling: under the full suite's load noticing the cut can take seconds.
            try await eventually {
                records = try await gw.store.records(UsageFilter())
                return !records.isEmpty
            }
            #expect(records.first?.status == 499)
            #expect(records.first?.estimated == true)
        }
    }
}
