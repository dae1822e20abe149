import Foundation
import SwitchboardCore
import SwitchboardProviders
import SwitchboardTesting
import Testing

/// One suite over every provider: each is pointed at the loopback fake, which answers in that provider's
/// own wire format (OpenAI chat completions, Anthropic Messages, Ollama NDJSON), and must give the same
/// unified answers.
enum ProviderKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case openAICompatible, anthropic, ollama, bedrock, vertex, copilot, qwen

    var testDescription: String { rawValue }

    func make(_ fake: FakeUpstream, oauth: FakeOAuthServer?, key: String = "sk-secret-conformance-key") -> any LLMProvider {
        let root = String(fake.baseURL.dropLast(3))
        switch self {
        case .openAICompatible: return try! UpstreamDialect.openAICompatible.provider(at: fake, key: key)
        case .anthropic: return try! UpstreamDialect.anthropic.provider(at: fake, key: key)
        case .ollama: return try! UpstreamDialect.ollama.provider(at: fake, key: key)
        case .bedrock: return try! UpstreamDialect.bedrock.provider(at: fake, key: key)
        case .vertex: return try! UpstreamDialect.vertex.provider(at: fake, key: key)
        case .copilot:
            let tokens = CopilotTokens(
                githubToken: FakeOAuthServer.githubToken, exchangeURL: oauth!.baseURL + "/copilot_internal/v2/token",
                transport: NIOHTTPTransport.shared)
            return OAuthProviders.copilot(tokens: tokens, transport: NIOHTTPTransport.shared)
        case .qwen:
            let file = ScratchFiles.path("qwen", suffix: ".json")
            // The fake OAuth server accepts the empty refresh token it starts with.
            let creds: JSONValue = [
                "access_token": "qwen-access-0", "refresh_token": "", "token_type": "Bearer", "resource_url": .string(root),
                "expiry_date": .int(Int64((Date().timeIntervalSince1970 + 3600) * 1000)),
            ]
            try! SecretFile.write(Data(creds.jsonBytes()), to: file)
            let tokens = QwenTokens(path: file, tokenURL: oauth!.baseURL + "/api/v1/oauth2/token", transport: NIOHTTPTransport.shared)
            return OAuthProviders.qwen(tokens: tokens, transport: NIOHTTPTransport.shared)
        }
    }
}

@Suite struct ProviderConformanceTests {
    func withProvider(_ kind: ProviderKind, _ body: (FakeUpstream, any LLMProvider) async throws -> Void) async throws {
        let fake = try await FakeUpstream.start()
        let oauth = kind == .copilot || kind == .qwen ? try await FakeOAuthServer.start(chatRoot: String(fake.baseURL.dropLast(3))) : nil
        do { try await body(fake, kind.make(fake, oauth: oauth)) } catch {
            await fake.stop()
            await oauth?.stop()
            throw error
        }
        await fake.stop()
        await oauth?.stop()
    }

    let request = ChatRequest(model: "conformance-model", messages: [.system("Be brief."), .user("Hello")])

