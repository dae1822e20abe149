import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SwitchboardCore
import SwitchboardProviders
import SwitchboardStorage

/// The gateway's handlers and what they share; each billed handler decodes its dialect and runs the pipeline's
/// stages.
struct GatewayRoutes: Sendable {
    let pipeline: RequestPipeline
    let prober: HealthProber
    let store: any Storage
    let startedAt: ContinuousClock.Instant

    var gateway: Gateway { pipeline.gateway }
    var catalog: ModelCatalog { gateway.catalog }
    var metrics: GatewayMetrics { pipeline.metrics }
    var ledger: UsageLedger { pipeline.ledger }
    var logger: Logger { pipeline.logger }
    var options: RequestPipeline.Options { pipeline.options }

    /// Every route, each declared with its dialect, its ledger task when billed, and whether it needs a key; the
    /// route's other methods answer 405 naming the ones it has (`HEAD` reaches the routes as `GET`).
    func register(on router: Router<GatewayRequestContext>) {
        let open = RequestPipeline.Route(dialect: .openAI, requiresKey: false)
        route(router, "health", open).get(use: health)
        route(router, "metrics", open).get(use: metricsText)
        route(router, "openapi.json", open).get { _, _ in Self.json(ByteBuffer(bytes: PackageResources.openapi_json)) }
        route(router, "v1/chat/completions", .init(dialect: .openAI, task: "chat.completions", requiresKey: true)).post(use: chat)
        route(router, "v1/embeddings", .init(dialect: .openAI, task: "embeddings", requiresKey: true)).post(use: embeddings)
        route(router, "v1/messages", .init(dialect: .anthropic, task: "messages", requiresKey: true)).post(use: messages)
        route(router, "v1/messages/count_tokens", .init(dialect: .anthropic, requiresKey: true), methods: [.post])
            .post(use: countMessageTokens)
        route(router, "v1/responses", .init(dialect: .openAI, task: "responses", requiresKey: true)).post(use: responses)
        let keyed = RequestPipeline.Route(dialect: .openAI, requiresKey: true)
        route(router, "v1/responses/input_tokens", keyed, methods: [.post]).post(use: responseInputTokens)
        let stored = route(router, "v1/responses/:id", keyed, methods: [.get, .delete])
        stored.get(use: retrieveResponse)
        stored.delete(use: deleteResponse)
        route(router, "v1/responses/:id/input_items", keyed).get(use: responseInputItems)
        let models = RequestPipeline.Route(dialect: .openAI, requiresKey: true)
        route(router, "v1/models", models).get(use: listModels)
        route(router, "v1/models/**", models).get(use: oneModel)
        route(router, "v1/lanes", models).get(use: listLanes)
        let keys = route(router, "v1/keys", models, methods: [.get, .post])
        keys.get(use: listKeys)
        keys.post(use: createKey)
        route(router, "v1/keys/:id", models, methods: [.delete]).delete(use: revokeKey)
        // The dashboard asks for its key itself, so a browser is asked for one (HTTP Basic).
        route(router, "dashboard", open).get(use: dashboard)
        route(router, "dashboard/chart.js", open).get(use: dashboardScript)
        registerHuggingFace(on: router)
    }

    /// The group of one route path, with its declaration applied and its other methods refused. A route takes
    /// `methods`, else `POST` when billed or a write, else `GET`.
    func route(
        _ router: Router<GatewayRequestContext>, _ path: String, _ route: RequestPipeline.Route, methods: [HTTPRequest.Method]? = nil
    ) -> RouterGroup<GatewayRequestContext> {
        let allowed = methods ?? [route.task == nil && !Self.writes.contains(path) ? .get : .post]
        let group = router.group(RouterPath(stringLiteral: path))
            .add(middleware: RouteMiddleware(pipeline: pipeline, route: route, methods: Set(allowed)))
        let allow = allowed.map { $0 == .get ? "GET, HEAD" : $0.rawValue }.joined(separator: ", ")
        for method in Self.methods where !allowed.contains(method) {
            group.on("", method: method) { _, _ -> Response in
                var headers = HTTPFields()
                headers[.allow] = allow
                throw APIError(
                    status: .methodNotAllowed, message: "this route accepts \(allow)", type: "invalid_request_error",
                    code: "method_not_allowed", headers: headers)
            }
        }
        return group
    }

