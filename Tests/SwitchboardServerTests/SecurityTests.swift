import Foundation
import Logging
import SwitchboardCore
import SwitchboardProviders
import SwitchboardServer
import SwitchboardStorage
import SwitchboardTesting
import Testing

/// The reproducers of the security review: each crashed, leaked or bypassed something before its fix. Every test
/// ends with a normal request answered, so a gateway that fell over fails it.
@Suite struct SecurityTests {
    static func messagesBody(_ model: String = "fake/fake-model", maxTokens: JSONValue = 64, stream: Bool = false) -> JSONValue {
        ["model": .string(model), "max_tokens": maxTokens, "stream": .bool(stream), "messages": [["role": "user", "content": "hi"]]]
    }

    static func stillAnswers(_ gw: LiveGateway) async throws {
        let r = try await gw.send("POST", "/v1/chat/completions", json: chatBody())
        #expect(r.status == 200)
    }

    @Test(arguments: [true, false])
    func tokenCountsAboveTheMaximumAre400sNamingTheField(requireKeys: Bool) async throws {
        var limits = QuotaEnforcer.Configuration()
        limits.global.requestsPerMinute = 10_000
        try await LiveGateway.with(try await LiveGateway.start(requireKeys: requireKeys, limits: limits)) { (gw) async throws in
            let huge = JSONValue.int(Int64.max)
            for field in ["max_tokens", "max_completion_tokens"] {
                for stream in [false, true] {
                    guard case .object(var body) = chatBody(stream: stream) else { return }
                    body[field] = huge
                    let r = try await gw.send("POST", "/v1/chat/completions", json: .object(body))
                    #expect(r.status == 400)
                    #expect(r.json?["error"]?["param"] == .string(field))
                }
            }
            for stream in [false, true] {
                let r = try await gw.send("POST", "/v1/messages", json: Self.messagesBody(maxTokens: huge, stream: stream))
                #expect(r.status == 400)
                #expect(r.json?["error"]?["type"] == "invalid_request_error")
            }
            guard case .object(var ok) = chatBody() else { return }
            ok["max_tokens"] = .int(Int64(ChatRequest.maximumOutputTokens))
            #expect(try await gw.send("POST", "/v1/chat/completions", json: .object(ok)).status == 200)
            try await Self.stillAnswers(gw)
        }
    }

