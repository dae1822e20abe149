import Crypto
public import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SwitchboardCore
import Synchronization

/// A loopback stand-in for GitHub's device flow and Copilot token exchange, and for Qwen's OAuth server
/// (device flow with PKCE, refresh). Each login needs a pending poll and a slow-down before it succeeds.
public final class FakeOAuthServer: Sendable {
    private struct State {
        var polls = 0
        var copilotExchanges = 0
        var qwenChallenge: String?
        var qwenPolls = 0
        var qwenRefreshToken = ""
        var qwenIssued = 0
        var qwenRefreshes = 0
    }

    public let port: Int
    private let state = Mutex(State())
    private let loopback = Mutex<LoopbackServer?>(nil)
    /// Where Copilot's `endpoints.api` and Qwen's `resource_url` point (a FakeUpstream root).
    public let chatRoot: String
    /// Lifetime of Qwen access tokens handed out.
    public let qwenExpiresIn: Int

    public var baseURL: String { "http://127.0.0.1:\(port)" }
    public var copilotExchanges: Int { state.withLock { $0.copilotExchanges } }
    public var qwenRefreshes: Int { state.withLock { $0.qwenRefreshes } }
    public static let githubToken = "gho_fakeGitHubToken0123456789"

    private init(port: Int, chatRoot: String, qwenExpiresIn: Int) {
        self.port = port
        self.chatRoot = chatRoot
        self.qwenExpiresIn = qwenExpiresIn
    }

