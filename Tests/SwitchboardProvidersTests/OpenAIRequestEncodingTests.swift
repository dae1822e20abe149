import Foundation
import NIOCore
import SwitchboardCore
import SwitchboardProviders
import Testing

@Suite struct OpenAIRequestEncodingTests {
    let openai = ProviderRegistry.descriptor(id: "openai")!

    @Test func encodesUnifiedFieldsAndRenamesMaxTokens() {
        let request = ChatRequest(
            model: "gpt-4o-mini", messages: [.system("terse"), .user("hi")], temperature: 0.2, topP: 0.9, maxTokens: 64,
            stop: ["END"], seed: 7, user: "u1")
        let body = OpenAIRequestEncoding.body(request, descriptor: openai, stream: true)
        #expect(body["max_completion_tokens"] == 64)
        #expect(body["max_tokens"] == nil)
        #expect(body["stream"] == true)
        #expect(body["stream_options"] == ["include_usage": true])
        #expect(body["stop"] == ["END"])
        #expect(body["seed"] == 7)
        #expect(body["user"] == "u1")
        #expect(body["messages"] == [["role": "system", "content": "terse"], ["role": "user", "content": "hi"]])
    }

    @Test func groqKeepsMaxTokensAndCohereDropsStreamOptions() {
        let request = ChatRequest(model: "m", messages: [.user("x")], maxTokens: 5)
        #expect(OpenAIRequestEncoding.body(request, descriptor: ProviderRegistry.descriptor(id: "groq")!, stream: false)["max_tokens"] == 5)
        let cohere = OpenAIRequestEncoding.body(request, descriptor: ProviderRegistry.descriptor(id: "cohere")!, stream: true)
        #expect(cohere["stream_options"] == nil)
        #expect(cohere["stream"] == true)
    }

