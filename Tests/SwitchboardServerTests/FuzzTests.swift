import Foundation
import SwitchboardCore
import SwitchboardStorage
import SwitchboardTesting
import Testing

/// Random and extreme values (seeded: `SWITCHBOARD_FUZZ_SEED` replays another run, `SWITCHBOARD_FUZZ_ROUNDS` runs longer) for every numeric and string field of the chat, messages, responses, embeddings and task requests,
/// with random usage from the upstream. Whatever comes, the gateway answers 2xx or a 4xx in the route's documented
/// shape, never crashes, and commits exactly one ledger record per billed request.
@Suite struct FuzzTests {
    static let seed: UInt64 = ProcessInfo.processInfo.environment["SWITCHBOARD_FUZZ_SEED"].flatMap { UInt64($0) } ?? 0x5EED_2026
    static let rounds = ProcessInfo.processInfo.environment["SWITCHBOARD_FUZZ_ROUNDS"].flatMap { Int($0) } ?? 300

    static let numbers: [JSONValue] = [
        0, 1, -1, 2, .int(Int64.max), .int(Int64.min), .int(Int64(Int32.max)), .int(1 << 24), .int((1 << 24) + 1), .int(1 << 53),
        .double(0.5), .double(-0.0), .double(1e308), .double(-1e308), .double(2.5e-308), .double(9.3e18), .double(1.5),
    ]
    static let strings: [JSONValue] = [
        "", "a", "fake/fake-model", "fake-model", "mock/echo", "\u{0}", "💥🧨", "../../etc/passwd", "null", "true",
        .string(String(repeating: "x", count: 5_000)), .string(String(repeating: "m", count: 257)), "evil/fake/fake-model",
        "<script>alert(1)</script>", "' OR 1=1 --", "\r\nX-Injected: 1",
    ]
    static let others: [JSONValue] = [.null, true, false, [], [:], ["nested": ["deeper": [1, 2]]], [1, "two", .null]]

    struct Case {
        var path: String
        var body: JSONValue
        var dialect: Dialect
    }

    enum Dialect { case openAI, anthropic, huggingFace }

    static func anyValue(_ rng: inout SeededGenerator) -> JSONValue {
        switch Int.random(in: 0..<10, using: &rng) {
        case 0..<4: numbers.randomElement(using: &rng)!
        case 4..<8: strings.randomElement(using: &rng)!
        default: others.randomElement(using: &rng)!
        }
    }

    /// A valid request for one route, then one to three of its fields replaced by anything (or removed).
    static func makeCase(_ rng: inout SeededGenerator) -> Case {
        let message: JSONValue = ["role": "user", "content": "hello there"]
        let templates: [(String, [String: JSONValue], Dialect, [String])] = [
            (
                "/v1/chat/completions", ["model": "fake/fake-model", "messages": [message], "max_tokens": 16], .openAI,
                [
                    "model", "max_tokens", "max_completion_tokens", "temperature", "top_p", "n", "seed", "stop", "stream", "user", "tools",
                    "tool_choice", "response_format", "messages", "stream_options", "reasoning_effort", "parallel_tool_calls",
                ]
            ),
            (
                "/v1/messages", ["model": "fake/fake-model", "messages": [message], "max_tokens": 16], .anthropic,
                [
                    "model", "max_tokens", "temperature", "top_p", "top_k", "stop_sequences", "stream", "system", "messages", "tools",
                    "metadata",
                ]
            ),
            ("/v1/embeddings", ["model": "fake/fake-model", "input": "hello"], .openAI, ["model", "input", "dimensions", "user"]),
            (
                "/v1/responses", ["model": "fake/fake-model", "input": "hello there", "max_output_tokens": 16], .openAI,
                [
                    "model", "items", "instructions", "max_output_tokens", "temperature", "top_p", "stream", "store", "tools",
                    "tool_choice",
                    "text", "reasoning", "metadata", "previous_response_id", "parallel_tool_calls", "truncation",
                ]
            ),
            (
                "/hf/tasks/text-generation", ["model": "fake/fake-model", "inputs": "hello", "parameters": ["max_new_tokens": 8]],
                .huggingFace,
                ["model", "inputs", "stream", "parameters"]
            ),
            (
                "/hf/tasks/summarization", ["model": "fake/fake-model", "inputs": "a long text"], .huggingFace,
                ["model", "inputs", "parameters"]
            ),
            ("/hf/tasks/embedding", ["model": "fake/fake-model", "inputs": "hello"], .huggingFace, ["model", "inputs"]),
        ]
        let (path, template, dialect, fields) = templates.randomElement(using: &rng)!
        var body = template
        for _ in 0..<Int.random(in: 1...3, using: &rng) {
            let field = fields.randomElement(using: &rng)!
            if field == "parameters" {
                let name = ["max_new_tokens", "temperature", "top_p", "max_length", "return_full_text", "num_images"].randomElement(
                    using: &rng)!
                body["parameters"] = [name: anyValue(&rng)]
            } else if field == "messages" {
                let shapes: [JSONValue] = [
                    ["role": anyValue(&rng), "content": anyValue(&rng)],
                    [
                        "role": "user",
                        "content": [
                            ["type": "text", "text": anyValue(&rng)], ["type": "image_url", "image_url": ["url": anyValue(&rng)]],
                        ],
                    ],
                    ["role": "tool", "tool_call_id": anyValue(&rng), "content": anyValue(&rng)],
                    [
                        "role": "assistant", "content": .null,
                        "tool_calls": [["id": anyValue(&rng), "function": ["name": anyValue(&rng), "arguments": anyValue(&rng)]]],
                    ],
                    ["role": "user", "content": [["type": "tool_result", "tool_use_id": anyValue(&rng), "content": anyValue(&rng)]]],
                ]
                body["messages"] = [message, shapes.randomElement(using: &rng)!]
            } else if field == "items" {
                let shapes: [JSONValue] = [
                    ["role": anyValue(&rng), "content": anyValue(&rng)],
                    ["type": "message", "role": "user", "content": [["type": "input_image", "image_url": anyValue(&rng)]]],
                    ["type": "function_call", "call_id": anyValue(&rng), "name": anyValue(&rng), "arguments": anyValue(&rng)],
                    ["type": "function_call_output", "call_id": anyValue(&rng), "output": anyValue(&rng)],
                    ["type": "reasoning", "summary": [["type": "summary_text", "text": anyValue(&rng)]]],
                    ["type": anyValue(&rng)],
                ]
                body["input"] = [message, shapes.randomElement(using: &rng)!]
            } else if Int.random(in: 0..<8, using: &rng) == 0 {
                body[field] = nil
            } else {
                body[field] = anyValue(&rng)
            }
        }
        return Case(path: path, body: .object(body), dialect: dialect)
    }

