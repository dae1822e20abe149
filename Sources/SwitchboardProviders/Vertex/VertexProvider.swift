import Foundation
import NIOCore
public import SwitchboardCore

/// Google Vertex AI's Gemini models (`generateContent`, `streamGenerateContent?alt=sse`), authorised with
/// access tokens from a service-account key (RS256 JWT exchanged at the token endpoint, cached).
public final class VertexProvider: LLMProvider {
    /// Where and as whom.
    public struct Options: Sendable {
        public var key: ServiceAccountKey
        /// The key file's project unless configured.
        public var projectID: String
        public var location = "us-central1"
        /// `https://{location}-aiplatform.googleapis.com` (`https://aiplatform.googleapis.com` for `global`).
        public var baseURL: String?
        public var defaultModel = "gemini-2.5-flash"
        public var modelOverride: String?
        public var maxResponseBytes = 32 << 20

        /// Options for a key, its own project by default.
        public init(key: ServiceAccountKey, projectID: String? = nil) {
            self.key = key
            self.projectID = projectID ?? key.projectID
        }
    }

    public let id: String
    public let displayName = "Google Vertex AI"
    let options: Options
    let upstream: UpstreamClient
    /// The shared token cache.
    public let tokens: GoogleAccessTokens

    /// Creates the provider over a transport.
    public init(id: String = "vertex", options: Options, transport: any HTTPTransport) {
        self.id = id
        self.options = options
        let base =
            options.baseURL
            ?? (options.location == "global"
                ? "https://aiplatform.googleapis.com" : "https://\(options.location)-aiplatform.googleapis.com")
        upstream = UpstreamClient(provider: id, transport: transport, baseURL: base, secrets: [])
        tokens = GoogleAccessTokens(key: options.key, transport: transport)
    }

    public var capabilities: Set<Capability> { [.chat, .streaming, .tools, .reasoning, .structuredOutput, .vision] }
    public var isConfigured: Bool { !options.projectID.isEmpty }

    private func model(_ r: ChatRequest) -> String { r.model(override: options.modelOverride, default: options.defaultModel) }

    func url(model: String, stream: Bool) -> String {
        upstream.baseURL
            + "/v1/projects/\(options.projectID)/locations/\(options.location)/publishers/google/models/\(SigV4.uriEncode(model))"
            + (stream ? ":streamGenerateContent?alt=sse" : ":generateContent")
    }

    private func request(_ url: String, body: JSONValue?, context: CallContext) async throws -> TransportRequest {
        let token = try await tokens.token(context: context)
        return TransportRequest(
            method: body == nil ? "GET" : "POST", url: url,
            headers: [("Content-Type", "application/json"), ("Authorization", "Bearer \(token)")],
            body: body.map { ByteBuffer(bytes: $0.jsonBytes()) })
    }

    public func chat(_ request: ChatRequest, context: CallContext) async throws -> ChatResponse {
        let model = model(request)
        let response = try await upstream.send(
            try await self.request(
                url(model: model, stream: false), body: GeminiTranslation.body(request),
                context: context), context: context)
        let body = try await upstream.collect(response, upTo: options.maxResponseBytes)
        return try GeminiTranslation.response(Data(body.readableBytesView), model: model, provider: id)
    }

    public func stream(_ request: ChatRequest, context: CallContext) -> AsyncThrowingStream<StreamEvent, any Error> {
        let model = model(request)
        let url = url(model: model, stream: true)
        return upstream.stream(SSEChunks(decoder: GeminiStreamDecoder(provider: id, model: model))) { [self] in
            try await upstream.send(try await self.request(url, body: GeminiTranslation.body(request), context: context), context: context)
        }
    }

    public func models(context: CallContext) async throws -> [ModelInfo] {
        let response = try await upstream.send(
            try await request(upstream.baseURL + "/v1beta1/publishers/google/models", body: nil, context: context),
            context: context)
        let body = try await upstream.collect(response, upTo: 16 << 20)
        guard let json = try? JSONValue.parse(Data(body.readableBytesView)), case .array(let models)? = json["publisherModels"] else {
            throw ProviderError(.decoding, provider: id, message: "upstream sent a malformed model list")
        }
        return models.compactMap { m in
            m["name"]?.stringValue.map {
                ModelInfo(id: String($0.split(separator: "/").last ?? ""), provider: id, capabilities: capabilities)
            }
        }
    }

    public func health(context: CallContext) async -> ProviderHealth {
        await .listingModels(of: self, context: context)
    }
}

extension VertexProvider: KnownModels {
    /// The configured model and the default.
    public var knownModels: [ModelInfo] {
        ModelInfo.known([options.modelOverride, options.defaultModel], provider: id, capabilities: capabilities)
    }
}
