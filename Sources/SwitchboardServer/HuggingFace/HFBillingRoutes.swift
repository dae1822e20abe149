import Foundation
import Hummingbird
import SwitchboardCore
import SwitchboardStorage

/// `/hf/tasks/models`, `/hf/tasks/models/map`, `/hf/tasks/billing/cost`, `/hf/tasks/billing/usage`.
extension GatewayRoutes {
    func hfModels(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let filter = request.uri.queryParameters.get("task_type")
        if let filter, HFTask(rawValue: filter) == nil {
            throw APIError.invalid("unknown task_type '\(filter)'", param: "task_type")
        }
        var models: [JSONValue] = try await store.mappings(task: filter).map { m in
            var o: [String: JSONValue] = [
                "model_id": .string(m.providerModelID), "hub_model_id": .string(m.hubModelID),
                "task_type": .string(m.task),
            ]
            if let p = m.parameters, let parsed = try? JSONValue.parse(Data(p.utf8)) { o["parameters"] = parsed }
            return .object(o)
        }
        // Every chat model serves the chat tasks; they are listed once, under text-generation, without a Hub id.
        if filter == nil || filter == HFTask.textGeneration.rawValue {
            for entry in await modelEntries()
            where entry.id.contains("/")
                && context.principal?.allows(provider: entry.info.provider, model: entry.info.id, in: gateway) ?? true
            {
                models.append(["model_id": .string(entry.id), "hub_model_id": .null, "task_type": "text-generation"])
            }
        }
        return jsonResponse([
            "models": .array(models), "count": .int(Int64(models.count)),
            "task_types": .array(HFTask.allCases.map { .string($0.rawValue) }),
        ])
    }

    func hfMap(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        if case .key? = context.principal {
            throw APIError(
                status: .forbidden, message: "registering model mappings needs the master key", type: "invalid_request_error",
                code: "forbidden")
        }
        var request = request
        let body = try await jsonBody(&request)
        func field(_ name: String) throws -> String {
            guard let s = body[name]?.stringValue?.trimmingCharacters(in: .whitespaces), !s.isEmpty else {
                throw APIError.invalid("missing required field '\(name)' (a non-empty string)", param: name)
            }
            return s
        }
        let providerModel = try field("provider_model_id")
        let hubModel = try field("hub_model_id")
        let taskName = try field("task_type")
        guard let task = HFTask(rawValue: taskName) else {
            throw APIError.invalid("unknown task_type '\(taskName)'", param: "task_type")
        }
        let parameters: String?
        switch body["parameters"] {
        case nil, .null?: parameters = nil
        case .object(let o)?: parameters = JSONValue.object(o).jsonString()
        default: throw APIError.invalid("'parameters' must be an object", param: "parameters")
        }
        guard await isServed(providerModel) else {
            throw APIError.invalid("no configured provider serves '\(providerModel)'", param: "provider_model_id")
        }
        try await store.saveMapping(
            HubModelMapping(
                task: task.rawValue, providerModelID: providerModel, hubModelID: hubModel,
                parameters: parameters))
        return jsonResponse([
            "success": true, "provider_model_id": .string(providerModel), "hub_model_id": .string(hubModel),
            "task_type": .string(task.rawValue), "message": "Model mapping registered successfully",
        ])
    }

    /// Whether a request naming `model` would reach a provider that lists it.
    func isServed(_ model: String) async -> Bool {
        await modelEntries().contains { $0.id == model }
    }

    /// The provider and upstream model whose price applies to `model` (a gateway id, or a Hub id `mappings` maps).
    func priced(_ model: String, mappings: [HubModelMapping]) async throws -> (provider: String, model: String)? {
        let id = mappings.first(where: { $0.hubModelID == model })?.providerModelID ?? model
        let resolved: (provider: any LLMProvider, model: String)
        do {
            resolved = try await gateway.resolve(model: id, context: CallContext(logger: logger, requestID: "price"))
        } catch .unknownModel {
            return nil
        } catch {
            throw APIError.resolution(error)
        }
        // The router's price depends on which slot answers: none applies beforehand.
        guard resolved.provider.id != gateway.router.id else { return nil }
        return (resolved.provider.id, resolved.model)
    }

    /// One request of a cost query: its model, task and usage, or the error naming the field that is wrong.
    private func costItem(_ item: JSONValue, at i: Int) throws -> (model: String, task: String?, usage: Usage) {
        func tokens(_ name: String, required: Bool) throws -> Int {
            guard let v = item[name], v != .null else {
                if required { throw APIError.invalid("'requests[\(i)].\(name)' is required", param: "requests[\(i)].\(name)") }
                return 0
            }
            guard let n = v.intValue, n >= 0, n <= 1_000_000_000_000_000 else {
                throw APIError.invalid("'requests[\(i)].\(name)' must be an integer from 0 to 10^15", param: "requests[\(i)].\(name)")
            }
            return Int(n)
        }
        guard let model = item["model"]?.stringValue, !model.isEmpty else {
            throw APIError.invalid("'requests[\(i)].model' is required", param: "requests[\(i)].model")
        }
        if let given = item["task"], given != .null, given.stringValue == nil {
            throw APIError.invalid("'requests[\(i)].task' must be a task name", param: "requests[\(i)].task")
        }
        let task = item["task"]?.stringValue
        if let task, HFTask(rawValue: task) == nil {
            throw APIError.invalid("'requests[\(i)].task': unknown task '\(task)'", param: "requests[\(i)].task")
        }
        let usage = Usage(
            inputTokens: try tokens("input_tokens", required: true), outputTokens: try tokens("output_tokens", required: true),
            reasoningTokens: try tokens("reasoning_tokens", required: false),
            cachedTokens: try tokens("cached_tokens", required: false),
            cacheWriteTokens: try tokens("cache_write_tokens", required: false))
        return (model, task, usage)
    }