    /// Starts on a free loopback port.
    public static func start(chatRoot: String, qwenExpiresIn: Int = 3600) async throws -> FakeOAuthServer {
        let holder = Mutex<FakeOAuthServer?>(nil)
        let router = Router()
        let handler: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, _ in
            guard let server = holder.withLock({ $0 }) else { return Response(status: .serviceUnavailable) }
            return try await server.handle(request)
        }
        for path in ["login/device/code", "login/oauth/access_token", "api/v1/oauth2/device/code", "api/v1/oauth2/token"] {
            router.post(RouterPath(stringLiteral: path), use: handler)
        }
        router.get("copilot_internal/v2/token", use: handler)
        let loopback = try await LoopbackServer.start(router: router, label: "fake-oauth")
        let server = FakeOAuthServer(port: loopback.port, chatRoot: chatRoot, qwenExpiresIn: qwenExpiresIn)
        holder.withLock { $0 = server }
        server.loopback.withLock { $0 = loopback }
        return server
    }

    /// Stops the server (gracefully: connections already accepted are still served).
    public func stop() async {
        await loopback.withLock({ $0 })?.stop()
    }

    private func json(_ status: Int, _ value: JSONValue) -> Response {
        var h = HTTPFields()
        h[.contentType] = "application/json"
        return Response(status: .init(code: status), headers: h, body: .init(byteBuffer: ByteBuffer(bytes: value.jsonBytes())))
    }

    static func form(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decode = { (s: Substring) in String(s).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(s) }
            out[decode(kv[0])] = kv.count > 1 ? decode(kv[1]) : ""
        }
        return out
    }

    private func handle(_ request: Request) async throws -> Response {
        let body = try await request.body.collect(upTo: 1 << 20)
        let f = Self.form(String(buffer: body))
        switch request.uri.path {
        case "/login/device/code":
            guard f["client_id"] == "Iv1.b507a08c87ecfe98" else { return json(200, ["error": "incorrect_client_credentials"]) }
            return json(
                200,
                [
                    "device_code": "dc-1", "user_code": "WDJB-MJHT", "verification_uri": .string(baseURL + "/login/device"),
                    "expires_in": 900, "interval": 0,
                ])
        case "/login/oauth/access_token":
            guard f["device_code"] == "dc-1", f["grant_type"] == "urn:ietf:params:oauth:grant-type:device_code" else {
                return json(200, ["error": "incorrect_device_code"])
            }
            let n = state.withLock { s -> Int in
                s.polls += 1; return s.polls
            }
            if n == 1 { return json(200, ["error": "authorization_pending"]) }
            if n == 2 { return json(200, ["error": "slow_down", "interval": 0]) }
            return json(200, ["access_token": .string(Self.githubToken), "token_type": "bearer", "scope": "read:user"])
        case "/copilot_internal/v2/token":
            guard request.headers[.authorization] == "token \(Self.githubToken)", request.headers[HTTPField.Name("Editor-Version")!] != nil
            else {
                return json(401, ["message": "Bad credentials"])
            }
            let n = state.withLock { s -> Int in
                s.copilotExchanges += 1; return s.copilotExchanges
            }
            let expires = Int64(Date().timeIntervalSince1970) + 1800
            return json(
                200,
                [
                    "token": .string("tid=fake-\(n);exp=\(expires);sku=free:sig"), "expires_at": .int(expires), "refresh_in": 1500,
                    "endpoints": ["api": .string(chatRoot)],
                ])
        case "/api/v1/oauth2/device/code":
            guard f["code_challenge_method"] == "S256", let challenge = f["code_challenge"],
                f["client_id"] == "f0304373b74a44d2b584a3fb70ca9e56"
            else {
                return json(400, ["error": "invalid_request", "error_description": "PKCE S256 challenge required"])
            }
            state.withLock { $0.qwenChallenge = challenge }
            return json(
                200,
                [
                    "device_code": "qdc-1", "user_code": "ABCD-1234", "verification_uri": .string(baseURL + "/authorize"),
                    "verification_uri_complete": .string(baseURL + "/authorize?user_code=ABCD-1234"), "expires_in": 900,
                    "interval": 0,
                ])
        case "/api/v1/oauth2/token" where f["grant_type"] == "refresh_token":
            let (ok, n) = state.withLock { s -> (Bool, Int) in
                guard f["refresh_token"] == s.qwenRefreshToken else { return (false, 0) }
                s.qwenRefreshes += 1
                s.qwenIssued += 1
                s.qwenRefreshToken = "qwen-refresh-\(s.qwenIssued)"
                return (true, s.qwenIssued)
            }
            guard ok else { return json(400, ["error": "invalid_grant"]) }
            return json(
                200,
                [
                    "access_token": .string("qwen-access-\(n)"), "refresh_token": .string("qwen-refresh-\(n)"),
                    "token_type": "Bearer", "expires_in": .int(Int64(qwenExpiresIn)),
                ])
        case "/api/v1/oauth2/token":
            let (step, challenge) = state.withLock { s -> (Int, String?) in
                s.qwenPolls += 1; return (s.qwenPolls, s.qwenChallenge)
            }
            if step == 1 { return json(400, ["error": "authorization_pending"]) }
            if step == 2 { return json(429, ["error": "slow_down", "interval": 0]) }
            // PKCE: the verifier must hash to the challenge sent with the device-code request.
            let verifier = f["code_verifier"] ?? ""
            let hashed = Data(SHA256.hash(data: Array(verifier.utf8))).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            guard f["device_code"] == "qdc-1", hashed == challenge else {
                return json(400, ["error": "invalid_grant", "error_description": "PKCE mismatch"])
            }
            let n = state.withLock { s -> Int in
                s.qwenIssued += 1
                s.qwenRefreshToken = "qwen-refresh-\(s.qwenIssued)"
                return s.qwenIssued
            }
            return json(
                200,
                [
                    "access_token": .string("qwen-access-\(n)"), "refresh_token": .string("qwen-refresh-\(n)"), "token_type": "Bearer",
                    "expires_in": .int(Int64(qwenExpiresIn)), "scope": "openid profile email model.completion",
                    "resource_url": .string(chatRoot),
                ])
        default:
            return json(404, ["error": "not_found"])
        }
    }
}
