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
        /// Context windows in tokens, by `provider/model`, where the catalogue gives one.
        public var contextWindows: [String: Int] = [:]
        /// Where the catalogue's prices were taken from and when (its `_catalogue` entry), when it says.
        public var origin: String?
    }

    /// The catalogue built into the package (`Resources/prices.json`, written by `scripts/update-prices`).
    public static let builtIn: Loaded = {
        do throws(ConfigError) {
            return try parse(Data(PackageResources.prices_json), path: "built-in prices.json")
        } catch {
            // The test suite reads the file whole; were it broken, a gateway starts unpriced and says so.
            return Loaded(prices: [:], skipped: [], origin: "built-in catalogue unreadable: \(error.message)")
        }
    }()

    /// Reads the file at `path`.
    public static func load(path: String) throws(ConfigError) -> Loaded {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(file: path, line: nil, message: "cannot read the price catalogue")
        }
        return try parse(data, path: path)
    }

    static func parse(_ data: Data, path: String) throws(ConfigError) -> Loaded {
        let json: JSONValue
        do { json = try JSONValue.parse(data) } catch {
            throw ConfigError(file: path, line: nil, message: "the price catalogue is not JSON: \(error)")
        }
        guard case .object(let entries) = json else {
            throw ConfigError(file: path, line: nil, message: "the price catalogue must be a JSON object of models")
        }
        var loaded = Loaded(prices: [:], skipped: [])
        if let origin = entries["_catalogue"] {
            loaded.origin = [origin["source"]?.stringValue, origin["taken"]?.stringValue.map { "taken \($0)" }]
                .compactMap { $0 }.joined(separator: ", ")
        }
        for (key, entry) in entries where key != "sample_spec" && key != "_catalogue" {
            if entry["input_per_million_usd"] != nil {
                guard key.contains("/") else {
                    throw ConfigError(file: path, line: nil, message: "price catalogue key '\(key)' must be \"provider/model\"")
                }
                loaded.prices[key] = try price(entry, perToken: false, names: ownNames, model: key, path: path)
                if case .int(let window) = entry["context_window"], window > 0 { loaded.contextWindows[key] = Int(window) }
            } else if entry["input_cost_per_token"] != nil, let provider = entry["litellm_provider"]?.stringValue {
                // Chat and embedding models; images, audio and rerankers are priced otherwise.
                guard entry["mode"]?.stringValue.map({ ["chat", "completion", "embedding", "responses"].contains($0) }) ?? true else {
                    continue
                }
                let id = providerIDs[provider] ?? provider
                let model = key.hasPrefix(provider + "/") ? String(key.dropFirst(provider.count + 1)) : key
                // LiteLLM's file lists models it has only one of the two prices for: those are left out, and said so.
                do {
                    loaded.prices["\(id)/\(model)"] = try price(entry, perToken: true, names: liteLLMNames, model: key, path: path)
                } catch {
                    loaded.skipped.append(key)
                    continue
                }
                if case .int(let window) = entry["max_input_tokens"], window > 0 { loaded.contextWindows["\(id)/\(model)"] = Int(window) }
            }
        }
        loaded.skipped.sort()
        return loaded
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
        // Per token: times a million; then nano-USD: times a billion.
        return scaledDecimal(text, shift: perToken ? 15 : 9).map(NanoUSD.init)
    }

    /// A decimal number's text (`2.5`, `2.5e-06`, `1E+3`) times 10^`shift`, rounded half up to a whole number; nil when
    /// the text is not such a number, is below zero, or the result passes `Int64.max`. Exact, and without Foundation's
    /// `Decimal(string:locale:)`, whose locale loads ICU's data into every gateway's memory.
    static func scaledDecimal(_ text: String, shift: Int) -> Int64? {
        var bytes = Substring(text).utf8[...]
        let negative = bytes.first == UInt8(ascii: "-")
        if negative || bytes.first == UInt8(ascii: "+") { bytes = bytes.dropFirst() }
        // The value is `digits` (leading zeros dropped) times 10^exponent.
        var digits: [UInt8] = []
        var exponent = 0
        var sawDigit = false
        var sawPoint = false
        while let c = bytes.first, (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || (c == UInt8(ascii: ".") && !sawPoint) {
            bytes = bytes.dropFirst()
            if c == UInt8(ascii: ".") {
                sawPoint = true
                continue
            }
            sawDigit = true
            if !digits.isEmpty || c != UInt8(ascii: "0") { digits.append(c - UInt8(ascii: "0")) }
            if sawPoint { exponent -= 1 }
        }
        guard sawDigit else { return nil }
        if let e = bytes.first, e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            bytes = bytes.dropFirst()
            let minus = bytes.first == UInt8(ascii: "-")
            if minus || bytes.first == UInt8(ascii: "+") { bytes = bytes.dropFirst() }
            guard !bytes.isEmpty, bytes.count <= 4, bytes.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
                let written = Int(String(decoding: bytes, as: UTF8.self))
            else { return nil }
            exponent += minus ? -written : written
            bytes = bytes.dropFirst(bytes.count)
        }
        guard bytes.isEmpty else { return nil }
        if digits.isEmpty { return 0 }
        guard !negative else { return nil }
        let scale = exponent + shift
        // The digits that stay whole, and the first one dropped, which rounds.
        let whole = digits.count + scale
        guard whole <= 19 else { return nil }
        if whole <= 0 { return whole == 0 && digits[0] >= 5 ? 1 : 0 }
        var result: Int64 = 0
        for i in 0..<whole {
            let digit = i < digits.count ? Int64(digits[i]) : 0
            let (times, o1) = result.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times.addingReportingOverflow(digit)
            guard !o1, !o2 else { return nil }
            result = sum
        }
        if whole < digits.count, digits[whole] >= 5 {
            let (up, overflow) = result.addingReportingOverflow(1)
            guard !overflow else { return nil }
            result = up
        }
        return result
    }
}
