import Foundation
import Logging
public import NIOCore
public import SwitchboardCore
import Synchronization

/// The one adapter for every OpenAI-compatible service; a `ProviderDescriptor` says how they differ.
public final class OpenAICompatibleProvider: LLMProvider, EmbeddingProvider {
    /// How to reach one service instance.
    public struct Options: Sendable {
        /// The service's shape.
        public var descriptor: ProviderDescriptor
        /// Overrides the descriptor's id (custom endpoints, several instances of one service).
        public var id: String?
        public var apiKey: String?
        /// Overrides the descriptor's base URL.
        public var baseURL: String?
        /// Overrides the descriptor's chat path.
        public var chatPath: String?
        /// Used for every request, whatever model it names.
        public var modelOverride: String?
        /// Plan limits enforced before requests leave.
        public var tier: RateLimitTier?
        /// Largest non-streamed body read.
        public var maxResponseBytes: Int = 32 << 20
        /// A token (and base URL) obtained per request instead of `apiKey` (Copilot, Qwen OAuth).
        public var tokenSource: (any BearerTokenSource)?

        /// Options for `descriptor` with nothing overridden.
        public init(descriptor: ProviderDescriptor, apiKey: String? = nil) {
            self.descriptor = descriptor
            self.apiKey = apiKey
        }
    }

    public let id: String
    public let displayName: String
    public let descriptor: ProviderDescriptor
    let options: Options
    /// The transport its requests go through.
    public let transport: any HTTPTransport
    /// The transport as one that answers on an event loop, cast once: a cast to an existential looks up a
    /// conformance, too dear for every request.
    let loopTransport: (any LoopTransport)?
    private let limiter: ClientRateLimiter?
    /// The headers of a non-streamed request with the configured key, built once.
    private let plainHeaders: [(String, String)]
    let lastRateLimit = Mutex<RateLimitInfo?>(nil)

    /// Creates the provider over a transport.
    public init(options: Options, transport: any HTTPTransport) {
        self.options = options
        self.descriptor = options.descriptor
        self.id = options.id ?? options.descriptor.id
        self.displayName = options.descriptor.displayName
        self.transport = transport
        self.loopTransport = transport as? any LoopTransport
        self.limiter = options.tier.map { ClientRateLimiter(tier: $0, provider: options.id ?? options.descriptor.id) }
        plainHeaders = Self.headers(descriptor: options.descriptor, stream: false, token: options.apiKey)
    }

    public var capabilities: Set<Capability> {
        var caps: Set<Capability> = [.chat, .streaming, .tools, .structuredOutput, .vision]
        if !descriptor.reasoningFields.isEmpty { caps.insert(.reasoning) }
        if descriptor.embeddings { caps.insert(.embeddings) }
        if descriptor.images { caps.insert(.images) }
        if descriptor.responsesPath != nil { caps.insert(.responses) }
        return caps
    }

    public var isConfigured: Bool { !descriptor.requiresKey || (options.apiKey?.isEmpty == false) || options.tokenSource != nil }

    /// The rate-limit headers of the latest response.
    public var latestRateLimit: RateLimitInfo? { lastRateLimit.withLock { $0 } }

    /// The base URL requests go to.
    public var baseURL: String {
        var base = options.baseURL ?? descriptor.baseURL
        while base.hasSuffix("/") { base.removeLast() }
        return base
    }

    private var secrets: [String] { options.apiKey.map { [$0] } ?? [] }

    func headers(stream: Bool, token: String?) -> [(String, String)] {
        // Without a token source the token is always the configured key.
        if !stream, options.tokenSource == nil { return plainHeaders }
        return Self.headers(descriptor: descriptor, stream: stream, token: token)
    }

    private static func headers(descriptor: ProviderDescriptor, stream: Bool, token: String?) -> [(String, String)] {
        var h: [(String, String)] = [("Content-Type", "application/json")]
        if descriptor.extraHeaders["User-Agent"] == nil { h.append(("User-Agent", "switchboard/0.1")) }
        h.append(("Accept", stream ? "text/event-stream" : "application/json"))
        if let key = token, !key.isEmpty { h.append(("Authorization", "Bearer \(key)")) }
        for (name, value) in descriptor.extraHeaders.sorted(by: { $0.key < $1.key }) { h.append((name, value)) }
        return h
    }

