import Foundation
public import SwitchboardCore
public import SwitchboardProviders

/// Builds providers and the router from a configuration and the environment.
///
/// Slot order: explicit provider sections in file order, then custom endpoints in declaration order,
/// then, only when the file configures no provider, every registry service whose key variable is set.
/// With no real provider at all the built-in mock is on.
public struct GatewayBuilder: Sendable {
    /// What was built, with warnings for a person.
    public struct Result: Sendable {
        public var gateway: Gateway
        /// Skipped providers, naming what is missing.
        public var warnings: [String]
        /// True when the mock is the only provider.
        public var mockOnly: Bool
    }

    public var config: SwitchboardConfig
    public var environment: Environment
    public var transport: any HTTPTransport
    /// Told of the router's failovers (the server's metrics).
    public var routerObserver: (any RouterObserver)?

    /// Creates a builder.
    public init(
        config: SwitchboardConfig, environment: Environment, transport: any HTTPTransport,
        routerObserver: (any RouterObserver)? = nil
    ) {
        self.config = config
        self.environment = environment
        self.transport = transport
        self.routerObserver = routerObserver
    }

    /// Builds the gateway; a `[router] fallback` naming an unknown provider is an error.
    public func build() throws(ConfigError) -> Result {
        var providers: [any LLMProvider] = []
        var warnings: [String] = []
        let file = config.file ?? "switchboard.toml"

        for section in config.providers where section.enabled {
            if let native = NativeProvider.named(section.id) {
                switch native.make(setup(section)) {
                case .success(let provider): providers.append(provider)
                case .failure(let missing): warnings.append("\(section.id) skipped: \(missing.description)")
                }
                continue
            }
            guard let descriptor = ProviderRegistry.descriptor(id: section.id) else { continue }
            switch resolveKey(section.apiKey, fallbackEnvs: descriptor.keyVariables, required: descriptor.requiresKey) {
            case .missing(let variable):
                warnings.append("\(section.id) skipped: \(variable) is not set")
            case .key(let key):
                if let refused = credentialedURLVariable(descriptor) {
                    warnings.append("\(section.id) skipped: \(refused) must not carry credentials (user:password@)")
                    continue
                }
                var options = OpenAICompatibleProvider.Options(descriptor: descriptor, apiKey: key)
                options.baseURL =
                    section.baseURL.map { baseURL(for: descriptor, configured: $0) }
                    ?? firstSet(descriptor.baseURLVariables)
                options.modelOverride = section.model
                options.tier = section.string("tier").flatMap { descriptor.tiers[$0] }
                providers.append(OpenAICompatibleProvider(options: options, transport: timed(section.timeouts)))
            }
        }
        for endpoint in config.customEndpoints {
            // `id = "groq"` with no URL: the registry's row, with its URL, key variable and quirks.
            let registry = endpoint.baseURL.isEmpty ? ProviderRegistry.descriptor(id: endpoint.id) : nil
            switch resolveKey(endpoint.apiKey, fallbackEnvs: registry?.keyVariables ?? [], required: registry?.requiresKey ?? false) {
            case .missing(let variable):
                warnings.append("\(endpoint.id) skipped: \(variable) is not set")
            case .key(let key):
                if let registry, let refused = credentialedURLVariable(registry) {
                    warnings.append("\(endpoint.id) skipped: \(refused) must not carry credentials (user:password@)")
                    continue
                }
                var descriptor =
                    registry
                    ?? ProviderDescriptor(
                        id: endpoint.id, displayName: "\(endpoint.id) (custom endpoint)",
                        baseURL: endpoint.baseURL, apiKeyEnv: nil, defaultModel: endpoint.model,
                        freeTier: .local)
                descriptor.embeddings = descriptor.embeddings || endpoint.embeddings
                if let path = endpoint.embeddingsPath { descriptor.embeddingsPath = path }
                descriptor.images = descriptor.images || endpoint.images
                if let path = endpoint.imagesPath { descriptor.imagesPath = path }
                if let path = endpoint.responsesPath { descriptor.responsesPath = path }
                var options = OpenAICompatibleProvider.Options(descriptor: descriptor, apiKey: key)
                if let registry { options.baseURL = firstSet(registry.baseURLVariables) }
                options.chatPath = endpoint.chatPath
                options.modelOverride = endpoint.model
                providers.append(OpenAICompatibleProvider(options: options, transport: timed(endpoint.timeouts)))
            }
        }
        for agent in config.cliAgents {
            switch cliAgent(agent) {
            case .success(let provider): providers.append(provider)
            case .failure(let why): warnings.append("\(agent.id) skipped: \(why)")
            }
        }
        if config.providers.isEmpty, config.customEndpoints.isEmpty, config.cliAgents.isEmpty {
            for native in NativeProvider.all {
                if case .success(let provider) = native.make(setup(ProviderSection(id: native.id))) { providers.append(provider) }
            }
            for descriptor in ProviderRegistry.builtIn where descriptor.requiresKey {
                guard descriptor.apiKeyEnv != nil, let key = firstSet(descriptor.keyVariables) else { continue }
                if let refused = credentialedURLVariable(descriptor) {
                    warnings.append("\(descriptor.id) skipped: \(refused) must not carry credentials (user:password@)")
                    continue
                }
                var options = OpenAICompatibleProvider.Options(descriptor: descriptor, apiKey: key)
                options.baseURL = firstSet(descriptor.baseURLVariables)
                providers.append(OpenAICompatibleProvider(options: options, transport: timed(UpstreamTimeouts())))
            }
        }
        composeNatives(&providers, warnings: &warnings)
        let realProviders = providers.count
        if config.mockEnabled == true || (realProviders == 0 && config.mockEnabled != false) {
            providers.append(MockProvider())
        }

        var slots: [RouterSlot] = []
        if config.fallback.isEmpty {
            slots = providers.map { RouterSlot(provider: $0) }
        } else {
            for entry in config.fallback {
                // A configuration made in code is not checked by the loader.
                guard let (id, model) = split(entry) else {
                    throw ConfigError(file: file, line: nil, message: "router.fallback entry '\(entry)' must be \"provider/model\"")
                }
                guard let provider = providers.first(where: { $0.id == id }) else {
                    throw ConfigError(
                        file: file, line: nil,
                        message: "router.fallback names '\(id)', which is not a configured provider")
                }
                slots.append(RouterSlot(provider: provider, model: model))
            }
        }
        let prices = try priceTable(providers, warnings: &warnings)
        let lanes: Lanes
        do {
            lanes = try Lanes(
                config.lanes.isEmpty ? Self.detectedLanes(providers) : config.lanes, providers: providers, prices: prices,
                sats: SatsRate(btcPrice: config.btcPrice),
                observer: routerObserver)
        } catch {
            throw ConfigError(file: file, line: nil, message: error.description)
        }
        let gateway = Gateway(
            providers: providers, router: ProviderRouter(slots: slots, observer: routerObserver),
            defaultModel: config.defaultModel, prices: prices, sats: SatsRate(btcPrice: config.btcPrice),
            catalog: ModelCatalog(openProviders: openProviders(providers)), lanes: lanes)
        return Result(gateway: gateway, warnings: warnings, mockOnly: realProviders == 0)
    }

