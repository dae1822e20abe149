import Foundation
import NIOCore
import SwitchboardCore
import SwitchboardProviders
import SwitchboardTesting
import Testing

@Suite struct BedrockTests {
    static func hex(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = s.startIndex
        while i < s.endIndex {
            let j = s.index(i, offsetBy: 2)
            out.append(UInt8(s[i..<j], radix: 16)!)
            i = j
        }
        return out
    }

    static let vectorA = hex("0000001e00000000baf2f68a7b22666f6f223a2022626172227dae7258e4")
    static let vectorB = hex(
        "0000009f00000057c37babff0b3a6576656e742d74797065070011636f6e74656e74426c6f636b44656c74610d3a636f6e74656e742d747970650700106170706c69636174696f6e2f6a736f6e0d3a6d6573736167652d747970650700056576656e747b22636f6e74656e74426c6f636b496e646578223a302c2264656c7461223a7b2274657874223a224869227d2c2270223a2261626364227df2ace5ff"
    )

    @Test func theReferenceVectorsDecodeByteByByte() throws {
        var decoder = EventStreamDecoder()
        var messages: [EventStreamMessage] = []
        // One byte at a time: frames are put together across any chunk boundary.
        for byte in Self.vectorA + Self.vectorB { messages += try decoder.feed(ByteBuffer(bytes: [byte])) }
        #expect(messages.count == 2 && !decoder.hasPartialMessage)
        #expect(messages[0].headers.isEmpty && String(decoding: messages[0].payload, as: UTF8.self) == #"{"foo": "bar"}"#)
        #expect(messages[1].headers == [":event-type": "contentBlockDelta", ":content-type": "application/json", ":message-type": "event"])
        var stream = BedrockStreamDecoder(provider: "bedrock", model: "m")
        #expect(try stream.decode(messages[1]) == [.textDelta("Hi")], "an unknown payload key (p) is ignored")
    }

    @Test func aCorruptFrameIsAnErrorNotText() {
        for position in [5, 9, 40, Self.vectorB.count - 2] {
            var bytes = Self.vectorB
            bytes[position] ^= 0x01
            var decoder = EventStreamDecoder()
            #expect(throws: EventStreamError.self, "flipped byte \(position)") { _ = try decoder.feed(ByteBuffer(bytes: bytes)) }
        }
    }

