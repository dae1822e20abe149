import Foundation
import Logging
import NIOCore
public import SwitchboardCore

/// Anthropic's Messages API. A key starting `sk-ant-oat` is an OAuth token (sent as a Bearer token with
/// the OAuth beta flag); any other key goes in `x-api-key`.
public final class AnthropicProvider: LLMProvider {
    /// How to reach the API.
    public struct Options: Sendable {
        /// An API key or an OAuth token.
        public var credential: String?
        public var baseURL = "https://api.anthropic.com"
        /// Used when a request names no model.
        public var defaultModel = "claude-sonnet-4-5"
        /// Used for every request, whatever model it names (`[providers.anthropic] model`).
        public var modelOverride: String?
        public var maxResponseBytes = 32 << 20

        /// Options with a credential.
        public init(credential: String?) {
            self.credential = credential
        }
    }

    /// The API version every request names.
    public static let apiVersion = "2023-06-01"
    /// The beta flag OAuth bearer tokens require.
    public static let oauthBeta = "oauth-2025-04-20"

    public let id: String
    public let displayName = "Anthropic"
    let options: Options
    let upstream: UpstreamClient

    /// Creates the provider over a transport.
    public init(id: String = "anthropic", options: Options, transport: any HTTPTransport) {
        self.id = id
        self.options = options
        upstream = UpstreamClient(
            provider: id, transport: transport, baseURL: options.baseURL, secrets: options.credential.map { [$0] } ?? [])
    }

    public var capabilities: Set<Capability> { [.chat, .streaming, .tools, .reasoning, .structuredOutput, .vision] }
    public var isConfigured: Bool { options.credential?.isEmpty == false }

    /// Whether the credential is an OAuth token.
    public var usesOAuth: Bool { options.credential?.hasPrefix("sk-ant-oat") == true }

    /// The request headers: version, auth by credential kind, JSON.
    func headers(stream: Bool) -> [(String, String)] {
        var h: [(String, String)] = [
            ("Content-Type", "application/json"), ("anthropic-version", Self.apiVersion), ("User-Agent", "switchboard/0.1"),
            ("Accept", stream ? "text/event-stream" : "application/json"),
        ]
        if let credential = options.credential, !credential.isEmpty {
            if usesOAuth {
                h.append(("Authorization", "Bearer \(credential)"))
                h.append(("anthropic-beta", Self.oauthBeta))
            } else {
                h.append(("x-api-key", credential))
            }
        }
        return h
    }

    private func prepared(_ request: ChatRequest) -> ChatRequest {
        request.choosingModel(override: options.modelOverride, default: options.defaultModel)
    }

    public func chat(_ request: ChatRequest, context: CallContext) async throws -> ChatResponse {
        let response = try await upstream.post(
            "/v1/messages", json: AnthropicTranslation.body(prepared(request), stream: false),
            headers: headers(stream: false), context: context)
        let body = try await upstream.collect(response, upTo: options.maxResponseBytes)
        return try AnthropicTranslation.response(Data(body.readableBytesView), provider: id)
    }

    public func stream(_ request: ChatRequest, context: CallContext) -> AsyncThrowingStream<StreamEvent, any Error> {
        let body = AnthropicTranslation.body(prepared(request), stream: true)
        return upstream.stream(SSEChunks(decoder: AnthropicStreamDecoder(provider: id))) { [upstream, headers = headers(stream: true)] in
            try await upstream.post("/v1/messages", json: body, headers: headers, context: context)
        }
    }

    public func models(context: CallContext) async throws -> [ModelInfo] {
        let response = try await upstream.send(
            TransportRequest(method: "GET", url: upstream.baseURL + "/v1/models?limit=1000", headers: headers(stream: false)),
            context: context)
        let body = try await upstream.collect(response, upTo: 16 << 20)
        guard let json = try? JSONValue.parse(Data(body.readableBytesView)), case .array(let data)? = json["data"] else {
            throw ProviderError(.decoding, provider: id, message: "upstream sent a malformed model list")
        }
        return data.compactMap { m in
            m["id"]?.stringValue.map {
                ModelInfo(
                    id: $0, provider: id, displayName: m["display_name"]?.stringValue,
                    contextWindow: m["max_input_tokens"]?.intValue.map(Int.init), capabilities: capabilities)
            }
        }
    }

    public func health(context: CallContext) async -> ProviderHealth {
        await .listingModels(of: self, context: context)
    }
}

extension AnthropicProvider: KnownModels {
    /// The configured model and the default.
    public var knownModels: [ModelInfo] {
        ModelInfo.known([options.modelOverride, options.defaultModel], provider: id, capabilities: capabilities)
    }
}
