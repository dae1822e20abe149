import Foundation
@testable import SwitchboardConfig
import SwitchboardCore
import SwitchboardProviders
import Testing
import SwitchboardTesting

/// `[pricing] catalogue`: a whole price list from a file, in this project's format or LiteLLM's, exact to the nano-USD.
@Suite struct PriceCatalogueTests {
    func file(_ text: String) throws -> String {
        let path = ScratchFiles.path("prices", suffix: ".json")
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func usd(_ text: String) -> NanoUSD { NanoUSD(usd: text)! }

    @Test func liteLLMsFileIsReadExactlyWithItsProvidersNamedAsHere() throws {
        let path = try file(
            """
            {"sample_spec": {"input_cost_per_token": 0, "output_cost_per_token": 0, "litellm_provider": "one of https://docs.litellm.ai/docs/providers"},
             "gpt-4o": {"input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05, "cache_read_input_token_cost": 1.25e-06,
                        "litellm_provider": "openai", "mode": "chat", "max_input_tokens": 128000},
             "claude-sonnet-4-5": {"input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05, "cache_read_input_token_cost": 3e-07,
                                   "cache_creation_input_token_cost": 3.75e-06, "litellm_provider": "anthropic", "mode": "chat"},
             "groq/llama3-8b-8192": {"input_cost_per_token": 5e-08, "output_cost_per_token": 8e-08, "litellm_provider": "groq", "mode": "chat"},
             "together_ai/meta-llama/Llama-3-70b": {"input_cost_per_token": 9e-07, "output_cost_per_token": 9e-07,
                                                    "litellm_provider": "together_ai", "mode": "chat"},
             "dall-e-3": {"input_cost_per_pixel": 4e-08, "litellm_provider": "openai", "mode": "image_generation"},
             "half-priced": {"input_cost_per_token": 1e-06, "litellm_provider": "openai", "mode": "chat"}}
            """)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let loaded = try PriceCatalogue.load(path: path)
        #expect(
            loaded.prices["openai/gpt-4o"]
                == ModelPrice(inputPerMillion: usd("2.5"), outputPerMillion: usd("10"), cachedInputPerMillion: usd("1.25")))
        #expect(loaded.prices["groq/llama3-8b-8192"] == ModelPrice(inputPerMillion: usd("0.05"), outputPerMillion: usd("0.08")))
        #expect(loaded.prices["together/meta-llama/Llama-3-70b"]?.inputPerMillion == usd("0.9"))
        #expect(
            loaded.prices["anthropic/claude-sonnet-4-5"]
                == ModelPrice(
                    inputPerMillion: usd("3"), outputPerMillion: usd("15"), cachedInputPerMillion: usd("0.3"),
                    cacheWritePerMillion: usd("3.75")))
        #expect(loaded.prices.count == 4)
        #expect(loaded.skipped == ["half-priced"])
    }

    @Test func theCatalogueIsUnderPricingAndOverBuiltInPricesAndEachPriceSaysWhereItCameFrom() throws {
        let path = try file(
            """
            {"cerebras/zai-glm-4.7": {"input_per_million_usd": "3", "output_per_million_usd": 4},
             "cerebras/llama-3.3-70b": {"input_per_million_usd": 0.85, "output_per_million_usd": "1.2"}}
            """)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let text = """
            [providers.cerebras]
            api_key = "c"
            [pricing]
            catalogue = "\(path)"
            [pricing."cerebras/llama-3.3-70b"]
            input_per_million_usd = 1
            output_per_million_usd = 1
            """
        let built = try GatewayBuilder(
            config: try ConfigLoader.parse(text), environment: Environment([:]), transport: NIOHTTPTransport.shared
        )
        .build()
        let prices = built.gateway.prices
        #expect(
            prices.price(provider: "cerebras", model: "zai-glm-4.7") == ModelPrice(inputPerMillion: usd("3"), outputPerMillion: usd("4")))
        #expect(prices.sources["cerebras/zai-glm-4.7"] == path)
        #expect(prices.price(provider: "cerebras", model: "llama-3.3-70b")?.inputPerMillion == usd("1"))
        #expect(prices.sources["cerebras/llama-3.3-70b"] == "[pricing]")
        let bad = try file(#"{"no-provider": {"input_per_million_usd": 1, "output_per_million_usd": 1}}"#)
        defer { try? FileManager.default.removeItem(atPath: bad) }
        #expect(throws: ConfigError.self) { try PriceCatalogue.load(path: bad) }
        #expect(throws: ConfigError.self) { try PriceCatalogue.load(path: "/nonexistent/prices.json") }
    }

    @Test func theBuiltInCatalogueReadsWholeAndSaysWhereAndWhenItsPricesWereTaken() throws {
        let builtIn = PriceCatalogue.builtIn
        let origin = try #require(builtIn.origin)
        #expect(origin.contains("LiteLLM") && origin.contains("taken 20"))
        // Every row of the file is priced: a row the reader dropped would be a model silently unpriced.
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "../../Sources/SwitchboardConfig/Resources/prices.json")
        let rows = try String(contentsOf: file, encoding: .utf8).split(separator: "\n").filter { $0.hasPrefix("\"") }
        #expect(builtIn.prices.count == rows.count - 1)
        #expect(builtIn.skipped.isEmpty)
        for provider in ["openai", "anthropic", "gemini", "groq", "mistral", "deepseek", "xai", "together", "fireworks", "cerebras"] {
            #expect(builtIn.prices.keys.contains { $0.hasPrefix(provider + "/") }, "no built-in price for \(provider)")
        }
        for (key, price) in builtIn.prices {
            #expect(price.inputPerMillion.value >= 0 && price.outputPerMillion.value >= 0, "\(key)")
        }
    }

    @Test func builtInPricesCoverOnlyConfiguredProvidersAndGiveWayToEverythingWrittenHere() throws {
        let (key, price) = try #require(PriceCatalogue.builtIn.prices.first { $0.key.hasPrefix("openai/") })
        let model = String(key.dropFirst("openai/".count))
        func table(_ extra: String) throws -> PriceTable {
            try GatewayBuilder(
                config: try ConfigLoader.parse("[providers.openai]\napi_key = \"k\"\n" + extra), environment: Environment([:]),
                transport: NIOHTTPTransport.shared
            )
            .build().gateway.prices
        }
        let plain = try table("")
        #expect(plain.price(provider: "openai", model: model) == price)
        #expect(plain.sources[key]?.hasPrefix("built-in catalogue (LiteLLM") == true)
        #expect(!plain.prices.keys.contains { $0.hasPrefix("anthropic/") })
        if PriceCatalogue.builtIn.contextWindows[key] != nil {
            #expect(plain.contextWindows[key] == PriceCatalogue.builtIn.contextWindows[key])
        }

        let overridden = try table("[pricing.\"\(key)\"]\ninput_per_million_usd = 7\noutput_per_million_usd = 8\n")
        #expect(overridden.price(provider: "openai", model: model) == ModelPrice(inputPerMillion: usd("7"), outputPerMillion: usd("8")))
        #expect(overridden.sources[key] == "[pricing]")

        let off = try table("[pricing]\nbuiltin = false\n")
        #expect(off.price(provider: "openai", model: model) == nil)
        #expect(throws: ConfigError.self) { try ConfigLoader.parse("[pricing]\nbuiltin = \"no\"\n") }
    }
}