    /// Lets each built native provider that composes with others (the swarm's local and hybrid modes) do so.
    private func composeNatives(_ providers: inout [any LLMProvider], warnings: inout [String]) {
        for section in config.providers where section.enabled {
            guard let compose = NativeProvider.named(section.id)?.compose, let index = providers.firstIndex(where: { $0.id == section.id })
            else { continue }
            switch compose(section, providers[index], providers) {
            case .success(let provider): providers[index] = provider
            case .failure(let why):
                warnings.append("\(section.id) skipped: \(why.description)")
                providers.remove(at: index)
            }
        }
    }

    /// The lanes a configuration without `[lanes]` gets, over each provider's default model: `default` (every
    /// provider, in order), `cloud` (every hosted one, cheapest first) and `local` (Ollama), when they have slots.
    static func detectedLanes(_ providers: [any LLMProvider]) -> [Lane] {
        let slots: [(id: String, slot: String)] = providers.compactMap { provider in
            guard let model = (provider as? any KnownModels)?.knownModels.first?.id else { return nil }
            return (provider.id, "\(provider.id)/\(model)")
        }
        let local = slots.filter { $0.id.hasPrefix("ollama") }
        let cloud = slots.filter { !$0.id.hasPrefix("ollama") && $0.id != "mock" }
        var lanes = [Lane(name: "default", models: slots.map(\.slot))]
        if !cloud.isEmpty { lanes.append(Lane(name: "cloud", models: cloud.map(\.slot), strategy: .cost)) }
        if !local.isEmpty { lanes.append(Lane(name: "local", models: local.map(\.slot))) }
        return lanes.filter { !$0.models.isEmpty }
    }

    /// The configured custom endpoints that take any model name.
    private func openProviders(_ providers: [any LLMProvider]) -> [String] {
        let open = Set(config.customEndpoints.filter(\.anyModel).map(\.id))
        return providers.map(\.id).filter { open.contains($0) }
    }

