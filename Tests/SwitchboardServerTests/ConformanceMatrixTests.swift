import Foundation
import SwitchboardCore
import SwitchboardProviders
import SwitchboardTesting
import Testing

/// Translation across dialects, cell by cell: each ingress (chat completions, messages, responses) × each upstream
/// dialect (OpenAI-compatible, Anthropic, Bedrock, Vertex, Ollama, every one the loopback fake answering in its own
/// wire format) × non-streamed and streamed × each feature. A cell passes when what the client sent reached the
/// upstream and what the upstream answered reached the client whole; a cell may instead be refused with a 400 that
/// names the feature; anything else (a lossy answer, a dropped field, another error) fails the suite. The results are
/// `CONFORMANCE.md`'s table: the test fails when the file says otherwise (`SWITCHBOARD_WRITE_CONFORMANCE=1` rewrites it).
@Suite(.timeLimit(.minutes(3))) struct ConformanceMatrixTests {
    enum Ingress: String, CaseIterable {
        case chat = "`/v1/chat/completions`"
        case messages = "`/v1/messages`"
        case responses = "`/v1/responses`"
    }

    enum Feature: String, CaseIterable {
        case text = "text"
        case parallelTools = "parallel tool calls"
        case toolResults = "tool results"
        case jsonSchema = "JSON schema output"
        case reasoning = "reasoning"
        case image = "image input"
    }

    static let answerText = "matrix answer"
    static let thought = "deep matrix thought"
    static let toolResult = "sunny-result-42"
    static let schemaField = "matrix_field"
    static let pngBase64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
    static let calls: [(name: String, arguments: JSONValue)] = [("get_weather", ["city": "Paris"]), ("get_time", ["tz": "Europe/Paris"])]

    static func model(_ feature: Feature) -> String {
        switch feature {
        case .parallelTools: "matrix-tools"
        case .reasoning: "matrix-reason"
        default: "matrix-text"
        }
    }

    static func prepare(_ fake: FakeUpstream) {
        fake.set(.reply(FakeReply(answerText)), forModel: "matrix-text")
        var tools = FakeReply("")
        tools.toolCalls = [
            ToolCall(id: "call_a", name: "get_weather", arguments: #"{"city":"Paris"}"#),
            ToolCall(id: "call_b", name: "get_time", arguments: #"{"tz":"Europe/Paris"}"#),
        ]
        fake.set(.reply(tools), forModel: "matrix-tools")
        var reasoning = FakeReply(answerText)
        reasoning.reasoning = thought
        fake.set(.reply(reasoning), forModel: "matrix-reason")
    }

    // MARK: requests

    static let parameters: JSONValue = ["type": "object", "properties": ["city": ["type": "string"]]]
    static let schema: JSONValue = [
        "type": "object", "properties": [.init(stringLiteral: schemaField): ["type": "integer"]], "required": [.string(schemaField)],
    ]

    static func body(_ ingress: Ingress, _ feature: Feature, model: String, stream: Bool) -> (path: String, body: JSONValue) {
        switch ingress {
        case .chat: ("/v1/chat/completions", chatBody(feature, model: model, stream: stream))
        case .messages: ("/v1/messages", messagesBody(feature, model: model, stream: stream))
        case .responses: ("/v1/responses", responsesBody(feature, model: model, stream: stream))
        }
    }

    static func chatBody(_ feature: Feature, model: String, stream: Bool) -> JSONValue {
        var messages: [JSONValue] = [["role": "user", "content": "hi"]]
        var o: [String: JSONValue] = ["model": .string(model), "max_tokens": 64]
        switch feature {
        case .parallelTools:
            o["tools"] = .array(calls.map { ["type": "function", "function": ["name": .string($0.name), "parameters": parameters]] })
        case .toolResults:
            messages += [
                [
                    "role": "assistant", "content": .null,
                    "tool_calls": [
                        ["id": "call_a", "type": "function", "function": ["name": "get_weather", "arguments": #"{"city":"Paris"}"#]]
                    ],
                ],
                ["role": "tool", "tool_call_id": "call_a", "content": .string(toolResult)],
            ]
            o["tools"] = [["type": "function", "function": ["name": "get_weather", "parameters": parameters]]]
        case .jsonSchema: o["response_format"] = ["type": "json_schema", "json_schema": ["name": "matrix", "schema": schema]]
        case .image:
            messages = [
                [
                    "role": "user",
                    "content": [
                        ["type": "text", "text": "What is this?"],
                        ["type": "image_url", "image_url": ["url": .string("data:image/png;base64," + pngBase64)]],
                    ],
                ]
            ]
        case .text, .reasoning: break
        }
        o["messages"] = .array(messages)
        if stream {
            o["stream"] = true
            o["stream_options"] = ["include_usage": true]
        }
        return .object(o)
    }

    static func messagesBody(_ feature: Feature, model: String, stream: Bool) -> JSONValue {
        var messages: [JSONValue] = [["role": "user", "content": "hi"]]
        var o: [String: JSONValue] = ["model": .string(model), "max_tokens": 64]
        switch feature {
        case .parallelTools: o["tools"] = .array(calls.map { ["name": .string($0.name), "input_schema": parameters] })
        case .toolResults:
            messages += [
                [
                    "role": "assistant",
                    "content": [["type": "tool_use", "id": "call_a", "name": "get_weather", "input": ["city": "Paris"]]],
                ],
                ["role": "user", "content": [["type": "tool_result", "tool_use_id": "call_a", "content": .string(toolResult)]]],
            ]
            o["tools"] = [["name": "get_weather", "input_schema": parameters]]
        case .jsonSchema: o["output_config"] = ["format": ["type": "json_schema", "schema": schema]]
        case .image:
            messages = [
                [
                    "role": "user",
                    "content": [
                        ["type": "text", "text": "What is this?"],
                        ["type": "image", "source": ["type": "base64", "media_type": "image/png", "data": .string(pngBase64)]],
                    ],
                ]
            ]
        case .text, .reasoning: break
        }
        o["messages"] = .array(messages)
        if stream { o["stream"] = true }
        return .object(o)
    }

    static func responsesBody(_ feature: Feature, model: String, stream: Bool) -> JSONValue {
        var input: [JSONValue] = [["role": "user", "content": "hi"]]
        var o: [String: JSONValue] = ["model": .string(model), "max_output_tokens": 64, "store": false]
        switch feature {
        case .parallelTools: o["tools"] = .array(calls.map { ["type": "function", "name": .string($0.name), "parameters": parameters] })
        case .toolResults:
            input += [
                ["type": "function_call", "call_id": "call_a", "name": "get_weather", "arguments": #"{"city":"Paris"}"#],
                ["type": "function_call_output", "call_id": "call_a", "output": .string(toolResult)],
            ]
            o["tools"] = [["type": "function", "name": "get_weather", "parameters": parameters]]
        case .jsonSchema: o["text"] = ["format": ["type": "json_schema", "name": "matrix", "schema": schema]]
        case .image:
            input = [
                [
                    "role": "user",
                    "content": [
                        ["type": "input_text", "text": "What is this?"],
                        ["type": "input_image", "image_url": .string("data:image/png;base64," + pngBase64)],
                    ],
                ]
            ]
        case .text, .reasoning: break
        }
        o["input"] = .array(input)
        if stream { o["stream"] = true }
        return .object(o)
    }

    // MARK: answers

    /// What the client received, whatever its dialect.
    struct Answer {
        var text = ""
        var reasoning = ""
        var calls: [(id: String, name: String, arguments: String)] = []
        var ended = false
    }

    static func frames(_ body: String) -> [(event: String?, data: JSONValue)] {
        body.components(separatedBy: "\n\n").compactMap { frame in
            var event: String?
            var data: JSONValue?
            for line in frame.split(separator: "\n") {
                if line.hasPrefix("event: ") { event = String(line.dropFirst(7)) }
                if line.hasPrefix("data: "), line != "data: [DONE]" { data = try? JSONValue.parse(Data(line.dropFirst(6).utf8)) }
            }
            return data.map { (event, $0) }
        }
    }

    static func answer(_ ingress: Ingress, stream: Bool, body: String) -> Answer {
        var a = Answer()
        guard stream else {
            let json = (try? JSONValue.parse(Data(body.utf8))) ?? .null
            switch ingress {
            case .chat:
                let message = json["choices"]?[0]?["message"]
                a.text = message?["content"]?.stringValue ?? ""
                a.reasoning = message?["reasoning_content"]?.stringValue ?? message?["reasoning"]?.stringValue ?? ""
                a.calls = (message?["tool_calls"]?.arrayValue ?? []).map {
                    (
                        $0["id"]?.stringValue ?? "", $0["function"]?["name"]?.stringValue ?? "",
                        $0["function"]?["arguments"]?.stringValue ?? ""
                    )
                }
            case .messages:
                for block in json["content"]?.arrayValue ?? [] {
                    switch block["type"]?.stringValue {
                    case "text": a.text += block["text"]?.stringValue ?? ""
                    case "thinking": a.reasoning += block["thinking"]?.stringValue ?? ""
                    case "tool_use":
                        a.calls.append(
                            (block["id"]?.stringValue ?? "", block["name"]?.stringValue ?? "", block["input"]?.jsonString() ?? ""))
                    default: break
                    }
                }
            case .responses: a = responsesOutput(json)
            }
            a.ended = json != .null
            return a
        }
        let events = frames(body)
        switch ingress {
        case .chat:
            var calls: [Int: (id: String, name: String, arguments: String)] = [:]
            for (_, chunk) in events {
                guard let delta = chunk["choices"]?[0]?["delta"] else { continue }
                a.text += delta["content"]?.stringValue ?? ""
                a.reasoning += delta["reasoning_content"]?.stringValue ?? delta["reasoning"]?.stringValue ?? ""
                for d in delta["tool_calls"]?.arrayValue ?? [] {
                    let i = Int(d["index"]?.intValue ?? 0)
                    var call = calls[i] ?? ("", "", "")
                    call.id = d["id"]?.stringValue ?? call.id
                    call.name = d["function"]?["name"]?.stringValue ?? call.name
                    call.arguments += d["function"]?["arguments"]?.stringValue ?? ""
                    calls[i] = call
                }
            }
            a.calls = calls.sorted { $0.key < $1.key }.map(\.value)
            a.ended = body.hasSuffix("data: [DONE]\n\n")
        case .messages:
            var blocks: [Int: (id: String, name: String, arguments: String)] = [:]
            for (event, data) in events {
                let i = Int(data["index"]?.intValue ?? 0)
                if event == "content_block_start", data["content_block"]?["type"] == "tool_use" {
                    blocks[i] = (data["content_block"]?["id"]?.stringValue ?? "", data["content_block"]?["name"]?.stringValue ?? "", "")
                }
                guard event == "content_block_delta", let delta = data["delta"] else { continue }
                a.text += delta["text"]?.stringValue ?? ""
                a.reasoning += delta["thinking"]?.stringValue ?? ""
                if let partial = delta["partial_json"]?.stringValue { blocks[i]?.arguments += partial }
            }
            a.calls = blocks.sorted { $0.key < $1.key }.map(\.value)
            a.ended = events.last?.event == "message_stop"
        case .responses:
            guard let last = events.last, last.event == "response.completed", let response = last.data["response"] else { return a }
            a = responsesOutput(response)
            // The deltas carry the same text the final object does.
            let streamed = events.filter { $0.event == "response.output_text.delta" }.compactMap { $0.data["delta"]?.stringValue }.joined()
            a.ended = streamed == a.text
        }
        return a
    }

    static func responsesOutput(_ response: JSONValue) -> Answer {
        var a = Answer()
        for item in response["output"]?.arrayValue ?? [] {
            switch item["type"]?.stringValue {
            case "message": a.text += (item["content"]?.arrayValue ?? []).compactMap { $0["text"]?.stringValue }.joined()
            case "reasoning": a.reasoning += (item["summary"]?.arrayValue ?? []).compactMap { $0["text"]?.stringValue }.joined()
            case "function_call":
                a.calls.append((item["call_id"]?.stringValue ?? "", item["name"]?.stringValue ?? "", item["arguments"]?.stringValue ?? ""))
            default: break
            }
        }
        return a
    }

    // MARK: the matrix

    enum Outcome: Equatable {
        case passed
        case refused
        case failed(String)

        var mark: String {
            switch self {
            case .passed: "✓"
            case .refused: "400"
            case .failed: "✗"
            }
        }
    }

    static func judge(
        _ feature: Feature, answer a: Answer, status: Int, body: String, upstream: String
    ) -> Outcome {
        if status == 400, let message = (try? JSONValue.parse(Data(body.utf8)))?["error"]?["message"]?.stringValue, !message.isEmpty {
            return .refused
        }
        guard status == 200 else { return .failed("status \(status): \(body.prefix(300))") }
        guard a.ended else { return .failed("the answer did not end cleanly: \(body.suffix(300))") }
        switch feature {
        case .parallelTools:
            let got = a.calls.map { ($0.name, (try? JSONValue.parse(Data($0.arguments.utf8))) ?? .null) }
            guard got.map(\.0) == calls.map(\.name), got.map(\.1) == calls.map(\.arguments) else {
                return .failed("calls \(a.calls)")
            }
            guard Set(a.calls.map(\.id)).count == 2, !a.calls.contains(where: { $0.id.isEmpty }) else {
                return .failed("call ids \(a.calls)")
            }
            return .passed
        case .reasoning:
            guard a.reasoning == thought else { return .failed("reasoning '\(a.reasoning)'") }
        case .toolResults:
            guard upstream.contains(toolResult), upstream.contains("get_weather") else {
                return .failed("upstream got \(upstream.prefix(600))")
            }
        case .jsonSchema:
            guard upstream.contains(schemaField) else { return .failed("upstream got \(upstream.prefix(600))") }
        case .image:
            guard upstream.contains(pngBase64) else { return .failed("upstream got \(upstream.prefix(600))") }
        case .text: break
        }
        return a.text == answerText ? .passed : .failed("text '\(a.text)'")
    }

    static let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("CONFORMANCE.md")

    @Test func everyCellIsTranslatedWholeOrRefusedByName() async throws {
        let fake = try await FakeUpstream.start()
        Self.prepare(fake)
        let dialects = try UpstreamDialect.allCases.map { ($0, try $0.provider(at: fake)) }
        try await LiveGateway.with(try await LiveGateway.start(extraProviders: dialects.map(\.1), fake: fake)) { gw in
            var rows: [String] = []
            for ingress in Ingress.allCases {
                for (dialect, provider) in dialects {
                    var marks: [String] = []
                    for feature in Feature.allCases {
                        for stream in [false, true] {
                            let (path, body) = Self.body(ingress, feature, model: "\(provider.id)/\(Self.model(feature))", stream: stream)
                            let reply = try await gw.send("POST", path, json: body)
                            // The call's own request: a listing or health probe (a GET) may have come after it.
                            let upstream = gw.fake.received.last { $0.method == "POST" && $0.path != "/token" }?.text ?? ""
                            let outcome = Self.judge(
                                feature, answer: Self.answer(ingress, stream: stream, body: reply.body), status: reply.status,
                                body: reply.body, upstream: upstream)
                            if case .failed(let why) = outcome {
                                Issue.record("\(ingress.rawValue) over \(dialect.rawValue), \(feature.rawValue), stream \(stream): \(why)")
                            }
                            marks.append(outcome.mark)
                        }
                    }
                    rows.append("| \(ingress.rawValue) | \(Self.dialectName(dialect)) | " + marks.joined(separator: " | ") + " |")
                }
            }
            let table = Self.table(rows)
            if ProcessInfo.processInfo.environment["SWITCHBOARD_WRITE_CONFORMANCE"] == "1" {
                try Self.document(table).write(to: Self.file, atomically: true, encoding: .utf8)
            }
            let written = try String(contentsOf: Self.file, encoding: .utf8)
            #expect(written.contains(table), "CONFORMANCE.md is not what the suite found; SWITCHBOARD_WRITE_CONFORMANCE=1 rewrites it")
        }
    }

    static func dialectName(_ d: UpstreamDialect) -> String {
        switch d {
        case .openAICompatible: "OpenAI-compatible"
        case .anthropic: "Anthropic"
        case .bedrock: "Bedrock (Converse)"
        case .vertex: "Vertex (Gemini)"
        case .ollama: "Ollama"
        }
    }

    static func table(_ rows: [String]) -> String {
        let header = Feature.allCases.flatMap { ["\($0.rawValue)", "\($0.rawValue), streamed"] }
        return
            (["| ingress | upstream | " + header.joined(separator: " | ") + " |", "|" + String(repeating: "---|", count: header.count + 2)]
            + rows).joined(separator: "\n")
    }

    static func document(_ table: String) -> String {
        """
        # Translation conformance

        Every ingress dialect against every upstream dialect, non-streamed and streamed, for each feature. The table is
        written by `ConformanceMatrixTests` (`SWITCHBOARD_WRITE_CONFORMANCE=1 swift test --filter ConformanceMatrixTests`),
        and the test suite fails when it no longer says what the suite finds.

        Each cell sends one request through a live gateway to the loopback fake upstream, which answers in that
        provider's own wire format. ✓: what the client sent reached the upstream (tool results, the JSON schema, the
        image's bytes) and what the upstream answered reached the client whole (the text, both parallel tool calls in
        their order with their arguments and distinct ids, the reasoning), with the stream's proper end. 400: refused with
        an error naming the feature. There is no third kind of cell: anything else fails the suite.

        \(table)

        """
    }
}
