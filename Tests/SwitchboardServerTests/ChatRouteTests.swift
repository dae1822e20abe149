import Foundation
import NIOCore
import SwitchboardCore
import SwitchboardProviders
import SwitchboardStorage
import SwitchboardTesting
import Testing

@Suite struct ChatRouteTests {
    @Test func nonStreamAnswerHasOpenAIShapeAndGatewayHeaders() async throws {
        try await LiveGateway.with(try await LiveGateway.start()) { (gw) async throws in
            var reply = FakeReply("Paris.")
            reply.usage = Usage(inputTokens: 18, outputTokens: 2, reasoningTokens: 0, cachedTokens: 4)
            gw.fake.setDefault(.reply(reply))
            let r = try await gw.send("POST", "/v1/chat/completions", json: chatBody(), headers: [("x-request-id", "client-req-7")])
            #expect(r.status == 200)
            #expect(r.header("x-request-id") == "client-req-7")
            #expect(Double(r.header("x-switchboard-overhead-ms") ?? "") != nil)
            let json = try #require(r.json)
            #expect(json["object"] == "chat.completion")
            #expect(json["choices"]?.arrayItem(0)?["message"]?["content"] == "Paris.")
            #expect(json["choices"]?.arrayItem(0)?["finish_reason"] == "stop")
            #expect(json["usage"]?["prompt_tokens"] == 18)
            #expect(json["usage"]?["prompt_tokens_details"]?["cached_tokens"] == 4)
            #expect(gw.fake.lastChat?.json?["model"] == "fake-model")
            #expect(gw.fake.lastChat?.headers["authorization"] == "Bearer sk-upstream-secret-9876543210")
        }
    }

