import Foundation
import HTTPTypes
import Logging
import ServiceLifecycle
import SwitchboardCore
import SwitchboardStorage

extension GatewayCall.State {
    /// The tokens the call took from upstream, against token limits: none for a cache hit.
    var upstreamTokens: Int { cache == .hit ? 0 : (usage ?? Usage()).totalTokens }

    /// Where the request went, for the route header and the ledger: the router's trace, a cache hit's target, or
    /// the one provider asked; nil before anything was resolved.
    var routeDescription: String? {
        if cache == .hit { return (cacheTarget ?? provider) + ": cache=hit" }
        // A cost the provider reported itself is recorded as such.
        if usage?.reportedCost != nil || usage?.reportedMsats != nil {
            return (trace?.route ?? "\(provider)/\(upstreamModel)=ok") + "; cost=reported"
        }
        return trace?.route
    }
}

/// Turns what a request did into its ledger record, prices it, and waits for the commit.
struct UsageLedger: Sendable {
    let writer: LedgerWriter?
    let prices: PriceTable
    let sats: SatsRate
    let quotas: QuotaEnforcer?
    let logger: Logger

    /// The cost of what the record says was used, by token class (nothing, for a request that failed before any
    /// usage or was answered from the response cache: 0 at a priced model); nil when the model has no price.
    func costs(_ state: GatewayCall.State) -> CostBreakdown? {
        // A cache hit made no upstream call.
        if state.cache == .hit { return CostBreakdown() }
        return prices.costs(provider: state.provider, model: state.upstreamModel, usage: state.usage ?? Usage())
    }

    /// The whole of `costs`, or what the provider reported the call cost.
    func cost(_ state: GatewayCall.State) -> NanoUSD? {
        if state.cache != .hit, let reported = state.usage?.paidCost(at: sats) { return reported }
        return costs(state)?.total
    }

    /// Writes one record and returns once it is committed (at once when no ledger is configured), then
    /// settles what the request reserved against its limits and budgets.
    /// A record that cannot be committed is logged with its id, and the caller's response ends with an error.
    func record(_ state: GatewayCall.State, requestID: String, principal: Principal?, status: Int, latency: Duration) async throws {
        do {
            try await write(state, requestID: requestID, principal: principal, status: status, latency: latency)
        } catch {
            logUncommitted(requestID, status: status, error)
            throw error
        }
        if let quotas, let admission = state.admission {
            do {
                try await quotas.settle(admission, tokens: state.upstreamTokens, cost: cost(state))
            } catch {
                // The response is already paid for in the ledger; a counter that missed it only loosens a limit.
                logger.error("could not settle rate-limit counters", metadata: ["request_id": "\(requestID)", "error": "\(error)"])
            }
        }
    }

    /// Writes one record and settles its reservation without waiting, when the writer can commit it on the calling
    /// thread and the counters are in memory; false (having done nothing) when `record` must do it.
    func recordImmediately(
        _ state: GatewayCall.State, requestID: String, principal: Principal?, status: Int,
        latency: Duration
    ) throws -> Bool {
        if state.admission != nil, quotas?.answersImmediately != true { return false }
        if let writer, let record = usageRecord(state, requestID: requestID, principal: principal, status: status, latency: latency) {
            do {
                guard try writer.recordImmediately(record) else { return false }
            } catch {
                logUncommitted(requestID, status: status, error)
                throw error
            }
        }
        if let quotas, let admission = state.admission {
            _ = quotas.settleImmediately(admission, tokens: state.upstreamTokens, cost: cost(state))
        }
        return true
    }

    private func logUncommitted(_ requestID: String, status: Int, _ error: any Error) {
        logger.error(
            "usage record not committed; the response ends with an error",
            metadata: ["request_id": "\(requestID)", "status": "\(status)", "error": "\(Redacted(error))"])
    }

    private func write(_ state: GatewayCall.State, requestID: String, principal: Principal?, status: Int, latency: Duration) async throws {
        guard let writer, let record = usageRecord(state, requestID: requestID, principal: principal, status: status, latency: latency)
        else { return }
        try await writer.record(record)
    }

