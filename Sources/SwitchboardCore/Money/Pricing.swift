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
    /// Per million input tokens written to the provider's prompt cache; the input price when nil.
    public var cacheWritePerMillion: NanoUSD?

    /// Creates a price.
    public init(
        inputPerMillion: NanoUSD, outputPerMillion: NanoUSD, cachedInputPerMillion: NanoUSD? = nil,
        reasoningPerMillion: NanoUSD? = nil, cacheWritePerMillion: NanoUSD? = nil
    ) {
        self.inputPerMillion = inputPerMillion
        self.outputPerMillion = outputPerMillion
        self.cachedInputPerMillion = cachedInputPerMillion
        self.reasoningPerMillion = reasoningPerMillion
        self.cacheWritePerMillion = cacheWritePerMillion
    }

    /// The exact cost of `usage`: the sum of `costs(of:)`.
    public func cost(of usage: Usage) -> NanoUSD { costs(of: usage).total }

    /// The exact cost of `usage` by token class.
    ///
    /// Rounding rule: each class (uncached input, cache read, cache write, non-reasoning output, reasoning) is
    /// `(tokens * price + 500_000) / 1_000_000`, i.e. rounded half up to a whole nano-USD; the total is their sum.
    /// Products are taken in 128 bits, so no realistic token count overflows.
    public func costs(of usage: Usage) -> CostBreakdown {
        let cached = max(0, min(usage.cachedTokens, usage.inputTokens))
        let written = max(0, min(usage.cacheWriteTokens, usage.inputTokens - cached))
        let reasoning = max(0, min(usage.reasoningTokens, usage.outputTokens))
        func part(_ tokens: Int, _ price: NanoUSD) -> NanoUSD {
            guard tokens > 0 else { return .zero }
            return NanoUSD(Int64(clamping: (Int128(tokens) * Int128(price.value) + 500_000) / 1_000_000))
        }
        return CostBreakdown(
            input: part(usage.inputTokens - cached - written, inputPerMillion),
            cacheRead: part(cached, cachedInputPerMillion ?? inputPerMillion),
            cacheWrite: part(written, cacheWritePerMillion ?? inputPerMillion),
            output: part(usage.outputTokens - reasoning, outputPerMillion),
            reasoning: part(reasoning, reasoningPerMillion ?? outputPerMillion))
    }
}

/// What a call cost by token class, so a bill can be reconciled with a provider's invoice line by line.
public struct CostBreakdown: Sendable, Hashable, Codable {
    /// Input not read from or written to the provider's prompt cache.
    public var input: NanoUSD
    /// Input read from the provider's prompt cache.
    public var cacheRead: NanoUSD
    /// Input written to the provider's prompt cache.
    public var cacheWrite: NanoUSD
    /// Output other than reasoning.
    public var output: NanoUSD
    /// Reasoning output.
    public var reasoning: NanoUSD

    /// A breakdown.
    public init(
        input: NanoUSD = .zero, cacheRead: NanoUSD = .zero, cacheWrite: NanoUSD = .zero, output: NanoUSD = .zero,
        reasoning: NanoUSD = .zero
    ) {
        self.input = input
        self.cacheRead = cacheRead
        self.cacheWrite = cacheWrite
        self.output = output
        self.reasoning = reasoning
    }

    /// The whole cost (saturating).
    public var total: NanoUSD {
        NanoUSD(
            input.value.saturatingAdding(cacheRead.value).saturatingAdding(cacheWrite.value).saturatingAdding(output.value)
                .saturatingAdding(reasoning.value))
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
