import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SwitchboardCore
import SwitchboardProviders
import SwitchboardStorage

/// The gateway's handlers and what they share.
struct GatewayRoutes: Sendable {
    struct Options: Sendable {
        var maxBodyBytes: Int
        var requestTimeout: Duration
    }

    let gateway: Gateway
    var catalog: ModelCatalog { gateway.catalog }
    let metrics: GatewayMetrics
    let prober: HealthProber
    let options: Options
    let ledger: UsageLedger
    let store: any Storage
    let logger: Logger
    let startedAt: ContinuousClock.Instant
    /// Upstream usage is checked here before anything counts it.
    let usageAudit = UsageAudit()
    /// The providers that forward a same-dialect body, by id, cast once: a cast to an existential looks up a
    /// conformance, too dear for every request.
    let forwarders: [String: any OpenAIChatForwarding]

    /// The one provider that `forwarders` holds for this one, if it forwards.
    func forwarder(_ provider: any LLMProvider) -> (any OpenAIChatForwarding)? {
        forwarders.isEmpty ? nil : forwarders[provider.id]
    }

    static func forwarders(_ gateway: Gateway) -> [String: any OpenAIChatForwarding] {
        // The first provider with an id is the one a name resolves to.
        var out: [String: any OpenAIChatForwarding] = [:]
        var seen = Set<String>()
        for provider in gateway.providers where seen.insert(provider.id).inserted {
            if let forwarding = provider as? any OpenAIChatForwarding { out[provider.id] = forwarding }
        }
        return out
    }

    func register(on router: Router<GatewayRequestContext>, auth: AuthMiddleware) {
        router.get("health", use: health)
        router.get("metrics", use: metricsText)
        let v1 = router.group("v1").add(middleware: auth)
        v1.post("chat/completions", use: chat)
        v1.get("models", use: listModels)
        v1.get("models/**", use: oneModel)
        v1.post("embeddings", use: embeddings)
        v1.post("messages", use: messages)
        registerHuggingFace(on: router, auth: auth)
        refuseOtherMethods(on: router)
    }

    /// Every route's other methods answer 405 naming the ones it has (`HEAD` reaches the routes as `GET`).
    private func refuseOtherMethods(on router: Router<GatewayRequestContext>) {
        let reads = ["health", "metrics", "v1/models", "v1/models/**", "hf/tasks/models", "hf/tasks/billing/usage"]
        var writes = [
            "v1/chat/completions", "v1/embeddings", "v1/messages", "hf/tasks/run", "hf/tasks/models/map", "hf/tasks/billing/cost",
        ]
        writes += HFTask.allCases.map { "hf/tasks/\($0.rawValue)" }
        let others: [HTTPRequest.Method] = [.get, .post, .put, .patch, .delete]
        for (paths, allowed) in [(reads, [HTTPRequest.Method.get]), (writes, [.post])] {
            let allow = allowed == [.get] ? "GET, HEAD" : "POST"
            for path in paths {
                for method in others where !allowed.contains(method) {
                    router.on(RouterPath(stringLiteral: path), method: method) { _, _ -> Response in
                        var headers = HTTPFields()
                        headers[.allow] = allow
                        throw APIError(
                            status: .methodNotAllowed, message: "this route accepts \(allow)", type: "invalid_request_error",
                            code: "method_not_allowed", headers: headers)
                    }
                }
            }
        }
    }

    /// Reads and parses a JSON body within the size limit.
    func jsonBody(_ request: inout Request) async throws -> JSONValue {
        try await jsonBody(&request, forwarding: false).json
    }