    @Test func sameDialectBodiesAreForwardedUntouchedAndErrorsInsideA200AreCaught() async throws {
        try await LiveGateway.with(try await LiveGateway.start()) { (gw) async throws in
            let upstream =
                #"{"id":"chatcmpl-x","object":"chat.completion","model":"fake-model","choices":[{"index":0,"message":{"role":"assistant","content":"hi","reasoning":"because"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6},"time_info":{"total_time":0.01}}"#
            gw.fake.set(.raw([upstream], contentType: "application/json"), forModel: "passthrough")
            let r = try await gw.send("POST", "/v1/chat/completions", json: chatBody("fake/passthrough"))
            #expect(r.status == 200)
            #expect(r.body == upstream)
            gw.fake.set(
                .raw(
                    [#"{"error":{"message":"queue full","type":"server_error","code":"queue_exceeded"},"status_code":503}"#],
                    contentType: "application/json"), forModel: "error-in-200")
            let e = try await gw.send("POST", "/v1/chat/completions", json: chatBody("fake/error-in-200"))
            #expect(e.status == 503)
            let metrics = try await gw.send("GET", "/metrics", key: nil).body
            // The fake lists no model called `passthrough`: its tokens count under `other`, as any unlisted name's do.
            #expect(metrics.contains(#"switchboard_input_tokens_total{provider="fake",model="other"} 5"#))
        }
    }

    @Test(arguments: [true, false]) func streamFramingIsExactOpenAISSE(direct: Bool) async throws {
        try await LiveGateway.with(try await LiveGateway.start(direct: direct)) { (gw) async throws in
            var reply = FakeReply("Hi there")
            reply.usage = Usage(inputTokens: 3, outputTokens: 2)
            gw.fake.setDefault(.reply(reply))
            let r = try await gw.send("POST", "/v1/chat/completions", json: chatBody(stream: true, includeUsage: true))
            #expect(r.status == 200)
            #expect(r.header("content-type") == "text/event-stream")
            let created = try #require(r.body.firstMatch(of: #/"created":(\d+)/#)?.output.1)
            let head = #"{"choices":[{"delta":"#
            let tail = #","id":"chatcmpl-fake","model":"fake-model","object":"chat.completion.chunk"}"#
            let expected =
                "data: \(head){\"content\":\"Hi\",\"role\":\"assistant\"},\"finish_reason\":null,\"index\":0,\"logprobs\":null}],\"created\":\(created)\(tail)\n\n"
                + "data: \(head){\"content\":\" there\"},\"finish_reason\":null,\"index\":0,\"logprobs\":null}],\"created\":\(created)\(tail)\n\n"
                + "data: \(head){},\"finish_reason\":\"stop\",\"index\":0,\"logprobs\":null}],\"created\":\(created)\(tail)\n\n"
                + "data: {\"choices\":[],\"created\":\(created),\"id\":\"chatcmpl-fake\",\"model\":\"fake-model\",\"object\":\"chat.completion.chunk\","
                + "\"usage\":{\"completion_tokens\":2,\"completion_tokens_details\":{\"reasoning_tokens\":0},"
                + "\"cost_msats\":12,\"cost_nano_usd\":12250,\"cost_usd\":\"0.00001225\",\"prompt_tokens\":3,"
                + "\"prompt_tokens_details\":{\"cached_tokens\":0},\"total_tokens\":5}}\n\n"
                + "data: [DONE]\n\n"
            #expect(r.body == expected)
            #expect(gw.fake.lastChat?.json?["stream_options"] == ["include_usage": true])
        }
    }

    @Test(arguments: [true, false]) func parallelToolCallsSurviveStreamingInOrder(direct: Bool) async throws {
        try await LiveGateway.with(try await LiveGateway.start(direct: direct)) { (gw) async throws in
            var reply = FakeReply("")
            reply.toolCalls = [
                ToolCall(id: "call_1", name: "get_weather", arguments: "{\"city\":\"Paris\"}"),
                ToolCall(id: "call_2", name: "get_time", arguments: "{\"tz\":\"Europe/Paris\"}"),
            ]
            gw.fake.setDefault(.reply(reply))
            let r = try await gw.send("POST", "/v1/chat/completions", json: chatBody(stream: true))
            let response = try decodeSSE(r.body)
            #expect(response.toolCalls == reply.toolCalls)
            #expect(response.finishReason == .toolCalls)
        }
    }

    @Test(arguments: [true, false]) func failureAfterTheStreamBeganEndsWithAnErrorEventAndNoDone(direct: Bool) async throws {
        try await LiveGateway.with(try await LiveGateway.start(direct: direct)) { (gw) async throws in
            gw.fake.setDefault(.dropAfter(chunks: 3, reply: FakeReply("one two three four five")))
            let r = try await gw.send("POST", "/v1/chat/completions", json: chatBody(stream: true))
            #expect(r.status == 200)
            #expect(r.body.contains("\"content\":\"one\""))
            let last = try #require(r.body.components(separatedBy: "\n\n").filter { !$0.isEmpty }.last)
            #expect(last.hasPrefix("data: {") && last.contains("\"finish_reason\":\"error\"") && last.contains("\"error\":{"), "\(last)")
            #expect(!r.body.contains("[DONE]"))
        }
    }

    @Test(arguments: [true, false]) func upstreamFailuresBeforeOutputMapToGatewayStatuses(direct: Bool) async throws {
        // Timeouts far past what a machine busy with the whole suite takes to answer: these failures are not 504s.
        let start = { try await LiveGateway.start(requestTimeout: .seconds(60), direct: direct, timeouts: .init(firstByte: .seconds(60))) }
        try await LiveGateway.with(try await start()) { (gw) async throws in
            gw.fake.set(.rateLimited(retryAfter: 7), forModel: "limited")
            gw.fake.set(.serverError(500), forModel: "broken")
            gw.fake.set(
                .status(
                    404,
                    body:
                        #"{"error":{"message":"The model `nope` does not exist","type":"invalid_request_error","code":"model_not_found"}}"#),
                forModel: "nope")
            for stream in [false, true] {
                let limited = try await gw.send("POST", "/v1/chat/completions", json: chatBody("fake/limited", stream: stream))
                #expect(limited.status == 429)
                #expect(limited.header("retry-after") == "7")
                #expect(limited.json?["error"]?["type"] == "rate_limit_error")
                let broken = try await gw.send("POST", "/v1/chat/completions", json: chatBody("fake/broken", stream: stream))
                #expect(broken.status == 502)
                let missing = try await gw.send("POST", "/v1/chat/completions", json: chatBody("fake/nope", stream: stream))
                #expect(missing.status == 404)
                #expect(missing.json?["error"]?["code"] == "model_not_found")
            }
        }
    }

    @Test(arguments: [true, false]) func anUpstreamSlowerThanItsTimeoutIsA504(direct: Bool) async throws {
        let start = { try await LiveGateway.start(requestTimeout: .seconds(2), direct: direct, timeouts: .init(firstByte: .seconds(2))) }
        try await LiveGateway.with(try await start()) { (gw) async throws in
            // The answer would come long after the timeouts, however slowly the machine runs (the wait ends with the fake).
            gw.fake.set(.delay(.seconds(300), then: .reply(FakeReply("late"))), forModel: "slow")
            for stream in [false, true] {
                let slow = try await gw.send("POST", "/v1/chat/completions", json: chatBody("fake/slow", stream: stream))
                #expect(slow.status == 504)
                let which = stream ? "first-byte timeout" : "request timeout"
                #expect(slow.json?["error"]?["message"]?.stringValue?.contains(which) == true, "\(slow.body)")
                // Waiting for the upstream is upstream time, not the gateway's overhead.
                #expect(Double(slow.header("x-switchboard-overhead-ms") ?? "") ?? 9_999 < 1_000, "\(slow.headers)")
            }
        }
    }

    @Test(arguments: [true, false]) func anUpstreamsUnreadableRateLimitNumbersAreNoWaitAndNoCrash(direct: Bool) async throws {
        try await LiveGateway.with(try await LiveGateway.start(direct: direct)) { (gw) async throws in
            // `Double` reads "inf" and "1e400" as infinity and "nan" as not a number; none of them may become a wait.
            let headers = [
                ("Retry-After", "inf"), ("retry-after-ms", "nan"), ("x-ratelimit-remaining-requests", "0"),
                ("x-ratelimit-reset-requests", "1e400"), ("x-ratelimit-remaining-tokens", "0"), ("x-ratelimit-reset-tokens", "nans"),
            ]
            gw.fake.set(
                .status(429, body: #"{"error":{"message":"Rate limit reached","type":"requests"}}"#, headers: headers), forModel: "odd")
            for stream in [false, true] {
                let refused = try await gw.send("POST", "/v1/chat/completions", json: chatBody("fake/odd", stream: stream))
                #expect(refused.status == 429, "\(refused.body)")
            }
            #expect(try await gw.send("POST", "/v1/chat/completions", json: chatBody()).status == 200)
        }
    }

    @Test(arguments: [true, false]) func clientGoingAwayCancelsTheUpstreamStream(direct: Bool) async throws {
        try await LiveGateway.with(try await LiveGateway.start(direct: direct)) { (gw) async throws in
            // 30 s of stream: long enough that under the full suite's load it cannot end by itself before the
            // gateway notices the client left (a 6 s stream once did, on a busy machine).
            var reply = FakeReply(Array(repeating: "tick", count: 1500).joined(separator: " "))
            reply.chunkDelay = .milliseconds(20)
            gw.fake.setDefault(.reply(reply))
            let client = Task {
                let response = try await gw.open("POST", "/v1/chat/completions", json: chatBody(stream: true))
                var received = 0
                for try await chunk in response.body {
                    received += chunk.readableBytes
                    if received > 2000 { break }
                }
            }
            _ = await client.result
            // The full suite's load can delay the upstream's noticing the closed connection, so the wait is long.
            await eventually { gw.fake.streamsInFlight == 0 }
            let open = try await NIOHTTPTransport.shared.openConnections()
            #expect(gw.fake.streamsInFlight == 0, "the shared upstream client has \(open) connections open")
            #expect(gw.fake.streamsCancelled == 1)
        }
    }

    @Test func gracefulShutdownLetsAStreamFinish() async throws {
        // A drain timeout no loaded test run comes near (the whole suite at once has held this stream up past 8 s);
        // the test ends as soon as the stream does.
        let gw = try await LiveGateway.start { $0.drainTimeout = .seconds(120) }
        var reply = FakeReply("a b c d e f g h")
        reply.chunkDelay = .milliseconds(100)
        gw.fake.setDefault(.reply(reply))
        let client = Task { try await gw.send("POST", "/v1/chat/completions", json: chatBody(stream: true)) }
        // Shut down once the stream is under way (however long a busy machine takes to get there).
        await eventually(interval: .milliseconds(20)) { gw.fake.streamsInFlight != 0 }
        #expect(gw.fake.streamsInFlight == 1)
        await gw.group.triggerGracefulShutdown()
        let r = try await client.value
        #expect(r.body.hasSuffix("data: [DONE]\n\n"))
        _ = await gw.task.result
        await #expect(throws: (any Error).self) { try await gw.send("GET", "/health") }
        await gw.fake.stop()
    }
}

/// Reads the gateway's SSE back into a `ChatResponse` with the client-side decoder.
func decodeSSE(_ body: String) throws -> ChatResponse {
    var decoder = OpenAIStreamDecoder(descriptor: ProviderRegistry.descriptor(id: "openai")!, provider: "gateway")
    var acc = StreamAccumulator()
    var parser = SSEParser()
    for event in try parser.feed(ByteBuffer(string: body)) + parser.finish() {
        for e in try decoder.decode(event.data) { acc.add(e) }
    }
    return acc.response
}

extension JSONValue {
    func arrayItem(_ i: Int) -> JSONValue? {
        if case .array(let a) = self, i < a.count { return a[i] }
        return nil
    }
}

/// Anthropic's Messages API over the OpenAI-compatible fake, streamed, on every execution path.
@Suite(.timeLimit(.minutes(1)))
struct MessagesRouteTests {
    static let body: JSONValue = [
        "model": "fake/fake-model", "max_tokens": 100, "stream": true, "messages": [["role": "user", "content": "hi"]],
    ]

    /// The `event:` names of an SSE body, in order.
    static func events(_ body: String) -> [String] {
        body.split(separator: "\n").filter { $0.hasPrefix("event: ") }.map { String($0.dropFirst(7)) }
    }

    @Test(arguments: [true, false]) func aStreamEndsWithMessageStopAndIsRecorded(direct: Bool) async throws {
        try await LiveGateway.with(try await LiveGateway.start(direct: direct)) { (gw) async throws in
            var reply = FakeReply("one two three")
            reply.usage = Usage(inputTokens: 1000, outputTokens: 333)
            gw.fake.setDefault(.reply(reply))
            let r = try await gw.send("POST", "/v1/messages", json: Self.body)
            #expect(r.status == 200 && r.header("content-type") == "text/event-stream")
            let events = Self.events(r.body)
            #expect(events.first == "message_start" && events.last == "message_stop")
            #expect(events.contains("content_block_delta") && !events.contains("error"))
            let records = try await gw.store.records(UsageFilter())
            #expect(records.map(\.task) == ["messages"] && records.first?.status == 200)
            #expect(records.first?.costNanoUSD == 3_165_750)
        }
    }

    @Test(arguments: [true, false]) func aStreamThatFailsAfterItBeganEndsWithAnErrorEvent(direct: Bool) async throws {
        try await LiveGateway.with(try await LiveGateway.start(direct: direct)) { (gw) async throws in
            gw.fake.setDefault(.dropAfter(chunks: 3, reply: FakeReply("one two three four five")))
            let r = try await gw.send("POST", "/v1/messages", json: Self.body)
            #expect(r.status == 200)
            let events = Self.events(r.body)
            #expect(events.first == "message_start" && events.last == "error" && !events.contains("message_stop"))
            #expect(try await gw.store.records(UsageFilter()).first?.status == 502)
        }
    }
}

/// Every billed request gets exactly one record, whatever the moment its client leaves.
@Suite(.timeLimit(.minutes(1)))
struct ClientLeavesTests {
    @Test(arguments: [true, false]) func aStreamWhoseClientLeavesBeforeItsFirstEventIsRecordedAs499(direct: Bool) async throws {
        try await LiveGateway.with(try await LiveGateway.start(direct: direct)) { (gw) async throws in
            // The upstream answers only after 10 s: the client is gone well before the first event, even on a loaded
            // machine (the fake's stop ends the delay, so the test does not wait it out).
            gw.fake.setDefault(.delay(.seconds(10), then: .reply(FakeReply("late"))))
            let (channel, closed) = try await ConnectionLimitTests.open(gw.port)
            try await channel.writeAndFlush(ByteBuffer(string: ConnectionLimitTests.chatRequest(chatBody(stream: true))))
            await eventually { gw.fake.lastChat != nil }
            try await channel.close()
            _ = try? await closed.get()
            var records: [UsageRecord] = []
            try await eventually {
                records = try await gw.store.records(UsageFilter())
                return !records.isEmpty
            }
            let counted = try await gw.send("GET", "/metrics").body.split(separator: "\n")
                .filter { $0.hasPrefix("switchboard_requests_total{") && $0.contains("chat/completions") }
            // Known gap, without direct routes only: Hummingbird's async channel stops reading while the handler waits
            // for the first event, so a client's close can go unseen until the answer is written, which a closed peer's
            // socket may still accept (a 200). Seen on a loaded machine; the direct path watches the connection itself.
            try await withKnownIssue("a client's close can go unseen on Hummingbird's channel", isIntermittent: true) {
                #expect(records.map(\.status) == [499])
                // Counted as what it was, not as a success.
                #expect(counted.count == 1 && counted.allSatisfy { $0.contains("status=\"499\"") }, "\(counted)")
            } when: {
                !direct
            }
        }
    }
}
