import Foundation
import SwitchboardCore
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
}
