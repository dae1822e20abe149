import ArgumentParser
import Switchboard

struct HealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health", abstract: "Probe every configured provider; exit 1 if any is down.")

    @OptionGroup var options: GatewayOptions

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    func run() async throws {
        try await reportingErrors {
            let loaded = try options.load(quiet: json)
            let context = options.context(loaded.logger, timeout: .seconds(15))
            let results = await probe(loaded.gateway.providers, context: context)
            let ids = loaded.gateway.providers.map(\.id)
            if json {
                Terminal.out(
                    Terminal.json(
                        .array(
                            zip(ids, results).map { id, h in
                                [
                                    "provider": .string(id), "status": .string(h.status.rawValue),
                                    "latency_ms": h.latency.map { .int($0.inMilliseconds) } ?? .null,
                                    "message": h.message.map(JSONValue.string) ?? .null,
                                ]
                            })))
            } else {
                let rows = zip(ids, results).map { id, h in
                    [id, h.status.rawValue, h.latency.map { "\($0.inMilliseconds) ms" } ?? "-", h.message ?? ""]
                }
                Terminal.out(Terminal.table(["PROVIDER", "STATUS", "LATENCY", "DETAIL"], rows))
            }
            if results.contains(where: { $0.status == .down }) { throw ExitCode(1) }
        }
    }
}

/// Probes every provider at once; the results in the providers' order.
func probe(_ providers: [any LLMProvider], context: CallContext) async -> [ProviderHealth] {
    await withTaskGroup(of: (Int, ProviderHealth).self) { group in
        for (i, p) in providers.enumerated() {
            group.addTask { (i, await p.health(context: context)) }
        }
        var out: [(Int, ProviderHealth)] = []
        for await r in group { out.append(r) }
        return out.sorted { $0.0 < $1.0 }.map(\.1)
    }
}
