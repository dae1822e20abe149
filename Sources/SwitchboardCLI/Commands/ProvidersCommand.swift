import ArgumentParser
import Switchboard

struct ProvidersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "providers", abstract: "List every provider Switchboard knows, configured or not.")

    @OptionGroup var options: GatewayOptions

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    func run() async throws {
        try await reportingErrors {
            let loaded = try options.load(quiet: true)
            let configured = Set(loaded.gateway.providers.map(\.id))
            var rows: [[String]] = []
            let native = Set(NativeProvider.all.map(\.listing).map(\.id))
            // A native provider replaces the registry row of the same id (Ollama's /v1 shim).
            for d in ProviderRegistry.builtIn where !native.contains(d.id) {
                rows.append([
                    d.id, d.displayName, configured.contains(d.id) ? "yes" : "no",
                    d.apiKeyEnv ?? "-", d.baseURL, d.note ?? "",
                ])
            }
            for n in NativeProvider.all.map(\.listing) {
                rows.append([n.id, n.name, configured.contains(n.id) ? "yes" : "no", n.keyVariables, n.baseURL, n.note])
            }
            for p in loaded.gateway.providers where ProviderRegistry.descriptor(id: p.id) == nil && p.id != "mock" && !native.contains(p.id)
            {
                let base = (p as? OpenAICompatibleProvider)?.descriptor.baseURL ?? "-"
                rows.append([p.id, p.displayName, "yes", "-", base, "custom endpoint"])
            }
            rows.append([
                "mock", MockProvider().displayName, configured.contains("mock") ? "yes" : "no", "-", "-",
                "mock: on when nothing else is configured",
            ])
            if json {
                Terminal.out(
                    Terminal.json(
                        .array(
                            rows.map { r in
                                [
                                    "id": .string(r[0]), "name": .string(r[1]), "configured": .bool(r[2] == "yes"),
                                    "key_env": r[3] == "-" ? .null : .string(r[3]), "base_url": .string(r[4]), "note": .string(r[5]),
                                ]
                            })))
            } else {
                Terminal.out(Terminal.table(["ID", "NAME", "CONFIGURED", "KEY VARIABLE", "BASE URL", "NOTE"], rows))
            }
        }
    }
}
