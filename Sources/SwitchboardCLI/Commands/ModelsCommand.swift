import ArgumentParser
import Switchboard

struct ModelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "models", abstract: "List the models of configured providers.")

    @OptionGroup var options: GatewayOptions

    @Option(name: .long, help: "Only this provider.")
    var provider: String?

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    func run() async throws {
        try await reportingErrors {
            let loaded = try options.load(quiet: json)
            var providers = loaded.gateway.providers
            if let provider {
                providers = providers.filter { $0.id == provider }
                guard !providers.isEmpty else { throw ValidationError("provider '\(provider)' is not configured") }
            }
            let context = options.context(loaded.logger, timeout: .seconds(30))
            // A provider that cannot be asked (offline, no key) is listed from what the gateway knows of it.
            var models: [(model: ModelInfo, live: Bool)] = []
            for p in providers {
                do {
                    models += try await p.models(context: context).map { ($0, true) }
                } catch {
                    let known = loaded.gateway.knownModels(of: p)
                    let fallback = known.isEmpty ? "" : "; listing its \(known.count) built-in model(s), not live"
                    Terminal.err("warning: \(p.id): cannot list models: \(explain(error))\(fallback)\n")
                    models += known.map { ($0, false) }
                }
            }
            if json {
                Terminal.out(Terminal.json(.array(models.map { encode($0.model, live: $0.live) })))
            } else {
                let rows = models.map { m, live in
                    [
                        "\(m.provider)/\(m.id)", m.provider, m.contextWindow.map(String.init) ?? "-",
                        m.inputPricePerMillion.map(\.description) ?? "-", m.outputPricePerMillion.map(\.description) ?? "-",
                        live ? "live" : "built-in",
                    ]
                }
                Terminal.out(Terminal.table(["MODEL", "PROVIDER", "CONTEXT", "INPUT/M", "OUTPUT/M", "SOURCE"], rows))
            }
            if models.isEmpty, !providers.isEmpty { throw ExitCode(1) }
        }
    }

    private func encode(_ m: ModelInfo, live: Bool) -> JSONValue {
        [
            "live": .bool(live),
            "id": .string("\(m.provider)/\(m.id)"), "model": .string(m.id), "provider": .string(m.provider),
            "name": m.displayName.map(JSONValue.string) ?? .null, "context_window": m.contextWindow.map { .int(Int64($0)) } ?? .null,
            "input_nano_usd_per_million": m.inputPricePerMillion.map { .int($0.value) } ?? .null,
            "output_nano_usd_per_million": m.outputPricePerMillion.map { .int($0.value) } ?? .null,
            "capabilities": .array(m.capabilities.map(\.rawValue).sorted().map(JSONValue.string)),
        ]
    }
}
