import Foundation
import SwitchboardCore
@testable import SwitchboardServer
import Testing

/// The Responses API's translation, both ways, without a network.
@Suite struct ResponsesWireTests {
    func decode(_ body: JSONValue) throws -> DecodedResponsesRequest { try ResponsesRequestDecoding.decode(body) }

    func messages(_ body: JSONValue) throws -> [Message] {
        let d = try decode(body)
        return try ResponsesRequestDecoding.messages(instructions: d.instructions, items: d.input)
    }

    @Test func itemsBecomeTheConversationWithCallsJoiningTheirAssistantTurn() throws {
        let m = try messages([
            "model": "m", "instructions": "Be brief.",
            "input": [
                ["role": "user", "content": "Weather?"],
                ["type": "reasoning", "id": "rs_1", "summary": [["type": "summary_text", "text": "Need tools."]]],
                [
                    "type": "message", "role": "assistant", "id": "msg_1",
                    "content": [["type": "output_text", "text": "Checking.", "annotations": []]],
                ],
                ["type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": #"{"city":"Paris"}"#],
                ["type": "function_call", "call_id": "c2", "name": "get_time", "arguments": "{}"],
                ["type": "function_call_output", "call_id": "c1", "output": "sunny"],
                ["type": "function_call_output", "call_id": "c2", "output": [["type": "input_text", "text": "noon"]]],
                [
                    "role": "user",
                    "content": [
                        ["type": "input_text", "text": "And this?"],
                        ["type": "input_image", "image_url": "data:image/png;base64,AAAA", "detail": "low"],
                    ],
                ],
            ],
        ])
        #expect(m.map(\.role) == [.system, .user, .assistant, .tool, .tool, .user])
        #expect(m[0].text == "Be brief.")
        #expect(m[2].text == "Checking." && m[2].reasoning == "Need tools.")
        #expect(
            m[2].toolCalls == [
                ToolCall(id: "c1", name: "get_weather", arguments: #"{"city":"Paris"}"#),
                ToolCall(id: "c2", name: "get_time", arguments: "{}"),
            ])
        #expect(m[3].toolCallID == "c1" && m[3].text == "sunny" && m[4].text == "noon")
        #expect(m[5].content == .parts([.text("And this?"), .imageURL("data:image/png;base64,AAAA", detail: "low")]))
    }

    @Test func settingsMapToTheChatRequestAndAllowedToolsNarrowTheTools() throws {
        let d = try decode([
            "model": "m", "input": "hi", "max_output_tokens": 64, "temperature": 0.5, "top_p": 0.9, "parallel_tool_calls": false,
            "tools": [
                ["type": "function", "name": "a", "parameters": ["type": "object"], "strict": true],
                ["type": "function", "name": "b", "parameters": ["type": "object"]],
            ],
            "tool_choice": ["type": "allowed_tools", "mode": "required", "tools": [["type": "function", "name": "b"]]],
            "text": ["format": ["type": "json_schema", "name": "out", "schema": ["type": "object"], "strict": true]],
            "reasoning": ["effort": "low"], "store": false, "stream": true, "previous_response_id": "resp_x", "metadata": ["k": "v"],
        ])
        let r = d.request
        #expect(r.maxTokens == 64 && r.temperature == 0.5 && r.topP == 0.9 && r.parallelToolCalls == false)
        #expect(r.tools.map(\.name) == ["b"] && r.toolChoice == .required)
        #expect(r.responseFormat == .jsonSchema(name: "out", schema: ["type": "object"], strict: true))
        #expect(r.reasoning == ReasoningOptions(effort: "low"))
        #expect(!d.store && d.stream && d.previousResponseID == "resp_x")
        #expect(d.echo["metadata"] == ["k": "v"] && d.input.count == 1)
        #expect(
            try decode(["model": "m", "input": "x", "reasoning": ["effort": "none"]]).request.reasoning == ReasoningOptions(disable: true))
        #expect(
            try decode(["model": "m", "input": "x", "tool_choice": ["type": "function", "name": "a"]]).request.toolChoice == .named("a"))
    }

    @Test func whatTheUnifiedTypesCannotCarryIsRefusedByName() {
        let refused: [(JSONValue, String)] = [
            (["model": "m", "input": "x", "tools": [["type": "web_search"]]], "tools[0]"),
            (["model": "m", "input": "x", "background": true], "background"),
            (["model": "m", "input": "x", "conversation": "conv_1"], "conversation"),
            (["model": "m", "input": "x", "top_logprobs": 3], "top_logprobs"),
            (["model": "m", "input": [["role": "user", "content": [["type": "input_file", "file_id": "f"]]]]], "input[0].content"),
            (["model": "m", "input": [["type": "web_search_call", "id": "ws"]]], "input[0]"),
            (["model": "m", "input": [["role": "user", "content": [["type": "input_image", "file_id": "f"]]]]], "input[0].content"),
            (["input": "x"], "model"),
            (["model": "m", "input": 3], "input"),
            (["model": "m", "input": "x", "metadata": ["k": 1]], "metadata"),
            (["model": "m", "input": "x", "include": [1.5]], "include"),
            (["model": "m", "input": "x", "include": "reasoning.encrypted_content"], "include"),
            // A member of the wrong type is refused by its path, not dropped.
            (["model": "m", "input": "x", "tools": [["type": "function", "name": "f", "strict": "true"]]], "tools[0].strict"),
            (["model": "m", "input": "x", "tools": [["type": "function", "name": "f", "parameters": "{}"]]], "tools[0].parameters"),
            (["model": "m", "input": "x", "tools": [["type": "function", "name": "f", "description": 1]]], "tools[0].description"),
            (["model": "m", "input": "x", "text": "json"], "text"),
            (["model": "m", "input": "x", "text": ["format": "json_object"]], "text.format"),
            (
                ["model": "m", "input": "x", "text": ["format": ["type": "json_schema", "name": "s", "schema": [:], "strict": 1]]],
                "text.format.strict"
            ),
            (
                ["model": "m", "input": [["type": "function_call", "call_id": "c", "name": "f", "arguments": ["a": 1]]]],
                "input[0].arguments"
            ),
            (["model": "m", "input": "x", "tool_choice": ["type": "allowed_tools", "tools": true]], "tool_choice"),
            (["model": "m", "input": "x", "tool_choice": ["type": "allowed_tools", "tools": [], "mode": 1]], "tool_choice.mode"),
        ]
        for (body, param) in refused {
            do {
                _ = try messages(body)
                Issue.record("accepted \(body)")
            } catch let e as APIError {
                #expect(e.status == .badRequest && e.param == param, "\(e.message)")
            } catch { Issue.record("\(error)") }
        }
    }

    @Test func itemsWithoutAnIdGetOneNamedForTheResponse() {
        let items = ResponsesRequestDecoding.identified(
            [["type": "message", "role": "user"], ["type": "function_call_output", "call_id": "c"], ["type": "message", "id": "mine"]],
            base: "abc")
        #expect(items.map { $0["id"]?.stringValue } == ["msg_abc_in0", "fco_abc_in1", "mine"])
    }

    static let envelope = ResponsesEnvelope(
        base: "abc", createdAt: 1_700_000_000,
        decoded: try! ResponsesRequestDecoding.decode(["model": "client-model", "input": "hi", "metadata": ["k": "v"]]))

    /// The events a stream of `answer` carries, with the parallel calls' fragments interleaved.
    static func events(_ answer: ChatResponse) -> [StreamEvent] {
        var out: [StreamEvent] = [.started(id: "up", model: "m", provider: "p"), .reasoningDelta("Think"), .reasoningDelta("ing.")]
        out += [.textDelta("Hel"), .textDelta("lo")]
        out.append(.toolCallDelta(ToolCallDelta(index: 0, id: "c1", name: "get_weather", arguments: #"{"city":"#)))
        out.append(.toolCallDelta(ToolCallDelta(index: 1, id: "c2", name: "get_time", arguments: "{")))
        out.append(.toolCallDelta(ToolCallDelta(index: 0, arguments: #""Paris"}"#)))
        out.append(.toolCallDelta(ToolCallDelta(index: 1, arguments: "}")))
        out += [.usage(answer.usage!), .finish(.toolCalls)]
        return out
    }

    @Test func aStreamCarriesTheEventSequenceAndEndsWithTheWholeAnswersObject() async throws {
        let answer = ChatResponse(
            id: "up", model: "m", provider: "p",
            message: .assistant(
                "Hello",
                toolCalls: [
                    ToolCall(id: "c1", name: "get_weather", arguments: #"{"city":"Paris"}"#),
                    ToolCall(id: "c2", name: "get_time", arguments: "{}"),
                ], reasoning: "Thinking."), finishReason: .toolCalls, usage: Usage(inputTokens: 10, outputTokens: 5, reasoningTokens: 2))
        let kept = Kept()
        var encoder = ResponsesStreamEncoder(envelope: Self.envelope, keep: { await kept.set($0) })
        var frames = Self.events(answer).flatMap { encoder.encode($0) }
        try await encoder.persist(usage: answer.usage, cost: [:])
        frames += encoder.finish(usage: answer.usage, cost: [:])
        let data = try frames.map { try JSONValue.parse(Data($0.data.utf8)) }
        #expect(frames.map(\.event) == data.map { $0["type"]?.stringValue })
        #expect(data.map { $0["sequence_number"]?.intValue } == (0..<Int64(data.count)).map { $0 })
        let types = data.compactMap { $0["type"]?.stringValue }
        #expect(
            types == [
                "response.created", "response.in_progress",
                "response.output_item.added", "response.reasoning_summary_part.added", "response.reasoning_summary_text.delta",
                "response.reasoning_summary_text.delta", "response.reasoning_summary_text.done", "response.reasoning_summary_part.done",
                "response.output_item.done",
                "response.output_item.added", "response.content_part.added", "response.output_text.delta", "response.output_text.delta",
                "response.output_text.done", "response.content_part.done", "response.output_item.done",
                "response.output_item.added", "response.function_call_arguments.delta", "response.output_item.added",
                "response.function_call_arguments.delta", "response.function_call_arguments.delta",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.done", "response.output_item.done", "response.function_call_arguments.done",
                "response.output_item.done", "response.completed",
            ])
        // Fragments stay with their call: the second call's item is output 3, and its arguments are whole at the end.
        let argumentDeltas = data.filter { $0["type"] == "response.function_call_arguments.delta" }
        #expect(argumentDeltas.map { $0["output_index"]?.intValue } == [2, 3, 2, 3])
        let final = try #require(data.last?["response"])
        // The streamed answer's object is the whole answer's, which is what was stored.
        let whole = Self.envelope.object(answer, costs: [:])
        #expect(final["output"] == whole["output"] && final["usage"] == whole["usage"] && final["status"] == "completed")
        #expect(final["metadata"] == ["k": "v"] && final["model"] == "client-model" && final["id"] == "resp_abc")
        #expect(await kept.value == final)
    }

    @Test func aCutAnswerIsIncompleteAndAFailureIsAFailedResponse() throws {
        var encoder = ResponsesStreamEncoder(envelope: Self.envelope, keep: nil)
        _ = encoder.encode(.textDelta("partial"))
        _ = encoder.encode(.finish(.length))
        let last = try #require(encoder.finish(usage: nil, cost: [:]).last)
        #expect(last.event == "response.incomplete")
        #expect(try JSONValue.parse(Data(last.data.utf8))["response"]?["incomplete_details"] == ["reason": "max_output_tokens"])

        var failing = ResponsesStreamEncoder(envelope: Self.envelope, keep: nil)
        let sent = failing.encode(.textDelta("par"))
        let failed = failing.failure(APIError(status: .badGateway, message: "upstream cut", type: "server_error", code: "upstream_error"))
        let body = try JSONValue.parse(Data(failed.data.utf8))
        #expect(failed.event == "response.failed" && body["sequence_number"]?.intValue == Int64(sent.count))
        #expect(
            body["response"]?["status"] == "failed" && body["response"]?["error"] == ["code": "server_error", "message": "upstream cut"])
    }
}

private actor Kept {
    var value: JSONValue?
    func set(_ v: JSONValue) { value = v }
}
