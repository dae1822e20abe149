import Foundation
import NIOPosix
import SwitchboardCore
import SwitchboardProviders
import SwitchboardTesting
import Testing

/// Runs `body` with a fake upstream and a provider pointed at it.
func withFake(
    descriptor: ProviderDescriptor = ProviderRegistry.descriptor(id: "openai")!, key: String? = "sk-test-key-0123456789",
    tier: RateLimitTier? = nil, transport: NIOHTTPTransport = .shared,
    _ body: (FakeUpstream, OpenAICompatibleProvider) async throws -> Void
) async throws {
    let fake = try await FakeUpstream.start()
    var options = OpenAICompatibleProvider.Options(descriptor: descriptor, apiKey: key)
    options.baseURL = fake.baseURL
    options.tier = tier
    let provider = OpenAICompatibleProvider(options: options, transport: transport)
    do {
        try await body(fake, provider)
    } catch {
        await fake.stop()
        throw error
    }
    await fake.stop()
}

@Suite struct OpenAICompatibleProviderTests {
    let request = ChatRequest(model: "fake-model", messages: [.user("hi")])

    @Test func nonStreamChatDecodesTextUsageAndReasoning() async throws {
        try await withFake { fake, provider in
            var reply = FakeReply("Hello there")
            reply.reasoning = "thinking"
            reply.reasoningField = "reasoning_content"
            reply.usage = Usage(inputTokens: 3, outputTokens: 4, reasoningTokens: 1, cachedTokens: 2)
            fake.setDefault(.reply(reply))
            let groq = ProviderRegistry.descriptor(id: "deepseek")!
            _ = groq
            let r = try await provider.chat(request, context: .testing())
            #expect(r.content == "Hello there")
            #expect(r.usage == Usage(inputTokens: 3, outputTokens: 4, reasoningTokens: 1, cachedTokens: 2))
            #expect(r.provider == "openai")
            #expect(r.finishReason == .stop)
            #expect(fake.received.last?.headers["authorization"] == "Bearer sk-test-key-0123456789")
            #expect(fake.received.last?.json?["stream"] == nil)
        }
    }

    @Test func streamAndNonStreamGiveTheSameResponse() async throws {
        try await withFake(descriptor: Cerebras.descriptor) { fake, provider in
            var reply = FakeReply("The capital of France is Paris.")
            reply.reasoning = "The user asks about France."
            reply.toolCalls = [
                ToolCall(id: "call_A", name: "get_weather", arguments: "{\"city\":\"Paris\"}"),
                ToolCall(id: "call_B", name: "get_time", arguments: "{\"tz\":\"CET\"}"),
            ]
            reply.usage = Usage(inputTokens: 18, outputTokens: 42)
            fake.setDefault(.reply(reply))
            let whole = try await provider.chat(request, context: .testing())
            let streamed = try await StreamAccumulator.collect(provider.stream(request, context: .testing()))
            #expect(whole == streamed)
            #expect(streamed.reasoning == "The user asks about France.")
            #expect(streamed.toolCalls.map(\.id) == ["call_A", "call_B"])
            #expect(streamed.toolCalls.map(\.arguments) == ["{\"city\":\"Paris\"}", "{\"tz\":\"CET\"}"])
            #expect(streamed.finishReason == .toolCalls)
            #expect(fake.received.last?.json?["stream_options"] == ["include_usage": true])
        }
    }

    @Test func aStreamAnsweredWithAWholeCompletionIsRelayedAsAStream() async throws {
        try await withFake { fake, provider in
            let body =
                #"{"id":"c1","object":"chat.completion","model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"Whole answer"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}"#
            fake.setDefault(.raw([body], contentType: "application/json"))
            var events: [StreamEvent] = []
            for try await event in provider.stream(ChatRequest(model: "gpt-4o", messages: [.user("hi")]), context: .testing()) {
                events.append(event)
            }
            #expect(events.contains(.textDelta("Whole answer")))
            #expect(events.contains(.usage(Usage(inputTokens: 5, outputTokens: 2))))
            #expect(events.last == .finish(.stop))
        }
    }

    @Test func streamDeliversTokensAsTheyArrive() async throws {
        try await withFake { fake, provider in
            var reply = FakeReply("one two three")
            // Chunks 0.5 s apart: a margin a loaded test run does not erase (CI's once did with 0.1 s).
            reply.chunkDelay = .milliseconds(500)
            fake.setDefault(.reply(reply))
            let start = ContinuousClock.now
            var firstDelta: Duration?
            for try await event in provider.stream(request, context: .testing()) {
                if case .textDelta = event, firstDelta == nil { firstDelta = .now - start }
            }
            let total = ContinuousClock.now - start
            // The first token must not wait for the whole body (several chunk delays).
            #expect(try #require(firstDelta) < total - .milliseconds(600))
        }
    }