    @Test func toolsToolChoiceAndToolRoundTripMessages() {
        let tool = Tool(name: "get_weather", description: "Weather", parameters: ["type": "object"], strict: true)
        let request = ChatRequest(
            model: "m",
            messages: [
                .user("Weather in Paris?"),
                .assistant("", toolCalls: [ToolCall(id: "call_1", name: "get_weather", arguments: "{\"city\":\"Paris\"}")]),
                .tool(callID: "call_1", "{\"temp_c\":18}"),
            ]
        ).withTools([tool], choice: .named("get_weather"))
        let body = OpenAIRequestEncoding.body(request, descriptor: openai, stream: false)
        #expect(
            body["tools"] == [
                [
                    "type": "function",
                    "function": [
                        "name": "get_weather", "description": "Weather",
                        "parameters": ["type": "object"], "strict": true,
                    ],
                ]
            ])
        #expect(body["tool_choice"] == ["type": "function", "function": ["name": "get_weather"]])
        guard case .array(let messages) = body["messages"] else { Issue.record("no messages"); return }
        #expect(
            messages[1] == [
                "role": "assistant", "content": nil,
                "tool_calls": [
                    ["id": "call_1", "type": "function", "function": ["name": "get_weather", "arguments": "{\"city\":\"Paris\"}"]]
                ],
            ])
        #expect(messages[2] == ["role": "tool", "content": "{\"temp_c\":18}", "tool_call_id": "call_1"])
    }

    @Test func structuredOutputAndImages() {
        let request = ChatRequest(
            model: "m",
            messages: [
                .user(parts: [
                    .text("what"), .imageURL("https://x/a.png", detail: "low"),
                    .imageBase64(data: "AAAA", mediaType: "image/png"),
                ])
            ]
        )
        .withResponseFormat(.jsonSchema(name: "answer", schema: ["type": "object"], strict: true))
        let body = OpenAIRequestEncoding.body(request, descriptor: openai, stream: false)
        #expect(
            body["response_format"] == [
                "type": "json_schema", "json_schema": ["name": "answer", "schema": ["type": "object"], "strict": true],
            ])
        #expect(
            body["messages"] == [
                [
                    "role": "user",
                    "content": [
                        ["type": "text", "text": "what"],
                        ["type": "image_url", "image_url": ["url": "https://x/a.png", "detail": "low"]],
                        ["type": "image_url", "image_url": ["url": "data:image/png;base64,AAAA"]],
                    ],
                ]
            ])
        #expect(
            OpenAIRequestEncoding.body(request.withResponseFormat(.jsonObject), descriptor: openai, stream: false)["response_format"]
                == ["type": "json_object"])
    }

    @Test func cerebrasReasoningControlsReachTheWire() {
        let cerebras = Cerebras.descriptor
        let off = ChatRequest(model: "zai-glm-4.7", messages: [.assistant("a", reasoning: "earlier thought"), .user("x")])
            .withReasoning(ReasoningOptions(disable: true, clearThinking: true))
        let body = OpenAIRequestEncoding.body(off, descriptor: cerebras, stream: false)
        #expect(body["disable_reasoning"] == true)
        #expect(body["clear_thinking"] == true)
        #expect(body["reasoning_effort"] == nil)
        guard case .array(let messages) = body["messages"] else { Issue.record("no messages"); return }
        #expect(messages[0]["reasoning"] == "earlier thought")
        let effort = OpenAIRequestEncoding.body(off.withReasoning(ReasoningOptions(effort: "high")), descriptor: cerebras, stream: false)
        #expect(effort["reasoning_effort"] == "high")
        #expect(effort["disable_reasoning"] == nil)
    }

    @Test func otherReasoningStyles() {
        let r = ChatRequest(model: "m", messages: [.user("x")]).withReasoning(ReasoningOptions(disable: true))
        #expect(
            OpenAIRequestEncoding.body(r, descriptor: ProviderRegistry.descriptor(id: "zai")!, stream: false)["thinking"] == [
                "type": "disabled"
            ])
        #expect(
            OpenAIRequestEncoding.body(r, descriptor: ProviderRegistry.descriptor(id: "qwen")!, stream: false)["enable_thinking"] == false)
        #expect(OpenAIRequestEncoding.body(r, descriptor: openai, stream: false)["reasoning_effort"] == "none")
        let e = r.withReasoning(ReasoningOptions(effort: "low"))
        #expect(
            OpenAIRequestEncoding.body(e, descriptor: ProviderRegistry.descriptor(id: "openrouter")!, stream: false)["reasoning"] == [
                "effort": "low"
            ])
    }

    @Test func passthroughWinsOverUnifiedFields() {
        let r = ChatRequest(model: "m", messages: [.user("x")], temperature: 0.5)
            .withPassthrough("temperature", 0.1).withPassthrough("service_tier", "flex")
        let body = OpenAIRequestEncoding.body(r, descriptor: openai, stream: false)
        #expect(body["temperature"] == 0.1)
        #expect(body["service_tier"] == "flex")
    }
    static func client(_ text: String) throws -> ClientChatBody? {
        try ClientChatBody.parse(ByteBuffer(string: text)).client
    }

    @Test func theClientsTextGoesOnWithOnlyItsModelReplacedWhenNoDescriptorRuleTouchesIt() throws {
        let text = #"{ "model" : "client/m",  "messages":[{"role":"user","content":"hi"}], "max_tokens": 5, "temperature": 1 }"#
        let client = try #require(try Self.client(text))
        let request = ChatRequest(model: "m", messages: [.user("hi")], temperature: 1, maxTokens: 5)
        let groq = ProviderRegistry.descriptor(id: "groq")!
        let forwarded = try #require(OpenAIRequestEncoding.forwarded(client, as: request, descriptor: groq))
        #expect(String(buffer: forwarded) == text.replacingOccurrences(of: #""client/m""#, with: #""m""#))
        // OpenAI's descriptor renames max_tokens, so the body is written again.
        #expect(OpenAIRequestEncoding.forwarded(client, as: request, descriptor: openai) == nil)
        // A model with a quote is escaped in the spliced text.
        var odd = request
        odd.model = #"m"x"#
        let escaped = try #require(OpenAIRequestEncoding.forwarded(client, as: odd, descriptor: groq))
        #expect(try JSONValue.parse(Data(escaped.readableBytesView))["model"] == #"m"x"#)
    }

    @Test func aRequestTheTypedPathWouldWriteDifferentlyIsNotForwarded() throws {
        let client = try #require(try Self.client(#"{"model":"client/m","messages":[{"role":"user","content":"hi"}]}"#))
        let groq = ProviderRegistry.descriptor(id: "groq")!
        let plain = ChatRequest(model: "m", messages: [.user("hi")])
        #expect(OpenAIRequestEncoding.forwarded(client, as: plain, descriptor: groq) != nil)
        var changed: [ChatRequest] = []
        for edit: (inout ChatRequest) -> Void in [
            { $0.stop = ["x"] }, { $0.temperature = 0.5 }, { $0.seed = 1 }, { $0.passthrough["metadata"] = ["k": "v"] },
            { $0.messages = [.user("other")] }, { $0.messages = [.user("hi"), .user("hi")] }, { $0.messages[0].name = "ann" },
            { $0.tools = [Tool(name: "f", description: nil, parameters: nil, strict: nil)] },
            { $0.reasoning = ReasoningOptions(effort: "low", disable: nil, clearThinking: nil) },
        ] {
            var r = plain
            edit(&r)
            changed.append(r)
        }
        for r in changed { #expect(OpenAIRequestEncoding.forwarded(client, as: r, descriptor: groq) == nil) }
        // A member the typed path leaves out, or a member named twice anywhere.
        #expect(
            OpenAIRequestEncoding.forwarded(
                try #require(try Self.client(#"{"model":"a","messages":[{"role":"user","content":"hi"}],"n":1}"#)),
                as: plain, descriptor: groq) == nil)
        #expect(try Self.client(#"{"model":"a","messages":[{"role":"user","content":"x","content":"hi"}]}"#) == nil)
        #expect(try Self.client(#"["model"]"#) == nil)
    }
}
