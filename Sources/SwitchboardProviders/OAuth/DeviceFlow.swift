import Crypto
public import Foundation
import NIOCore
public import SwitchboardCore

/// A service's own bearer token for OpenAI-style calls, obtained and refreshed on demand (Copilot's
/// exchanged key, Qwen's OAuth token); the adapter asks for it before every request.
public protocol BearerTokenSource: Sendable {
    /// A valid token, and the base URL the service said to use, if it said one.
    func credential(context: CallContext) async throws -> (token: String, baseURL: String?)
    /// The service refused the token: forget it so the next call gets a fresh one.
    func invalidate() async
}

/// PKCE (RFC 7636, S256): a random verifier and its challenge.
public struct PKCE: Sendable {
    public let verifier: String
    public let challenge: String

    /// A fresh pair: 32 random bytes as the verifier, SHA-256 of it as the challenge, both base64url.
    public init() {
        var rng = SystemRandomNumberGenerator()
        self.init(verifier: Self.base64url((0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }))
    }

    /// The challenge for a given verifier.
    public init(verifier: String) {
        self.verifier = verifier
        challenge = Self.base64url(Array(SHA256.hash(data: Array(verifier.utf8))))
    }

    static func base64url(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}

/// The OAuth 2.0 device authorization grant (RFC 8628) as GitHub and Qwen run it: ask for a code, show it,
/// poll until the user approves, backing off when told to.
public struct DeviceFlow: Sendable {
    /// What the user must do.
    public struct Code: Sendable {
        public var deviceCode: String
        public var userCode: String
        public var verificationURI: String
        /// The URI with the code filled in, when the service gives one.
        public var verificationURIComplete: String?
        public var interval: Double
        public var expiresIn: Double
    }

    public var deviceCodeURL: String
    public var tokenURL: String
    /// Form fields of the first request (client id, scope, PKCE challenge).
    public var codeFields: [(String, String)]
    /// Form fields of each poll besides the device code (client id, grant type, PKCE verifier).
    public var pollFields: [(String, String)]
    let transport: any HTTPTransport

    /// A flow against these endpoints.
    public init(
        deviceCodeURL: String, tokenURL: String, codeFields: [(String, String)], pollFields: [(String, String)],
        transport: any HTTPTransport
    ) {
        self.deviceCodeURL = deviceCodeURL
        self.tokenURL = tokenURL
        self.codeFields = codeFields
        self.pollFields = pollFields
        self.transport = transport
    }

    static func form(_ fields: [(String, String)]) -> String {
        fields.map { "\(SigV4.uriEncode($0.0))=\(SigV4.uriEncode($0.1))" }.joined(separator: "&")
    }

    private func post(_ url: String, _ fields: [(String, String)], context: CallContext) async throws -> (Int, JSONValue) {
        let response: TransportResponse
        do {
            response = try await transport.send(
                TransportRequest(
                    method: "POST", url: url,
                    headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")],
                    body: ByteBuffer(string: Self.form(fields))), context: context)
        } catch let error as TransportError {
            throw ProviderError(.network, provider: "oauth", message: "cannot reach \(url): \(error)")
        }
        let body = try await response.body.collect(upTo: 1 << 20)
        return (response.status, (try? JSONValue.parse(Data(body.readableBytesView))) ?? .null)
    }

    /// Step one: the codes to show the user.
    public func start(context: CallContext) async throws -> Code {
        let (status, json) = try await post(deviceCodeURL, codeFields, context: context)
        guard (200..<300).contains(status), let device = json["device_code"]?.stringValue, let user = json["user_code"]?.stringValue else {
            let reason = json["error_description"]?.stringValue ?? json["error"]?.stringValue ?? "HTTP \(status)"
            throw ProviderError(.authentication, provider: "oauth", status: status, message: "the device-code request failed: \(reason)")
        }
        return Code(
            deviceCode: device, userCode: user, verificationURI: json["verification_uri"]?.stringValue ?? "",
            verificationURIComplete: json["verification_uri_complete"]?.stringValue,
            interval: json["interval"]?.doubleValue ?? 5, expiresIn: json["expires_in"]?.doubleValue ?? 900)
    }

    /// Step two: polls until the token arrives, the code expires or the user refuses. Returns the token
    /// response (`access_token`, and for Qwen `refresh_token`, `expires_in`, `resource_url`).
    public func poll(_ code: Code, context: CallContext) async throws -> JSONValue {
        var interval = code.interval
        let deadline = ContinuousClock.now + .seconds(code.expiresIn)
        while ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(Int(max(interval, 0.05) * 1000)))
            let (status, json) = try await post(tokenURL, pollFields + [("device_code", code.deviceCode)], context: context)
            if let token = json["access_token"]?.stringValue, !token.isEmpty, (200..<300).contains(status) { return json }
            switch json["error"]?.stringValue {
            case "authorization_pending"?: continue
            case "slow_down"?: interval = json["interval"]?.doubleValue ?? interval + 5
            case let error?:
                throw ProviderError(
                    .authentication, provider: "oauth", status: status,
                    message: "login failed: \(json["error_description"]?.stringValue ?? error)")
            case nil:
                throw ProviderError(
                    .authentication, provider: "oauth", status: status, message: "the token endpoint answered HTTP \(status)")
            }
        }
        throw ProviderError(.authentication, provider: "oauth", message: "the device code expired before the login was approved")
    }
}

/// Writes a file atomically with owner-only permissions (tokens are secrets).
public enum SecretFile {
    /// Replaces `path` with `data` (mode 0600), creating its directory.
    public static func write(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(
            at: url.deletingLastPathComponent(), withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        guard FileManager.default.createFile(atPath: temporary.path, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: temporary.path])
        }
        // rename(2) replaces the old file in one step, so a reader never sees half a file.
        guard rename(temporary.path, path) == 0 else {
            try? FileManager.default.removeItem(at: temporary)
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
    }
}
