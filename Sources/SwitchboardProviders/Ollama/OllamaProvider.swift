import Foundation
import NIOCore
public import SwitchboardCore

/// Ollama's native API: `/api/chat` (NDJSON streaming), `/api/tags`, `/api/embed`, `/api/version`.
/// No auth locally; a key (Ollama Cloud) goes as a Bearer token.
public final class OllamaProvider: LLMProvider, EmbeddingProvider {
    /// How to reach the server.
    public struct Options: Sendable {
        /// `http://127.0.0.1:11434` unless `OLLAMA_HOST` or the config say otherwise.
        public var baseURL = "http://127.0.0.1:11434"
        public var apiKey: String?
        public var defaults = OllamaTranslation.Defaults()
        /// Used for every request, whatever model it names (`[providers.ollama] model`).
        public var modelOverride: String?
        public var defaultModel = "llama3.2"
        public var maxResponseBytes = 32 << 20

        /// Defaults.
        public init() {}
    }

    public let id: String
    public let displayName = "Ollama"
    let options: Options
    let upstream: UpstreamClient

    /// Creates the provider over a transport.
    public init(id: String = "ollama", options: Options, transport: any HTTPTransport) {
        self.id = id
        self.options = options
        upstream = UpstreamClient(provider: id, transport: transport, baseURL: options.baseURL, secrets: options.apiKey.map { [$0] } ?? [])
    }

    public var capabilities: Set<Capability> { [.chat, .streaming, .tools, .reasoning, .structuredOutput, .vision, .embeddings] }
    public var isConfigured: Bool { true }

    /// The server's base URL.
    public var baseURL: String { upstream.baseURL }

    func headers(ndjson: Bool) -> [(String, String)] {
        var h: [(String, String)] = [
            ("Content-Type", "application/json"), ("User-Agent", "switchboard/0.1"),
            ("Accept", ndjson ? "application/x-ndjson" : "application/json"),
        ]
        if let key = options.apiKey, !key.isEmpty { h.append(("Authorization", "Bearer \(key)")) }
        return h
    }

    private func prepared(_ request: ChatRequest) -> ChatRequest {
        request.choosingModel(override: options.modelOverride, default: options.defaultModel)
    }

    public func chat(_ request: ChatRequest, context: CallContext) async throws -> ChatResponse {
        let response = try await upstream.post(
            "/api/chat", json: OllamaTranslation.body(prepared(request), stream: false, defaults: options.defaults),
            headers: headers(ndjson: false), context: context)
        let body = try await upstream.collect(response, upTo: options.maxResponseBytes)
        return try OllamaTranslation.response(Data(body.readableBytesView), provider: id)
    }

    public func stream(_ request: ChatRequest, context: CallContext) -> AsyncThrowingStream<StreamEvent, any Error> {
        let body = OllamaTranslation.body(prepared(request), stream: true, defaults: options.defaults)
        return upstream.stream(OllamaChunks(decoder: OllamaStreamDecoder(provider: id))) { [upstream, headers = headers(ndjson: true)] in
            try await upstream.post("/api/chat", json: body, headers: headers, context: context)
        }
    }

    public func models(context: CallContext) async throws -> [ModelInfo] {
        let response = try await upstream.send(
            TransportRequest(method: "GET", url: upstream.baseURL + "/api/tags", headers: headers(ndjson: false)),
            context: context)
        let body = try await upstream.collect(response, upTo: 16 << 20)
        guard let json = try? JSONValue.parse(Data(body.readableBytesView)), case .array(let models)? = json["models"] else {
            throw ProviderError(.decoding, provider: id, message: "upstream sent a malformed /api/tags response")
        }
        return models.compactMap { m in
            (m["model"]?.stringValue ?? m["name"]?.stringValue).map {
                ModelInfo(
                    id: $0, provider: id, contextWindow: options.defaults.numCtx, capabilities: capabilities.subtracting([.embeddings]))
            }
        }
    }

    public func health(context: CallContext) async -> ProviderHealth {
        let start = ContinuousClock.now
        do {
            let response = try await upstream.send(
                TransportRequest(method: "GET", url: upstream.baseURL + "/api/version", headers: headers(ndjson: false)), context: context)
            let body = try await upstream.collect(response, upTo: 1 << 16)
            let version = (try? JSONValue.parse(Data(body.readableBytesView)))?["version"]?.stringValue
            return ProviderHealth(status: .healthy, latency: .now - start, message: version.map { "Ollama \($0)" })
        } catch {
            return ProviderHealth(status: .down, latency: .now - start, message: "\(error)")
        }
    }

    public func embed(_ inputs: [String], model: String, context: CallContext) async throws -> EmbeddingResponse {
        var body: [String: JSONValue] = ["model": .string(options.modelOverride ?? model), "input": .array(inputs.map(JSONValue.string))]
        if let keep = options.defaults.keepAlive { body["keep_alive"] = .string(keep) }
        let response = try await upstream.post("/api/embed", json: .object(body), headers: headers(ndjson: false), context: context)
        let data = try await upstream.collect(response, upTo: options.maxResponseBytes)
        guard let json = try? JSONValue.parse(Data(data.readableBytesView)), case .array(let vectors)? = json["embeddings"],
            vectors.count == inputs.count
        else {
            throw ProviderError(.decoding, provider: id, message: "upstream sent a malformed /api/embed response")
        }
        let parsed = try vectors.map { v throws(ProviderError) -> [Double] in
            guard case .array(let xs) = v else { throw ProviderError(.decoding, provider: id, message: "an embedding is not an array") }
            return xs.compactMap(\.doubleValue)
        }
        return EmbeddingResponse(
            vectors: parsed, model: json["model"]?.stringValue ?? model,
            usage: Usage(inputTokens: Int(json["prompt_eval_count"]?.intValue ?? 0)))
    }
}

extension OllamaProvider: KnownModels {
    /// The configured model and the default.
    public var knownModels: [ModelInfo] {
        ModelInfo.known([options.modelOverride, options.defaultModel], provider: id, capabilities: capabilities)
    }
}
