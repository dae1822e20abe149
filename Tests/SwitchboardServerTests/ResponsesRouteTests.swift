import Foundation
import SwitchboardCore
import SwitchboardProviders
import SwitchboardStorage
import SwitchboardTesting
import Testing

/// `/v1/responses` through a live gateway: the conversation kept per key, what the upstream is sent, retention, the
/// ledger, and the stream's end.
@Suite(.timeLimit(.minutes(1))) struct ResponsesRouteTests {
    static func create(_ gw: LiveGateway, _ body: JSONValue, key: String = LiveGateway.master) async throws -> LiveGateway.Reply {
        try await gw.send("POST", "/v1/responses", json: body, key: key)
    }

    @Test func aConversationContinuesFromItsStoredTurnsAndTheUpstreamIsSentThemAll() async throws {
        try await LiveGateway.with(try await LiveGateway.start()) { gw in
            gw.fake.set(.reply(FakeReply("first answer")), forModel: "fake-model")
            let first = try await Self.create(gw, ["model": "fake/fake-model", "input": "one", "instructions": "Be brief."])
            #expect(first.status == 200, "\(first.body)")
            let id = try #require(first.json?["id"]?.stringValue)
            #expect(first.json?["output"]?[0]?["content"]?[0]?["text"] == "first answer")
            gw.fake.set(.reply(FakeReply("second answer")), forModel: "other-model")
            let second = try await Self.create(gw, ["model": "fake/other-model", "input": "two", "previous_response_id": .string(id)])
            #expect(second.status == 200 && second.json?["previous_response_id"]?.stringValue == id, "\(second.body)")
            // Instructions are not carried over; the turns are.
            let sent = try #require(gw.fake.lastChat?.json?["messages"]?.arrayValue)
            #expect(sent.map { $0["role"]?.stringValue } == ["user", "assistant", "user"])
            #expect(sent.map { $0["content"]?.stringValue } == ["one", "first answer", "two"])
            let secondID = try #require(second.json?["id"]?.stringValue)
            let items = try await gw.send("GET", "/v1/responses/\(secondID)/input_items?order=asc&limit=2")
            #expect(items.json?["data"]?.arrayValue?.count == 2 && items.json?["has_more"] == true, "\(items.body)")
            let after = try #require(items.json?["last_id"]?.stringValue)
            let rest = try await gw.send("GET", "/v1/responses/\(secondID)/input_items?order=asc&after=\(after)")
            #expect(rest.json?["data"]?[0]?["content"]?[0]?["text"] == "two" && rest.json?["has_more"] == false, "\(rest.body)")
            let stored = try await gw.send("GET", "/v1/responses/\(secondID)")
            #expect(stored.json == second.json)
            let records = try await ResponseCacheRouteTests.records(gw, count: 2)
            #expect(records.map(\.task) == ["responses", "responses"] && records.map(\.status) == [200, 200])
            #expect(
                records.allSatisfy {
                    $0.requestID.replacingOccurrences(of: "-", with: "") == String(($0 == records[0] ? id : secondID).dropFirst(5))
                })
        }
    }

    @Test func anotherKeyCannotReadDeleteOrContinueAResponse() async throws {
        try await LiveGateway.with(try await LiveGateway.start()) { gw in
            let (_, mine) = try await gw.store.createKey(NewAPIKey(name: "mine"))
            let (_, theirs) = try await gw.store.createKey(NewAPIKey(name: "theirs"))
            let created = try await Self.create(gw, ["model": "fake/fake-model", "input": "secret"], key: mine)
            let id = try #require(created.json?["id"]?.stringValue)
            #expect(try await gw.send("GET", "/v1/responses/\(id)", key: theirs).status == 404)
            #expect(try await gw.send("GET", "/v1/responses/\(id)/input_items", key: theirs).status == 404)
            #expect(try await gw.send("DELETE", "/v1/responses/\(id)", key: theirs).status == 404)
            let continued = try await Self.create(
                gw, ["model": "fake/fake-model", "input": "x", "previous_response_id": .string(id)], key: theirs)
            #expect(continued.status == 400 && continued.json?["error"]?["code"] == "previous_response_not_found")
            #expect(try await gw.send("GET", "/v1/responses/\(id)", key: mine).status == 200)
            let deleted = try await gw.send("DELETE", "/v1/responses/\(id)", key: mine)
            #expect(deleted.json == ["id": .string(id), "object": "response", "deleted": true])
            #expect(try await gw.send("GET", "/v1/responses/\(id)", key: mine).status == 404)
        }
    }

    @Test func storeFalseKeepsNothingAndResponsesPastRetentionAreGone() async throws {
        try await LiveGateway.with(try await LiveGateway.start()) { gw in
            let unstored = try await Self.create(gw, ["model": "fake/fake-model", "input": "x", "store": false])
            let id = try #require(unstored.json?["id"]?.stringValue)
            #expect(unstored.json?["store"] == false)
            #expect(try await gw.send("GET", "/v1/responses/\(id)").status == 404)
            // A response older than the retention period (thirty days by default) answers 404.
            let old = StoredResponse(
                id: "resp_old", owner: "master", createdAt: Date().addingTimeInterval(-31 * 86_400),
                body: Array(#"{"id":"resp_old","output":[]}"#.utf8), inputItems: Array("[]".utf8))
            try await gw.store.storeResponse(old, retainedSince: nil)
            #expect(try await gw.send("GET", "/v1/responses/resp_old").status == 404)
            let continued = try await Self.create(gw, ["model": "fake/fake-model", "input": "x", "previous_response_id": "resp_old"])
            #expect(continued.status == 400)
        }
    }

    @Test func aStreamEndsWithTheResponseItStoredAndFailuresAreFailedResponses() async throws {
        try await LiveGateway.with(try await LiveGateway.start()) { gw in
            gw.fake.set(.reply(FakeReply("streamed words here")), forModel: "fake-model")
            let streamed = try await Self.create(gw, ["model": "fake/fake-model", "input": "x", "stream": true])
            let events = streamed.body.components(separatedBy: "\n\n").filter { !$0.isEmpty }
            #expect(
                events.first?.hasPrefix("event: response.created") == true && events.last?.hasPrefix("event: response.completed") == true)
            let completed = try #require(events.last?.components(separatedBy: "data: ").last)
            let response = try JSONValue.parse(Data(completed.utf8))["response"]
            let id = try #require(response?["id"]?.stringValue)
            let stored = try await gw.send("GET", "/v1/responses/\(id)")
            #expect(stored.json == response)
            #expect(stored.json?["output"]?[0]?["content"]?[0]?["text"] == "streamed words here")

            gw.fake.set(.dropAfter(chunks: 2, reply: FakeReply("this stream will break")), forModel: "fake-model")
            let cut = try await Self.create(gw, ["model": "fake/fake-model", "input": "y", "stream": true])
            #expect(cut.body.contains("event: response.failed") && !cut.body.contains("response.completed"), "\(cut.body)")
            let refused = try await Self.create(gw, ["model": "fake/fake-model", "input": "y", "tools": [["type": "file_search"]]])
            #expect(refused.status == 400 && refused.json?["error"]?["param"] == "tools[0]")
        }
    }

    @Test func tokenCountsAreEstimatesSaidToBeSo() async throws {
        try await LiveGateway.with(try await LiveGateway.start()) { gw in
            let counted = try await gw.send("POST", "/v1/responses/input_tokens", json: ["input": "twelve chars"])
            #expect(counted.json?["object"] == "response.input_tokens" && counted.json?["estimated"] == true, "\(counted.body)")
            #expect((counted.json?["input_tokens"]?.intValue ?? 0) > 0)
            let messages = try await gw.send(
                "POST", "/v1/messages/count_tokens",
                json: ["model": "fake/fake-model", "messages": [["role": "user", "content": "hello"]]])
            #expect(messages.status == 200 && (messages.json?["input_tokens"]?.intValue ?? 0) > 0, "\(messages.body)")
            #expect(try await gw.send("GET", "/v1/responses/input_tokens").status == 405)
            #expect(try await gw.send("POST", "/v1/responses/input_tokens", json: ["input": "x"], key: nil).status == 401)
        }
    }

    /// A gateway whose provider `up` serves the Responses API itself (the fake answering as OpenAI's does).
    static func forwarding() async throws -> LiveGateway {
        let fake = try await FakeUpstream.start()
        let descriptor = ProviderDescriptor(
            id: "up", displayName: "Up", baseURL: fake.baseURL, apiKeyEnv: nil, defaultModel: "up-model", freeTier: .local
        ).with { $0.responsesPath = "/responses" }
        let up = OpenAICompatibleProvider(options: .init(descriptor: descriptor, apiKey: "sk-up"), transport: NIOHTTPTransport.shared)
        var reply = FakeReply("forwarded answer")
        reply.reasoning = "upstream thinking"
        fake.set(.reply(reply), forModel: "up-model")
        return try await LiveGateway.start(extraProviders: [up], fake: fake)
    }

    static func lastResponsesRequest(_ gw: LiveGateway) -> JSONValue? {
        gw.fake.received.last { $0.path.hasSuffix("/responses") }?.json
    }

    @Test func aProviderThatServesTheResponsesAPIGetsTheRequestAsItCameAndTheGatewayKeepsTheState() async throws {
        try await LiveGateway.with(try await Self.forwarding()) { gw in
            let tools: JSONValue = [["type": "web_search"], ["type": "custom", "name": "apply_patch"]]
            let first = try await Self.create(
                gw, ["model": "up/up-model", "input": "search this", "tools": tools, "metadata": ["k": "v"], "store": true])
            #expect(first.status == 200, "\(first.body)")
            let sent = try #require(Self.lastResponsesRequest(gw))
            // Hosted and custom tools go up untouched; the upstream stores nothing and returns reasoning it can be sent.
            #expect(sent["tools"] == tools && sent["model"] == "up-model" && sent["store"] == false && sent["input"] == "search this")
            #expect(sent["include"] == ["reasoning.encrypted_content"] && sent["metadata"] == ["k": "v"])
            let id = try #require(first.json?["id"]?.stringValue)
            #expect(id.hasPrefix("resp_") && id != "resp_upstream_chatcmpl-fake" && first.json?["model"] == "up/up-model")
            #expect(
                first.json?["output"]?.arrayValue?.compactMap { $0["type"]?.stringValue } == ["web_search_call", "reasoning", "message"])
            #expect(try await gw.send("GET", "/v1/responses/\(id)").json == first.json)

            // Continued on a translated provider, then back: the stored turns go up without the ids the upstream never kept.
            let second = try await Self.create(gw, ["model": "fake/fake-model", "input": "and then?", "previous_response_id": .string(id)])
            let secondID = try #require(second.json?["id"]?.stringValue)
            let third = try await Self.create(gw, ["model": "up/up-model", "input": "last", "previous_response_id": .string(secondID)])
            #expect(third.status == 200, "\(third.body)")
            let input = try #require(Self.lastResponsesRequest(gw)?["input"]?.arrayValue)
            #expect(
                input.compactMap { $0["type"]?.stringValue } == [
                    "message", "web_search_call", "reasoning", "message", "message", "message", "message",
                ], "\(input)")
            #expect(input.allSatisfy { $0["type"] == "reasoning" || $0["id"] == nil })
            #expect(input[2]["encrypted_content"] == "enc-upstream-reasoning")
            #expect(Self.lastResponsesRequest(gw)?["previous_response_id"] == nil)
            let records = try await ResponseCacheRouteTests.records(gw, count: 3)
            #expect(records.map(\.provider) == ["up", "fake", "up"] && records.allSatisfy { $0.status == 200 && $0.outputTokens == 12 })
        }
    }

    @Test func aForwardedStreamIsRelayedEventByEventAndEndsWithTheStoredResponse() async throws {
        try await LiveGateway.with(try await Self.forwarding()) { gw in
            let streamed = try await Self.create(
                gw, ["model": "up/up-model", "input": "x", "stream": true, "tools": [["type": "web_search"]]])
            let events = ConformanceMatrixTests.frames(streamed.body)
            // The upstream's own events, hosted tool progress included, in its order and numbering.
            #expect(events.contains { $0.event == "response.web_search_call.completed" })
            #expect(events.map { $0.data["sequence_number"]?.intValue } == (0..<Int64(events.count)).map { $0 })
            let last = try #require(events.last)
            #expect(last.event == "response.completed")
            let response = try #require(last.data["response"])
            let id = try #require(response["id"]?.stringValue)
            #expect(response["model"] == "up/up-model" && !id.hasPrefix("resp_upstream"))
            #expect(try await gw.send("GET", "/v1/responses/\(id)").json == response)

            // An upstream that fails mid-stream: the client gets a failed response, never a completed one, and the record
            // says so.
            gw.fake.set(
                .raw(
                    [
                        "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"r\",\"object\":\"response\",\"status\":\"in_progress\",\"output\":[]}}\n\n",
                        "event: response.failed\ndata: {\"type\":\"response.failed\",\"sequence_number\":1,\"response\":{\"id\":\"r\",\"status\":\"failed\",\"error\":{\"code\":\"server_error\",\"message\":\"upstream broke\"}}}\n\n",
                    ], contentType: "text/event-stream", pause: .zero), forModel: "up-model")
            let failed = try await Self.create(gw, ["model": "up/up-model", "input": "y", "stream": true])
            let failedEvents = ConformanceMatrixTests.frames(failed.body)
            #expect(failedEvents.last?.event == "response.failed" && !failed.body.contains("response.completed"), "\(failed.body)")
            #expect(failedEvents.last?.data["response"]?["error"]?["message"]?.stringValue?.contains("upstream broke") == true)
            let records = try await ResponseCacheRouteTests.records(gw, count: 2)
            #expect(records.map(\.status) == [200, 502], "\(records.map(\.status))")
        }
    }

    @Test func lanesTheCacheAndLimitsApplyAsOnEveryRoute() async throws {
        let clock = pinnedClock()
        let gateway = try await LiveGateway.start(lanes: [Lane(name: "fast", models: ["fake/fake-model"])]) {
            $0.clock = clock
            $0.cache = ResponseCache(.init())
        }
        try await LiveGateway.with(gateway) { gw in
            gw.fake.set(.reply(FakeReply("lane answer")), forModel: "fake-model")
            let body: JSONValue = ["model": "lane:fast", "input": "same question", "temperature": 0]
            let first = try await Self.create(gw, body)
            let second = try await Self.create(gw, body)
            #expect(first.status == 200 && first.header("x-switchboard-cache") == "miss", "\(first.body)")
            #expect(second.header("x-switchboard-cache") == "hit" && second.json?["model"] == "lane:fast")
            #expect(second.json?["output"]?[0]?["content"]?[0]?["text"] == "lane answer")
            #expect(first.header("x-switchboard-route")?.hasPrefix("lane:fast") == true, "\(first.headers)")
            #expect(second.json?["id"] != first.json?["id"])
            let (_, secret) = try await gw.store.createKey(NewAPIKey(name: "one", limits: UsageLimits(requestsPerMinute: 1)))
            #expect(try await Self.create(gw, ["model": "fake/fake-model", "input": "x"], key: secret).status == 200)
            let refused = try await Self.create(gw, ["model": "fake/fake-model", "input": "x"], key: secret)
            #expect(refused.status == 429 && refused.json?["error"]?["code"] == "rate_limit_exceeded")
        }
    }
}