/// The catalogue's decimal reader: exact, rounded half up, and strict about what it takes.
@Suite struct ScaledDecimalTests {
    @Test(
        arguments: [
            ("2.5", 9, 2_500_000_000), ("2.5e-06", 15, 2_500_000_000), ("1e-05", 15, 10_000_000_000), ("5e-08", 15, 50_000_000),
            ("12", 9, 12_000_000_000), ("1E+3", 0, 1_000), (".5", 0, 1), ("5.", 0, 5), ("0.0000000015", 9, 2), ("0.0000000014", 9, 1),
            ("0.0000000005", 9, 1), ("0.00000000049", 9, 0), ("-0", 9, 0), ("0.000", 9, 0), ("9223372036854775807", 0, Int64.max),
            ("922337203685477580.74", 1, Int64.max), ("+3", 0, 3),
        ] as [(String, Int, Int64)])
    func readsDecimalTextExactly(text: String, shift: Int, expected: Int64) {
        #expect(PriceCatalogue.scaledDecimal(text, shift: shift) == expected)
    }

    @Test(arguments: [
        "", ".", "-1", "-0.5", "abc", "1.2.3", "1e", "1e+", "1 ", " 1", "1e99999", "9223372036854775808", "1e19", "0x10", "1,5",
    ])
    func refusesWhatIsNotAPrice(text: String) {
        #expect(PriceCatalogue.scaledDecimal(text, shift: 0) == nil)
    }

    /// Foundation's decimal arithmetic, the way the catalogue read prices before.
    static func reference(_ text: String, shift: Int) -> Int64? {
        guard var value = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")), value >= 0 else { return nil }
        value *= pow(Decimal(10), shift)
        var rounded = Decimal()
        NSDecimalRound(&rounded, &value, 0, .plain)
        let number = NSDecimalNumber(decimal: rounded)
        guard number.compare(NSDecimalNumber(value: Int64.max)) != .orderedDescending else { return nil }
        return number.int64Value
    }

    @Test func agreesWithFoundationsDecimalsOnPricesAsJSONWritesThem() {
        var generator = SeededGenerator(seed: 2026)
        for _ in 0..<5_000 {
            let price = Double.random(in: 0...1, using: &generator) * pow(10, Double(Int.random(in: -12...4, using: &generator)))
            let text = "\(price)"
            for shift in [9, 15] {
                #expect(PriceCatalogue.scaledDecimal(text, shift: shift) == Self.reference(text, shift: shift), "\(text) at \(shift)")
            }
        }
    }
}
