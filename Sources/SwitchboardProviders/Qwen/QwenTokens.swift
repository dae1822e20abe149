public import Foundation
import NIOCore
public import SwitchboardCore

/// Qwen's OAuth (observed from qwen-code, `shared/reference/copilot-qwen-oauth.md`): credentials from the
/// device flow in a file (qwen-code's format, so both tools share it), refreshed with the refresh token
/// when less than 30 seconds remain; the file is rewritten atomically (0600).
public actor QwenTokens: BearerTokenSource {
    public static let clientID = "f0304373b74a44d2b584a3fb70ca9e56"
    public static let scope = "openid profile email model.completion"
    public static let oauthBase = "https://chat.qwen.ai"
    /// Where requests go when the credentials name no `resource_url`.
    public static let fallbackBaseURL = "https://dashscope.aliyuncs.com/compatible-mode/v1"
    public static let headers: [String: String] = [
        "X-DashScope-AuthType": "qwen-oauth", "X-DashScope-CacheControl": "enable",
        "User-Agent": "QwenCode/0.1.0 (linux; x64)", "X-DashScope-UserAgent": "QwenCode/0.1.0 (linux; x64)",
    ]

    /// The credentials file's contents.
    public struct Credentials: Sendable, Hashable {
        public var accessToken: String
        public var refreshToken: String
        public var tokenType: String
        public var resourceURL: String?
        /// Milliseconds since the epoch, as qwen-code writes it.
        public var expiryDate: Int64

        /// Reads a file's JSON; all of access_token, refresh_token, token_type and expiry_date are required.
        /// From a credentials file: qwen-code's (`expiry_date` in milliseconds), or the specification's shape (`expires_at`
        /// in seconds, `token_type` optional).
        public init(json: JSONValue) throws(ProviderError) {
            let expiry = json["expiry_date"]?.intValue ?? json["expires_at"]?.intValue.map { $0 > 100_000_000_000 ? $0 : max($0, 0) * 1000 }
            guard let a = json["access_token"]?.stringValue, let r = json["refresh_token"]?.stringValue, let e = expiry else {
                throw ProviderError(
                    .authentication, provider: "qwen_oauth",
                    message: "the Qwen credentials file is incomplete: run `switchboard login qwen`")
            }
            accessToken = a
            refreshToken = r
            tokenType = json["token_type"]?.stringValue ?? "Bearer"
            expiryDate = e
            resourceURL = json["resource_url"]?.stringValue
        }

        /// From a token response: `expires_in` seconds from `now`.
        public init(tokenResponse json: JSONValue, previousRefreshToken: String? = nil, now: Date) throws(ProviderError) {
            guard let a = json["access_token"]?.stringValue, !a.isEmpty else {
                throw ProviderError(.authentication, provider: "qwen_oauth", message: "the token response has no access_token")
            }
            accessToken = a
            refreshToken = json["refresh_token"]?.stringValue ?? previousRefreshToken ?? ""
            tokenType = json["token_type"]?.stringValue ?? "Bearer"
            resourceURL = json["resource_url"]?.stringValue
            // Held to ten years: the number is the token endpoint's, and a huge one would not fit in milliseconds.
            let lifetime = min(max(json["expires_in"]?.intValue ?? 3600, 0), 10 * 366 * 86_400)
            expiryDate = Int64((now.timeIntervalSince1970 + TimeInterval(lifetime)) * 1000)
        }

        public var json: JSONValue {
            var o: [String: JSONValue] = [
                "access_token": .string(accessToken), "refresh_token": .string(refreshToken),
                "token_type": .string(tokenType), "expiry_date": .int(expiryDate),
            ]
            if let resourceURL { o["resource_url"] = .string(resourceURL) }
            return .object(o)
        }

        /// `https://{resource_url}/v1`: scheme and `/v1` added only when missing.
        public var baseURL: String {
            guard var r = resourceURL, !r.isEmpty else { return QwenTokens.fallbackBaseURL }
            if !r.contains("://") { r = "https://" + r }
            while r.hasSuffix("/") { r.removeLast() }
            return r.hasSuffix("/v1") ? r : r + "/v1"
        }
    }

    private let path: String
    private let tokenURL: String
    private let transport: any HTTPTransport
    private let now: @Sendable () -> Date
    private var current: Credentials?
    /// Refreshes made, for tests.
    public private(set) var refreshes = 0

    /// Tokens from the credentials file at `path`.
    public init(
        path: String, tokenURL: String = QwenTokens.oauthBase + "/api/v1/oauth2/token", transport: any HTTPTransport,
        now: (@Sendable () -> Date)? = nil
    ) {
        self.path = path
        self.tokenURL = tokenURL
        self.transport = transport
        self.now = now ?? { Date() }
    }

    public func credential(context: CallContext) async throws -> (token: String, baseURL: String?) {
        var creds = try current ?? load()
        if Double(creds.expiryDate) / 1000 - now().timeIntervalSince1970 < 30 {
            creds = try await refresh(creds, context: context)
        }
        current = creds
        return (creds.accessToken, creds.baseURL)
    }

    public func invalidate() async {
        // Forcing a refresh on the next call: the server refused the access token.
        current?.expiryDate = 0
    }

    private func load() throws -> Credentials {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ProviderError(
                .authentication, provider: "qwen_oauth", message: "no Qwen credentials at \(path): run `switchboard login qwen`")
        }
        guard let json = try? JSONValue.parse(data) else {
            throw ProviderError(
                .authentication, provider: "qwen_oauth", message: "\(path) is not JSON: run `switchboard login qwen` to rewrite it")
        }
        return try Credentials(json: json)
    }

    private func refresh(_ creds: Credentials, context: CallContext) async throws -> Credentials {
        refreshes += 1
        let form = DeviceFlow.form([("grant_type", "refresh_token"), ("refresh_token", creds.refreshToken), ("client_id", Self.clientID)])
        let response: TransportResponse
        do {
            response = try await transport.send(
                TransportRequest(
                    method: "POST", url: tokenURL,
                    headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")],
                    body: ByteBuffer(string: form)), context: context)
        } catch let error as TransportError {
            throw ProviderError(.network, provider: "qwen_oauth", message: "cannot reach the Qwen token endpoint: \(error)")
        }
        let body = try await response.body.collect(upTo: 1 << 20)
        guard (200..<300).contains(response.status), let json = try? JSONValue.parse(Data(body.readableBytesView)) else {
            throw ProviderError(
                .authentication, provider: "qwen_oauth", status: response.status,
                message: "the Qwen refresh token was refused (HTTP \(response.status)): run `switchboard login qwen`")
        }
        var fresh = try Credentials(tokenResponse: json, previousRefreshToken: creds.refreshToken, now: now())
        if fresh.resourceURL == nil { fresh.resourceURL = creds.resourceURL }
        try SecretFile.write(Data(fresh.json.jsonBytes()), to: path)
        return fresh
    }
}
