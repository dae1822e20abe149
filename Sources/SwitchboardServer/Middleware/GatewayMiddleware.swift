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
        context.ledgerID = UsageRecord.newRequestID()
        context.requestID = Self.requestID(request.headers, ledgerID: context.ledgerID)
        // Billed routes are recorded even when they fail before their handler runs (bad key, bad JSON).
        if request.method == .post, let task = Self.billedRoutes[request.uri.path] { context.record.update { $0.task = task } }
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            APIError.logDiagnostics(of: error, requestID: context.requestID, logger: ledger.logger)
            response = try APIError.from(error).response(from: request, context: context)
        }
        var total = ContinuousClock.now - start
        let state = context.record.snapshot
        var committed = false
        if state.task != nil, !state.recorded {
            // Billed routes answer only after their record is committed.
            do {
                try await ledger.record(
                    state, requestID: context.ledgerID, principal: state.principal,
                    status: Int(response.status.code), latency: total)
                committed = true
            } catch {
                response = try APIError.ledgerUnavailable.response(from: request, context: context)
            }
            total = ContinuousClock.now - start
        }
        Self.stamp(
            &response.headers, status: response.status, state: state, committed: committed, ledger: ledger,
            ids: (context.ledgerID, context.requestID), overhead: total - state.upstream)
        metrics.request(
            route: context.endpointPath ?? "unmatched", model: state.clientModel, provider: state.provider,
            status: Int(response.status.code), total: total, upstream: state.upstream > .zero ? state.upstream : nil)
        return response
    }

    /// The client's `x-request-id` when it is usable, else the ledger's id.
    static func requestID(_ headers: HTTPFields, ledgerID: String) -> String {
        headers.value(.requestID).flatMap { $0.count <= 128 && !$0.isEmpty ? $0 : nil } ?? ledgerID
    }

    /// What every response gets once its record is committed (`committed`: by this middleware's commit): the
    /// cost of a billed success, the ledger's id, the rate-limit state, the request id and the gateway's overhead.
    static func stamp(
        _ headers: inout HTTPFields, status: HTTPResponse.Status, state: RequestRecord.State, committed: Bool,
        ledger: UsageLedger, ids: (ledger: String, request: String), overhead: Duration
    ) {
        if committed, (200..<300).contains(status.code) {
            // "unknown" for a model without a price.
            let cost = ledger.cost(state).map(ledger.figures)
            headers.set(.costNanoUSD, cost.map { String($0.nanoUSD) } ?? "unknown")
            headers.set(.costUSD, cost?.usd ?? "unknown")
            headers.set(.costMsats, cost.map { String($0.msats) } ?? "unknown")
        }
        if state.task != nil { headers.set(.inferenceID, ids.ledger) }
        if let status = state.admission?.status {
            headers.set(.rateLimitLimit, String(status.limit))
            headers.set(.rateLimitRemaining, String(status.remaining))
            headers.set(.rateLimitReset, String(status.reset))
        }
        headers.set(.requestID, ids.request)
        headers.set(.overhead, milliseconds(max(.zero, overhead)))
    }

    static let billedRoutes: [String: String] = {
        var routes = ["/v1/chat/completions": "chat.completions", "/v1/embeddings": "embeddings", "/v1/messages": "messages"]
        for task in HFTask.allCases { routes["/hf/tasks/\(task.rawValue)"] = "hf.\(task.rawValue)" }
        routes["/hf/tasks/run"] = "hf.run"
        return routes
    }()

    /// "1.234": milliseconds with three decimals, without `String(format:)`'s cost on every response.
    static func milliseconds(_ d: Duration) -> String {
        let micros = max(0, d.inMicroseconds)
        let whole = String(micros / 1000)
        let fraction = Int(micros % 1000)
        return String(unsafeUninitializedCapacity: whole.utf8.count + 4) { out in
            var i = 0
            for b in whole.utf8 {
                out[i] = b
                i += 1
            }
            out[i] = UInt8(ascii: ".")
            out[i + 1] = UInt8(ascii: "0") + UInt8(fraction / 100)
            out[i + 2] = UInt8(ascii: "0") + UInt8(fraction / 10 % 10)
            out[i + 3] = UInt8(ascii: "0") + UInt8(fraction % 10)
            return i + 4
        }
    }
}
