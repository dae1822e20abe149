import Foundation
import SwitchboardCore
import SwitchboardProviders
import SwitchboardTesting
import Testing

func anthropicFixture(_ name: String) throws -> String {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/anthropic/\(name)")
    return try String(contentsOf: url, encoding: .utf8)
}

/// Runs `body` with an Anthropic provider pointed at a fresh fake upstream.
func withAnthropic(
    credential: String = "sk-ant-api03-secret-key-0123456789",
    _ body: (FakeUpstream, AnthropicProvider) async throws -> Void
) async throws {
    let fake = try await FakeUpstream.start()
    var options = AnthropicProvider.Options(credential: credential)
    options.baseURL = String(fake.baseURL.dropLast(3))  // the fake's base ends in /v1; Anthropic paths include it
    let provider = AnthropicProvider(options: options, transport: NIOHTTPTransport.shared)
    do {
        try await body(fake, provider)
    } catch {
        await fake.stop()
        throw error
    }
    await fake.stop()
}

@Suite struct AnthropicProviderTests {
    let request = ChatRequest(model: "claude-sonnet-4-5", messages: [.system("Be brief."), .user("Weather and time in Paris?")])

    @Test func requestsPutSystemOnTopToolResultsInAUserTurnAndRequireMaxTokens() throws {
        var r = ChatRequest(
            model: "claude-sonnet-4-5",
            messages: [
                .system("Be brief."), .user("Weather?"),
                .assistant(
                    "",
                    toolCalls: [
                        ToolCall(id: "t1", name: "get_weather", arguments: #"{"city":"Paris"}"#),
                        ToolCall(id: "t2", name: "get_time", arguments: "not json"),
                    ]),
                .tool(callID: "t1", "sunny"), .tool(callID: "t2", "noon"),
                .user(parts: [.text("And this?"), .imageURL("data:image/png;base64,iVBORw0KGgo="), .imageURL("https://x.test/cat.jpg")]),
            ])
        r.tools = [Tool(name: "get_weather", description: "Weather", parameters: ["type": "object"])]
        r.toolChoice = .required
        r.parallelToolCalls = false
        r.temperature = 1.7
        r.stop = ["END"]
        let body = AnthropicTranslation.body(r, stream: true)
        #expect(body["system"]?.stringValue == "Be brief.")
        #expect(body["max_tokens"]?.intValue == Int64(AnthropicTranslation.defaultMaxTokens))
        #expect(body["temperature"]?.doubleValue == 1, "Anthropic's range ends at 1")
        #expect(body["stream"] == true && body["stop_sequences"] == ["END"])
        let messages = try #require(body["messages"]?.arrayValue)
        #expect(messages.map { $0["role"]?.stringValue } == ["user", "assistant", "user"])
        let assistant = try #require(messages[1]["content"]?.arrayValue)
        #expect(assistant.map { $0["type"]?.stringValue } == ["tool_use", "tool_use"])
        #expect(assistant[0]["input"] == ["city": "Paris"] && assistant[1]["input"] == [:])
        let results = try #require(messages[2]["content"]?.arrayValue)
        #expect(results.map { $0["type"]?.stringValue } == ["tool_result", "tool_result", "text", "image", "image"])
        #expect(results[1]["tool_use_id"] == "t2" && results[1]["content"] == "noon")
        #expect(results[3]["source"] == ["type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="])
        #expect(results[4]["source"]?["type"] == "url")
        #expect(body["tools"]?[0]?["input_schema"] == ["type": "object"])
        #expect(body["tool_choice"] == ["type": "any", "disable_parallel_tool_use": true])

        r.reasoning = ReasoningOptions(effort: "high")
        r.maxTokens = 100
        let thinking = AnthropicTranslation.body(r, stream: false)
        #expect(thinking["thinking"] == ["type": "enabled", "budget_tokens": 16_384])
        #expect((thinking["max_tokens"]?.intValue ?? 0) > 16_384, "the budget leaves room for the answer")
    }

    @Test func chatDecodesBlocksUsageAndSendsTheKeyInXAPIKey() async throws {
        try await withAnthropic { fake, provider in
            fake.setDefault(.raw([try anthropicFixture("message_tool_use.json")], contentType: "application/json"))
            let r = try await provider.chat(request, context: .testing())
            #expect(r.content == "Let me check." && r.reasoning == "The user wants weather and time.")
            #expect(r.toolCalls.map(\.name) == ["get_weather", "get_time"])
            #expect(r.toolCalls[0].arguments == #"{"city":"Paris"}"#)
            #expect(r.finishReason == .toolCalls)
            #expect(r.usage == Usage(inputTokens: 1436, outputTokens: 57, cachedTokens: 1024))
            let sent = try #require(fake.received.last)
            #expect(sent.path == "/v1/messages")
            #expect(sent.headers["x-api-key"] == "sk-ant-api03-secret-key-0123456789")
            #expect(sent.headers["anthropic-version"] == "2023-06-01" && sent.headers["authorization"] == nil)
            #expect(sent.json?["system"] == "Be brief." && sent.json?["max_tokens"] != nil)
        }
    }

    @Test func promptCacheReadsAndWritesAreCountedApartAndInTheInput() async throws {
        try await withAnthropic { fake, provider in
            var reply = FakeReply("cached")
            reply.usage = Usage(inputTokens: 1000, outputTokens: 20, cachedTokens: 200, cacheWriteTokens: 300)
            fake.setDefault(.reply(reply))
            let r = try await provider.chat(request, context: .testing())
            #expect(r.usage == Usage(inputTokens: 1000, outputTokens: 20, cachedTokens: 200, cacheWriteTokens: 300))
            var acc = StreamAccumulator()
            for try await e in provider.stream(request, context: .testing()) { acc.add(e) }
            #expect(acc.response.usage?.cacheWriteTokens == 300 && acc.response.usage?.inputTokens == 1000)
        }
    }

    @Test func oauthTokensGoAsBearerWithTheOAuthBeta() async throws {
        try await withAnthropic(credential: "sk-ant-oat01-abcdefghijklmnop") { fake, provider in
            fake.setDefault(.raw([try anthropicFixture("message_tool_use.json")], contentType: "application/json"))
            _ = try await provider.chat(request, context: .testing())
            let sent = try #require(fake.received.last)
            #expect(sent.headers["authorization"] == "Bearer sk-ant-oat01-abcdefghijklmnop")
            #expect(sent.headers["anthropic-beta"] == "oauth-2025-04-20" && sent.headers["x-api-key"] == nil)
        }
    }

    @Test func streamsTextThinkingAndParallelToolCallsInOrder() async throws {
        try await withAnthropic { fake, provider in
            // Each event arrives in its own write, as from the network.
            let events = try anthropicFixture("stream_text_and_tools.sse").components(separatedBy: "\n\n").map { $0 + "\n\n" }
            fake.setDefault(.raw(events))
            var acc = StreamAccumulator()
            for try await e in provider.stream(request, context: .testing()) { acc.add(e) }
            let r = acc.response
            #expect(r.id == "msg_014p7gG3wDgGV9EUtLvnow3U")
            #expect(r.content == "Checking the weather" && r.reasoning == "Two tools at once.")
            #expect(r.toolCalls.map(\.id) == ["toolu_01T1x1fJ34qAmk2tNTrN7Up6", "toolu_02"])
            #expect(r.toolCalls.map(\.arguments) == [#"{"city": "Paris"}"#, #"{"tz": "Europe/Paris"}"#])
            #expect(r.finishReason == .toolCalls)
            #expect(r.usage == Usage(inputTokens: 572, outputTokens: 89, cachedTokens: 100))
            #expect(fake.received.last?.json?["stream"] == true)
        }
    }

    @Test func errorsKnowTheirKindAndRetryability() async throws {
        try await withAnthropic { fake, provider in
            fake.set(
                .status(429, body: try anthropicFixture("error_rate_limit.json"), headers: [("retry-after", "12")]), forModel: "limited")
            fake.set(.status(529, body: try anthropicFixture("error_overloaded.json")), forModel: "busy")
            fake.set(.status(401, body: try anthropicFixture("error_authentication.json")), forModel: "denied")
            let limited = await #expect(throws: ProviderError.self) {
                try await provider.chat(request.withModel("limited"), context: .testing())
            }
            #expect(limited?.kind == .rateLimited(retryAfter: .seconds(12)) && limited?.isRetryable == true)
            let busy = await #expect(throws: ProviderError.self) { try await provider.chat(request.withModel("busy"), context: .testing()) }
            #expect(busy?.kind == .overloaded && busy?.isRetryable == true && busy?.status == 529)
            let denied = await #expect(throws: ProviderError.self) {
                try await provider.chat(request.withModel("denied"), context: .testing())
            }
            #expect(denied?.kind == .authentication && denied?.isRetryable == false)
            #expect(denied.map { !"\($0)".contains("secret-key") } == true)
        }
    }

    @Test func aStreamThatFailsOrStopsShortIsAnError() async throws {
        try await withAnthropic { fake, provider in
            fake.set(.raw([try anthropicFixture("stream_overloaded.sse")]), forModel: "busy")
            var texts: [String] = []
            let overloaded = await #expect(throws: ProviderError.self) {
                for try await e in provider.stream(request.withModel("busy"), context: .testing()) {
                    if case .textDelta(let t) = e { texts.append(t) }
                }
            }
            #expect(texts == ["Hel"] && overloaded?.kind == .overloaded)
            let cut = try anthropicFixture("stream_text_and_tools.sse").components(separatedBy: "event: message_delta")[0]
            fake.set(.raw([cut]), forModel: "cut")
            let short = await #expect(throws: ProviderError.self) {
                for try await _ in provider.stream(request.withModel("cut"), context: .testing()) {}
            }
            #expect(short?.kind == .network)
        }
    }

    @Test func modelsAndHealthUseTheModelList() async throws {
        try await withAnthropic { fake, provider in
            fake.setModels(["claude-sonnet-4-5", "claude-haiku-4-5"])
            let ids = try await provider.models(context: .testing()).map(\.id)
            #expect(ids == ["claude-sonnet-4-5", "claude-haiku-4-5"])
            #expect(await provider.health(context: .testing()).status == .healthy)
            #expect(fake.received.last?.headers["anthropic-version"] == "2023-06-01")
        }
    }
}