    @Test func encodingRoundTrips() throws {
        let message = EventStreamMessage(
            headers: [":message-type": "exception", ":exception-type": "throttlingException"],
            payload: Array(#"{"message":"slow down"}"#.utf8))
        var decoder = EventStreamDecoder()
        #expect(try decoder.feed(ByteBuffer(bytes: message.encoded())) == [message])
        var stream = BedrockStreamDecoder(provider: "bedrock", model: "m")
        let error = #expect(throws: ProviderError.self) { try stream.decode(message) }
        #expect(error?.isRetryable == true && error?.message == "slow down")
    }

    @Test func converseRequestsCarrySystemToolConfigAndEncodedModelIDs() {
        var r = ChatRequest(
            model: "x",
            messages: [
                .system("Be terse."), .user("Weather?"),
                .assistant("", toolCalls: [ToolCall(id: "t1", name: "get_weather", arguments: #"{"city":"Paris"}"#)]),
                .tool(callID: "t1", "sunny"),
            ], temperature: 0.3, maxTokens: 512, stop: ["\n\nHuman:"])
        r.tools = [Tool(name: "get_weather", description: "Weather", parameters: ["type": "object"])]
        r.toolChoice = .required
        let body = BedrockTranslation.body(r)
        #expect(body["system"] == [["text": "Be terse."]])
        #expect(body["inferenceConfig"] == ["maxTokens": 512, "temperature": 0.3, "stopSequences": ["\n\nHuman:"]])
        #expect(body["toolConfig"]?["toolChoice"] == ["any": [:]])
        #expect(body["toolConfig"]?["tools"]?[0]?["toolSpec"]?["inputSchema"] == ["json": ["type": "object"]])
        #expect(body["messages"]?[1]?["content"]?[0]?["toolUse"]?["input"] == ["city": "Paris"])
        #expect(body["messages"]?[2]?["content"]?[0]?["toolResult"]?["toolUseId"] == "t1")
        #expect(
            BedrockTranslation.modelPath("us.anthropic.claude-3-5-haiku-20241022-v1:0", stream: true)
                == "/model/us.anthropic.claude-3-5-haiku-20241022-v1%3A0/converse-stream")
    }

    @Test func requestsAreSignedOverWhatIsSentAndAPIKeysGoAsBearer() async throws {
        let fake = try await FakeUpstream.start()
        let root = String(fake.baseURL.dropLast(3))
        let credentials = AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "secret-key-never-shown", sessionToken: "TOKEN")
        var options = BedrockProvider.Options(auth: .sigV4(credentials), region: "eu-west-1")
        options.runtimeURL = root
        let fixed = Date(timeIntervalSince1970: 1_704_067_200)
        let provider = BedrockProvider(options: options, transport: NIOHTTPTransport.shared, now: { fixed })
        let request = ChatRequest(model: "anthropic.claude-3-haiku-20240307-v1:0", messages: [.user("Hello")])
        _ = try await provider.chat(request, context: .testing())
        let sent = try #require(fake.received.last)
        #expect(
            sent.path == "/model/anthropic.claude-3-haiku-20240307-v1:0/converse"
                || sent.path == "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse")
        #expect(sent.headers["x-amz-date"] == "20240101T000000Z" && sent.headers["x-amz-security-token"] == "TOKEN")
        let auth = try #require(sent.headers["authorization"])
        #expect(auth.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/eu-west-1/bedrock/aws4_request, SignedHeaders="))
        // The signature covers exactly the headers the upstream received.
        let expected = SigV4.sign(
            method: "POST", url: root + BedrockTranslation.modelPath(request.model, stream: false),
            headers: [("Content-Type", "application/json"), ("Accept", "application/json")],
            body: BedrockTranslation.body(request).jsonBytes(), credentials: credentials, region: "eu-west-1",
            service: "bedrock", date: fixed)
        #expect(auth == expected.headers.first { $0.0 == "Authorization" }?.1)
        #expect(sent.headers["host"] == expected.headers.first { $0.0 == "Host" }?.1)
        var keyed = BedrockProvider.Options(auth: .apiKey("bedrock-api-key-123"), region: "us-east-1")
        keyed.runtimeURL = root
        _ = try await BedrockProvider(options: keyed, transport: NIOHTTPTransport.shared).chat(request, context: .testing())
        #expect(fake.received.last?.headers["authorization"] == "Bearer bedrock-api-key-123")
        await fake.stop()
    }

    @Test func credentialsComeFromTheEnvironmentOrAProfile() throws {
        let dir = ScratchFiles.url("aws")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let file = dir.appendingPathComponent("credentials")
        try """
        # comment
        [default]
        aws_access_key_id = AKIADEFAULT
        aws_secret_access_key = default-secret

        [work]
        aws_access_key_id=ASIAWORK
        aws_secret_access_key = work-secret
        aws_session_token = work-token
        """.write(to: file, atomically: true, encoding: .utf8)
        let env = ["AWS_SHARED_CREDENTIALS_FILE": file.path]
        #expect(
            BedrockAuth.resolve(environment: env, profile: nil)
                == .sigV4(AWSCredentials(accessKeyID: "AKIADEFAULT", secretAccessKey: "default-secret")))
        #expect(
            BedrockAuth.resolve(environment: env, profile: "work")
                == .sigV4(AWSCredentials(accessKeyID: "ASIAWORK", secretAccessKey: "work-secret", sessionToken: "work-token")))
        let fromEnv = env.merging(["AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "env-secret", "AWS_SESSION_TOKEN": "t"]) { $1 }
        #expect(
            BedrockAuth.resolve(environment: fromEnv, profile: nil)
                == .sigV4(AWSCredentials(accessKeyID: "AKIAENV", secretAccessKey: "env-secret", sessionToken: "t")))
        #expect(
            BedrockAuth.resolve(environment: fromEnv, profile: "work")
                != .sigV4(AWSCredentials(accessKeyID: "AKIAENV", secretAccessKey: "env-secret", sessionToken: "t")),
            "a named profile wins over the environment")
        #expect(BedrockAuth.resolve(environment: ["AWS_BEARER_TOKEN_BEDROCK": "k"], profile: nil) == .apiKey("k"))
        #expect(BedrockAuth.resolve(environment: ["HOME": dir.path + "/nowhere"], profile: nil) == nil)
    }
}