    /// The methods a route answers 405 to when it does not take them (QUERY is the safe method with a body).
    private static let methods: [HTTPRequest.Method] = [.get, .post, .put, .patch, .delete, .options, .trace, HTTPRequest.Method("QUERY")!]

    /// Routes that take a `POST` without being billed.
    private static let writes: Set<String> = ["hf/tasks/models/map", "hf/tasks/billing/cost"]

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
        // Lanes are model names too.
        for name in gateway.lanes.names {
            let id = Lane.prefix + name
            out.append((id, ModelInfo(id: id, provider: id, displayName: "lane \(name)")))
        }
        return out
    }

    static func modelObject(id: String, _ m: ModelInfo) -> JSONValue {
        var o: [String: JSONValue] = [
            "id": .string(id), "object": "model", "created": 0,
            "owned_by": .string(m.provider == "mock" ? "switchboard-mock" : m.provider.hasPrefix(Lane.prefix) ? "switchboard" : m.provider),
        ]
        if m.provider.hasPrefix(Lane.prefix) { o["lane"] = true }
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

    /// `GET /v1/lanes`: each lane's slots in the order the next request would try them, with what this gateway has
    /// seen of each (health from the last probe, moving averages, cool-downs) and why each is where it is.
    func listLanes(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let health = prober.current.mapValues(\.rawValue)
        return jsonResponse(["object": "list", "data": gateway.lanes.report(health: health)])
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
        let (provider, upstreamModel) = try await pipeline.resolve(model, call: context.call)
        let upstream = pipeline.callContext(
            task: "embeddings", clientModel: model, provider: provider, model: upstreamModel, call: context.call)
        guard let embedder = provider as? any EmbeddingProvider, provider.capabilities.contains(.embeddings) else {
            throw APIError.invalid("the provider of model '\(model)' (\(provider.id)) does not offer embeddings", param: "model")
        }
        try await pipeline.admit(context.call, tokens: estimatedTokens(inputs.reduce(0) { $0.saturatingAdding($1.count) }))
        let result = try await pipeline.embed(inputs, model: upstreamModel, at: embedder, context: upstream, call: context.call)
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

    /// What is left of each key's budgets in their current periods, from the ledger (at most the first thousand keys
    /// with a budget: a scrape stays cheap).
    private func recordBudgets() async {
        let keys: [APIKeyRecord]
        do { keys = try await store.listKeys() } catch {
            logger.warning("budget metrics skipped: the keys could not be listed", metadata: ["error": "\(Redacted(error))"])
            return
        }
        let now = Date()
        let budgeted = keys.filter { $0.revokedAt == nil && ($0.limits.budgetPerDay != nil || $0.limits.budgetPerMonth != nil) }
        for key in budgeted.prefix(1000) {
            for (period, budget) in [("day", key.limits.budgetPerDay), ("month", key.limits.budgetPerMonth)] {
                guard let budget else { continue }
                let since = QuotaEnforcer.budgetPeriodStart(daily: period == "day", at: now)
                do {
                    let spent = try await store.spend(keyID: key.id, user: nil, since: since)
                    metrics.budgetRemaining(key: key.id, period: period, remaining: NanoUSD(max(0, budget.value - spent.value)))
                } catch {
                    logger.warning("budget metrics skipped for a key", metadata: ["key_id": "\(key.id)", "error": "\(Redacted(error))"])
                }
            }
        }
    }

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
        if let cache = pipeline.cache { metrics.cacheHeld(bytes: cache.bytes, entries: cache.count) }
        await recordBudgets()
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: metrics.exposition())))
    }
}
