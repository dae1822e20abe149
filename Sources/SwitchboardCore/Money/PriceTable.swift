/// Prices by `provider/model`, with exact integer cost and msats conversion.
public struct PriceTable: Sendable, Hashable {
    /// Prices keyed by `provider/model`.
    public private(set) var prices: [String: ModelPrice]
    /// Where each price came from (`registry`, the catalogue's path, `[pricing]`), by `provider/model`.
    public private(set) var sources: [String: String] = [:]
    /// Context windows in tokens by `provider/model`, where a catalogue gives one.
    public var contextWindows: [String: Int] = [:]

    /// A table with these prices.
    public init(_ prices: [String: ModelPrice] = [:]) {
        self.prices = prices
    }

    /// The price of `model` at `provider`, nil when unknown (cost is then unknown, never zero).
    public func price(provider: String, model: String) -> ModelPrice? {
        prices["\(provider)/\(model)"]
    }

    /// Sets (or overrides) one price, noting where it came from.
    public mutating func set(_ price: ModelPrice, for key: String, source: String? = nil) {
        prices[key] = price
        sources[key] = source
    }

    /// The exact cost of `usage`, nil when the model has no price.
    public func cost(provider: String, model: String, usage: Usage) -> NanoUSD? {
        price(provider: provider, model: model)?.cost(of: usage)
    }

    /// The exact cost of `usage` by token class, nil when the model has no price.
    public func costs(provider: String, model: String, usage: Usage) -> CostBreakdown? {
        price(provider: provider, model: model)?.costs(of: usage)
    }
}

/// Converts nano-USD to millisatoshis at a configured BTC price.
public struct SatsRate: Sendable, Hashable {
    /// The price of one bitcoin.
    public var btcPrice: NanoUSD

    /// A rate from the price of one bitcoin.
    public init(btcPrice: NanoUSD) {
        self.btcPrice = btcPrice
    }

    /// The rate used when the configuration names no BTC price (`[billing] btc_usd`): 100,000 USD.
    public static let standard = SatsRate(btcPrice: NanoUSD(100_000 * 1_000_000_000))

    /// msats = nano-USD × 10^11 msats/BTC ÷ BTC price in nano-USD, rounded half up, in integers only.
    public func msats(_ amount: NanoUSD) -> Int64 {
        guard btcPrice.value > 0 else { return 0 }
        let numerator = Int128(amount.value) * 100_000_000_000
        let price = Int128(btcPrice.value)
        return Int64(clamping: (numerator + price / 2) / price)
    }

    /// nano-USD = msats × BTC price in nano-USD ÷ 10^11, rounded half up: what a payment in msats cost in dollars.
    public func nanoUSD(msats: Int64) -> NanoUSD {
        let product = Int128(msats) * Int128(btcPrice.value)
        return NanoUSD(Int64(clamping: (product + 50_000_000_000) / 100_000_000_000))
    }
}

extension Usage {
    /// What the provider said the call cost (in dollars, or paid in msats and converted at `sats`); nil when it said
    /// nothing and the call is priced by its tokens.
    public func paidCost(at sats: SatsRate) -> NanoUSD? {
        reportedCost ?? reportedMsats.map { sats.nanoUSD(msats: $0) }
    }

    /// Whether the provider priced the call but counted no tokens (the tokens are estimated, the price kept).
    public var isPricedWithoutTokens: Bool {
        (reportedCost != nil || reportedMsats != nil) && inputTokens == 0 && outputTokens == 0
    }
}
