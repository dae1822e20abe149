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
            var models: [ModelInfo] = []
            var failures = 0
            for p in providers {
                do {
                    models += try await p.models(context: context)
                } catch {
                    failures += 1
                    Terminal.err("warning: \(p.id): cannot list models: \(explain(error))\n")
                }
            }
            if json {
                Terminal.out(Terminal.json(.array(models.map(encode))))
            } else {
                let rows = models.map { m in
                    [
                        "\(m.provider)/\(m.id)", m.provider, m.contextWindow.map(String.init) ?? "-",
                        m.inputPricePerMillion.map(\.description) ?? "-", m.outputPricePerMillion.map(\.description) ?? "-",
                    ]
                }
                Terminal.out(Terminal.table(["MODEL", "PROVIDER", "CONTEXT", "INPUT/M", "OUTPUT/M"], rows))
            }
            if failures == providers.count, failures > 0 { throw ExitCode(1) }
        }
    }

    private func encode(_ m: ModelInfo) -> JSONValue {
        [
            "id": .string("\(m.provider)/\(m.id)"), "model": .string(m.id), "provider": .string(m.provider),
            "context_window": m.contextWindow.map { .int(Int64($0)) } ?? .null,
            "input_nano_usd_per_million": m.inputPricePerMillion.map { .int($0.value) } ?? .null,
            "output_nano_usd_per_million": m.outputPricePerMillion.map { .int($0.value) } ?? .null,
            "capabilities": .array(m.capabilities.map(\.rawValue).sorted().map(JSONValue.string)),
        ]
    }
}