    /// The token and base URL for the next request: fixed, or from the token source.
    private func target(_ context: CallContext) async throws -> (token: String?, base: String) {
        guard let source = options.tokenSource else { return (options.apiKey, baseURL) }
        let (token, url) = try await source.credential(context: context)
        guard var base = options.baseURL ?? url else { return (token, baseURL) }
        while base.hasSuffix("/") { base.removeLast() }
        return (token, base)
    }

    /// Sends a request built for the current token; a 401 with a token source gets one fresh token and one retry.
    private func send(context: CallContext, _ build: (String?, String) -> TransportRequest) async throws -> TransportResponse {
        let (token, base) = try await target(context)
        do {
            return try await send(build(token, base), context: context)
        } catch let error as ProviderError where error.status == 401 && options.tokenSource != nil {
            await options.tokenSource?.invalidate()
            // When no fresh token can be had, the refusal itself is what the caller needs to see.
            guard let (fresh, freshBase) = try? await target(context) else { throw error }
            return try await send(build(fresh, freshBase), context: context)
        }
    }

    func prepared(_ request: ChatRequest) -> ChatRequest {
        request.choosingModel(override: options.modelOverride, default: descriptor.defaultModel)
    }

    func reserve(_ request: ChatRequest) throws(ProviderError) -> ClientRateLimiter.Reservation? {
        guard let limiter else { return nil }
        let promptChars = request.messages.reduce(0) { $0 + $1.text.utf8.count }
        return try limiter.acquire(tokens: (promptChars / 4).saturatingAdding(request.maxTokens ?? 1024))
    }

    func settle(_ reservation: ClientRateLimiter.Reservation?, usage: Usage?) {
        guard let reservation, let limiter else { return }
        limiter.settle(reservation, actualTokens: usage?.totalTokens ?? reservation.tokens)
    }

    /// Sends a JSON body and returns the response, turning HTTP errors into `ProviderError`.
    private func post(path: String, body: [String: JSONValue], stream: Bool, context: CallContext) async throws -> TransportResponse {
        try await post(path: path, bytes: ByteBuffer(bytes: JSONValue.object(body).jsonBytes()), stream: stream, context: context)
    }

    func post(path: String, bytes: ByteBuffer, stream: Bool, context: CallContext) async throws -> TransportResponse {
        try await send(context: context) { token, base in
            TransportRequest(method: "POST", url: base + path, headers: headers(stream: stream, token: token), body: bytes)
        }
    }

    var upstream: UpstreamClient { UpstreamClient(provider: id, transport: transport, baseURL: baseURL, secrets: secrets) }

    func send(_ request: TransportRequest, context: CallContext) async throws -> TransportResponse {
        do {
            let response = try await upstream.send(request, context: context)
            if let info = RateLimitInfo(headers: response.headers) { lastRateLimit.withLock { $0 = info } }
            return response
        } catch let error as ProviderError {
            if let info = error.rateLimit { lastRateLimit.withLock { $0 = info } }
            throw error
        }
    }

    func providerError(_ error: TransportError) -> ProviderError { upstream.error(error) }

    /// A non-streamed request's body: the client's own text when it says what the encoded request would, else encoded.
    func chatBody(_ request: ChatRequest, client: ClientChatBody?) -> ByteBuffer {
        client.flatMap { OpenAIRequestEncoding.forwarded($0, as: request, descriptor: descriptor) }
            ?? ByteBuffer(bytes: JSONValue.object(OpenAIRequestEncoding.body(request, descriptor: descriptor, stream: false)).jsonBytes())
    }

