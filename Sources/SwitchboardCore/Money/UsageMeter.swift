import Synchronization

/// Adds up what calls used and cost, for a library user who calls providers directly: tokens, cost in nano-USD and
/// msats, and how many calls had no price. Safe to share between tasks.
public final class UsageMeter: Sendable {
    /// The sums so far.
    public struct Totals: Sendable, Hashable {
        public var calls = 0
        public var usage = Usage()
        /// The cost of the priced calls.
        public var cost = NanoUSD.zero
        public var msats: Int64 = 0
        /// Calls whose model has no price (their cost is unknown, not zero).
        public var unpriced = 0
        /// Of `cost`, what was not paid in msats (converted at the BTC price), and what was, exactly.
        var costInDollars = NanoUSD.zero
        var paidMsats: Int64 = 0
    }

    private let prices: PriceTable
    private let sats: SatsRate
    private let state = Mutex(Totals())

    /// A meter pricing calls with `prices`, converting to msats at `sats`.
    public init(prices: PriceTable, sats: SatsRate) {
        self.prices = prices
        self.sats = sats
    }

    /// Adds one call's usage at `provider`/`model`.
    public func add(_ usage: Usage, provider: String, model: String) {
        let cost = usage.paidCost(at: sats) ?? prices.cost(provider: provider, model: model, usage: usage)
        state.withLock { t in
            t.calls += 1
            t.usage.inputTokens = t.usage.inputTokens.saturatingAdding(usage.inputTokens)
            t.usage.outputTokens = t.usage.outputTokens.saturatingAdding(usage.outputTokens)
            t.usage.cachedTokens = t.usage.cachedTokens.saturatingAdding(usage.cachedTokens)
            t.usage.reasoningTokens = t.usage.reasoningTokens.saturatingAdding(usage.reasoningTokens)
            if let cost {
                t.cost = t.cost + cost
                if let paid = usage.reportedMsats {
                    t.paidMsats = t.paidMsats.saturatingAdding(paid)
                } else {
                    t.costInDollars = t.costInDollars + cost
                }
                t.msats = t.paidMsats.saturatingAdding(sats.msats(t.costInDollars))
            } else {
                t.unpriced += 1
            }
        }
    }

    /// Adds a response's usage, priced at the model its provider was asked for: `model` when given, else what the
    /// call's `trace` noted (a lane's slot names its own), else the model the response names.
    public func add(_ response: ChatResponse, model: String? = nil, trace: CallTrace? = nil) {
        let asked = model ?? trace?.model(askedOf: response.provider) ?? response.model
        add(response.usage ?? Usage(), provider: response.provider, model: asked)
    }

    /// The sums so far.
    public var totals: Totals { state.withLock { $0 } }
}
