import Foundation
import SwitchboardCore
import SwitchboardProviders
import SwitchboardStorage
import SwitchboardTesting
import Testing

/// `lane:NAME` as a model name on the server: failover across the lane's slots, a slot's TTFT timeout, what the ledger
/// and the listings say.
@Suite struct LaneRouteTests {
    static let lanes = [
        Lane(name: "fast", models: ["fake/broken", "fake/fake-model"]),
        // Long enough that a loaded machine's fast slot is within it (the whole suite at once has held one past 2 s),
        // much shorter than the slow slot's wait.
        Lane(name: "eager", models: ["fake/slow", "fake/fake-model"], ttftTimeout: .seconds(8)),
    ]

    @Test(arguments: [true, false]) func aLaneFailsOverToItsNextSlotAndTheLedgerNamesTheSlotThatAnswered(direct: Bool) async throws {
        try await LiveGateway.with(try await LiveGateway.start(direct: direct, lanes: Self.lanes)) { (gw) async throws in
            gw.fake.set(.serverError(503), forModel: "broken")
            for stream in [false, true] {
                let r = try await gw.send("POST", "/v1/chat/completions", json: chatBody("lane:fast", stream: stream))
                #expect(r.status == 200, "\(r.body)")
                #expect(r.header("x-switchboard-cost-nano-usd") != "unknown")
                #expect(r.header("x-switchboard-route") == "lane:fast: fake/broken=failed(overloaded 503), fake/fake-model=ok")
            }
            let plain = try await gw.send("POST", "/v1/chat/completions", json: chatBody())
            #expect(plain.header("x-switchboard-route") == "fake/fake-model=ok")
            try await eventually { try await gw.store.records(UsageFilter()).count == 3 }
            let records = try await gw.store.records(UsageFilter()).filter { $0.attempts == 2 }
            #expect(records.count == 2)
            // The slot that answered, asked for its own model, priced at that model's price, after two attempts.
            #expect(records.allSatisfy { $0.provider == "fake" && $0.model == "fake-model" && $0.attempts == 2 }, "\(records)")
            #expect(records.allSatisfy { $0.costNanoUSD != nil })
            #expect(records.allSatisfy { $0.route == "lane:fast: fake/broken=failed(overloaded 503), fake/fake-model=ok" })
        }
    }

    @Test func aLaneOfSlotsThatSpeakTheClientsDialectForwardsTheAnswerAsTheSlotSentIt() async throws {
        try await LiveGateway.with(try await LiveGateway.start(lanes: Self.lanes)) { (gw) async throws in
            gw.fake.set(.serverError(503), forModel: "broken")
            // A field the gateway's own types do not model survives only if the body is forwarded untouched.
            let body =
                #"{"id":"chatcmpl-raw","object":"chat.completion","created":1,"model":"fake-model","system_fingerprint":"fp_lane","#
                + #""choices":[{"index":0,"message":{"role":"assistant","content":"as sent"},"finish_reason":"stop"}],"#
                + #""usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}"#
            gw.fake.set(.status(200, body: body, headers: [("content-type", "application/json")]), forModel: "fake-model")
            let r = try await gw.send("POST", "/v1/chat/completions", json: chatBody("lane:fast"))
            #expect(r.status == 200)
            #expect(r.json?["system_fingerprint"] == "fp_lane", "\(r.body)")
            #expect(r.header("x-switchboard-route") == "lane:fast: fake/broken=failed(overloaded 503), fake/fake-model=ok")
            try await eventually { try await gw.store.records(UsageFilter()).count == 1 }
            let record = try await gw.store.records(UsageFilter()).first
            #expect(record?.provider == "fake" && record?.model == "fake-model" && record?.outputTokens == 2)
        }
    }

    @Test func aLaneEmbedsWithItsSlotsThatEmbed() async throws {
        let chatOnly = ScriptedProvider(id: "chatonly", steps: [.reply("x")], models: ["m"])
        let lanes = [Lane(name: "vectors", models: ["chatonly/m", "fake/embed-model"])]
        try await LiveGateway.with(try await LiveGateway.start(extraProviders: [chatOnly], lanes: lanes)) { (gw) async throws in
            let r = try await gw.send("POST", "/v1/embeddings", json: ["model": "lane:vectors", "input": "hello"])
            #expect(r.status == 200, "\(r.body)")
            #expect(r.json?["data"]?.arrayItem(0)?["embedding"] != nil)
            #expect(r.header("x-switchboard-route") == "lane:vectors: chatonly/m=failed(model_not_found), fake/embed-model=ok")
            try await eventually { try await gw.store.records(UsageFilter()).count == 1 }
            let record = try await gw.store.records(UsageFilter()).first
            #expect(record?.provider == "fake" && record?.model == "embed-model" && record?.task == "embeddings")
        }
    }

    @Test func aSlowFirstTokenMovesAStreamToTheNextSlotBeforeTheClientSeesAnything() async throws {
        try await LiveGateway.with(try await LiveGateway.start(lanes: Self.lanes)) { (gw) async throws in
            let chunk =
                #"{"id":"x","object":"chat.completion.chunk","created":1,"model":"slow","choices":[{"index":0,"delta":{"content":"late"}}]}"#
            gw.fake.set(.paced([(.seconds(120), chunk)]), forModel: "slow")
            let start = ContinuousClock.now
            let r = try await gw.send("POST", "/v1/chat/completions", json: chatBody("lane:eager", stream: true))
            #expect(ContinuousClock.now - start < .seconds(60))
            #expect(r.status == 200)
            #expect(!r.body.contains("late") && !r.body.contains("\"error\""), "\(r.body)")
            #expect(r.body.hasSuffix("data: [DONE]\n\n"))
        }
    }

    @Test func lanesAreListedAsModelsAndWithTheirSlots() async throws {
        try await LiveGateway.with(try await LiveGateway.start(lanes: Self.lanes)) { (gw) async throws in
            let models = try await gw.send("GET", "/v1/models").json
            guard case .array(let data)? = models?["data"] else { Issue.record("no model list"); return }
            let lane = data.first { $0["id"] == "lane:fast" }
            #expect(lane?["owned_by"] == "switchboard")
            let lanes = try await gw.send("GET", "/v1/lanes").json
            #expect(lanes?["data"]?.arrayItem(0)?["name"] == "lane:fast")
            #expect(lanes?["data"]?.arrayItem(0)?["slots"]?.arrayItem(1)?["slot"] == "fake/fake-model")
            #expect(lanes?["data"]?.arrayItem(1)?["ttft_timeout_ms"] == 8000)
            let unknown = try await gw.send("POST", "/v1/chat/completions", json: chatBody("lane:nope"))
            #expect(unknown.status == 404)
            #expect(unknown.json?["error"]?["message"] == "no lane is named 'nope'; lanes: fast, eager")
        }
    }
}
