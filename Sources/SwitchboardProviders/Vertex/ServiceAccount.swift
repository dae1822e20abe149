import CryptoExtras
public import Foundation
import NIOCore
public import SwitchboardCore

/// A Google service-account key file (the JSON downloaded from IAM).
public struct ServiceAccountKey: Sendable {
    public var projectID: String
    public var clientEmail: String
    public var privateKeyID: String?
    /// PKCS#8 (or PKCS#1) PEM.
    public var privateKeyPEM: String
    public var tokenURI: String

    /// Reads a key file's JSON; a clear error names what is missing.
    public init(json: Data) throws(ProviderError) {
        guard let o = try? JSONValue.parse(json), case .object = o else {
            throw ProviderError(.authentication, provider: "vertex", message: "the service-account key file is not JSON")
        }
        guard o["type"]?.stringValue == "service_account" else {
            throw ProviderError(
                .authentication, provider: "vertex",
                message: "the key file's type is '\(o["type"]?.stringValue ?? "")', not service_account")
        }
        guard let email = o["client_email"]?.stringValue, let pem = o["private_key"]?.stringValue else {
            throw ProviderError(.authentication, provider: "vertex", message: "the key file has no client_email or private_key")
        }
        projectID = o["project_id"]?.stringValue ?? ""
        clientEmail = email
        privateKeyID = o["private_key_id"]?.stringValue
        privateKeyPEM = pem
        tokenURI = o["token_uri"]?.stringValue ?? "https://oauth2.googleapis.com/token"
    }

    /// The signed RS256 assertion (RFC 7523) for the token endpoint: `iss` the service account, `aud` the
    /// token URI, valid for an hour from `now`.
    public func assertion(now: Date, scope: String = "https://www.googleapis.com/auth/cloud-platform") throws(ProviderError) -> String {
        var header: [String: JSONValue] = ["alg": "RS256", "typ": "JWT"]
        if let kid = privateKeyID { header["kid"] = .string(kid) }
        let iat = Int64(now.timeIntervalSince1970)
        let claims: JSONValue = [
            "iss": .string(clientEmail), "scope": .string(scope), "aud": .string(tokenURI),
            "iat": .int(iat), "exp": .int(iat + 3600),
        ]
        let signingInput = Self.base64url(JSONValue.object(header).jsonBytes()) + "." + Self.base64url(claims.jsonBytes())
        do {
            let key = try _RSA.Signing.PrivateKey(pemRepresentation: privateKeyPEM)
            let signature = try key.signature(for: Array(signingInput.utf8), padding: .insecurePKCS1v1_5)
            return signingInput + "." + Self.base64url(Array(signature.rawRepresentation))
        } catch {
            throw ProviderError(.authentication, provider: "vertex", message: "cannot sign with the key file's private key: \(error)")
        }
    }

    static func base64url(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}

/// Access tokens from the service account, cached until five minutes before they expire; concurrent callers
/// share one exchange instead of each making their own.
public actor GoogleAccessTokens {
    private let key: ServiceAccountKey
    private let transport: any HTTPTransport
    private let now: @Sendable () -> Date
    private var cached: (token: String, expires: Date)?
    private var inFlight: Task<(String, Date), any Error>?
    /// Exchanges made, for tests and metrics.
    public private(set) var exchanges = 0

    /// Tokens for `key`, exchanged through `transport`.
    public init(key: ServiceAccountKey, transport: any HTTPTransport, now: (@Sendable () -> Date)? = nil) {
        self.key = key
        self.transport = transport
        self.now = now ?? { Date() }
    }

    /// A valid access token.
    public func token(context: CallContext) async throws -> String {
        if let cached, cached.expires.timeIntervalSince(now()) > 300 { return cached.token }
        if let inFlight { return try await inFlight.value.0 }
        let task = Task { try await exchange(context: context) }
        inFlight = task
        defer { inFlight = nil }
        let (token, expires) = try await task.value
        cached = (token, expires)
        return token
    }

    private func exchange(context: CallContext) async throws -> (String, Date) {
        exchanges += 1
        let assertion = try key.assertion(now: now())
        let form = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=" + assertion
        let client = UpstreamClient(provider: "vertex", transport: transport, baseURL: key.tokenURI, secrets: [assertion])
        let response = try await client.send(
            TransportRequest(
                method: "POST", url: key.tokenURI, headers: [("Content-Type", "application/x-www-form-urlencoded")],
                body: ByteBuffer(string: form)), context: context)
        let body = try await client.collect(response, upTo: 1 << 20)
        guard let json = try? JSONValue.parse(Data(body.readableBytesView)), let token = json["access_token"]?.stringValue else {
            throw ProviderError(.authentication, provider: "vertex", message: "the token endpoint answered without an access_token")
        }
        let lifetime = TimeInterval(json["expires_in"]?.intValue ?? 3600)
        return (token, now().addingTimeInterval(lifetime))
    }
}
