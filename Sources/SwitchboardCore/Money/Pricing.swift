/// Prices of one model, in nano-USD per million tokens.
public struct ModelPrice: Sendable, Hashable, Codable {
    /// Per million input tokens.
    public var inputPerMillion: NanoUSD
    /// Per million output tokens.
    public var outputPerMillion: NanoUSD
    /// Per million cached input tokens; the input price when nil.
    public var cachedInputPerMillion: NanoUSD?
    /// Per million reasoning tokens; the output price when nil.
    public var reasoningPerMillion: NanoUSD?

    /// Creates a price.
    public init(
        inputPerMillion: NanoUSD, outputPerMillion: NanoUSD, cachedInputPerMillion: NanoUSD? = nil,
        reasoningPerMillion: NanoUSD? = nil
    ) {
        self.inputPerMillion = inputPerMillion
        self.outputPerMillion = outputPerMillion
        self.cachedInputPerMillion = cachedInputPerMillion
        self.reasoningPerMillion = reasoningPerMillion
    }

    /// The exact cost of `usage`.
    ///
    /// Rounding rule: each component (uncached input, cached input, non-reasoning output, reasoning output)
    /// is `(tokens * price + 500_000) / 1_000_000`, i.e. rounded half up to a whole nano-USD, then summed.
    /// Products are taken in 128 bits, so no realistic token count overflows.
    public func cost(of usage: Usage) -> NanoUSD {
        let cached = max(0, min(usage.cachedTokens, usage.inputTokens))
        let reasoning = max(0, min(usage.reasoningTokens, usage.outputTokens))
        let parts: [(Int, NanoUSD)] = [
            (usage.inputTokens - cached, inputPerMillion),
            (cached, cachedInputPerMillion ?? inputPerMillion),
            (usage.outputTokens - reasoning, outputPerMillion),
            (reasoning, reasoningPerMillion ?? outputPerMillion),
        ]
        var total: Int128 = 0
        for (tokens, price) in parts where tokens > 0 {
            total += (Int128(tokens) * Int128(price.value) + 500_000) / 1_000_000
        }
        return NanoUSD(Int64(clamping: total))
    }
}

/// A provider that knows some of its models' prices without a network call; found with `as?`.
public protocol ModelPricing: Sendable {
    /// Built-in prices by model id (as the provider names it).
    var seedPrices: [String: ModelPrice] { get }
}

/// A provider that names some of its models without a network call (its defaults and built-in catalogue), so they
/// can be listed offline; found with `as?`.
public protocol KnownModels: Sendable {
    /// The models known without asking the upstream.
    var knownModels: [ModelInfo] { get }
}