    /// One non-streamed completion: reserve plan limits, post, read the body, decode, settle to the real usage.
    /// With the client's own body, that text is sent when it says what the encoded request would (as on the loop).
    private func completion<Result>(
        _ request: ChatRequest, client: ClientChatBody? = nil, context: CallContext,
        decode: (ChatRequest, ByteBuffer) throws -> (Result, Usage?)
    ) async throws -> Result {
        let request = prepared(request)
        let reservation = try reserve(request)
        var usage: Usage?
        defer { settle(reservation, usage: usage) }
        let response = try await post(
            path: options.chatPath ?? descriptor.chatPath, bytes: chatBody(request, client: client),
            stream: false, context: context)
        let body: ByteBuffer
        do { body = try await response.body.collect(upTo: options.maxResponseBytes) } catch let error as TransportError {
            throw providerError(error)
        }
        let (result, used) = try decode(request, body)
        usage = used
        return result
    }

    public func chat(_ request: ChatRequest, context: CallContext) async throws -> ChatResponse {
        try await completion(request, context: context) { _, body in
            let response = try OpenAIResponseDecoding.chatResponse(Data(body.readableBytesView), descriptor: descriptor, provider: id)
            return (response, response.usage)
        }
    }

    /// A non-streamed completion as the upstream sent it: for clients that speak the same dialect, the body
    /// is forwarded without being decoded and encoded again.
    public func chatOpenAIBody(_ request: ChatRequest, client: ClientChatBody? = nil, context: CallContext) async throws -> OpenAIChatBody {
        try await completion(request, client: client, context: context, decode: openAIBody)
    }

    /// An upstream completion body with the model and usage read from it, without decoding the rest.
    func openAIBody(_ request: ChatRequest, _ body: ByteBuffer) throws -> (OpenAIChatBody, Usage?) {
        if let summary = body.withUnsafeReadableBytes(OpenAIResponseDecoding.summary) {
            return (OpenAIChatBody(body: body, provider: id, model: summary.model ?? request.model, usage: summary.usage), summary.usage)
        }
        // Not a plain completion: the full decoder says what is wrong.
        let full = try OpenAIResponseDecoding.chatResponse(Data(body.readableBytesView), descriptor: descriptor, provider: id)
        return (OpenAIChatBody(body: body, provider: id, model: full.model, usage: full.usage), full.usage)
    }

    public func stream(_ request: ChatRequest, context: CallContext) -> AsyncThrowingStream<StreamEvent, any Error> {
        let request = prepared(request)
        let reservation: ClientRateLimiter.Reservation?
        do { reservation = try reserve(request) } catch { return AsyncThrowingStream { $0.finish(throwing: error) } }
        let decoder = SSEChunks(decoder: OpenAIStreamDecoder(descriptor: descriptor, provider: id))
        let body = OpenAIRequestEncoding.body(request, descriptor: descriptor, stream: true)
        let whole: @Sendable (ByteBuffer) throws -> [StreamEvent] = { [descriptor, id] body in
            try OpenAIResponseDecoding.chatResponse(Data(body.readableBytesView), descriptor: descriptor, provider: id).events
        }
        return upstream.stream(decoder, ended: { [self] usage in settle(reservation, usage: usage) }, whole: whole) { [self] in
            try await post(path: options.chatPath ?? descriptor.chatPath, body: body, stream: true, context: context)
        }
    }

    public func models(context: CallContext) async throws -> [ModelInfo] {
        let response = try await send(context: context) { token, base in
            TransportRequest(method: "GET", url: base + descriptor.modelsPath, headers: headers(stream: false, token: token))
        }
        let body: ByteBuffer
        do { body = try await response.body.collect(upTo: 16 << 20) } catch let error as TransportError {
            throw providerError(error)
        }
        let ids = try OpenAIResponseDecoding.modelIDs(Data(body.readableBytesView), provider: id)
        return ids.map { modelID in
            if let seed = descriptor.catalogue.first(where: { $0.id == modelID }) {
                return ModelInfo(
                    id: modelID, provider: id, contextWindow: seed.contextWindow,
                    inputPricePerMillion: seed.inputPerMillion, outputPricePerMillion: seed.outputPerMillion,
                    capabilities: seed.capabilities)
            }
            return ModelInfo(id: modelID, provider: id, capabilities: capabilities.subtracting([.embeddings]))
        }
    }

