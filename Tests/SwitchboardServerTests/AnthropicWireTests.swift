import Foundation
@testable import SwitchboardServer
import SwitchboardCore
import Testing

@Suite struct AnthropicWireTests {
    @Test func toolResultsBecomeToolMessagesBeforeTheRestOfTheirTurn() throws {
        let body: JSONValue = [
            "model": "m", "max_tokens": 100, "system": [["type": "text", "text": "Be brief."]],
            "messages": [
                ["role": "user", "content": "Weather?"],
                [
                    "role": "assistant",
                    "content": [
                        ["type": "thinking", "thinking": "Need a tool.", "signature": "sig"],
                        ["type": "tool_use", "id": "t1", "name": "get_weather", "input": ["city": "Paris"]],
                        ["type": "tool_use", "id": "t2", "name": "get_time", "input": [:]],
                    ],
                ],
                [
                    "role": "user",
                    "content": [
                        ["type": "text", "text": "Thanks."],
                        ["type": "tool_result", "tool_use_id": "t1", "content": "sunny"],
                        ["type": "tool_result", "tool_use_id": "t2", "content": [["type": "text", "text": "noon"]], "is_error": true],
                    ],
                ],
            ],
            "tools": [["name": "get_weather", "input_schema": ["type": "object"]]],
            "tool_choice": ["type": "any", "disable_parallel_tool_use": true],
            "stop_sequences": ["END"], "temperature": 0.3,
        ]
        let r = try AnthropicRequestDecoding.decode(body).request
        #expect(r.messages.map(\.role) == [.system, .user, .assistant, .tool, .tool, .user])
        #expect(r.messages[2].toolCalls.map(\.name) == ["get_weather", "get_time"])
        #expect(r.messages[2].toolCalls[0].arguments == #"{"city":"Paris"}"#)
        #expect(r.messages[2].reasoning == "Need a tool.")
        #expect(r.messages[3].toolCallID == "t1" && r.messages[3].text == "sunny")
        #expect(r.messages[4].text == "Error: noon")
        #expect(r.messages[5].text == "Thanks.")
        #expect(r.maxTokens == 100 && r.stop == ["END"] && r.toolChoice == .required && r.parallelToolCalls == false)
    }

    @Test func badRequestsNameTheField() {
        for (body, field) in [
            (["model": "m", "messages": [["role": "user", "content": "x"]]] as JSONValue, "max_tokens"),
            (["model": "m", "max_tokens": 5, "messages": [["role": "system", "content": "x"]]], "messages.0.role"),
            (
                ["model": "m", "max_tokens": 5, "messages": [["role": "user", "content": [["type": "video"]]]]], "messages.0.content.0.type"
            ),
            (["model": "m", "max_tokens": 5, "temperature": 3, "messages": [["role": "user", "content": "x"]]], "temperature"),
            // Nested members of the wrong type, which used to be dropped without a word.
            (Self.turn { $0["tools"] = [["name": "f", "description": 1]] }, "tools.0.description"),
            (Self.turn { $0["tools"] = [["name": "f", "input_schema": "{}"]] }, "tools.0.input_schema"),
            (Self.turn { $0["tools"] = [["name": "f", "strict": "true"]] }, "tools.0.strict"),
            (
                Self.turn { $0["tool_choice"] = ["type": "auto", "disable_parallel_tool_use": "yes"] },
                "tool_choice.disable_parallel_tool_use"
            ),
            (Self.turn { $0["output_config"] = "json" }, "output_config"),
            (Self.turn { $0["output_config"] = ["format": ["type": "text"]] }, "output_config.format"),
            (Self.turn { $0["output_config"] = ["format": ["type": "json_schema", "schema": "{}"]] }, "output_config.format.schema"),
            (Self.turn { $0["metadata"] = ["user_id": 5] }, "metadata.user_id"),
            (
                Self.turn {
                    $0["messages"] = [["role": "assistant", "content": [["type": "tool_use", "id": "t", "name": "f", "input": "{}"]]]]
                },
                "messages.0.content.0.input"
            ),
            (
                Self.turn { $0["messages"] = [["role": "assistant", "content": [["type": "thinking", "thinking": ["a"]]]]] },
                "messages.0.content.0.thinking"
            ),
            (
                Self.turn {
                    $0["messages"] = [["role": "user", "content": [["type": "tool_result", "tool_use_id": "t", "is_error": "no"]]]]
                },
                "messages.0.content.0.is_error"
            ),
            (
                Self.turn {
                    $0["messages"] = [["role": "user", "content": [["type": "tool_result", "tool_use_id": "t", "content": ["x"]]]]]
                },
                "messages.0.content.0.content"
            ),
        ] {
            #expect(throws: APIError.self) { try AnthropicRequestDecoding.decode(body) }
            do { _ = try AnthropicRequestDecoding.decode(body) } catch let e as APIError {
                #expect(e.message.hasPrefix(field), "\(e.message)")
            } catch {}
        }
    }