    /// The body parsed and, with `forwarding`, kept as the client's text for a provider that may send it as it came.
    func jsonBody(_ request: inout Request, forwarding: Bool) async throws -> (json: JSONValue, client: ClientChatBody?) {
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: options.maxBodyBytes)
        } catch is NIOTooManyBytesError {
            throw APIError(
                status: .contentTooLarge, message: "request body is larger than \(options.maxBodyBytes) bytes",
                type: "invalid_request_error", code: "request_too_large")
        }
        do {
            guard forwarding else { return (try buffer.withUnsafeReadableBytes { try JSONValue.parse(bytes: $0) }, nil) }
            return try ClientChatBody.parse(buffer)
        } catch {
            throw APIError.invalid("request body is not valid JSON: \(error)")
        }
    }

    /// The provider and model a client's name resolves to (`Gateway.resolve`, the rule the CLI and the library
    /// use too), once the caller's key may use them.
    func resolve(_ model: String, principal: Principal?, requestID: String) async throws -> (any LLMProvider, String) {
        let context = CallContext(logger: logger, requestID: requestID, timeout: .seconds(15))
        let resolved: (provider: any LLMProvider, model: String)
        do { resolved = try await gateway.resolve(model: model, context: context) } catch { throw APIError.resolution(error) }
        return try allowed(resolved, name: model, principal: principal)
    }

    /// `resolve` without waiting, for a caller on an event loop: nil when the catalog must be loaded first.
    func resolveNow(_ model: String, principal: Principal?) throws -> (any LLMProvider, String)? {
        let resolved: (provider: any LLMProvider, model: String)?
        do { resolved = try gateway.resolveIfLoaded(model: model) } catch { throw APIError.resolution(error) }
        return try resolved.map { try allowed($0, name: model, principal: principal) }
    }

    /// A key's model allow-list is checked against where the name resolved to, never against the name's text.
    private func allowed(
        _ resolved: (provider: any LLMProvider, model: String), name: String, principal: Principal?
    ) throws
        -> (any LLMProvider, String)
    {
        guard principal?.allows(provider: resolved.provider.id, model: resolved.model, in: gateway) ?? true else {
            throw APIError(
                status: .forbidden, message: "this API key may not use model '\(name)'", type: "invalid_request_error",
                param: "model", code: "model_not_allowed")
        }
        return resolved
    }

    /// Reserves the request against the caller's rate limits and budgets (throws 429 when over).
    func admit(_ context: GatewayRequestContext, request: ChatRequest) async throws {
        guard let quotas = ledger.quotas else { return }
        let prompt = request.messages.reduce(0) { $0.saturatingAdding($1.text.count) }
        let output = request.maxTokens ?? quotas.configuration.defaultReserveTokens
        try await admit(context, tokens: estimatedTokens(prompt).saturatingAdding(output))
    }

    /// Reserves one request and `tokens` for the caller.
    func admit(_ context: GatewayRequestContext, tokens: Int) async throws {
        guard let quotas = ledger.quotas else { return }
        let caller = context.principal?.quotaCaller ?? QuotaEnforcer.Caller()
        let admission = try await quotas.admit(caller, tokens: tokens)
        context.record.update { $0.admission = admission }
    }

    func jsonResponse(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: value.jsonBytes())))
    }

    // MARK: models

    func modelEntries() async -> [(id: String, info: ModelInfo)] {
        let order = gateway.providers.map(\.id)
        await catalog.loadIfNeeded(gateway.providers, context: CallContext(logger: logger, requestID: "models", timeout: .seconds(15)))
        let models = catalog.all(order: order)
        var counts: [String: Int] = [:]
        for m in models { counts[m.id, default: 0] += 1 }
        var out: [(String, ModelInfo)] = models.map { ("\($0.provider)/\($0.id)", $0) }
        // Bare ids too, where exactly one provider serves them.
        out += models.filter { counts[$0.id] == 1 && !$0.id.isEmpty }.map { ($0.id, $0) }
        return out
    }

    static func modelObject(id: String, _ m: ModelInfo) -> JSONValue {
        var o: [String: JSONValue] = [
            "id": .string(id), "object": "model", "created": 0,
            "owned_by": .string(m.provider == "mock" ? "switchboard-mock" : m.provider),
        ]
        if let c = m.contextWindow { o["context_window"] = .int(Int64(c)) }
        if let p = m.inputPricePerMillion { o["input_nano_usd_per_million"] = .int(p.value) }
        if let p = m.outputPricePerMillion { o["output_nano_usd_per_million"] = .int(p.value) }
        if m.provider == "mock" { o["mock"] = true }
        return .object(o)
    }

    func listModels(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let entries = await modelEntries().filter {
            context.principal?.allows(provider: $0.info.provider, model: $0.info.id, in: gateway) ?? true
        }
        return jsonResponse(["object": "list", "data": .array(entries.map { Self.modelObject(id: $0.id, $0.info) })])
    }

    func oneModel(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        // SDKs percent-encode the slash of `provider/model`.
        let raw = context.parameters.getCatchAll().joined(separator: "/")
        let id = raw.removingPercentEncoding ?? raw
        guard let entry = await modelEntries().first(where: { $0.id == id }),
            context.principal?.allows(provider: entry.info.provider, model: entry.info.id, in: gateway) ?? true
        else {
            throw APIError(
                status: .notFound, message: "The model '\(id)' does not exist", type: "invalid_request_error",
                param: "model", code: "model_not_found")
        }
        return jsonResponse(Self.modelObject(id: entry.id, entry.info))
    }

    // MARK: embeddings

    func embeddings(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        var request = request
        let json = try await jsonBody(&request)
        guard let model = json["model"]?.stringValue, !model.isEmpty else {
            throw APIError.invalid("'model' is required", param: "model")
        }
        let inputs: [String]
        switch json["input"] {
        case .string(let s)?: inputs = [s]
        case .array(let a)? where !a.isEmpty && a.allSatisfy({ $0.stringValue != nil }): inputs = a.compactMap(\.stringValue)
        default: throw APIError.invalid("'input' must be a string or a non-empty array of strings", param: "input")
        }
        let (provider, upstreamModel) = try await resolve(model, principal: context.principal, requestID: context.requestID)
        let call = callContext(task: "embeddings", clientModel: model, provider: provider, model: upstreamModel, context: context)
        guard let embedder = provider as? any EmbeddingProvider, provider.capabilities.contains(.embeddings) else {
            throw APIError.invalid("the provider of model '\(model)' (\(provider.id)) does not offer embeddings", param: "model")
        }
        try await admit(context, tokens: estimatedTokens(inputs.reduce(0) { $0.saturatingAdding($1.count) }))
        let result = try await embed(inputs, model: upstreamModel, at: embedder, call: call, context: context)
        let data = result.vectors.enumerated().map { i, v -> JSONValue in
            ["object": "embedding", "index": .int(Int64(i)), "embedding": .array(v.map(JSONValue.double))]
        }
        return jsonResponse([
            "object": "list", "data": .array(data), "model": .string(result.model.isEmpty ? model : result.model),
            "usage": [
                "prompt_tokens": .int(Int64(result.usage.inputTokens)),
                "total_tokens": .int(Int64(result.usage.inputTokens)),
            ],
        ])
    }

    // MARK: health and metrics

    func health(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let statuses = prober.current
        var providers: [String: JSONValue] = [:]
        for p in gateway.providers { providers[p.id] = .string(statuses[p.id]?.rawValue ?? "unknown") }
        let values = gateway.providers.map { statuses[$0.id] }
        let overall: String =
            values.allSatisfy({ $0 == .healthy })
            ? "healthy" : (values.contains(where: { $0 == .healthy || $0 == .degraded }) ? "degraded" : "down")
        let uptime = ContinuousClock.now - startedAt
        return jsonResponse([
            "status": .string(overall), "uptime": .double(uptime.inSeconds),
            "models_cached": .int(Int64(catalog.count)), "provider_status": .object(providers),
        ])
    }

    func metricsText(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        if let writer = ledger.writer {
            let stats = writer.statistics
            metrics.ledger(batches: stats.batches, records: stats.records, waited: writer.committedByWriter)
        }
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: metrics.exposition())))
    }
}