    @Test func toolCallDeltasWithoutIndexOrWithReusedIndexAreSeparated() async throws {
        try await withFake { fake, provider in
            func chunk(_ calls: String) -> String {
                "data: {\"id\":\"c\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[\(calls)]}}]}\n\n"
            }
            fake.setDefault(
                .raw([
                    chunk("{\"index\":0,\"id\":\"a\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}"),
                    chunk("{\"index\":0,\"id\":\"b\",\"function\":{\"name\":\"g\",\"arguments\":\"{\\\"x\\\":\"}}"),
                    chunk("{\"function\":{\"arguments\":\"1}\"}}"),
                    "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n",
                    "data: [DONE]\n\n",
                ]))
            let r = try await StreamAccumulator.collect(provider.stream(request, context: .testing()))
            #expect(r.toolCalls == [ToolCall(id: "a", name: "f", arguments: "{}"), ToolCall(id: "b", name: "g", arguments: "{\"x\":1}")])
        }
    }

    @Test func sseSplitAcrossReadsWithCRLFCommentsAndKeepAlives() async throws {
        try await withFake { fake, provider in
            fake.setDefault(
                .raw(
                    [
                        ": keep-alive\r\n\r\n", "data: {\"id\":\"x\",\"model\":\"m\",\"choices\":[{\"index\":0,\"del",
                        "ta\":{\"content\":\"Hel\"}}]}\r", "\n\r\n",
                        "data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":\"stop\"}]}\r\n\r\n",
                        "data: [DONE]\r\n\r\n",
                    ], pause: .milliseconds(5)))
            let r = try await StreamAccumulator.collect(provider.stream(request, context: .testing()))
            #expect(r.content == "Hello")
        }
    }