    /// A request of one user turn, changed.
    static func turn(_ change: (inout [String: JSONValue]) -> Void) -> JSONValue {
        var o: [String: JSONValue] = ["model": "m", "max_tokens": 5, "messages": [["role": "user", "content": "x"]]]
        change(&o)
        return .object(o)
    }

    @Test func aNullOptionalMemberIsReadAsAbsentWhereverItIsNested() throws {
        let r = try AnthropicRequestDecoding.decode(
            Self.turn {
                $0["tools"] = [["name": "f", "description": nil, "input_schema": nil, "strict": nil]]
                $0["tool_choice"] = ["type": "auto", "disable_parallel_tool_use": nil]
                $0["thinking"] = nil
                $0["output_config"] = ["format": nil]
                $0["metadata"] = ["user_id": nil]
            }
        ).request
        #expect(r.tools == [Tool(name: "f")] && r.toolChoice == .auto && r.parallelToolCalls == nil)
        #expect(r.reasoning == nil && r.responseFormat == nil && r.user == nil)
        let structured = try AnthropicRequestDecoding.decode(
            Self.turn { $0["output_config"] = ["format": ["type": "json_schema", "schema": ["type": "object"]]] }
        ).request
        #expect(structured.responseFormat == .jsonSchema(name: "output", schema: ["type": "object"], strict: true))
    }

    @Test func interleavedParallelToolFragmentsStayWithTheirBlocks() throws {
        var encoder = AnthropicStreamEncoder(id: "msg_1", model: "m")
        var frames: [SSEFrame] = []
        for event: StreamEvent in [
            .started(id: "x", model: "m", provider: "p"),
            .textDelta("Let me check."),
            .toolCallDelta(ToolCallDelta(index: 0, id: "a", name: "get_weather", arguments: #"{"ci"#)),
            .toolCallDelta(ToolCallDelta(index: 1, id: "b", name: "get_time", arguments: #"{"tz":"#)),
            .toolCallDelta(ToolCallDelta(index: 0, arguments: #"ty":"Paris"}"#)),
            .toolCallDelta(ToolCallDelta(index: 1, arguments: #""UTC"}"#)),
            .usage(Usage(inputTokens: 10, outputTokens: 4, cachedTokens: 3)),
            .finish(.toolCalls),
        ] { frames += encoder.encode(event) }
        frames += encoder.finish(usage: nil, cost: ["cost_nano_usd": 7])
        #expect(frames.first?.event == "message_start" && frames.last?.event == "message_stop")
        // Rebuild the blocks the way a client accumulates them: by index.
        var blocks: [Int: (name: String, json: String)] = [:]
        for f in frames {
            let d = try JSONValue.parse(Data(f.data.utf8))
            #expect(d["type"]?.stringValue == f.event)
            let i = Int(d["index"]?.intValue ?? -1)
            if f.event == "content_block_start", d["content_block"]?["type"]?.stringValue == "tool_use" {
                blocks[i] = (d["content_block"]?["name"]?.stringValue ?? "", "")
            }
            if let partial = d["delta"]?["partial_json"]?.stringValue { blocks[i]?.json += partial }
        }
        #expect(blocks[1]?.name == "get_weather" && blocks[1]?.json == #"{"city":"Paris"}"#)
        #expect(blocks[2]?.name == "get_time" && blocks[2]?.json == #"{"tz":"UTC"}"#)
        let delta = try #require(frames.first { $0.event == "message_delta" })
        let d = try JSONValue.parse(Data(delta.data.utf8))
        #expect(d["delta"]?["stop_reason"]?.stringValue == "tool_use")
        #expect(d["usage"]?["input_tokens"]?.intValue == 7 && d["usage"]?["cache_read_input_tokens"]?.intValue == 3)
        #expect(d["usage"]?["cost_nano_usd"]?.intValue == 7)
    }
}
