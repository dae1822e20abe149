import Foundation
import SwitchboardCore
import SwitchboardProviders
import SwitchboardTesting
import Testing

@Suite struct ModelsHealthMetricsTests {
    @Test func modelsListsProviderPrefixedAndUnambiguousBareIDs() async throws {
        try await LiveGateway.with(try await LiveGateway.start(extraProviders: [MockProvider(wordDelay: .zero)])) { (gw) async throws in
            let r = try await gw.send("GET", "/v1/models")
            #expect(r.status == 200)
            guard case .array(let data)? = r.json?["data"] else { Issue.record("no data"); return }
            let ids = data.compactMap { $0["id"]?.stringValue }
            #expect(ids.contains("fake/fake-model") && ids.contains("fake-model") && ids.contains("mock/echo") && ids.contains("echo"))
            #expect(data.first { $0["id"] == "mock/echo" }?["owned_by"] == "switchboard-mock")
            let one = try await gw.send("GET", "/v1/models/fake/fake-model")
            #expect(one.json?["id"] == "fake/fake-model")
            let none = try await gw.send("GET", "/v1/models/fake/nope")
            #expect(none.status == 404)
            // A bare id listed by one provider goes to that provider, not to the router's first slot.
            let echo = try await gw.send("POST", "/v1/chat/completions", json: chatBody("echo", text: "bare ids route"))
            #expect(echo.json?["choices"]?.arrayItem(0)?["message"]?["content"] == "bare ids route")
        }
    }

    @Test func embeddingsGoToProvidersThatHaveThem() async throws {
        try await LiveGateway.with(try await LiveGateway.start(extraProviders: [MockProvider()])) { (gw) async throws in
            let r = try await gw.send("POST", "/v1/embeddings", json: ["model": "fake/text-embed", "input": ["ab", "abcd"]])
            #expect(r.status == 200)
            #expect(r.json?["data"]?.arrayItem(1)?["embedding"]?.arrayItem(0)?.doubleValue == 4)
            let unsupported = try await gw.send("POST", "/v1/embeddings", json: ["model": "mock/echo", "input": "x"])
            #expect(unsupported.status == 400)
            let bad = try await gw.send("POST", "/v1/embeddings", json: ["model": "fake/x", "input": 5])
            #expect(bad.json?["error"]?["param"] == "input")
        }
    }

    @Test func healthComesFromTheBackgroundProber() async throws {
        // Probes every second, so one that fails on a loaded machine is soon followed by another.
        let interval = Duration.seconds(1)
        try await LiveGateway.with(try await LiveGateway.start { $0.healthInterval = interval }) { (gw) async throws in
            var health = try await gw.send("GET", "/health", key: nil)
            try await eventually {
                health = try await gw.send("GET", "/health", key: nil)
                // The status and the model listing are probed side by side.
                return health.json?["provider_status"]?["fake"] == "healthy" && health.json?["models_cached"] == 2
            }
            #expect(health.json?["status"] == "healthy")
            #expect(health.json?["provider_status"] == ["fake": "healthy"])
            #expect(health.json?["models_cached"] == 2)
            #expect(health.json?["uptime"]?.doubleValue ?? -1 >= 0)
            // Health answers from the last probe: requests for it make none of their own.
            let probes = gw.fake.received.filter { $0.path == "/v1/models" }.count
            let start = ContinuousClock.now
            for _ in 0..<20 { _ = try await gw.send("GET", "/health", key: nil) }
            // A round of probing lists the models twice (the catalogue, and the health check), and one may be half done.
            let rounds = Int((ContinuousClock.now - start) / interval) + 1
            #expect(gw.fake.received.filter { $0.path == "/v1/models" }.count <= probes + 2 * rounds)
        }
    }

    @Test func metricsExposeRequestsLatencyTokensAndFailovers() async throws {
        let failing = ScriptedProvider(id: "flaky", steps: [.fail(503)], models: ["fake-model"])
        try await LiveGateway.with(try await LiveGateway.start(extraProviders: [failing])) { (gw) async throws in
            _ = try await gw.send("POST", "/v1/chat/completions", json: chatBody())
            // A bare name both list goes to the router's slots of both, fake first: it fails, so flaky is tried.
            gw.fake.set(.serverError(503), forModel: "fake-model")
            _ = try await gw.send("POST", "/v1/chat/completions", json: chatBody("fake-model"))
            let text = try await gw.send("GET", "/metrics", key: nil).body
            #expect(
                text.contains(
                    #"switchboard_requests_total{route="/v1/chat/completions",model="fake/fake-model",provider="fake",status="200"} 1"#))
            #expect(text.contains("switchboard_request_duration_seconds_bucket"))
            #expect(text.contains("switchboard_upstream_duration_seconds_bucket"))
            #expect(text.contains("switchboard_gateway_overhead_seconds_bucket"))
            #expect(text.contains(#"switchboard_input_tokens_total{provider="fake",model="fake-model"} 9"#))
            #expect(text.contains(#"switchboard_failovers_total{from="fake",kind="overloaded"} 1"#))
            #expect(text.contains("switchboard_provider_up"))
        }
    }
}
