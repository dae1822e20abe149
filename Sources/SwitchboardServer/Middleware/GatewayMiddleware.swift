import Foundation
import HTTPTypes
import Hummingbird
import SwitchboardStorage

extension HTTPField.Name {
    static let requestID = Self("x-request-id")!
    static let overhead = Self("x-switchboard-overhead-ms")!
    static let apiKey = Self("x-api-key")!
    static let costNanoUSD = Self("x-switchboard-cost-nano-usd")!
    static let costUSD = Self("x-switchboard-cost-usd")!
    static let costMsats = Self("x-switchboard-cost-msats")!
    /// The ledger's id of the request (Hugging Face's name for a billable request id).
    static let inferenceID = Self("inference-id")!
    static let rateLimitLimit = Self("x-ratelimit-limit")!
    static let rateLimitRemaining = Self("x-ratelimit-remaining")!
    static let rateLimitReset = Self("x-ratelimit-reset")!
}

/// Outermost middleware: request id, errors in OpenAI's shape, the overhead header and request metrics.
struct GatewayMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext
    let metrics: GatewayMetrics
    let ledger: UsageLedger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        var context = context
        let incoming = request.headers[.requestID].flatMap { $0.count <= 128 && !$0.isEmpty ? $0 : nil }
        context.ledgerID = UsageRecord.newRequestID()
        context.requestID = incoming ?? context.ledgerID
        // Billed routes are recorded even when they fail before their handler runs (bad key, bad JSON).
        if let task = Self.billedRoutes[request.uri.path] { context.record.update { $0.task = task } }
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            response = try APIError.from(error).response(from: request, context: context)
        }
        var total = ContinuousClock.now - start
        let state = context.record.snapshot
        if state.task != nil, !state.recorded {
            // Billed routes answer only after their record is committed.
            do {
                try await ledger.record(state, requestID: context.ledgerID, principal: state.principal,
                                        status: Int(response.status.code), latency: total)
                if (200..<300).contains(response.status.code) {
                    let fields = ledger.costFields(ledger.cost(state))
                    response.headers[.costNanoUSD] = fields["cost_nano_usd"]?.intValue.map(String.init) ?? "unknown"
                    response.headers[.costUSD] = fields["cost_usd"]?.stringValue ?? "unknown"
                    response.headers[.costMsats] = fields["cost_msats"]?.intValue.map(String.init) ?? "unknown"
                }
            } catch {
                response = try APIError(status: .serviceUnavailable, message: "the usage ledger is unavailable; the request was not recorded",
                                        type: "server_error", code: "ledger_unavailable").response(from: request, context: context)
            }
            total = ContinuousClock.now - start
        }
        if state.task != nil { response.headers[.inferenceID] = context.ledgerID }
        if let status = state.admission?.status {
            response.headers[.rateLimitLimit] = String(status.limit)
            response.headers[.rateLimitRemaining] = String(status.remaining)
            response.headers[.rateLimitReset] = String(status.reset)
        }
        let upstream = context.record.upstream
        let overhead = max(.zero, total - upstream)
        response.headers[.requestID] = context.requestID
        response.headers[.overhead] = Self.milliseconds(overhead)
        let labels = context.record.labels
        metrics.request(route: context.endpointPath ?? "unmatched", model: labels.model, provider: labels.provider,
                        status: Int(response.status.code), total: total, upstream: upstream > .zero ? upstream : nil)
        return response
    }

    static let billedRoutes: [String: String] = {
        var routes = ["/v1/chat/completions": "chat.completions", "/v1/embeddings": "embeddings", "/v1/messages": "messages"]
        for task in HFTask.allCases { routes["/hf/tasks/\(task.rawValue)"] = "hf.\(task.rawValue)" }
        routes["/hf/tasks/run"] = "hf.run"
        return routes
    }()

    /// "1.234": milliseconds with three decimals, without `String(format:)`'s cost on every response.
    static func milliseconds(_ d: Duration) -> String {
        let micros = d.inMicroseconds
        let fraction = String(micros % 1000)
        return "\(micros / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }
}
