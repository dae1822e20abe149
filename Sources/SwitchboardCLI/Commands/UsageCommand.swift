import ArgumentParser
import Foundation
import Switchboard
import SwitchboardStorage

struct UsageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "usage", abstract: "Usage and cost from the ledger: totals and a per-model table.")

    @OptionGroup var options: GatewayOptions

    @Option(name: .long, help: "Only records since: a date (2026-11-01), a time (2026-11-01T12:00:00Z) or an age (90m, 24h, 7d).")
    var since: String?

    @Option(name: .long, help: "Only this key id.")
    var key: String?

    @Option(name: .long, help: "Only this model (bare or provider/model).")
    var model: String?

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    func run() async throws {
        try await reportingErrors {
            let store = try await openStore(try options.load(quiet: true))
            var filter = UsageFilter(keyID: key, model: model)
            if let since { filter.since = try Self.parseSince(since) }
            let totals = try await store.totals(filter)
            guard let all = totals.last else { return }
            let perModel = totals.dropLast()
            if json {
                func encode(_ t: UsageTotals) -> JSONValue {
                    [
                        "provider": t.provider.map(JSONValue.string) ?? .null, "model": t.model.map(JSONValue.string) ?? .null,
                        "requests": .int(Int64(t.requests)), "input_tokens": .int(Int64(t.inputTokens)),
                        "output_tokens": .int(Int64(t.outputTokens)), "cost_nano_usd": .int(t.costNanoUSD),
                        "cost_usd": .string(NanoUSD(t.costNanoUSD).usdString), "unpriced_requests": .int(Int64(t.unpricedRequests)),
                        "corrupt_records": .int(Int64(t.corruptRecords)), "paid_msats": .int(t.paidMsats),
                    ]
                }
                Terminal.out(Terminal.json(["total": encode(all), "models": .array(perModel.map(encode))]))
                return
            }
            Terminal.out(
                "requests \(all.requests) · input \(all.inputTokens) · output \(all.outputTokens) tokens · cost \(NanoUSD(all.costNanoUSD))"
                    + (all.paidMsats > 0 ? " (of which \(all.paidMsats) msats paid to the swarm)" : "")
                    + (all.unpricedRequests > 0 ? " (+\(all.unpricedRequests) requests with no known price)" : "")
                    + (all.corruptRecords > 0 ? " (\(all.corruptRecords) corrupt records left out of the sums)" : "") + "\n\n")
            Terminal.out(
                Terminal.table(
                    ["MODEL", "REQUESTS", "INPUT", "OUTPUT", "COST", "MSATS", "UNPRICED"],
                    perModel.map { t in
                        [
                            "\(t.provider ?? "-")/\(t.model ?? "-")", String(t.requests), String(t.inputTokens), String(t.outputTokens),
                            NanoUSD(t.costNanoUSD).description, t.paidMsats > 0 ? String(t.paidMsats) : "-", String(t.unpricedRequests),
                        ]
                    }))
        }
    }

    static func parseSince(_ text: String, now: Date = Date()) throws -> Date {
        if let unit = text.last, let n = Double(text.dropLast()), "mhd".contains(unit) {
            let seconds = n * (unit == "m" ? 60 : unit == "h" ? 3600 : 86_400)
            return now.addingTimeInterval(-seconds)
        }
        let full = ISO8601DateFormatter()
        if let d = full.date(from: text) { return d }
        let day = ISO8601DateFormatter()
        day.formatOptions = [.withFullDate]
        if let d = day.date(from: text) { return d }
        throw ValidationError("--since must be a date (2026-11-01), a time (2026-11-01T12:00:00Z) or an age (90m, 24h, 7d), not '\(text)'")
    }
}
