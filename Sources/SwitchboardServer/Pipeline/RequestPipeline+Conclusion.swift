import HTTPTypes
import NIOCore
import SwitchboardCore
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
    /// Where the request went: the lanes, each slot tried or skipped and how it ended.
    static let route = Self("x-switchboard-route")!
    /// Request: the agent session to continue. Response: the session an agent provider kept.
    static let session = Self("x-switchboard-session")!
    /// Request: `on` sends an agent's actions in the stream (`switchboard_agent_action` chunks).
    static let agentActions = Self("x-switchboard-agent-actions")!
}

/// The last stages, once the route has its answer: the ledger commit, the headers, the metrics, and errors in the
/// caller's dialect.
extension RequestPipeline {
    /// What committing a call's record came to.
    enum Commit: Equatable {
        /// Not billed, or its stream committed the record itself.
        case notNeeded
        case committed
        /// Logged with its id; the response must end with `APIError.ledgerUnavailable`.
        case failed
    }

    // MARK: 7. commit

    /// Commits the call's record with the response's status, settling its reservation; a billed response is
    /// answered only after this. A stream's record is committed by its body (`byStream`), at its end.
    func commit(_ call: GatewayCall, status: HTTPResponse.Status, byStream: Bool = false) async -> Commit {
        let state = call.snapshot
        guard state.task != nil, byStream || !state.streaming else { return .notNeeded }
        defer { if call.close() { drain.closed() } }
        do {
            try await ledger.record(
                state, requestID: call.ledgerID, principal: state.principal, status: Int(status.code),
                latency: ContinuousClock.now - call.start)
            return .committed
        } catch {
            return .failed
        }
    }

    /// `commit` without waiting; nil when only `commit` can do it (the writer or the counters must be waited for).
    func commitNow(_ call: GatewayCall, status: HTTPResponse.Status) -> Commit? {
        let state = call.snapshot
        guard state.task != nil, !state.streaming else { return .notNeeded }
        let outcome: Commit?
        do {
            let done = try ledger.recordImmediately(
                state, requestID: call.ledgerID, principal: state.principal, status: Int(status.code),
                latency: ContinuousClock.now - call.start)
            outcome = done ? .committed : nil
        } catch {
            outcome = .failed
        }
        if outcome != nil, call.close() { drain.closed() }
        return outcome
    }

    // MARK: 8. finish

    /// Stamps what every response gets once its record is committed (the cost of a billed success, the ledger's
    /// id, the rate-limit state, the request id, the gateway's overhead) and counts the request.
    func finish(_ headers: inout HTTPFields, status: HTTPResponse.Status, call: GatewayCall, commit: Commit, route: String) {
        let state = call.snapshot
        let total = ContinuousClock.now - call.start
        // Priced once: for the headers and the spend metrics.
        let priced = state.task == nil ? nil : ledger.cost(state)
        if commit == .committed, (200..<300).contains(status.code) {
            // "unknown" for a model without a price.
            let cost = priced.map { ledger.figures($0, paidMsats: ledger.paidMsats(state)) }
            headers.set(.costNanoUSD, cost.map { String($0.nanoUSD) } ?? "unknown")
            headers.set(.costUSD, cost?.usd ?? "unknown")
            headers.set(.costMsats, cost.map { String($0.msats) } ?? "unknown")
        }
        if state.task != nil { headers.set(.inferenceID, call.ledgerID) }
        if let status = state.admission?.status {
            headers.set(.rateLimitLimit, String(status.limit))
            headers.set(.rateLimitRemaining, String(status.remaining))
            headers.set(.rateLimitReset, String(status.reset))
        }
        headers.set(.requestID, state.requestID)
        if let session = state.trace?.session { headers.set(.session, session) }
        if let cache = state.cache { headers.set(.cache, cache.rawValue) }
        if let route = state.routeDescription {
            headers.set(.route, route)
        } else if !state.provider.isEmpty {
            let outcome = (200..<300).contains(status.code) ? "ok" : "failed(\(status.code))"
            headers.set(.route, state.provider + "/" + state.upstreamModel + "=" + outcome)
        }
        headers.set(.overhead, Self.milliseconds(max(.zero, total - state.upstream)))
        if state.streaming {
            // A stream is counted when it ends, with the status it ended with.
            call.update { $0.route = route }
        } else {
            count(state, status: status, total: total, route: route, cost: priced)
            endSpan(call, status: status, route: route)
        }
    }

    /// A stream's end: counted with how it ended (`finish` counted every other response).
    func finishStream(_ call: GatewayCall, status: HTTPResponse.Status) {
        let state = call.snapshot
        count(
            state, status: status, total: ContinuousClock.now - call.start, route: state.route ?? "unmatched",
            cost: state.task == nil ? nil : ledger.cost(state))
        endSpan(call, status: status, route: state.route ?? "unmatched")
    }

    private func count(_ state: GatewayCall.State, status: HTTPResponse.Status, total: Duration, route: String, cost: NanoUSD?) {
        metrics.request(
            route: route, model: state.clientModel, provider: state.provider, status: Int(status.code), total: total,
            upstream: state.upstream > .zero ? state.upstream : nil)
        if let cost, cost.value > 0 {
            metrics.spend(
                provider: state.provider, model: state.upstreamModel,
                lane: state.trace?.lanes.first.map { $0.hasPrefix(Lane.prefix) ? String($0.dropFirst(Lane.prefix.count)) : $0 } ?? "",
                key: state.principal?.keyID ?? "none", cost: cost)
        }
    }

    // MARK: errors

    /// Any failure as the caller's dialect answers it: status, headers and body. Upstream details a client is not
    /// told are logged with the request id.
    func errorAnswer(_ error: any Error, call: GatewayCall) -> (HTTPResponse.Status, HTTPFields, ByteBuffer) {
        APIError.logDiagnostics(of: error, requestID: call.requestID, logger: logger)
        let mapped = APIError.from(error)
        let (fields, body) = mapped.payload(dialect: call.dialect)
        return (mapped.status, fields, body)
    }

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