    @Test(arguments: [Usage(inputTokens: 1 << 62, outputTokens: 1 << 62), Usage(inputTokens: -5, outputTokens: -7, cachedTokens: -1)])
    func absurdUpstreamUsageIsEstimatedInsteadOfCounted(usage: Usage) async throws {
        try await LiveGateway.with(try await LiveGateway.start()) { (gw) async throws in
            var reply = FakeReply("four words of answer")
            reply.usage = usage
            gw.fake.setDefault(.reply(reply))
            #expect(try await gw.send("POST", "/v1/chat/completions", json: chatBody()).status == 200)
            let streamed = try await gw.send("POST", "/v1/chat/completions", json: chatBody(stream: true, includeUsage: true))
            #expect(streamed.body.hasSuffix("data: [DONE]\n\n"))
            #expect(try await gw.send("POST", "/v1/messages", json: Self.messagesBody()).status == 200)
            #expect(
                try await gw.send("POST", "/hf/tasks/text-generation", json: ["inputs": "hi", "model": "fake/fake-model"]).status == 200)
            let records = try await gw.store.records(UsageFilter())
            #expect(records.count == 4)
            #expect(
                records.allSatisfy { $0.estimated && $0.inputTokens >= 0 && $0.inputTokens < 1000 && $0.outputTokens < 1000 },
                "\(records.map { ($0.task, $0.estimated, $0.inputTokens, $0.outputTokens) })")
            #expect(try await gw.send("GET", "/metrics", key: nil).status == 200)
            #expect(try await gw.send("GET", "/hf/tasks/billing/usage").status == 200)
            gw.fake.setDefault(.reply(FakeReply("fine")))
            try await Self.stillAnswers(gw)
        }
    }

    @Test func clientChosenModelNamesAddNoMetricSeriesAndLongOnesAre400s() async throws {
        try await LiveGateway.with(try await LiveGateway.start()) { (gw) async throws in
            for i in 0..<40 {
                _ = try await gw.send("POST", "/v1/chat/completions", json: chatBody("fake/invented-\(i)"))
                _ = try await gw.send("POST", "/v1/chat/completions", json: chatBody("no-such-provider/\(i)-name", stream: true))
            }
            let metrics = try await gw.send("GET", "/metrics", key: nil).body
            #expect(!metrics.contains("invented-"))
            #expect(!metrics.contains("-name"))
            #expect(metrics.contains(#"model="other""#))

            let long = String(repeating: "m", count: 300_000)
            let before = gw.fake.received.count
            let routes: [(String, JSONValue)] = [
                ("/v1/chat/completions", chatBody("fake/" + long)), ("/v1/chat/completions", chatBody("fake/" + long, stream: true)),
                ("/v1/messages", Self.messagesBody("fake/" + long)), ("/v1/embeddings", ["model": .string(long), "input": "x"]),
                ("/hf/tasks/text-generation", ["inputs": "hi", "model": .string(long)]),
            ]
            for (path, body) in routes {
                let r = try await gw.send("POST", path, json: body)
                #expect(r.status == 400, "\(path)")
                #expect(r.body.utf8.count < 1000, "\(path) echoed the name")
            }
            // Pricing such a name is the same mistake, not an unpriced model.
            let priced = try await gw.send(
                "POST", "/hf/tasks/billing/cost",
                json: ["requests": [["model": .string(long), "input_tokens": 1, "output_tokens": 1]]])
            #expect(priced.status == 400)
            #expect(gw.fake.received.count == before)
            // Each refusal is recorded, without the name.
            var filter = UsageFilter()
            filter.limit = 1000
            let records = try await gw.store.records(filter)
            #expect(records.filter { $0.status == 400 }.count == routes.count)
            try await Self.stillAnswers(gw)
        }
    }

    @Test func anAllowListIsCheckedWhereANameResolvesNotAgainstItsText() async throws {
        try await LiveGateway.with(
            try await LiveGateway.start(extraProviders: [ScriptedProvider(id: "evil", steps: [.reply("from evil")])])
        ) { (gw) async throws in
            let (_, secret) = try await gw.store.createKey(NewAPIKey(name: "app", allowedModels: ["fake/fake-model"]))
            #expect(try await gw.send("POST", "/v1/chat/completions", json: chatBody(), key: secret).status == 200)
            let attempts: [(String, JSONValue)] = [
                ("/v1/chat/completions", chatBody("evil/fake/fake-model")),
                ("/v1/chat/completions", chatBody("evil/fake/fake-model", stream: true)),
                ("/v1/messages", Self.messagesBody("evil/fake/fake-model")),
                ("/hf/tasks/text-generation", ["inputs": "hi", "model": "evil/fake/fake-model"]),
                ("/v1/chat/completions", chatBody("evil/fake-model")),
            ]
            for (path, body) in attempts {
                let r = try await gw.send("POST", path, json: body, key: secret)
                #expect(r.status == 403, "\(path) \(body)")
                #expect(!r.body.contains("from evil"))
            }
        }
    }

    @Test func aRecordTheLedgerCannotTakeIsLoggedWithItsIDAndEndsTheResponseWithAnError() async throws {
        let capture = CapturingLogHandler()
        try await LiveGateway.with(try await LiveGateway.start(logger: capture.logger)) { (gw) async throws in
            // A record larger than a journal segment takes: the store refuses it.
            let (_, secret) = try await gw.store.createKey(NewAPIKey(name: "big", user: String(repeating: "u", count: 400_000)))
            let streamed = try await gw.send("POST", "/v1/chat/completions", json: chatBody(stream: true), key: secret)
            #expect(!streamed.body.contains("[DONE]"))
            #expect(streamed.body.contains("ledger_unavailable"))
            let plain = try await gw.send("POST", "/v1/chat/completions", json: chatBody(), key: secret)
            #expect(plain.status == 503)
            let logged = capture.lines.filter { $0.contains("usage record not committed") }
            #expect(logged.count == 2)
            #expect(logged.allSatisfy { $0.contains("request_id") })
            try await Self.stillAnswers(gw)
        }
    }

    @Test func aHugeUpstreamErrorIsCutAndHoldsUpNoOtherRequest() async throws {
        try await LiveGateway.with(try await LiveGateway.start()) { (gw) async throws in
            let message = String(repeating: "sk-" + String(repeating: "a", count: 20) + " ", count: 400_000)
            gw.fake.set(.status(500, body: #"{"error":{"message":""# + message + #"","type":"server_error"}}"#), forModel: "huge-error")
            async let failed = gw.send("POST", "/v1/chat/completions", json: chatBody("fake/huge-error"))
            async let other = gw.send("POST", "/v1/chat/completions", json: chatBody())
            let (error, normal) = try await (failed, other)
            #expect(normal.status == 200)
            #expect(error.status == 502 || error.status == 503)
            // What stalled the others was reading and redacting all of it: only the first 64 KiB are read.
            #expect(error.body.utf8.count < 80 * 1024)
            try await Self.stillAnswers(gw)
        }
    }

    @Test func errorsTellTheClientTheProviderButNotTheUpstreamsAddress() async throws {
        let capture = CapturingLogHandler()
        let unreachable = ProviderDescriptor(
            id: "gone", displayName: "Gone", baseURL: "http://127.0.0.1:9/v1/secret-path", apiKeyEnv: nil,
            defaultModel: "m", freeTier: .local)
        let provider = OpenAICompatibleProvider(options: .init(descriptor: unreachable, apiKey: "k"), transport: NIOHTTPTransport.shared)
        try await LiveGateway.with(try await LiveGateway.start(logger: capture.logger, extraProviders: [provider])) { (gw) async throws in
            for stream in [false, true] {
                let r = try await gw.send("POST", "/v1/chat/completions", json: chatBody("gone/m", stream: stream))
                #expect(r.status == 502)
                #expect(r.body.contains("gone"))
                #expect(!r.body.contains("127.0.0.1") && !r.body.contains(":9") && !r.body.contains("secret-path"))
            }
            #expect(capture.lines.contains { $0.contains("upstream call failed") && $0.contains("127.0.0.1:9") })
            try await Self.stillAnswers(gw)
        }
    }
}