    /// The ledger's record of a billed request; nil for routes that are not billed.
    private func usageRecord(
        _ state: GatewayCall.State, requestID: String, principal: Principal?, status: Int,
        latency: Duration
    ) -> UsageRecord? {
        guard let task = state.task else { return nil }
        let usage = state.usage ?? Usage()
        let keyID = principal?.keyID
        var user: String?
        if case .key(let k)? = principal { user = k.user }
        // A reported cost has no breakdown by token class.
        let reported = state.cache == .hit ? nil : state.usage?.paidCost(at: sats)
        let costs = reported == nil ? costs(state) : nil
        return UsageRecord(
            requestID: requestID, keyID: keyID, user: user, task: task,
            provider: state.provider.isEmpty ? nil : state.provider, model: state.upstreamModel.isEmpty ? nil : state.upstreamModel,
            inputTokens: usage.inputTokens, outputTokens: usage.outputTokens, cachedTokens: usage.cachedTokens,
            reasoningTokens: usage.reasoningTokens, costNanoUSD: (reported ?? costs?.total)?.value, estimated: state.estimated,
            latencyMs: Int(latency.inMilliseconds), ttftMs: state.ttft.map { Int($0.inMilliseconds) }, status: status,
            attempts: state.cache == .hit ? 0 : max(state.trace?.attemptCount ?? 0, state.provider.isEmpty ? 0 : 1),
            route: state.routeDescription, cache: state.cache?.rawValue, cacheWriteTokens: usage.cacheWriteTokens,
            costs: costs, costMsats: paidMsats(state))
    }

    /// The cost fields of what a call did.
    func costFields(_ state: GatewayCall.State) -> [String: JSONValue] {
        costFields(cost(state), paidMsats: paidMsats(state))
    }

    /// What the call was paid in msats, when it was.
    func paidMsats(_ state: GatewayCall.State) -> Int64? {
        state.cache == .hit ? nil : state.usage?.reportedMsats
    }

    /// Cost fields for a response: exact nano-USD, dollars for display, msats (as paid, when the call was paid in them).
    func costFields(_ cost: NanoUSD?, paidMsats: Int64? = nil) -> [String: JSONValue] {
        guard let cost = cost.map({ figures($0, paidMsats: paidMsats) }) else {
            return ["cost_nano_usd": .null, "cost_usd": .null, "cost_msats": .null]
        }
        return ["cost_nano_usd": .int(cost.nanoUSD), "cost_usd": .string(cost.usd), "cost_msats": .int(cost.msats)]
    }

    /// A cost in each unit the gateway reports it in: the fields above and the cost headers.
    struct CostFigures {
        let nanoUSD: Int64
        let usd: String
        let msats: Int64
    }

    func figures(_ cost: NanoUSD, paidMsats: Int64? = nil) -> CostFigures {
        CostFigures(nanoUSD: cost.value, usd: cost.usdString, msats: paidMsats ?? sats.msats(cost))
    }
}

/// Runs the ledger writer for as long as the server runs; it stops once the billed requests still open have
/// committed their records (within a bound), so every response's record is committed before the process exits,
/// including those of streams a drain timeout cut. It stops too when the group is cancelled (the server could not
/// start), so the process can exit.
struct LedgerService: Service {
    let writer: LedgerWriter
    let drain: DrainState
    /// Longest wait for open requests' records once shutdown began.
    var bound: Duration = .seconds(5)

    func run() async throws {
        await withTaskCancellationOrGracefulShutdownHandler {
            await writer.run()
        } onCancelOrGracefulShutdown: { [writer, drain, bound] in
            Task {
                await drain.waitUntilIdle(bound: bound)
                writer.stop()
            }
        }
    }
}

/// Rough token count for text a provider did not report usage for (about four characters a token).
func estimatedTokens(_ characters: Int) -> Int {
    characters == 0 ? 0 : max(1, (characters + 3) / 4)
}