    static func randomUsage(_ rng: inout SeededGenerator) -> Usage? {
        let counts = [0, 1, 9, -1, -5, 1 << 31, 1 << 62, Int.max, Int.min, Usage.plausibleTokens, Usage.plausibleTokens + 1]
        func count() -> Int { counts.randomElement(using: &rng)! }
        if Int.random(in: 0..<5, using: &rng) == 0 { return nil }
        return Usage(inputTokens: count(), outputTokens: count(), reasoningTokens: count(), cachedTokens: count())
    }

    /// Whether a 4xx body has the route's documented error shape.
    static func isDocumentedError(_ body: String, _ dialect: Dialect) -> Bool {
        guard let json = try? JSONValue.parse(Data(body.utf8)) else { return false }
        switch dialect {
        case .openAI: return json["error"]?["message"]?.stringValue != nil && json["error"]?["type"]?.stringValue != nil
        case .anthropic: return json["type"] == "error" && json["error"]?["message"]?.stringValue != nil
        case .huggingFace: return json["error"]?.stringValue != nil && json["error_type"]?.stringValue != nil
        }
    }

    /// With `limited`, through a key with rate limits and a budget, and a gateway-wide limit: admission and settling
    /// see every extreme too.
    @Test(arguments: [false, true])
    func randomAndExtremeRequestsGetA2xxOrADocumented4xxAndOneRecordEach(limited: Bool) async throws {
        var limits = QuotaEnforcer.Configuration()
        if limited { limits.global.requestsPerMinute = 1_000_000 }
        try await LiveGateway.with(try await LiveGateway.start(limits: limits)) { (gw) async throws in
            var key = LiveGateway.master
            if limited {
                let keyLimits = UsageLimits(requestsPerMinute: 1_000_000, tokensPerMinute: 1 << 40, budgetPerDay: NanoUSD(usd: "1000000"))
                key = try await gw.store.createKey(NewAPIKey(name: "fuzz", user: "fuzzer", limits: keyLimits)).secret
            }
            var rng = SeededGenerator(seed: Self.seed &+ (limited ? 1 : 0))
            var inferenceIDs: [String] = []
            for round in 0..<Self.rounds {
                var reply = FakeReply("a fuzzed answer")
                reply.usage = Self.randomUsage(&rng)
                gw.fake.setDefault(.reply(reply))
                let c = Self.makeCase(&rng)
                let r = try await gw.send("POST", c.path, json: c.body, key: key)
                let context =
                    "seed \(Self.seed) round \(round): \(c.path) \(c.body.jsonString().prefix(300)) -> \(r.status) \(r.body.prefix(300))"
                #expect((200..<300).contains(r.status) || (400..<500).contains(r.status), "\(context)")
                if (400..<500).contains(r.status) {
                    #expect(Self.isDocumentedError(r.body, c.dialect), "\(context)")
                }
                if r.header("content-type") == "text/event-stream" {
                    let ended =
                        r.body.contains("[DONE]") || r.body.contains("message_stop") || r.body.contains("\"generated_text\":\"")
                        || r.body.contains("event: response.completed") || r.body.contains("event: response.incomplete")
                    #expect(ended, "a stream ended silently: \(context)")
                }
                let id = try #require(r.header("inference-id"), "no ledger id: \(context)")
                inferenceIDs.append(id)
            }
            let recorded = try await Self.recordedIDs(gw)
            #expect(recorded.count == inferenceIDs.count)
            let missing = Set(inferenceIDs).subtracting(recorded)
            #expect(missing.isEmpty, "\(missing.count) answered requests have no record, e.g. \(missing.prefix(3))")
            #expect(try await gw.send("GET", "/metrics", key: nil).status == 200)
            #expect(try await gw.send("GET", "/hf/tasks/billing/usage").status == 200)
            gw.fake.setDefault(.reply(FakeReply("fine")))
            #expect(try await gw.send("POST", "/v1/chat/completions", json: chatBody()).status == 200)
        }
    }

