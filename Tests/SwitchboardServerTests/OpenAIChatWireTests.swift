@testable import SwitchboardServer
import SwitchboardCore
import Testing

struct OpenAIChatWireTests {
    /// A request that sets every nested member the decoder reads, each to a value of the right type.
    static func full(_ change: (inout [String: JSONValue]) -> Void = { _ in }) -> JSONValue {
        var o: [String: JSONValue] = [
            "model": "m",
            "messages": [
                [
                    "role": "user", "name": "ada",
                    "content": [["type": "image_url", "image_url": ["url": "https://x/y.png", "detail": "low"]]],
                ],
                [
                    "role": "assistant", "content": nil, "reasoning_content": "thought",
                    "tool_calls": [["id": "c1", "type": "function", "function": ["name": "f", "arguments": "{\"a\":1}"]]],
                ],
                ["role": "tool", "tool_call_id": "c1", "content": "42"],
            ],
            "stream_options": ["include_usage": true],
            "tools": [
                ["type": "function", "function": ["name": "f", "description": "d", "parameters": ["type": "object"], "strict": true]]
            ],
            "tool_choice": ["type": "function", "function": ["name": "f"]],
            "response_format": [
                "type": "json_schema", "json_schema": ["name": "s", "schema": ["type": "object"], "strict": true, "description": "d"],
            ],
        ]
        change(&o)
        return .object(o)
    }

    @Test func everyNestedMemberOfTheRightTypeIsRead() throws {
        let d = try OpenAIChatRequestDecoding.decode(Self.full())
        #expect(d.includeUsage)
        #expect(d.request.messages[0].name == "ada")
        #expect(d.request.messages[1].reasoning == "thought" && d.request.messages[1].toolCalls.first?.arguments == "{\"a\":1}")
        #expect(d.request.tools == [Tool(name: "f", description: "d", parameters: ["type": "object"], strict: true)])
        #expect(d.request.toolChoice == .named("f"))
        #expect(d.request.responseFormat == .jsonSchema(name: "s", schema: ["type": "object"], strict: true, description: "d"))
    }

    /// A member of the wrong type used to be dropped without a word: a `strict: "true"` left strict mode off.
    @Test func aNestedMemberOfTheWrongTypeIsRefusedByName() {
        let cases: [(String, (inout [String: JSONValue]) -> Void)] = [
            ("stream_options", { $0["stream_options"] = "yes" }),
            ("stream_options.include_usage", { $0["stream_options"] = ["include_usage": "yes"] }),
            ("messages[0].name", { $0["messages"] = [["role": "user", "content": "x", "name": 7]] }),
            ("messages[0].reasoning", { $0["messages"] = [["role": "assistant", "content": "x", "reasoning": ["a": 1]]] }),
            ("messages[0].tool_calls", { $0["messages"] = [["role": "assistant", "content": "x", "tool_calls": "c1"]] }),
            (
                "messages[0].tool_calls",
                { $0["messages"] = [["role": "user", "content": "x", "tool_calls": [["id": "c", "function": ["name": "f"]]]]] }
            ),
            (
                "messages[0].tool_calls",
                { $0["messages"] = [["role": "assistant", "tool_calls": [["id": "c", "type": "tool", "function": ["name": "f"]]]]] }
            ),
            (
                "messages[0].tool_calls",
                { $0["messages"] = [["role": "assistant", "tool_calls": [["id": "c", "function": ["name": "f", "arguments": 3]]]]] }
            ),
            (
                "messages[0].content[0].image_url.detail",
                { $0["messages"] = [["role": "user", "content": [["type": "image_url", "image_url": ["url": "u", "detail": 1]]]]] }
            ),
            ("tools[0].function.description", { $0["tools"] = [["type": "function", "function": ["name": "f", "description": 1]]] }),
            ("tools[0].function.parameters", { $0["tools"] = [["type": "function", "function": ["name": "f", "parameters": "{}"]]] }),
            ("tools[0].function.strict", { $0["tools"] = [["type": "function", "function": ["name": "f", "strict": "true"]]] }),
            ("tool_choice", { $0["tool_choice"] = ["type": "tool", "function": ["name": "f"]] }),
            (
                "response_format.json_schema.strict",
                { $0["response_format"] = ["type": "json_schema", "json_schema": ["name": "s", "strict": "true"]] }
            ),
            (
                "response_format.json_schema.schema",
                { $0["response_format"] = ["type": "json_schema", "json_schema": ["name": "s", "schema": [1]]] }
            ),
            (
                "response_format.json_schema.description",
                { $0["response_format"] = ["type": "json_schema", "json_schema": ["name": "s", "description": [:]]] }
            ),
        ]
        for (param, change) in cases {
            do {
                _ = try OpenAIChatRequestDecoding.decode(Self.full(change))
                Issue.record("\(param): accepted")
            } catch {
                #expect(error.status == 400 && error.param == param, "\(param): \(error.message)")
            }
        }
    }

    @Test func aNullOptionalMemberIsReadAsAbsentWhereverItIsNested() throws {
        let d = try OpenAIChatRequestDecoding.decode(
            Self.full {
                $0["stream_options"] = ["include_usage": nil]
                $0["messages"] = [
                    ["role": "user", "content": "x", "name": nil, "reasoning": nil],
                    [
                        "role": "assistant", "content": "y",
                        "tool_calls": [["id": "c", "type": nil, "function": ["name": "f", "arguments": nil]]],
                    ],
                ]
                $0["tools"] = [["type": "function", "function": ["name": "f", "description": nil, "parameters": nil, "strict": nil]]]
                $0["tool_choice"] = ["type": nil, "function": ["name": "f"]]
                $0["response_format"] = [
                    "type": "json_schema", "json_schema": ["name": "s", "schema": nil, "strict": nil, "description": nil],
                ]
            })
        #expect(!d.includeUsage && d.request.messages[0].name == nil)
        #expect(d.request.messages[1].toolCalls.first?.arguments == "{}")
        #expect(d.request.tools == [Tool(name: "f")])
        #expect(d.request.responseFormat == .jsonSchema(name: "s", schema: ["type": "object"], strict: nil))
    }

    @Test func toolCallArgumentsSentAsAnObjectAreTakenAsTheirText() throws {
        let d = try OpenAIChatRequestDecoding.decode(
            Self.full {
                $0["messages"] = [["role": "assistant", "tool_calls": [["id": "c", "function": ["name": "f", "arguments": ["a": 1]]]]]]
            })
        #expect(d.request.messages[0].toolCalls.first?.arguments == "{\"a\":1}")
    }
}