    /// Probes `GET /models`: healthy on success, degraded when a rate limit is exhausted, down on failure.
    public func health(context: CallContext) async -> ProviderHealth {
        let start = ContinuousClock.now
        do {
            let (token, base) = try await target(context)
            let request = TransportRequest(method: "GET", url: base + descriptor.modelsPath, headers: headers(stream: false, token: token))
            let response = try await send(request, context: context)
            _ = try? await response.body.collect(upTo: 16 << 20)
            let latency = ContinuousClock.now - start
            let info = RateLimitInfo(headers: response.headers)
            let exhausted = info?.remainingRequests == 0 || info?.remainingTokens == 0
            return ProviderHealth(status: exhausted ? .degraded : .healthy, latency: latency, message: info?.summary)
        } catch let error as ProviderError {
            let status: ProviderHealth.Status = if case .rateLimited = error.kind { .degraded } else { .down }
            return ProviderHealth(status: status, latency: .now - start, message: error.description)
        } catch {
            return ProviderHealth(status: .down, latency: .now - start, message: "\(error)")
        }
    }

    public func embed(_ inputs: [String], model: String, context: CallContext) async throws -> EmbeddingResponse {
        let body: [String: JSONValue] = ["model": .string(model), "input": .array(inputs.map(JSONValue.string))]
        let response = try await post(path: descriptor.embeddingsPath, body: body, stream: false, context: context)
        let data: ByteBuffer
        do { data = try await response.body.collect(upTo: options.maxResponseBytes) } catch let error as TransportError {
            throw providerError(error)
        }
        return try OpenAIResponseDecoding.embeddings(Data(data.readableBytesView), provider: id)
    }
}

extension OpenAICompatibleProvider: ImageGenerationProvider {
    /// `POST /images/generations` asking for base64 data, so the answer does not depend on the upstream's
    /// image hosting staying up.
    public func generateImages(_ request: ImageRequest, context: CallContext) async throws -> [GeneratedImage] {
        guard descriptor.images else {
            throw ProviderError(.invalidRequest, provider: id, message: "\(descriptor.displayName) has no images API")
        }
        var body: [String: JSONValue] = [
            "model": .string(request.model), "prompt": .string(request.prompt),
            "n": .int(Int64(request.count)), "response_format": "b64_json",
        ]
        if let size = request.size { body["size"] = .string(size) }
        let response = try await post(path: descriptor.imagesPath, body: body, stream: false, context: context)
        let data: ByteBuffer
        do { data = try await response.body.collect(upTo: options.maxResponseBytes) } catch let error as TransportError {
            throw providerError(error)
        }
        return try OpenAIResponseDecoding.images(Data(data.readableBytesView), provider: id)
    }
}

/// An upstream chat completion body in OpenAI's shape, with what billing and metrics need.
public struct OpenAIChatBody: Sendable {
    /// The body exactly as the upstream sent it.
    public var body: ByteBuffer
    public var provider: String
    public var model: String
    public var usage: Usage?
}

extension OpenAICompatibleProvider: ModelPricing {
    /// The catalogue's seed prices.
    public var seedPrices: [String: ModelPrice] {
        var out: [String: ModelPrice] = [:]
        for entry in descriptor.catalogue {
            if let input = entry.inputPerMillion, let output = entry.outputPerMillion {
                out[entry.id] = ModelPrice(inputPerMillion: input, outputPerMillion: output)
            }
        }
        return out
    }
}

extension OpenAICompatibleProvider: KnownModels {
    /// The configured model, the default, and the catalogue with its seed prices.
    public var knownModels: [ModelInfo] {
        let named = ModelInfo.known(
            [options.modelOverride, descriptor.defaultModel], provider: id, capabilities: capabilities.subtracting([.embeddings]))
        let catalogued = descriptor.catalogue.map {
            ModelInfo(
                id: $0.id, provider: id, contextWindow: $0.contextWindow, inputPricePerMillion: $0.inputPerMillion,
                outputPricePerMillion: $0.outputPerMillion, capabilities: $0.capabilities)
        }
        let listed = Set(catalogued.map(\.id))
        return named.filter { !listed.contains($0.id) } + catalogued
    }
}
