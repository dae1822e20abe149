import Foundation
import SwitchboardCore
@testable import SwitchboardServer
import SwitchboardStorage
import SwitchboardTesting
import Testing

/// Spend on `/metrics`: cost by provider, model, lane and key, and what is left of each key's budget.
@Suite(.timeLimit(.minutes(1))) struct SpendMetricsTests {
    static func value(_ metrics: String, _ name: String, labels: [String]) -> Double? {
        metrics.split(separator: "\n").first { line in
            line.hasPrefix(name + "{") && labels.allSatisfy { line.contains($0) }
        }.flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    @Test func costIsCountedByProviderModelLaneAndKeyAndBudgetsShowWhatIsLeft() async throws {
        let gateway = try await LiveGateway.start(lanes: [Lane(name: "fast", models: ["fake/fake-model"])])
        try await LiveGateway.with(gateway) { gw in
            var reply = FakeReply("priced")
            reply.usage = Usage(inputTokens: 1000, outputTokens: 1000)
            gw.fake.setDefault(.reply(reply))
            let (record, secret) = try await gw.store.createKey(
                NewAPIKey(name: "spender", limits: UsageLimits(budgetPerDay: NanoUSD(usd: "1"))))
            for model in ["fake/fake-model", "lane:fast"] {
                #expect(try await gw.send("POST", "/v1/chat/completions", json: chatBody(model), key: secret).status == 200)
            }
            // 1,000 tokens each way at $2.25 and $2.75 per million: 5,000,000 nano-USD a request.
            let key = "key=\"\(record.id)\""
            // A request answered on the event loop is counted just after its answer is written.
            var metrics = ""
            _ = try await eventually {
                metrics = try await gw.send("GET", "/metrics", key: nil).body
                return Self.value(metrics, "switchboard_cost_nano_usd_total", labels: [key, "lane=\"fast\""]) != nil
                    && Self.value(metrics, "switchboard_cost_nano_usd_total", labels: [key, "lane=\"\""]) != nil
            }
            #expect(
                Self.value(
                    metrics, "switchboard_cost_nano_usd_total", labels: [key, "lane=\"\"", "provider=\"fake\"", "model=\"fake-model\""])
                    == 5_000_000, "\(metrics)")
            #expect(
                Self.value(metrics, "switchboard_cost_nano_usd_total", labels: [key, "lane=\"fast\""]) == 5_000_000,
                "\(metrics.split(separator: "\n").filter { $0.contains("cost_nano") })")
            #expect(
                try await eventually {
                    let m = try await gw.send("GET", "/metrics", key: nil).body
                    return Self.value(m, "switchboard_budget_remaining_nano_usd", labels: [key, "period=\"day\""]) == 990_000_000
                })
        }
    }

    @Test func spendIsLabelledWithAModelTheConfigurationNamesBeforeAnyListingArrives() {
        let metrics = GatewayMetrics()
        // As the server sets it up: models named with their provider ("fake/fake-model", from a price), providers by id.
        metrics.limitLabels(to: .init(isKnownModel: { $0 == "fake/fake-model" }, isKnownProvider: { $0 == "fake" }))
        metrics.spend(provider: "fake", model: "fake-model", lane: "", key: "k", cost: NanoUSD(5))
        metrics.spend(provider: "fake", model: "client-chosen", lane: "", key: "k", cost: NanoUSD(7))
        let text = String(decoding: metrics.exposition(), as: UTF8.self)
        #expect(Self.value(text, "switchboard_cost_nano_usd_total", labels: [#"model="fake-model""#]) == 5, "\(text)")
        #expect(Self.value(text, "switchboard_cost_nano_usd_total", labels: [#"model="other""#]) == 7, "\(text)")
    }
}
