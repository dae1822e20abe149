import ArgumentParser
import Foundation
import Switchboard

struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login", abstract: "Sign in to providers that use OAuth (device flow) and store the token.",
        subcommands: [Copilot.self, Qwen.self])

    /// Runs a device flow: shows the code, waits for approval, returns the token response.
    static func run(_ flow: DeviceFlow, what: String) async throws -> JSONValue {
        let context = CallContext(logger: .init(label: "login"), requestID: UUID().uuidString.lowercased(), timeout: .seconds(1800))
        let code = try await flow.start(context: context)
        Terminal.err(
            """
            To sign in to \(what), open \(code.verificationURIComplete ?? code.verificationURI)
            and enter the code: \(code.userCode)
            Waiting for approval...

            """)
        return try await flow.poll(code, context: context)
    }

    struct Copilot: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "GitHub's device flow for Copilot; writes the GitHub token file (mode 0600).")
        @Option(name: .long, help: "Where to write the token (default ~/.config/switchboard/copilot.json; [providers.copilot] token_path).")
        var tokenPath: String?

        func run() async throws {
            try await reportingErrors {
                let env = ProcessInfo.processInfo.environment
                let github = env["SWITCHBOARD_GITHUB_URL"] ?? "https://github.com"
                let flow = DeviceFlow(
                    deviceCodeURL: github + "/login/device/code", tokenURL: github + "/login/oauth/access_token",
                    codeFields: [("client_id", CopilotTokens.clientID), ("scope", "read:user")],
                    pollFields: [("client_id", CopilotTokens.clientID), ("grant_type", "urn:ietf:params:oauth:grant-type:device_code")],
                    transport: AsyncHTTPClientTransport.shared)
                let token = try await LoginCommand.run(flow, what: "GitHub Copilot")
                let path = tokenPath ?? CopilotTokens.defaultPath(home: env["HOME"] ?? NSHomeDirectory())
                let file: JSONValue = [
                    "github_token": token["access_token"] ?? .null, "created_at": .int(Int64(Date().timeIntervalSince1970)),
                ]
                try SecretFile.write(Data(file.jsonBytes()), to: path)
                Terminal.err("signed in; token saved to \(path)\n")
            }
        }
    }

    struct Qwen: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Qwen's device flow with PKCE; writes qwen-code's credentials file (mode 0600).")
        @Option(
            name: .long, help: "Where to write the credentials (default ~/.qwen/oauth_creds.json; [providers.qwen_oauth] credentials_path)."
        )
        var credentialsPath: String?

        func run() async throws {
            try await reportingErrors {
                let env = ProcessInfo.processInfo.environment
                let base = env["SWITCHBOARD_QWEN_OAUTH_URL"] ?? QwenTokens.oauthBase
                let pkce = PKCE()
                let flow = DeviceFlow(
                    deviceCodeURL: base + "/api/v1/oauth2/device/code", tokenURL: base + "/api/v1/oauth2/token",
                    codeFields: [
                        ("client_id", QwenTokens.clientID), ("scope", QwenTokens.scope), ("code_challenge", pkce.challenge),
                        ("code_challenge_method", "S256"),
                    ],
                    pollFields: [
                        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"), ("client_id", QwenTokens.clientID),
                        ("code_verifier", pkce.verifier),
                    ],
                    transport: AsyncHTTPClientTransport.shared)
                let token = try await LoginCommand.run(flow, what: "Qwen")
                let credentials = try QwenTokens.Credentials(tokenResponse: token, now: Date())
                let path = credentialsPath ?? QwenTokens.defaultPath(home: env["HOME"] ?? NSHomeDirectory())
                try SecretFile.write(Data(credentials.json.jsonBytes()), to: path)
                Terminal.err("signed in; credentials saved to \(path)\n")
            }
        }
    }
}