    static var toolReply: FakeReply {
        var r = FakeReply("")
        r.toolCalls = [
            ToolCall(id: "call_a", name: "get_weather", arguments: #"{"city":"Paris"}"#),
            ToolCall(id: "call_b", name: "get_time", arguments: #"{"tz":"Europe/Paris"}"#),
        ]
        r.usage = Usage(inputTokens: 30, outputTokens: 8)
        return r
    }

    @Test(arguments: ProviderKind.allCases)
    func chatAndStreamGiveTheSameAnswerAndUsage(kind: ProviderKind) async throws {
        try await withProvider(kind) { fake, provider in
            var reply = FakeReply("Paris is the capital of France.")
            reply.usage = Usage(inputTokens: 21, outputTokens: 7)
            fake.setDefault(.reply(reply))
            let plain = try await provider.chat(request, context: .testing())
            #expect(plain.content == "Paris is the capital of France.")
            #expect(plain.finishReason == .stop && plain.usage == Usage(inputTokens: 21, outputTokens: 7))
            var acc = StreamAccumulator()
            var deltas = 0
            for try await e in provider.stream(request, context: .testing()) {
                if case .textDelta = e { deltas += 1 }
                acc.add(e)
            }
            #expect(deltas > 1, "streamed in pieces")
            #expect(acc.response.content == plain.content && acc.response.usage == plain.usage && acc.response.finishReason == .stop)
        }
    }

    @Test(arguments: ProviderKind.allCases)
    func parallelToolCallsKeepOrderIDsAndArguments(kind: ProviderKind) async throws {
        try await withProvider(kind) { fake, provider in
            fake.setDefault(.reply(Self.toolReply))
            let tools = [Tool(name: "get_weather", parameters: ["type": "object"]), Tool(name: "get_time", parameters: ["type": "object"])]
            let asked = request.withTools(tools, choice: .auto)
            let plain = try await provider.chat(asked, context: .testing())
            var acc = StreamAccumulator()
            for try await e in provider.stream(asked, context: .testing()) { acc.add(e) }
            for r in [plain, acc.response] {
                #expect(r.toolCalls.map(\.id) == ["call_a", "call_b"])
                #expect(r.toolCalls.map(\.name) == ["get_weather", "get_time"])
                let args = r.toolCalls.map { try? JSONValue.parse(Data($0.arguments.utf8)) }
                #expect(args == [["city": "Paris"], ["tz": "Europe/Paris"]])
                #expect(r.finishReason == .toolCalls)
            }
            let sent = try #require(fake.received.last?.json)
            let declared = sent["tools"]?[0]?["functionDeclarations"] ?? sent["tools"] ?? sent["toolConfig"]?["tools"]
            #expect(declared?.arrayValue?.count == 2, "tools reach the upstream in its own shape")
        }
    }

    @Test(arguments: ProviderKind.allCases)
    func structuredOutputAndReasoningReachTheUpstream(kind: ProviderKind) async throws {
        try await withProvider(kind) { fake, provider in
            var reply = FakeReply(#"{"answer":42}"#)
            reply.reasoning = "Thinking it over."
            fake.setDefault(.reply(reply))
            let schema: JSONValue = ["type": "object", "properties": ["answer": ["type": "integer"]]]
            let asked = request.withResponseFormat(.jsonSchema(name: "a", schema: schema, strict: true))
                .withReasoning(ReasoningOptions(effort: "high"))
            let r = try await provider.chat(asked, context: .testing())
            #expect(r.content == #"{"answer":42}"# && r.reasoning == "Thinking it over.")
            let sent = try #require(fake.received.last?.json)
            let bedrockSchema = sent["outputConfig"]?["textFormat"]?["structure"]?["jsonSchema"]?["schema"]?.stringValue
                .flatMap { try? JSONValue.parse(Data($0.utf8)) }
            let schemaSent =
                sent["response_format"]?["json_schema"]?["schema"] ?? sent["output_config"]?["format"]?["schema"] ?? sent["format"]
                ?? bedrockSchema ?? sent["generationConfig"]?["responseJsonSchema"]
            #expect(schemaSent == schema)
        }
    }

    @Test(arguments: ProviderKind.allCases)
    func errorsKnowTheirKindAndRetryabilityAndHideTheKey(kind: ProviderKind) async throws {
        try await withProvider(kind) { fake, provider in
            fake.set(
                .status(429, body: #"{"error":{"message":"slow down","type":"rate_limit_error"}}"#, headers: [("Retry-After", "3")]),
                forModel: "limited")
            fake.set(.status(500, body: #"{"error":"boom"}"#), forModel: "broken")
            fake.set(
                .status(401, body: #"{"error":{"message":"bad key sk-secret-conformance-key","type":"authentication_error"}}"#),
                forModel: "denied")
            for (model, retryable) in [("limited", true), ("broken", true), ("denied", false)] {
                let e = await #expect(throws: ProviderError.self) { try await provider.chat(request.withModel(model), context: .testing()) }
                #expect(e?.isRetryable == retryable, "\(model)")
                #expect(e.map { !"\($0)".contains("sk-secret-conformance-key") } == true)
            }
            let limited = await #expect(throws: ProviderError.self) {
                for try await _ in provider.stream(request.withModel("limited"), context: .testing()) {}
            }
            #expect(limited?.kind == .rateLimited(retryAfter: .seconds(3)))
        }
    }

    @Test(arguments: ProviderKind.allCases)
    func aStreamCutShortIsAnErrorNotAQuietEnd(kind: ProviderKind) async throws {
        try await withProvider(kind) { fake, provider in
            fake.setDefault(.dropAfter(chunks: 2, reply: FakeReply("this stream will break before its end")))
            await #expect(throws: (any Error).self) {
                for try await _ in provider.stream(request, context: .testing()) {}
            }
        }
    }

    @Test(arguments: ProviderKind.allCases)
    func modelsAndHealthAnswer(kind: ProviderKind) async throws {
        try await withProvider(kind) { fake, provider in
            fake.setModels(["m-one", "m-two"])
            let ids = try await provider.models(context: .testing()).map(\.id)
            #expect(ids == ["m-one", "m-two"])
            #expect(await provider.health(context: .testing()).status == .healthy)
        }
    }
}