    /// Every request id in the ledger.
    static func recordedIDs(_ gw: LiveGateway) async throws -> [String] {
        var recorded: [String] = []
        var page = UsageFilter()
        page.limit = 1000
        while true {
            let ids = try await gw.store.records(page).map(\.requestID)
            recorded += ids
            if ids.count < page.limit { return recorded }
            page.offset += page.limit
        }
    }

    /// Recorded OpenAI answers, plain and streamed, with hostile values anywhere in their JSON, through a forwarded
    /// chat completion and a translated `/v1/messages`: the gateway answers 2xx or 502, ends every stream with its end
    /// or an error event, never crashes, and records each request once.
    @Test(arguments: [true, false])
    func hostileUpstreamAnswersGetA2xxOrA502AndOneRecordEach(direct: Bool) async throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/openai")
        let chat = try String(contentsOf: folder.appendingPathComponent("chat_completion.json"), encoding: .utf8)
        let pieces = try String(contentsOf: folder.appendingPathComponent("stream_parallel_tools.sse"), encoding: .utf8)
            .components(separatedBy: "\n\n").filter { !$0.isEmpty }.map { Array(($0 + "\n\n").utf8) }
        try await LiveGateway.with(try await LiveGateway.start(direct: direct)) { (gw) async throws in
            var rng = SeededGenerator(seed: Self.seed &+ (direct ? 3 : 2))
            var inferenceIDs: [String] = []
            var refused = 0
            for round in 0..<Self.rounds / 3 {
                let rate = [0.05, 0.15, 0.4][round % 3]
                let body = Array(HostileJSON.mutate(text: Substring(chat), rate: rate, using: &rng).utf8)
                let stream = try pieces.map { try HostileJSON.mutate(piece: $0, eventStream: false, rate: rate, using: &rng) }
                gw.fake.setDefault(.recorded(body: body, pieces: stream, contentType: "text/event-stream"))
                let streamed = round % 2 == 1
                let messages: JSONValue = [
                    "model": "fake/fake-model", "max_tokens": 16, "stream": .bool(streamed),
                    "messages": [["role": "user", "content": "hi"]],
                ]
                for (path, request) in [("/v1/chat/completions", chatBody(stream: streamed)), ("/v1/messages", messages)] {
                    let r = try await gw.send("POST", path, json: request)
                    let context = "seed \(Self.seed) round \(round): \(path) streamed \(streamed) -> \(r.status) \(r.body.prefix(400))"
                    #expect((200..<300).contains(r.status) || r.status == 502, "\(context)")
                    if r.status == 502 { refused += 1 }
                    if r.header("content-type") == "text/event-stream" {
                        let ended =
                            r.body.contains("[DONE]") || r.body.contains("\"finish_reason\":\"error\"")
                            || r.body.contains("event: message_stop")
                            || r.body.contains("event: error")
                        #expect(ended, "a stream ended silently: \(context)")
                    }
                    inferenceIDs.append(try #require(r.header("inference-id"), "no ledger id: \(context)"))
                }
            }
            // Some answers get through and some are refused: the values reached the gateway's reading of them.
            #expect(
                refused > inferenceIDs.count / 16 && refused < inferenceIDs.count * 15 / 16, "\(refused) of \(inferenceIDs.count) refused")
            let recorded = try await Self.recordedIDs(gw)
            #expect(recorded.count == inferenceIDs.count)
            #expect(Set(inferenceIDs).subtracting(recorded).isEmpty)
            gw.fake.setDefault(.reply(FakeReply("fine")))
            #expect(try await gw.send("POST", "/v1/chat/completions", json: chatBody()).status == 200)
        }
    }
}