    func hfCost(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        var request = request
        let body = try await jsonBody(&request)
        guard case .array(let items)? = body["requests"], !items.isEmpty, items.count <= 10_000 else {
            throw APIError.invalid("'requests' must be an array of 1 to 10000 objects", param: "requests")
        }
        var costs: [JSONValue] = []
        var total = NanoUSD.zero
        var unpriced = 0
        // One read of the mappings, and one resolution for each task and model the query names, not one of each a
        // request: a query of ten thousand requests for one model is one lookup.
        let mappings = try await store.mappings(task: nil)
        var pricedAt: [String: (provider: String, model: String)?] = [:]
        for (i, item) in items.enumerated() {
            let (model, task, usage) = try costItem(item, at: i)
            var entry: [String: JSONValue] = [
                "model": .string(model), "task": task.map(JSONValue.string) ?? .null,
                "input_tokens": .int(Int64(usage.inputTokens)), "output_tokens": .int(Int64(usage.outputTokens)),
                "cached_tokens": .int(Int64(usage.cachedTokens)), "cache_write_tokens": .int(Int64(usage.cacheWriteTokens)),
                "reasoning_tokens": .int(Int64(usage.reasoningTokens)),
            ]
            let key = (task ?? "") + "\n" + model
            let at: (provider: String, model: String)?
            if let known = pricedAt[key] {
                at = known
            } else {
                at = try await priced(model, mappings: mappings.filter { task == nil || $0.task == task })
                pricedAt[key] = .some(at)
            }
            let cost = at.flatMap { gateway.prices.cost(provider: $0.provider, model: $0.model, usage: usage) }
            if let cost {
                let (sum, overflow) = total.value.addingReportingOverflow(cost.value)
                guard cost.value < Int64.max else {
                    throw APIError.invalid("'requests[\(i)]' costs more than can be represented", param: "requests[\(i)]")
                }
                guard !overflow else { throw APIError.invalid("the total cost is too large to represent", param: "requests") }
                total = NanoUSD(sum)
            } else {
                unpriced += 1
            }
            entry.merge(ledger.costFields(cost)) { $1 }
            entry["priced"] = .bool(cost != nil)
            costs.append(.object(entry))
        }
        return jsonResponse([
            "total_cost_nano_usd": .int(total.value), "total_cost_usd": .string(total.usdString),
            "costs": .array(costs), "currency": "USD", "unpriced_requests": .int(Int64(unpriced)),
        ])
    }

    func hfUsage(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        func number(_ name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
            guard let text = query.get(name) else { return value }
            guard let n = Int(text), range.contains(n) else {
                throw APIError.invalid("'\(name)' must be an integer from \(range.lowerBound) to \(range.upperBound)", param: name)
            }
            return n
        }
        var filter = UsageFilter()
        filter.limit = try number("limit", default: 100, range: 1...1000)
        filter.offset = try number("offset", default: 0, range: 0...Int(Int32.max))
        // A key sees its own records; the master key (or keyless local use) sees everyone's.
        if case .key(let key)? = context.principal { filter.keyID = key.id }
        let records = try await store.records(filter)
        let count = try await store.count(filter)
        let totals = try await store.totals(filter)
        let iso = ISO8601DateFormatter()
        let rows: [JSONValue] = records.map { r in
            var o: [String: JSONValue] = [
                "request_id": .string(r.requestID), "timestamp": .string(iso.string(from: r.timestamp)), "task": .string(r.task),
                "provider": r.provider.map(JSONValue.string) ?? .null, "model": r.model.map(JSONValue.string) ?? .null,
                "input_tokens": .int(Int64(r.inputTokens)), "output_tokens": .int(Int64(r.outputTokens)),
                "cached_tokens": .int(Int64(r.cachedTokens)), "reasoning_tokens": .int(Int64(r.reasoningTokens)),
                "estimated": .bool(r.estimated), "status": .int(Int64(r.status)), "latency_ms": .int(Int64(r.latencyMs)),
                "ttft_ms": r.ttftMs.map { .int(Int64($0)) } ?? .null, "key_id": r.keyID.map(JSONValue.string) ?? .null,
                "cache_write_tokens": .int(Int64(r.cacheWriteTokens)), "cache": r.cache.map(JSONValue.string) ?? .null,
                "route": r.route.map(JSONValue.string) ?? .null,
                "cost_by_class": r.costs.map { c in
                    [
                        "input": .int(c.input.value), "cache_read": .int(c.cacheRead.value), "cache_write": .int(c.cacheWrite.value),
                        "output": .int(c.output.value), "reasoning": .int(c.reasoning.value),
                    ]
                } ?? .null,
            ]
            o.merge(ledger.costFields(r.costNanoUSD.map(NanoUSD.init), paidMsats: r.costMsats)) { $1 }
            return .object(o)
        }
        return jsonResponse([
            "records": .array(rows), "total_records": .int(Int64(count)),
            "total_cost_nano_usd": .int(totals.last?.costNanoUSD ?? 0),
            "corrupt_records": .int(Int64(totals.last?.corruptRecords ?? 0)),
            "limit": .int(Int64(filter.limit)), "offset": .int(Int64(filter.offset)),
        ])
    }
}
