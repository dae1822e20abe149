import Foundation
public import SwitchboardCore

/// A whole price list read from a file (`[pricing] catalogue`): this project's format, keyed `provider/model` with
/// dollar prices per million tokens, or LiteLLM's `model_prices_and_context_window.json`, with dollar prices per token
/// and a `litellm_provider` for each model. Prices are read from the numbers' decimal text, exactly.
public enum PriceCatalogue {
    /// LiteLLM's provider names where they differ from this project's ids.
    static let providerIDs = [
        "together_ai": "together", "fireworks_ai": "fireworks", "vertex_ai-language-models": "vertex", "bedrock_converse": "bedrock",
        "text-completion-openai": "openai", "anthropic_text": "anthropic",
    ]

    /// A catalogue read: prices by `provider/model`, and the entries of a LiteLLM file left out for lacking a price.
    public struct Loaded: Sendable {
        public var prices: [String: ModelPrice]
        public var skipped: [String]
    }

    /// Reads the file at `path`.
    public static func load(path: String) throws(ConfigError) -> Loaded {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(file: path, line: nil, message: "cannot read the price catalogue")
        }
        let json: JSONValue
        do { json = try JSONValue.parse(data) } catch {
            throw ConfigError(file: path, line: nil, message: "the price catalogue is not JSON: \(error)")
        }
        guard case .object(let entries) = json else {
            throw ConfigError(file: path, line: nil, message: "the price catalogue must be a JSON object of models")
        }
        var out: [String: ModelPrice] = [:]
        var skipped: [String] = []
        for (key, entry) in entries where key != "sample_spec" {
            if entry["input_per_million_usd"] != nil {
                guard key.contains("/") else {
                    throw ConfigError(file: path, line: nil, message: "price catalogue key '\(key)' must be \"provider/model\"")
                }
                out[key] = try price(entry, perToken: false, names: ownNames, model: key, path: path)
            } else if entry["input_cost_per_token"] != nil, let provider = entry["litellm_provider"]?.stringValue {
                // Chat and embedding models; images, audio and rerankers are priced otherwise.
                guard entry["mode"]?.stringValue.map({ ["chat", "completion", "embedding", "responses"].contains($0) }) ?? true else {
                    continue
                }
                let id = providerIDs[provider] ?? provider
                let model = key.hasPrefix(provider + "/") ? String(key.dropFirst(provider.count + 1)) : key
                // LiteLLM's file lists models it has only one of the two prices for: those are left out, and said so.
                do { out["\(id)/\(model)"] = try price(entry, perToken: true, names: liteLLMNames, model: key, path: path) } catch {
                    skipped.append(key)
                }
            }
        }
        return Loaded(prices: out, skipped: skipped.sorted())
    }

    private typealias Names = (input: String, output: String, cached: String, reasoning: String, cacheWrite: String)
    private static let ownNames: Names = (
        "input_per_million_usd", "output_per_million_usd", "cached_input_per_million_usd", "reasoning_per_million_usd",
        "cache_write_per_million_usd"
    )
    private static let liteLLMNames: Names = (
        "input_cost_per_token", "output_cost_per_token", "cache_read_input_token_cost", "output_cost_per_reasoning_token",
        "cache_creation_input_token_cost"
    )

    private static func price(
        _ entry: JSONValue, perToken: Bool, names: Names, model: String, path: String
    ) throws(ConfigError)
        -> ModelPrice
    {
        func amount(_ name: String) throws(ConfigError) -> NanoUSD? {
            guard let value = entry[name], value != .null else { return nil }
            guard let nano = nanoUSDPerMillion(value, perToken: perToken) else {
                throw ConfigError(file: path, line: nil, message: "price catalogue: '\(model)'.\(name) is not a non-negative price")
            }
            return nano
        }
        guard let input = try amount(names.input), let output = try amount(names.output) else {
            throw ConfigError(file: path, line: nil, message: "price catalogue: '\(model)' needs an input and an output price")
        }
        return ModelPrice(
            inputPerMillion: input, outputPerMillion: output, cachedInputPerMillion: try amount(names.cached),
            reasoningPerMillion: try amount(names.reasoning), cacheWritePerMillion: try amount(names.cacheWrite))
    }

    /// Dollars (per million tokens, or per token) as nano-USD per million, from the number's shortest decimal text.
    static func nanoUSDPerMillion(_ value: JSONValue, perToken: Bool) -> NanoUSD? {
        let text: String
        switch value {
        case .int(let i): text = String(i)
        case .double(let d): text = "\(d)"
        case .string(let s): text = s
        default: return nil
        }
        guard var dollars = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")), dollars >= 0 else { return nil }
        // Per token: times a million; then nano-USD: times a billion. Whole nano-USD, rounded half up.
        dollars *= Decimal(perToken ? 1_000_000_000_000_000 : 1_000_000_000)
        var rounded = Decimal()
        NSDecimalRound(&rounded, &dollars, 0, .plain)
        let number = NSDecimalNumber(decimal: rounded)
        guard number.compare(NSDecimalNumber(value: Int64.max)) != .orderedDescending else { return nil }
        return NanoUSD(number.int64Value)
    }
}
