import SwitchboardCore
import Testing

@Suite struct MoneyTests {
    @Test func parsesDollarsExactly() {
        #expect(NanoUSD(usd: "2.25")?.value == 2_250_000_000)
        #expect(NanoUSD(usd: "0.0000005")?.value == 500)
        #expect(NanoUSD(usd: "1")?.value == 1_000_000_000)
        #expect(NanoUSD(usd: ".5")?.value == 500_000_000)
        #expect(NanoUSD(usd: "0.0000000001") == nil)
        #expect(NanoUSD(usd: "abc") == nil)
        #expect(NanoUSD(usd: "1.2.3") == nil)
        #expect(NanoUSD(2_250_000_000).usdString == "2.25")
        #expect(NanoUSD(123).usdString == "0.000000123")
        #expect(NanoUSD(0).usdString == "0.00" && NanoUSD(-1_500_000_000).usdString == "-1.50")
        #expect(NanoUSD(10).usdString == "0.00000001" && NanoUSD(1_000_000_000_000).usdString == "1000.00")
        #expect(NanoUSD(.max).usdString == "9223372036.854775807" && NanoUSD(.min).usdString == "-9223372036.854775808")
    }

    @Test func dollarStringsMatchTheDecimalAmountForEveryMagnitude() {
        // The plain decimal rendering: whole dollars, a point, the nine decimals with trailing zeros cut down to two.
        func reference(_ value: Int64) -> String {
            let magnitude = value.magnitude
            var fraction = String(magnitude % 1_000_000_000)
            fraction = String(repeating: "0", count: 9 - fraction.count) + fraction
            while fraction.count > 2, fraction.hasSuffix("0") { fraction.removeLast() }
            return (value < 0 ? "-" : "") + "\(magnitude / 1_000_000_000)." + fraction
        }
        var generator = SystemRandomNumberGenerator()
        var values: [Int64] = [0, 1, -1, 9, 10, 99, 100, 999_999_999, 1_000_000_000, -1_000_000_001, .max, .min]
        var power: Int64 = 1
        for _ in 0..<18 {
            values += [power, power - 1, power + 1, -power]
            power *= 10
        }
        values += (0..<2000).map { _ in Int64.random(in: .min ... .max, using: &generator) }
        values += (0..<2000).map { _ in Int64.random(in: -10_000_000_000...10_000_000_000, using: &generator) }
        for value in values { #expect(NanoUSD(value).usdString == reference(value), "\(value)") }
    }

    @Test func costRoundsEachComponentHalfUp() {
        let price = ModelPrice(inputPerMillion: NanoUSD(usd: "2.25")!, outputPerMillion: NanoUSD(usd: "2.75")!)
        // 1000 * 2.25e9 / 1e6 = 2_250_000 exactly; 333 * 2.75e9 / 1e6 = 915_750 exactly.
        #expect(price.cost(of: Usage(inputTokens: 1000, outputTokens: 333)).value == 2_250_000 + 915_750)
        let tiny = ModelPrice(inputPerMillion: NanoUSD(1_500_000), outputPerMillion: NanoUSD(499_999))
        // 1 token * 1.5 nano = 1.5 -> 2 (half up); 1 * 0.499999 -> 0.
        #expect(tiny.cost(of: Usage(inputTokens: 1, outputTokens: 1)).value == 2)
    }

    @Test func cachedAndReasoningTokensUseTheirPrices() {
        let price = ModelPrice(
            inputPerMillion: NanoUSD(1_000_000_000), outputPerMillion: NanoUSD(2_000_000_000),
            cachedInputPerMillion: NanoUSD(100_000_000), reasoningPerMillion: NanoUSD(4_000_000_000))
        let cost = price.cost(of: Usage(inputTokens: 1_000_000, outputTokens: 1_000_000, reasoningTokens: 500_000, cachedTokens: 500_000))
        #expect(cost.value == 500_000_000 + 50_000_000 + 1_000_000_000 + 2_000_000_000)
    }

    @Test func theCostIsKeptByTokenClassAndItsPartsAddUpToTheTotal() {
        let price = ModelPrice(
            inputPerMillion: NanoUSD(3_000_000_000), outputPerMillion: NanoUSD(15_000_000_000),
            cachedInputPerMillion: NanoUSD(300_000_000), reasoningPerMillion: NanoUSD(20_000_000_000),
            cacheWritePerMillion: NanoUSD(3_750_000_000))
        // 1,000 input of which 200 read from and 300 written to the prompt cache; 400 output of which 100 reasoning.
        let usage = Usage(inputTokens: 1000, outputTokens: 400, reasoningTokens: 100, cachedTokens: 200, cacheWriteTokens: 300)
        let costs = price.costs(of: usage)
        #expect(
            costs
                == CostBreakdown(
                    input: NanoUSD(1_500_000), cacheRead: NanoUSD(60_000), cacheWrite: NanoUSD(1_125_000), output: NanoUSD(4_500_000),
                    reasoning: NanoUSD(2_000_000)))
        #expect(costs.total == price.cost(of: usage) && costs.total.value == 9_185_000)
        // Without a cache-write price, written tokens cost what input costs: the total is what it was before.
        var plain = price
        plain.cacheWritePerMillion = nil
        #expect(
            plain.cost(of: usage) == plain.cost(of: Usage(inputTokens: 1000, outputTokens: 400, reasoningTokens: 100, cachedTokens: 200)))
        // Counts that overlap impossibly are clamped: reads first, then writes, never more than the input.
        let odd = price.costs(of: Usage(inputTokens: 100, outputTokens: 0, cachedTokens: 80, cacheWriteTokens: 80))
        #expect(odd.input == .zero && odd.cacheRead.value == 24_000 && odd.cacheWrite.value == 75_000)
    }

    @Test func hugeTokenCountsDoNotOverflow() {
        let price = ModelPrice(inputPerMillion: NanoUSD(150_000_000_000), outputPerMillion: NanoUSD(600_000_000_000))
        let cost = price.cost(of: Usage(inputTokens: 1_000_000_000_000, outputTokens: 1_000_000_000))
        #expect(cost.value == 150_000_000_000_000_000 + 600_000_000_000_000)
    }
}

@Suite struct PriceTableTests {
    @Test func unknownModelsHaveNoCostNeverZero() {
        var table = PriceTable()
        table.set(ModelPrice(inputPerMillion: NanoUSD(usd: "2.25")!, outputPerMillion: NanoUSD(usd: "2.75")!), for: "cerebras/zai-glm-4.7")
        #expect(table.cost(provider: "cerebras", model: "zai-glm-4.7", usage: Usage(inputTokens: 1_000_000))?.value == 2_250_000_000)
        #expect(table.cost(provider: "cerebras", model: "other", usage: Usage(inputTokens: 1)) == nil)
    }

    @Test func msatsAreExactAtTheConfiguredRate() {
        let rate = SatsRate(btcPrice: NanoUSD(usd: "100000")!)
        // $1 at $100,000/BTC is 0.00001 BTC = 1,000,000 msats.
        #expect(rate.msats(NanoUSD(usd: "1")!) == 1_000_000)
        // 53,250 nano-USD = $0.00005325 -> 53.25 msats -> 53.
        #expect(rate.msats(NanoUSD(53_250)) == 53)
        #expect(rate.msats(NanoUSD(55_000)) == 55)
        #expect(SatsRate(btcPrice: NanoUSD(usd: "64000")!).msats(NanoUSD(usd: "0.000032")!) == 50)
    }
}
