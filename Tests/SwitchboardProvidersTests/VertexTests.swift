import CryptoExtras
import Foundation
import SwitchboardCore
import SwitchboardProviders
import SwitchboardTesting
import Testing

@Suite struct VertexTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func theAssertionIsAnRS256JWTThatCryptographyVerifies() async throws {
        let key = try TestServiceAccount.key(tokenURI: "https://oauth2.googleapis.com/token")
        let jwt = try key.assertion(now: Date(timeIntervalSince1970: 1_735_689_600))
        let python = Self.root.appendingPathComponent(".venv/bin/python")
        try #require(FileManager.default.isExecutableFile(atPath: python.path), "needs .venv (scripts/python-env)")
        let script = [Self.root.appendingPathComponent("Tests/python/jwt_verify.py").path]
        let process = try ChildProcess(executable: python.path, arguments: script, environment: ProcessInfo.processInfo.environment)
        let input: JSONValue = ["jwt": .string(jwt), "public_key_pem": .string(TestServiceAccount.privateKey.publicKey.pemRepresentation)]
        try process.write(input.jsonString())
        process.closeStdin()
        #expect(await process.wait() == .exited(0), "the signature verifies: \(process.stderr)")
        let out = Data(process.stdout.utf8)
        let verified = try JSONValue.parse(out)
        #expect(verified["header"] == ["alg": "RS256", "typ": "JWT", "kid": "key-1"])
        #expect(
            verified["claims"] == [
                "iss": "svc@switchboard-test.iam.gserviceaccount.com", "scope": "https://www.googleapis.com/auth/cloud-platform",
                "aud": "https://oauth2.googleapis.com/token", "iat": 1_735_689_600, "exp": 1_735_693_200,
            ])
        // A tampered token does not.
        var parts = jwt.split(separator: ".").map(String.init)
        parts[1] = ServiceAccountKeyTestsHelper.base64url(Array(#"{"iss":"someone-else"}"#.utf8))
        let bad = try ChildProcess(executable: python.path, arguments: script, environment: ProcessInfo.processInfo.environment)
        try bad.write(
            JSONValue.object(["jwt": .string(parts.joined(separator: ".")), "public_key_pem": input["public_key_pem"]!]).jsonString())
        bad.closeStdin()
        #expect(await bad.wait() == .exited(1))
    }

    @Test func tokensAreExchangedOnceUnderConcurrencyAndRefreshedBeforeExpiry() async throws {
        let fake = try await FakeUpstream.start()
        let root = String(fake.baseURL.dropLast(3))
        let clock = MutableClock()
        let tokens = GoogleAccessTokens(
            key: try TestServiceAccount.key(tokenURI: root + "/token"), transport: NIOHTTPTransport.shared,
            now: { clock.now })
        let got = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<20 { group.addTask { try await tokens.token(context: .testing()) } }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        let exchanged = await tokens.exchanges
        #expect(got == ["ya29.fake-token-1"] && exchanged == 1)
        let form = fake.received.first { $0.path == "/token" }
        #expect(form?.headers["content-type"] == "application/x-www-form-urlencoded")
        clock.advance(3599 - 301)
        _ = try await tokens.token(context: .testing())
        let still = await tokens.exchanges
        #expect(still == 1, "still more than five minutes left")
        clock.advance(2)
        #expect(try await tokens.token(context: .testing()) == "ya29.fake-token-2")
        await fake.stop()
    }

    @Test func requestsGoToTheProjectsModelWithTheBearerToken() async throws {
        let fake = try await FakeUpstream.start()
        let root = String(fake.baseURL.dropLast(3))
        var options = VertexProvider.Options(key: try TestServiceAccount.key(tokenURI: root + "/token"))
        options.baseURL = root
        options.location = "europe-west4"
        let provider = VertexProvider(options: options, transport: NIOHTTPTransport.shared)
        var r = ChatRequest(
            model: "gemini-2.5-flash",
            messages: [
                .system("Be terse."), .user("Weather?"),
                .assistant("", toolCalls: [ToolCall(id: "c1", name: "get_weather", arguments: #"{"city":"Paris"}"#)]),
                .tool(callID: "c1", "sunny"),
            ])
        r.tools = [Tool(name: "get_weather", parameters: ["type": "object"])]
        _ = try await provider.chat(r, context: .testing())
        let sent = try #require(fake.received.last)
        #expect(
            sent.path == "/v1/projects/switchboard-test/locations/europe-west4/publishers/google/models/gemini-2.5-flash:generateContent")
        #expect(sent.headers["authorization"] == "Bearer ya29.fake-token-1")
        let body = try #require(sent.json)
        #expect(body["systemInstruction"] == ["parts": [["text": "Be terse."]]])
        #expect(body["contents"]?.arrayValue?.map { $0["role"]?.stringValue } == ["user", "model", "user"])
        #expect(body["contents"]?[1]?["parts"]?[0]?["functionCall"]?["args"] == ["city": "Paris"])
        #expect(
            body["contents"]?[2]?["parts"]?[0]?["functionResponse"] == ["id": "c1", "name": "get_weather", "response": ["result": "sunny"]])
        await fake.stop()
    }
}

enum ServiceAccountKeyTestsHelper {
    static func base64url(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}

final class MutableClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current = Date(timeIntervalSince1970: 1_800_000_000)
    var now: Date { lock.withLock { current } }
    func advance(_ seconds: TimeInterval) { lock.withLock { current += seconds } }
}

@Suite struct CopilotTokenTests {
    @Test func theKeyIsExchangedOnceAndAgainAMinuteBeforeItExpires() async throws {
        let fake = try await FakeUpstream.start()
        let oauth = try await FakeOAuthServer.start(chatRoot: String(fake.baseURL.dropLast(3)))
        let clock = MutableClock()
        let tokens = CopilotTokens(
            githubToken: FakeOAuthServer.githubToken, exchangeURL: oauth.baseURL + "/copilot_internal/v2/token",
            transport: NIOHTTPTransport.shared, now: { clock.now })
        // The fake's keys expire 30 minutes from real now; the test clock starts far in the past, so move it close.
        clock.advance(Date().timeIntervalSince1970 - clock.now.timeIntervalSince1970)
        let keys = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<10 { group.addTask { try await tokens.credential(context: .testing()).token } }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(keys.count == 1 && keys.first?.hasPrefix("tid=fake-1;") == true && oauth.copilotExchanges == 1)
        clock.advance(1800 - 120)
        _ = try await tokens.credential(context: .testing())
        #expect(oauth.copilotExchanges == 1, "two minutes left: still cached")
        clock.advance(70)
        #expect(try await tokens.credential(context: .testing()).token.hasPrefix("tid=fake-2;"))
        await tokens.invalidate()
        #expect(try await tokens.credential(context: .testing()).token.hasPrefix("tid=fake-3;"), "a refused key is replaced")
        let bad = CopilotTokens(
            githubToken: "gho_wrong", exchangeURL: oauth.baseURL + "/copilot_internal/v2/token", transport: NIOHTTPTransport.shared)
        let error = await #expect(throws: ProviderError.self) { try await bad.credential(context: .testing()) }
        #expect(error?.kind == .authentication && error.map { !"\($0)".contains("gho_wrong") } == true)
        await oauth.stop()
        await fake.stop()
    }
}

/// Credential files in every shape a user may have.
@Suite struct CredentialFileTests {
    static func file(_ text: String) throws -> String {
        let path = ScratchFiles.path("creds")
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func aCopilotTokenFileMayBeJSONOrTheTokenAlone() throws {
        #expect(try CopilotTokens.githubToken(fromFile: Self.file(#"{"github_token": "gho_json"}"#)) == "gho_json")
        #expect(try CopilotTokens.githubToken(fromFile: Self.file("gho_plain\n")) == "gho_plain")
        #expect(throws: ProviderError.self) { try CopilotTokens.githubToken(fromFile: Self.file(#"{"other": 1}"#)) }
        #expect(throws: ProviderError.self) { try CopilotTokens.githubToken(fromFile: Self.file("two words")) }
    }

    @Test func qwenCredentialsMayCarryExpiresAtInSecondsOrExpiryDateInMilliseconds() throws {
        let seconds = try QwenTokens.Credentials(json: ["access_token": "a", "refresh_token": "r", "expires_at": 1_735_690_000])
        #expect(seconds.expiryDate == 1_735_690_000_000 && seconds.tokenType == "Bearer")
        let millis = try QwenTokens.Credentials(
            json: ["access_token": "a", "refresh_token": "r", "token_type": "Bearer", "expiry_date": 1_735_712_345_678])
        #expect(millis.expiryDate == 1_735_712_345_678)
        #expect(throws: ProviderError.self) { try QwenTokens.Credentials(json: ["access_token": "a", "refresh_token": "r"]) }
    }

    @Test func qwenLifetimesOutOfAnyRangeAreHeldNotTrapped() throws {
        let now = Date(timeIntervalSince1970: 1_764_927_005)
        let response = try QwenTokens.Credentials(tokenResponse: ["access_token": "a", "expires_in": 9_000_000_000_000_000_000], now: now)
        #expect(response.expiryDate == (1_764_927_005 + 10 * 366 * 86_400) * 1000)
        let past = try QwenTokens.Credentials(json: ["access_token": "a", "refresh_token": "r", "expires_at": -9_000_000_000_000_000_000])
        #expect(past.expiryDate == 0)
    }
}