    @Test func errorObjectMidStreamThrows() async throws {
        try await withFake { fake, provider in
            fake.setDefault(
                .raw([
                    "data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n",
                    "data: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\",\"code\":\"queue_exceeded\"},\"status_code\":503}\n\n",
                ]))
            let error = await #expect(throws: ProviderError.self) {
                for try await _ in provider.stream(request, context: .testing()) {}
            }
            #expect(error?.status == 503)
            #expect(error?.kind == .overloaded)
        }
    }

    @Test func droppedConnectionMidStreamIsAnErrorNotACleanEnd() async throws {
        try await withFake { fake, provider in
            fake.setDefault(.dropAfter(chunks: 3, reply: FakeReply("a b c d e f")))
            var text = ""
            let error = await #expect(throws: ProviderError.self) {
                for try await event in provider.stream(request, context: .testing()) {
                    if case .textDelta(let t) = event { text += t }
                }
            }
            #expect(error?.kind == .network)
            #expect(text == "a b")
        }
    }

    @Test func malformedJSONIsADecodingError() async throws {
        try await withFake { fake, provider in
            fake.setDefault(.malformedJSON)
            let e1 = await #expect(throws: ProviderError.self) { try await provider.chat(request, context: .testing()) }
            #expect(e1?.kind == .decoding)
            let e2 = await #expect(throws: ProviderError.self) { for try await _ in provider.stream(request, context: .testing()) {} }
            #expect(e2?.kind == .decoding)
        }
    }

    @Test func rateLimitCarriesRetryAfterAndHeaders() async throws {
        try await withFake { fake, provider in
            fake.setDefault(
                .status(
                    429, body: #"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#,
                    headers: [("Retry-After", "3"), ("x-ratelimit-remaining-requests", "0"), ("x-ratelimit-limit-requests", "60")]))
            let error = await #expect(throws: ProviderError.self) { try await provider.chat(request, context: .testing()) }
            #expect(error?.kind == .rateLimited(retryAfter: .seconds(3)))
            #expect(error?.isRetryable == true)
            #expect(error?.rateLimit?.remainingRequests == 0)
            #expect(error?.message == "Rate limit reached")
        }
    }

    @Test func aGoogleRetryDelayIsAWaitOnlyWhenItIsAPlainNumberOfSeconds() {
        func wait(_ delay: String) -> ProviderError.Kind {
            let body =
                #"{"error":{"code":429,"message":"Quota","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"\#(delay)"}]}}"#
            return OpenAIErrorDecoding.error(status: 429, headers: [], body: Data(body.utf8), provider: "vertex", secrets: []).kind
        }
        #expect(wait("17.5s") == .rateLimited(retryAfter: .milliseconds(17_500)))
        #expect(wait("1e300s") == .rateLimited(retryAfter: nil))
        #expect(wait("infs") == .rateLimited(retryAfter: nil))
        #expect(wait("99999999999999999999999s") == .rateLimited(retryAfter: .seconds(366 * 86_400)))
    }

    @Test func cerebrasUnwrappedErrorBodyAndDetailBody() async throws {
        try await withFake(descriptor: Cerebras.descriptor) { fake, provider in
            fake.setDefault(
                .status(
                    404,
                    body:
                        #"{"message":"Model nope does not exist","type":"invalid_request_error","param":"model","code":"model_not_found"}"#)
            )
            let e = await #expect(throws: ProviderError.self) { try await provider.chat(request, context: .testing()) }
            #expect(e?.kind == .modelNotFound)
            #expect(e?.code == "model_not_found")
            fake.setDefault(.status(403, body: #"{"detail":"Not authenticated"}"#))
            let d = await #expect(throws: ProviderError.self) { try await provider.chat(request, context: .testing()) }
            #expect(d?.kind == .permission)
            #expect(d?.message == "Not authenticated")
        }
    }

    @Test func badKeyIsAuthenticationErrorWithTheKeyRedacted() async throws {
        try await withFake(key: "sk-wrong-key-abcdefghijkl") { fake, provider in
            fake.requireKey("sk-right")
            fake.set(
                .status(
                    401,
                    body:
                        #"{"error":{"message":"Incorrect API key provided: sk-wrong-key-abcdefghijkl","type":"invalid_request_error","code":"invalid_api_key"}}"#
                ), forModel: "fake-model")
            let capture = CapturingLogHandler()
            let error = await #expect(throws: ProviderError.self) {
                try await provider.chat(request, context: .testing(logger: capture.logger))
            }
            #expect(error?.kind == .authentication)
            #expect(error?.isRetryable == false)
            #expect(!(error?.description.contains("sk-wrong-key") ?? true))
            #expect(!capture.lines.joined().contains("sk-wrong-key"))
        }
    }

    @Test func slowUpstreamTimesOut() async throws {
        try await withFake { fake, provider in
            // An answer far later than any loaded test run could make the timeout (a loaded run has taken over 3 s).
            fake.setDefault(.delay(.seconds(120), then: .reply(FakeReply("late"))))
            let start = ContinuousClock.now
            let error = await #expect(throws: ProviderError.self) {
                try await provider.chat(request, context: .testing(timeout: .milliseconds(300)))
            }
            #expect(error?.kind == .timeout)
            #expect(ContinuousClock.now - start < .seconds(60))
        }
    }

    @Test func imagesComeBackAsBase64AndOnlyWhereTheServiceHasAnImagesAPI() async throws {
        try await withFake { fake, provider in
            #expect(provider.capabilities.contains(.images))
            let images = try await provider.generateImages(
                ImageRequest(prompt: "a cat", model: "gpt-image-1", count: 2), context: .testing())
            #expect(images.count == 2 && images.allSatisfy { $0.base64 != nil })
            #expect(fake.received.last?.json?["response_format"]?.stringValue == "b64_json")
        }
        try await withFake(descriptor: ProviderRegistry.descriptor(id: "groq")!) { _, provider in
            #expect(!provider.capabilities.contains(.images))
            let error = await #expect(throws: ProviderError.self) {
                try await provider.generateImages(ImageRequest(prompt: "x", model: "m"), context: .testing())
            }
            #expect(error?.kind == .invalidRequest)
        }
        #expect(throws: ProviderError.self) { try OpenAIResponseDecoding.images(Data(#"{"data":[{"nope":1}]}"#.utf8), provider: "p") }
    }

    @Test func connectionRefusedIsARetryableNetworkError() async throws {
        // Port 1 on loopback: nothing listens there, and no other test's server can take it.
        var options = OpenAICompatibleProvider.Options(descriptor: ProviderRegistry.descriptor(id: "openai")!, apiKey: "k")
        options.baseURL = "http://127.0.0.1:1/v1"
        let provider = OpenAICompatibleProvider(options: options, transport: NIOHTTPTransport.shared)
        let error = await #expect(throws: ProviderError.self) { try await provider.chat(request, context: .testing()) }
        #expect(error?.kind == .network)
        #expect(error?.isRetryable == true)
        #expect(await provider.health(context: .testing()).status == .down)
    }

    @Test func cancellingTheConsumerCancelsTheUpstreamStream() async throws {
        let transport = NIOHTTPTransport(group: MultiThreadedEventLoopGroup.singleton, settings: .init())
        defer { Task { try await transport.shutdown() } }
        try await withFake(transport: transport) { fake, provider in
            // Twenty seconds of stream: it must never end by itself before the cut is noticed.
            var reply = FakeReply(Array(repeating: "word", count: 1000).joined(separator: " "))
            reply.chunkDelay = .milliseconds(20)
            fake.setDefault(.reply(reply))
            let consumer = Task {
                for try await _ in provider.stream(request, context: .testing()) {}
            }
            // Wait for the stream to be under way (a loaded machine may take a while to start it).
            await eventually { fake.streamsInFlight != 0 }
            #expect(fake.streamsInFlight == 1)
            consumer.cancel()
            _ = await consumer.result
            // Left alone the stream would end by itself after 20 s, but then not as cancelled; the full suite's
            // load can delay the upstream's noticing the closed connection by seconds, so the wait is long.
            await eventually { fake.streamsInFlight == 0 }
            let open = try await transport.openConnections()
            #expect(fake.streamsInFlight == 0, "gateway side still has \(open) upstream connections open")
            #expect(fake.streamsCancelled == 1)
        }
    }

    @Test func modelsMergeTheCatalogueWithWhatTheUpstreamLists() async throws {
        try await withFake(descriptor: Cerebras.descriptor) { fake, provider in
            fake.setModels(["zai-glm-4.7", "llama3.1-8b", "brand-new-model"])
            let models = try await provider.models(context: .testing())
            #expect(models.map(\.id) == ["zai-glm-4.7", "llama3.1-8b", "brand-new-model"])
            #expect(models[0].inputPricePerMillion?.value == 2_250_000_000)
            #expect(models[0].contextWindow == 131_072)
            #expect(models[2].inputPricePerMillion == nil)
            #expect(!models.contains { $0.id == "qwen-3-32b" })
        }
    }

    @Test func healthReportsLatencyAndCerebrasRateLimitHeaders() async throws {
        try await withFake(descriptor: Cerebras.descriptor) { fake, provider in
            fake.setExtraHeaders([
                ("x-ratelimit-limit-requests-day", "14400"), ("x-ratelimit-remaining-requests-day", "14000"),
                ("x-ratelimit-limit-tokens-minute", "60000"), ("x-ratelimit-remaining-tokens-minute", "0"),
                ("x-ratelimit-reset-tokens-minute", "12.5"),
            ])
            let health = await provider.health(context: .testing())
            #expect(health.status == .degraded)
            #expect(health.latency != nil)
            #expect(health.message == "requests 14000/14400 per day, tokens 0/60000 per minute")
            #expect(provider.latestRateLimit?.resetTokens == .milliseconds(12_500))
        }
    }

    @Test func cerebrasFieldsOnTheWire() async throws {
        try await withFake(descriptor: Cerebras.descriptor) { fake, provider in
            let r = ChatRequest(model: "zai-glm-4.7", messages: [.user("x")], maxTokens: 100)
                .withReasoning(ReasoningOptions(disable: true, clearThinking: false))
            _ = try await provider.chat(r, context: .testing())
            let body = try #require(fake.received.last?.json)
            #expect(body["disable_reasoning"] == true)
            #expect(body["clear_thinking"] == false)
            #expect(body["max_completion_tokens"] == 100)
            #expect(body["max_tokens"] == nil)
            #expect(fake.received.last?.path == "/v1/chat/completions")
        }
    }

    @Test func clientSideTierLimitRefusesWithoutCallingUpstream() async throws {
        try await withFake(descriptor: Cerebras.descriptor, tier: RateLimitTier(name: "free", requestsPerMinute: 2)) { fake, provider in
            _ = try await provider.chat(request, context: .testing())
            _ = try await provider.chat(request, context: .testing())
            let error = await #expect(throws: ProviderError.self) { try await provider.chat(request, context: .testing()) }
            #expect(error?.kind.name == "rate_limited")
            #expect(error?.retryAfter != nil)
            #expect(fake.received.count == 2)
        }
    }

    @Test func structuredOutputRequestAndJSONAnswer() async throws {
        try await withFake { fake, provider in
            fake.setDefault(.reply(FakeReply("{\"answer\":42}")))
            let r = try await provider.chat(
                request.withResponseFormat(.jsonSchema(name: "a", schema: ["type": "object"], strict: true)), context: .testing())
            #expect(try JSONValue.parse(Data(r.content.utf8)) == ["answer": 42])
            #expect(fake.received.last?.json?["response_format"]?["type"] == "json_schema")
        }
    }

    @Test func embeddingsKeepInputOrder() async throws {
        try await withFake { _, provider in
            let r = try await provider.embed(["a", "bbb"], model: "text-embedding-3-small", context: .testing())
            #expect(r.vectors.map { $0[0] } == [1, 3])
        }
    }

    @Test func mockEchoesWordByWordWithUsage() async throws {
        let mock = MockProvider(wordDelay: .zero)
        let r = try await mock.chat(ChatRequest(model: "echo", messages: [.user("say it back")]), context: .testing())
        #expect(r.content == "say it back")
        #expect(r.usage?.outputTokens == 3)
        let e = await #expect(throws: ProviderError.self) {
            try await mock.chat(ChatRequest(model: "fail-429", messages: [.user("x")]), context: .testing())
        }
        #expect(e?.status == 429)
    }
}
