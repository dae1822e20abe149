public import Foundation
import NIOCore
public import SwitchboardCore

/// GitHub Copilot (observed API, `shared/reference/copilot-qwen-oauth.md`): a stored GitHub OAuth token is
/// exchanged for a short-lived Copilot key (about 30 minutes), cached and exchanged again a minute before
/// it expires; concurrent callers share one exchange.
public actor CopilotTokens: BearerTokenSource {
    /// GitHub's OAuth app id for Copilot editor integrations (the one the exchange accepts).
    public static let clientID = "Iv1.b507a08c87ecfe98"
    /// Headers Copilot requires of an editor.
    public static let editorHeaders: [String: String] = [
        "Editor-Version": "vscode/1.95.0", "Editor-Plugin-Version": "copilot-chat/0.26.7", "Copilot-Integration-Id": "vscode-chat",
        "User-Agent": "GitHubCopilotChat/0.26.7", "Openai-Intent": "conversation-panel",
    ]

    private let githubToken: String
    private let exchangeURL: String
    private let transport: any HTTPTransport
    private let now: @Sendable () -> Date
    private var cached: (token: String, expires: Date, api: String?)?
    private var inFlight: Task<(String, Date, String?), any Error>?
    /// Exchanges made, for tests.
    public private(set) var exchanges = 0

    /// Tokens for a GitHub OAuth token (`gho_...`).
    public init(
        githubToken: String, exchangeURL: String = "https://api.github.com/copilot_internal/v2/token",
        transport: any HTTPTransport, now: (@Sendable () -> Date)? = nil
    ) {
        self.githubToken = githubToken
        self.exchangeURL = exchangeURL
        self.transport = transport
        self.now = now ?? { Date() }
    }

    /// The GitHub token in a token file: the JSON `switchboard login copilot` writes (`{"github_token": "gho_..."}`), or
    /// the token alone as plain text (the shape the specification shows).
    public static func githubToken(fromFile path: String) throws(ProviderError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ProviderError(.authentication, provider: "copilot", message: "no token file at \(path): run `switchboard login copilot`")
        }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if text.hasPrefix("{"), let token = (try? JSONValue.parse(data))?["github_token"]?.stringValue, !token.isEmpty {
            return token
        }
        if !text.hasPrefix("{"), !text.isEmpty, !text.contains(where: \.isWhitespace) { return text }
        throw ProviderError(
            .authentication, provider: "copilot", message: "\(path) has no github_token: run `switchboard login copilot`")
    }

    public func credential(context: CallContext) async throws -> (token: String, baseURL: String?) {
        if let cached, cached.expires.timeIntervalSince(now()) > 60 { return (cached.token, cached.api) }
        if let inFlight {
            let (t, _, api) = try await inFlight.value
            return (t, api)
        }
        let task = Task { try await exchange(context: context) }
        inFlight = task
        defer { inFlight = nil }
        let (token, expires, api) = try await task.value
        cached = (token, expires, api)
        return (token, api)
    }

    public func invalidate() async { cached = nil }

    private func exchange(context: CallContext) async throws -> (String, Date, String?) {
        exchanges += 1
        var headers = Self.editorHeaders.map { ($0.key, $0.value) }
        headers.append(("Authorization", "token \(githubToken)"))
        headers.append(("Accept", "application/json"))
        let client = UpstreamClient(provider: "copilot", transport: transport, baseURL: exchangeURL, secrets: [githubToken])
        let response = try await client.send(TransportRequest(method: "GET", url: exchangeURL, headers: headers), context: context)
        let body = try await client.collect(response, upTo: 1 << 20)
        guard let json = try? JSONValue.parse(Data(body.readableBytesView)), let token = json["token"]?.stringValue,
            let expiresAt = json["expires_at"]?.intValue
        else {
            throw ProviderError(.authentication, provider: "copilot", message: "the Copilot token exchange answered without a token")
        }
        return (token, Date(timeIntervalSince1970: TimeInterval(expiresAt)), json["endpoints"]?["api"]?.stringValue)
    }
}
