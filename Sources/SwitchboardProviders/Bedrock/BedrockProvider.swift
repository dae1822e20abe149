public import Foundation
import NIOCore
public import SwitchboardCore

/// How Bedrock requests are authorised: SigV4 with AWS credentials, or a Bedrock API key as a Bearer token.
public enum BedrockAuth: Sendable, Hashable {
    case sigV4(AWSCredentials)
    case apiKey(String)

    /// The default chain, as botocore reads it: `AWS_BEARER_TOKEN_BEDROCK`; else `AWS_ACCESS_KEY_ID` /
    /// `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN` (unless a profile was named); else the profile
    /// (`profile`, `AWS_PROFILE`, `default`) in `AWS_SHARED_CREDENTIALS_FILE` or `~/.aws/credentials`.
    public static func resolve(environment: [String: String], profile: String?) -> BedrockAuth? {
        if let key = environment["AWS_BEARER_TOKEN_BEDROCK"], !key.isEmpty { return .apiKey(key) }
        if profile == nil, let id = environment["AWS_ACCESS_KEY_ID"], let secret = environment["AWS_SECRET_ACCESS_KEY"], !id.isEmpty {
            return .sigV4(
                AWSCredentials(
                    accessKeyID: id, secretAccessKey: secret,
                    sessionToken: environment["AWS_SESSION_TOKEN"] ?? environment["AWS_SECURITY_TOKEN"]))
        }
        let name = profile ?? environment["AWS_PROFILE"] ?? "default"
        let home = environment["HOME"] ?? NSHomeDirectory()
        let path = environment["AWS_SHARED_CREDENTIALS_FILE"] ?? home + "/.aws/credentials"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8), let section = INI.parse(text)[name],
            let id = section["aws_access_key_id"], let secret = section["aws_secret_access_key"]
        else { return nil }
        return .sigV4(AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: section["aws_session_token"]))
    }
}

/// The AWS credentials and config files' INI dialect: `[section]`, `key = value`, `#`/`;` comments.
enum INI {
    static func parse(_ text: String) -> [String: [String: String]] {
        var out: [String: [String: String]] = [:]
        var current: String?
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("["), line.hasSuffix("]") {
                var name = String(line.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces)
                if name.hasPrefix("profile ") { name = String(name.dropFirst(8)).trimmingCharacters(in: .whitespaces) }
                current = name
                continue
            }
            guard let current, let eq = line.firstIndex(of: "=") else { continue }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces).lowercased()
            out[current, default: [:]][key] = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
        }
        return out
    }
}

/// Amazon Bedrock's Converse and ConverseStream, signed with SigV4 (service `bedrock`).
public final class BedrockProvider: LLMProvider {
    /// Where and as whom.
    public struct Options: Sendable {
        public var auth: BedrockAuth
        public var region: String
        /// `https://bedrock-runtime.{region}.amazonaws.com` unless overridden (tests, VPC endpoints).
        public var runtimeURL: String?
        /// `https://bedrock.{region}.amazonaws.com`, for the model list.
        public var controlURL: String?
        public var defaultModel = "anthropic.claude-3-5-haiku-20241022-v1:0"
        public var modelOverride: String?
        public var maxResponseBytes = 32 << 20

        /// Options for a region.
        public init(auth: BedrockAuth, region: String) {
            self.auth = auth
            self.region = region
        }
    }

    public let id: String
    public let displayName = "AWS Bedrock"
    let options: Options
    let runtime: UpstreamClient
    let control: UpstreamClient
    /// The clock signatures use; tests may fix it.
    let now: @Sendable () -> Date