    /// The built-in catalogue's prices of the configured providers' models, then the prices providers carry for their own
    /// models, then the catalogue file, then `[pricing]`: each later one overrides.
    private func priceTable(_ providers: [any LLMProvider], warnings: inout [String]) throws(ConfigError) -> PriceTable {
        var table = PriceTable()
        if config.builtInPrices {
            let builtIn = PriceCatalogue.builtIn
            if builtIn.prices.isEmpty, let origin = builtIn.origin { warnings.append(origin) }
            let ids = Set(providers.map(\.id))
            let source = "built-in catalogue" + (builtIn.origin.map { " (\($0))" } ?? "")
            for (key, price) in builtIn.prices where ids.contains(String(key.prefix { $0 != "/" })) {
                table.set(price, for: key, source: source)
                if let window = builtIn.contextWindows[key] { table.contextWindows[key] = window }
            }
        }
        for provider in providers {
            guard let pricing = provider as? any ModelPricing else { continue }
            for (model, price) in pricing.seedPrices { table.set(price, for: "\(provider.id)/\(model)", source: "built-in") }
        }
        if let path = config.priceCatalogue {
            let catalogue = try PriceCatalogue.load(path: path)
            for (key, price) in catalogue.prices { table.set(price, for: key, source: path) }
            table.contextWindows.merge(catalogue.contextWindows) { _, file in file }
            if !catalogue.skipped.isEmpty {
                warnings.append("\(path): \(catalogue.skipped.count) model(s) without both an input and an output price left out")
            }
        }
        for (key, price) in config.prices { table.set(price, for: key, source: "[pricing]") }
        return table
    }

    private struct Skipped: Error, CustomStringConvertible {
        var description: String
    }

    /// The agent's provider: its executable found (a path, or a name on `PATH`), its child's environment made of `PATH`,
    /// `HOME` and the variables the section names, nothing else.
    private func cliAgent(_ section: CLIAgentSection) -> Swift.Result<CLIAgentProvider, Skipped> {
        let command = section.command ?? section.preset.defaultCommand
        let path = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        let candidates = command.contains("/") ? [command] : path.split(separator: ":").map { "\($0)/\(command)" }
        guard let executable = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            return .failure(Skipped(description: "'\(command)' is not an executable on PATH"))
        }
        var options = CLIAgentProvider.Options(id: section.id, preset: section.preset, executable: executable)
        options.arguments = section.arguments
        options.workdir = section.workdir
        options.sandbox = section.sandbox
        options.timeout = .seconds(section.timeoutSeconds)
        options.maxConcurrent = section.maxConcurrent
        options.maxQueued = section.maxQueued
        var env = ["PATH": path]
        if let home = environment["HOME"] { env["HOME"] = home }
        for name in section.environment { if let value = environment[name] { env[name] = value } }
        options.environment = env
        return .success(CLIAgentProvider(options: options))
    }

    private func setup(_ section: ProviderSection) -> NativeProvider.Setup {
        NativeProvider.Setup(
            section: section, environment: environment.values, transport: timed(section.timeouts),
            home: environment["HOME"] ?? NSHomeDirectory())
    }

    /// The transport with a provider's timeouts, `[server]`'s where it sets none.
    private func timed(_ own: UpstreamTimeouts) -> any HTTPTransport {
        let server = UpstreamTimeouts(
            connect: .seconds(config.server.upstreamConnectTimeoutSeconds), firstByte: config.server.upstreamFirstByteTimeout,
            streamIdle: config.server.upstreamStreamIdleTimeout)
        return TimedTransport(transport, timeouts: own.filling(from: server))
    }

    private enum KeyResolution {
        case key(String?)
        case missing(String)
    }

    /// The value of the first of `names` that is set.
    private func firstSet(_ names: [String]) -> String? {
        names.lazy.compactMap { environment[$0] }.first
    }

    private func resolveKey(_ source: SecretSource?, fallbackEnvs: [String], required: Bool) -> KeyResolution {
        switch source {
        case .literal(let key): return .key(key)
        case .env(let name):
            if let value = environment[name] { return .key(value) }
            return .missing(name)
        case nil:
            if let value = firstSet(fallbackEnvs) { return .key(value) }
            if required, let name = fallbackEnvs.first { return .missing(name) }
            return .key(nil)
        }
    }

    /// The descriptor's base-URL variable in use when its value has user-info: such a URL would be quoted with its
    /// password.
    private func credentialedURLVariable(_ descriptor: ProviderDescriptor) -> String? {
        guard let name = descriptor.baseURLVariables.first(where: { environment[$0] != nil }),
            let value = environment[name], ConfigLoader.carriesCredentials(value)
        else { return nil }
        return name
    }

    private func baseURL(for descriptor: ProviderDescriptor, configured: String) -> String {
        var base = configured
        while base.hasSuffix("/") { base.removeLast() }
        return base
    }

    private func split(_ slot: String) -> (String, String)? {
        guard let slash = slot.firstIndex(of: "/"), slash != slot.startIndex, slot.index(after: slash) != slot.endIndex else {
            return nil
        }
        return (String(slot[..<slash]), String(slot[slot.index(after: slash)...]))
    }
}
