import ArgumentParser
import Switchboard

struct PricingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pricing", abstract: "List the prices used for cost and where each came from: built-in, the catalogue file, [pricing]."
    )

    @OptionGroup var options: GatewayOptions

    @Flag(name: .long, help: "Print JSON (integer nano-USD per million tokens).")
    var json = false

    func run() async throws {
        try await reportingErrors {
            let loaded = try options.load(quiet: true)
            let table = loaded.gateway.prices
            let rows = table.prices.sorted { $0.key < $1.key }
            if json {
                Terminal.out(
                    Terminal.json(
                        .array(
                            rows.map { key, p in
                                [
                                    "model": .string(key), "input_nano_usd_per_million": .int(p.inputPerMillion.value),
                                    "output_nano_usd_per_million": .int(p.outputPerMillion.value),
                                    "cached_input_nano_usd_per_million": p.cachedInputPerMillion.map { .int($0.value) } ?? .null,
                                    "reasoning_nano_usd_per_million": p.reasoningPerMillion.map { .int($0.value) } ?? .null,
                                    "cache_write_nano_usd_per_million": p.cacheWritePerMillion.map { .int($0.value) } ?? .null,
                                    "context_window": table.contextWindows[key].map { .int(Int64($0)) } ?? .null,
                                    "source": table.sources[key].map(JSONValue.string) ?? .null,
                                ]
                            })))
            } else {
                Terminal.out(
                    Terminal.table(
                        ["MODEL", "INPUT/M", "OUTPUT/M", "CACHED INPUT/M", "CACHE WRITE/M", "SOURCE"],
                        rows.map { key, p in
                            [
                                key, p.inputPerMillion.description, p.outputPerMillion.description,
                                p.cachedInputPerMillion?.description ?? "-", p.cacheWritePerMillion?.description ?? "-",
                                table.sources[key] ?? "-",
                            ]
                        }))
                Terminal.err("models without a row have no known price: their cost is recorded as unknown, never 0\n")
            }
        }
    }
}