    /// Creates the provider over a transport.
    public init(id: String = "bedrock", options: Options, transport: any HTTPTransport, now: (@Sendable () -> Date)? = nil) {
        self.id = id
        self.options = options
        self.now = now ?? { Date() }
        let secrets: [String] =
            switch options.auth {
            case .apiKey(let k): [k]
            case .sigV4(let c): [c.secretAccessKey] + (c.sessionToken.map { [$0] } ?? [])
            }
        runtime = UpstreamClient(
            provider: id, transport: transport,
            baseURL: options.runtimeURL ?? "https://bedrock-runtime.\(options.region).amazonaws.com", secrets: secrets)
        control = UpstreamClient(
            provider: id, transport: transport,
            baseURL: options.controlURL ?? "https://bedrock.\(options.region).amazonaws.com", secrets: secrets)
    }

    public var capabilities: Set<Capability> { [.chat, .streaming, .tools, .reasoning, .structuredOutput, .vision] }
    public var isConfigured: Bool { true }

    /// A request with its authorisation: the signature covers exactly the headers sent.
    func authorized(method: String, url: String, body: [UInt8], accept: String) -> TransportRequest {
        let headers: [(String, String)] = [("Content-Type", "application/json"), ("Accept", accept)]
        switch options.auth {
        case .apiKey(let key):
            return TransportRequest(
                method: method, url: url, headers: headers + [("Authorization", "Bearer \(key)")],
                body: body.isEmpty ? nil : ByteBuffer(bytes: body))
        case .sigV4(let credentials):
            let signed = SigV4.sign(
                method: method, url: url, headers: headers, body: body, credentials: credentials,
                region: options.region, service: "bedrock", date: now())
            return TransportRequest(method: method, url: url, headers: signed.headers, body: body.isEmpty ? nil : ByteBuffer(bytes: body))
        }
    }

    private func model(_ r: ChatRequest) -> String { r.model(override: options.modelOverride, default: options.defaultModel) }

    public func chat(_ request: ChatRequest, context: CallContext) async throws -> ChatResponse {
        let model = model(request)
        let url = runtime.baseURL + BedrockTranslation.modelPath(model, stream: false)
        let response = try await runtime.send(
            authorized(method: "POST", url: url, body: BedrockTranslation.body(request).jsonBytes(), accept: "application/json"),
            context: context)
        let body = try await runtime.collect(response, upTo: options.maxResponseBytes)
        return try BedrockTranslation.response(Data(body.readableBytesView), model: model, provider: id)
    }

    public func stream(_ request: ChatRequest, context: CallContext) -> AsyncThrowingStream<StreamEvent, any Error> {
        let model = model(request)
        let signed = authorized(
            method: "POST", url: runtime.baseURL + BedrockTranslation.modelPath(model, stream: true),
            body: BedrockTranslation.body(request).jsonBytes(), accept: "application/vnd.amazon.eventstream")
        return runtime.stream(BedrockChunks(decoder: BedrockStreamDecoder(provider: id, model: model), provider: id)) { [runtime] in
            try await runtime.send(signed, context: context)
        }
    }

    public func models(context: CallContext) async throws -> [ModelInfo] {
        let response = try await control.send(
            authorized(
                method: "GET", url: control.baseURL + "/foundation-models?byOutputModality=TEXT", body: [], accept: "application/json"),
            context: context)
        let body = try await control.collect(response, upTo: 16 << 20)
        guard let json = try? JSONValue.parse(Data(body.readableBytesView)), case .array(let models)? = json["modelSummaries"] else {
            throw ProviderError(.decoding, provider: id, message: "upstream sent a malformed model list")
        }
        return models.compactMap { m in
            m["modelId"]?.stringValue.map {
                ModelInfo(id: $0, provider: id, displayName: m["modelName"]?.stringValue, capabilities: capabilities)
            }
        }
    }

    public func health(context: CallContext) async -> ProviderHealth {
        await .listingModels(of: self, context: context)
    }
}

extension BedrockProvider: KnownModels {
    /// The configured model and the default.
    public var knownModels: [ModelInfo] {
        ModelInfo.known([options.modelOverride, options.defaultModel], provider: id, capabilities: capabilities)
    }
}
