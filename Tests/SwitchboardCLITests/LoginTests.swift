import Foundation
import SwitchboardCore
import SwitchboardTesting
import Testing

/// `switchboard login copilot|qwen` against loopback fakes of GitHub's and Qwen's OAuth endpoints, then chat
/// through the stored credentials.
@Suite struct LoginTests {
    func mode(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    @Test func copilotLoginStoresTheGitHubTokenAndChatUsesAnExchangedKey() async throws {
        let fake = try await FakeUpstream.start()
        defer { Task { await fake.stop() } }
        let root = String(fake.baseURL.dropLast(3))
        let oauth = try await FakeOAuthServer.start(chatRoot: root)
        defer { Task { await oauth.stop() } }
        fake.setDefault(.reply(FakeReply("Hello from Copilot")))
        let cli = try CLIRunner(
            config: """
                [providers.copilot]
                token_path = "copilot-token.json"
                """,
            environment: [
                "SWITCHBOARD_GITHUB_URL": oauth.baseURL,
                "SWITCHBOARD_COPILOT_TOKEN_URL": oauth.baseURL + "/copilot_internal/v2/token",
            ])
        let login = try await cli.run(["login", "copilot", "--token-path", "copilot-token.json"])
        #expect(login.status == 0, "\(login.stderr)")
        #expect(login.stderr.contains("WDJB-MJHT") && login.stderr.contains(oauth.baseURL + "/login/device"))
        let path = cli.directory.appendingPathComponent("copilot-token.json").path
        #expect(try mode(path) == 0o600)
        let stored = try JSONValue.parse(Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(stored["github_token"]?.stringValue == FakeOAuthServer.githubToken)
        #expect(!login.stdout.contains(FakeOAuthServer.githubToken) && !login.stderr.contains(FakeOAuthServer.githubToken))

        let chat = try await cli.run(["chat", "hi", "-m", "copilot/gpt-4.1", "--no-stream"])
        #expect(chat.status == 0, "\(chat.stderr)")
        #expect(chat.stdout.contains("Hello from Copilot"))
        let sent = try #require(fake.lastChat)
        #expect(sent.path == "/chat/completions", "the exchange's endpoints.api is the base URL")
        #expect(sent.headers["authorization"]?.hasPrefix("Bearer tid=fake-1;") == true)
        #expect(sent.headers["copilot-integration-id"] == "vscode-chat" && sent.headers["editor-version"] != nil)
        #expect(oauth.copilotExchanges == 1)
        let providers = try await cli.run(["providers"])
        #expect(providers.stdout.contains("copilot") && providers.stdout.contains("qwen_oauth"))
    }

    @Test func qwenLoginUsesPKCEAndTokensAreRefreshedAndRewritten() async throws {
        let fake = try await FakeUpstream.start()
        defer { Task { await fake.stop() } }
        let root = String(fake.baseURL.dropLast(3))
        // Tokens live 10 s: less than the 30 s margin, so every use refreshes.
        let oauth = try await FakeOAuthServer.start(chatRoot: root, qwenExpiresIn: 10)
        defer { Task { await oauth.stop() } }
        fake.setDefault(.reply(FakeReply("Hello from Qwen")))
        let cli = try CLIRunner(
            config: """
                [providers.qwen_oauth]
                credentials_path = "qwen/oauth_creds.json"
                """, environment: ["SWITCHBOARD_QWEN_OAUTH_URL": oauth.baseURL])
        let login = try await cli.run(["login", "qwen", "--credentials-path", "qwen/oauth_creds.json"])
        #expect(login.status == 0, "\(login.stderr)")
        #expect(login.stderr.contains("ABCD-1234"))
        let path = cli.directory.appendingPathComponent("qwen/oauth_creds.json").path
        #expect(try mode(path) == 0o600)
        let first = try JSONValue.parse(Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(first["access_token"]?.stringValue == "qwen-access-1" && first["refresh_token"]?.stringValue == "qwen-refresh-1")
        #expect(first["token_type"]?.stringValue == "Bearer" && first["resource_url"]?.stringValue == root)
        let expiry = try #require(first["expiry_date"]?.intValue)
        #expect(abs(Double(expiry) / 1000 - Date().timeIntervalSince1970 - 10) < 30, "expiry_date is in milliseconds")

        let chat = try await cli.run(["chat", "hi", "-m", "qwen_oauth/coder-model", "--no-stream"])
        #expect(chat.status == 0, "\(chat.stderr)")
        #expect(chat.stdout.contains("Hello from Qwen"))
        let sent = try #require(fake.lastChat)
        #expect(sent.path == "/v1/chat/completions", "resource_url + /v1")
        #expect(sent.headers["authorization"] == "Bearer qwen-access-2", "refreshed before use")
        #expect(sent.headers["x-dashscope-authtype"] == "qwen-oauth")
        #expect(oauth.qwenRefreshes == 1)
        let rewritten = try JSONValue.parse(Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(rewritten["access_token"]?.stringValue == "qwen-access-2" && rewritten["refresh_token"]?.stringValue == "qwen-refresh-2")
        #expect(rewritten["resource_url"]?.stringValue == root, "kept when the refresh response has none")
        #expect(try mode(path) == 0o600)
    }
}
