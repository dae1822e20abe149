import Foundation
import SwitchboardCore
import SwitchboardProviders
import TOMLKit

/// Reads `switchboard.toml` into a validated `SwitchboardConfig`.
public enum ConfigLoader {
    /// The config path: `--config`, else `SWITCHBOARD_CONFIG`, else `./switchboard.toml` when present.
    public static func resolvePath(explicit: String?, environment: Environment) -> String? {
        if let explicit { return explicit }
        if let fromEnv = environment["SWITCHBOARD_CONFIG"] { return fromEnv }
        return FileManager.default.fileExists(atPath: "switchboard.toml") ? "switchboard.toml" : nil
    }

    /// Whether a URL has user-info (`user:password@host`).
    static func carriesCredentials(_ url: String) -> Bool {
        ProviderSection.carriesCredentials(url)
    }

    /// Loads and validates a file; an explicitly named file that is missing is an error.
    public static func load(path: String) throws(ConfigError) -> SwitchboardConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(file: path, line: nil, message: "cannot read the configuration file")
        }
        var config = try parse(String(decoding: data, as: UTF8.self), file: path)
        config.file = path
        // A relative catalogue path is the configuration file's neighbour.
        if let catalogue = config.priceCatalogue, !catalogue.hasPrefix("/") {
            config.priceCatalogue = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent(catalogue).path
        }
        return config
    }

    /// Parses and validates TOML text.
    public static func parse(_ text: String, file: String = "switchboard.toml") throws(ConfigError) -> SwitchboardConfig {
        let table: TOMLTable
        do { table = try TOMLTable(string: text) } catch let error as TOMLParseError {
            throw ConfigError(file: file, line: error.source.begin.line, message: "TOML syntax: \(error.description)")
        } catch {
            throw ConfigError(file: file, line: nil, message: "TOML syntax: \(error)")
        }
        let reader = Reader(source: TOMLSource(file: file, text: text))
        return try reader.read(TOMLNode(table))
    }
}

/// Walks the parsed document, checking every key and value.
struct Reader {
    let source: TOMLSource

    func fail(_ message: String, key: String, table: String, occurrence: Int = 0) -> ConfigError {
        ConfigError(file: source.file, line: source.keyLine(key, table: table, occurrence: occurrence), message: message)
    }

    func entries(_ node: TOMLNode, table: String, key: String, occurrence: Int = 0) throws(ConfigError) -> [(String, TOMLNode)] {
        guard case .table(let items) = node else {
            throw fail("'\(table.isEmpty ? key : table)' must be a table, not \(node.typeName)", key: key, table: table)
        }
        return items
    }

    func string(_ node: TOMLNode, _ path: String, key: String, table: String, occurrence: Int = 0) throws(ConfigError) -> String {
        guard case .string(let s) = node else {
            throw fail("'\(path)' must be a string, not \(node.typeName)", key: key, table: table, occurrence: occurrence)
        }
        return s
    }

    func bool(_ node: TOMLNode, _ path: String, key: String, table: String, occurrence: Int = 0) throws(ConfigError) -> Bool {
        guard case .bool(let b) = node else {
            throw fail("'\(path)' must be a boolean, not \(node.typeName)", key: key, table: table, occurrence: occurrence)
        }
        return b
    }

    /// A path on an endpoint's base URL: it starts with '/'.
    func urlPath(_ node: TOMLNode, _ path: String, key: String, table: String, occurrence: Int = 0) throws(ConfigError) -> String {
        let p = try string(node, path, key: key, table: table, occurrence: occurrence)
        guard p.hasPrefix("/") else { throw fail("'\(path)' must start with '/'", key: key, table: table, occurrence: occurrence) }
        return p
    }

    func url(_ node: TOMLNode, _ path: String, key: String, table: String, occurrence: Int = 0) throws(ConfigError) -> String {
        let s = try string(node, path, key: key, table: table, occurrence: occurrence)
        guard let u = URL(string: s), let scheme = u.scheme, ["http", "https"].contains(scheme), u.host != nil else {
            throw fail("'\(path)' must be an http(s) URL, not '\(s)'", key: key, table: table, occurrence: occurrence)
        }
        guard !ConfigLoader.carriesCredentials(s) else {
            // The URL is quoted in errors and logs; credentials belong in `api_key`, which never is.
            throw fail(
                "'\(path)' must not carry credentials (user:password@); put the key in 'api_key'", key: key, table: table,
                occurrence: occurrence)
        }
        return s
    }

    func read(_ root: TOMLNode) throws(ConfigError) -> SwitchboardConfig {
        var config = SwitchboardConfig()
        for (key, value) in try entries(root, table: "", key: "") {
            switch key {
            case "agent":
                for (k, v) in try entries(value, table: "agent", key: "agent") {
                    guard k == "model" else { throw fail("unknown key 'agent.\(k)'", key: k, table: "agent") }
                    config.defaultModel = try string(v, "agent.model", key: k, table: "agent")
                }
            case "router":
                for (k, v) in try entries(value, table: "router", key: "router") {
                    guard k == "fallback" else { throw fail("unknown key 'router.\(k)'", key: k, table: "router") }
                    guard case .array(let items) = v else {
                        throw fail("'router.fallback' must be an array of \"provider/model\" strings", key: k, table: "router")
                    }
                    for item in items {
                        let slot = try string(item, "router.fallback[]", key: k, table: "router")
                        guard slot.contains("/") else {
                            throw fail("'router.fallback' entry '\(slot)' must be \"provider/model\"", key: k, table: "router")
                        }
                        config.fallback.append(slot)
                    }
                }
            case "providers":
                try readProviders(value, into: &config)
            case "server":
                config.server = try readServer(value)
            case "pricing":
                config.prices = try readPricing(value, into: &config)
            case "billing":
                for (k, v) in try entries(value, table: "billing", key: "billing") {
                    guard k == "btc_usd" else { throw fail("unknown key 'billing.\(k)'", key: k, table: "billing") }
                    let price = try dollars(v, "billing.btc_usd", key: k, table: "billing")
                    guard price.value > 0 else { throw fail("'billing.btc_usd' must be positive", key: k, table: "billing") }
                    config.btcPrice = price
                }
            case "limits":
                config.limits = try readLimits(value)
            case "lanes":
                config.lanes = try readLanes(value)
            case "cache":
                config.cache = try readCache(value)
            case "telemetry":
                config.telemetry = try readTelemetry(value)
            case "responses":
                for (k, v) in try entries(value, table: "responses", key: "responses") {
                    guard k == "retention_days" else {
                        throw fail("unknown key 'responses.\(k)' (expected retention_days)", key: k, table: "responses")
                    }
                    let days = try int(v, "responses.retention_days", key: k, table: "responses", range: 0...36_500)
                    config.responseRetentionDays = days == 0 ? nil : days
                }
            case "store":
                for (k, v) in try entries(value, table: "store", key: "store") {
                    switch (k, v) {
                    case ("path", _): config.store.path = try string(v, "store.path", key: k, table: "store")
                    case ("url", _):
                        let text = try string(v, "store.url", key: k, table: "store")
                        let source = SecretSource(text)
                        if case .literal(let u) = source, !(u.hasPrefix("postgres://") || u.hasPrefix("postgresql://")) {
                            throw fail("'store.url' must be a postgres:// URL or \"env:NAME\"", key: k, table: "store")
                        }
                        config.store.url = source
                    case ("ledger", .bool(let b)): config.store.ledger = b
                    case ("ledger", _): throw fail("'store.ledger' must be a boolean", key: k, table: "store")
                    case ("pool_timeout_seconds", _):
                        config.store.poolTimeout = try seconds(v, "store.pool_timeout_seconds", key: k, table: "store", range: 0.05...300)
                    default: throw fail("unknown key 'store.\(k)'", key: k, table: "store")
                    }
                }
            default:
                throw fail("unknown section or key '\(key)'", key: key, table: "")
            }
        }
        // Declaration order decides the router's slot order.
        config.providers.sort { ($0.line ?? .max) < ($1.line ?? .max) }
        return config
    }

    /// The keys every provider section takes; false when `key` is not one of them.
    /// A duration in seconds, whole or fractional, within `range`.
    func seconds(
        _ node: TOMLNode, _ path: String, key: String, table: String, occurrence: Int = 0, range: ClosedRange<Double>
    ) throws(ConfigError) -> Duration {
        let value: Double
        switch node {
        case .int(let i): value = Double(i)
        case .double(let d): value = d
        default: throw fail("'\(path)' must be a number of seconds, not \(node.typeName)", key: key, table: table, occurrence: occurrence)
        }
        guard range.contains(value) else {
            throw fail(
                "'\(path)' must be between \(range.lowerBound) and \(range.upperBound) seconds, not \(value)", key: key, table: table,
                occurrence: occurrence)
        }
        return .milliseconds(Int64((value * 1000).rounded()))
    }

    /// A provider's own timeout key (`connect_timeout_seconds`, `first_byte_timeout_seconds`,
    /// `stream_idle_timeout_seconds`) into `timeouts`; false for any other key.
    func readTimeout(
        _ key: String, _ v: TOMLNode, into timeouts: inout UpstreamTimeouts, path: String, table: String, occurrence: Int = 0
    ) throws(ConfigError) -> Bool {
        switch key {
        case "connect_timeout_seconds":
            timeouts.connect = try seconds(v, path, key: key, table: table, occurrence: occurrence, range: 0.05...600)
        case "first_byte_timeout_seconds":
            timeouts.firstByte = try seconds(v, path, key: key, table: table, occurrence: occurrence, range: 0.05...3600)
        case "stream_idle_timeout_seconds":
            timeouts.streamIdle = try seconds(v, path, key: key, table: table, occurrence: occurrence, range: 0.05...3600)
        default: return false
        }
        return true
    }

    func readCommon(
        _ key: String, _ v: TOMLNode, into section: inout ProviderSection, path: String, table: String, apiKey: Bool = true
    ) throws(ConfigError) -> Bool {
        if try readTimeout(key, v, into: &section.timeouts, path: path, table: table) { return true }
        switch key {
        case "api_key" where apiKey: section.apiKey = SecretSource(try string(v, path, key: key, table: table))
        case "base_url": section.baseURL = try url(v, path, key: key, table: table)
        case "model": section.model = try string(v, path, key: key, table: table)
        case "enabled":
            guard case .bool(let b) = v else { throw fail("'\(path)' must be a boolean", key: key, table: table) }
            section.enabled = b
        default: return false
        }
        return true
    }

    func readProviders(_ node: TOMLNode, into config: inout SwitchboardConfig) throws(ConfigError) {
        for (id, value) in try entries(node, table: "providers", key: "providers") {
            let table = "providers.\(id)"
            if id == "openai_compat" {
                guard case .array(let items) = value else {
                    throw fail(
                        "'providers.openai_compat' must be an array of tables ([[providers.openai_compat]])",
                        key: id, table: "providers")
                }
                for (n, item) in items.enumerated() { config.customEndpoints.append(try readCustom(item, occurrence: n)) }
                continue
            }
            if id == "cli_agent" {
                guard case .array(let items) = value else {
                    throw fail("'providers.cli_agent' must be an array of tables ([[providers.cli_agent]])", key: id, table: "providers")
                }
                for (n, item) in items.enumerated() { config.cliAgents.append(try readCLIAgent(item, occurrence: n)) }
                continue
            }
            if id == "mock" {
                for (k, v) in try entries(value, table: table, key: id) {
                    guard k == "enabled", case .bool(let b) = v else {
                        throw fail(
                            k == "enabled" ? "'providers.mock.enabled' must be a boolean" : "unknown key 'providers.mock.\(k)'",
                            key: k, table: table)
                    }
                    config.mockEnabled = b
                }
                continue
            }
            if let native = NativeProvider.named(id) {
                config.providers.append(
                    try readNative(native, value, line: source.headerLine(table) ?? source.keyLine(id, table: "providers")))
                continue
            }
            guard let descriptor = ProviderRegistry.descriptor(id: id) else {
                throw ConfigError(
                    file: source.file, line: source.headerLine(table) ?? source.keyLine(id, table: "providers"),
                    message: "unknown provider '\(id)' (see `switchboard providers`; custom endpoints go in [[providers.openai_compat]])")
            }
            var section = ProviderSection(id: id, line: source.headerLine(table) ?? source.keyLine(id, table: "providers"))
            for (k, v) in try entries(value, table: table, key: id) {
                let path = "\(table).\(k)"
                if try readCommon(k, v, into: &section, path: path, table: table) { continue }
                switch k {
                case "tier" where !descriptor.tiers.isEmpty:
                    let tier = try string(v, path, key: k, table: table)
                    guard descriptor.tiers[tier] != nil else {
                        throw fail(
                            "'\(path)' must be one of \(descriptor.tiers.keys.sorted().joined(separator: ", ")), not '\(tier)'",
                            key: k, table: table)
                    }
                    section.values["tier"] = .string(tier)
                default:
                    throw fail("unknown key '\(path)'", key: k, table: table)
                }
            }
            config.providers.append(section)
        }
    }

    /// A native provider's section: the common keys, then the provider's own as its registry entry declares them.
    func readNative(_ native: NativeProvider, _ node: TOMLNode, line: Int?) throws(ConfigError) -> ProviderSection {
        let table = "providers.\(native.id)"
        var section = ProviderSection(id: native.id, line: line)
        for (k, v) in try entries(node, table: table, key: native.id) {
            let path = "\(table).\(k)"
            if try readCommon(k, v, into: &section, path: path, table: table, apiKey: native.takesAPIKey) { continue }
            guard let key = native.keys.first(where: { $0.name == k }) else {
                throw fail("unknown key '\(path)' (expected \(native.allowedKeys.joined(separator: ", ")))", key: k, table: table)
            }
            switch key.kind {
            case .string: section.values[k] = .string(try string(v, path, key: k, table: table))
            case .int(let range): section.values[k] = .int(try int(v, path, key: k, table: table, range: range))
            case .strings:
                guard case .array(let items) = v else {
                    section.values[k] = .strings([try string(v, path, key: k, table: table)])
                    continue
                }
                var list: [String] = []
                for item in items { list.append(try string(item, path, key: k, table: table)) }
                section.values[k] = .strings(list)
            }
        }
        return section
    }

    func int(_ node: TOMLNode, _ path: String, key: String, table: String, range: ClosedRange<Int>) throws(ConfigError) -> Int {
        guard case .int(let i) = node else { throw fail("'\(path)' must be an integer, not \(node.typeName)", key: key, table: table) }
        guard range.contains(i) else {
            throw fail("'\(path)' must be between \(range.lowerBound) and \(range.upperBound), not \(i)", key: key, table: table)
        }
        return i
    }

    /// A dollar amount, exact: TOML floats are read back from their shortest decimal text.
    func dollars(_ node: TOMLNode, _ path: String, key: String, table: String) throws(ConfigError) -> NanoUSD {
        let text: String
        switch node {
        case .int(let i): text = String(i)
        case .double(let d): text = String(d)
        case .string(let s): text = s
        default: throw fail("'\(path)' must be a number of dollars, not \(node.typeName)", key: key, table: table)
        }
        guard let amount = NanoUSD(usd: text), amount.value >= 0 else {
            throw fail("'\(path)' must be a non-negative dollar amount with at most 9 decimals, not \(text)", key: key, table: table)
        }
        return amount
    }

    func readPricing(_ node: TOMLNode, into config: inout SwitchboardConfig) throws(ConfigError) -> [String: ModelPrice] {
        var out: [String: ModelPrice] = [:]
        for (model, value) in try entries(node, table: "pricing", key: "pricing") {
            if model == "catalogue" {
                config.priceCatalogue = try string(value, "pricing.catalogue", key: model, table: "pricing")
                continue
            }
            if model == "builtin" {
                config.builtInPrices = try bool(value, "pricing.builtin", key: model, table: "pricing")
                continue
            }
            let table = "pricing.\"\(model)\""
            guard model.contains("/") else {
                throw fail("pricing keys must be \"provider/model\", not '\(model)'", key: model, table: table)
            }
            var input: NanoUSD?, output: NanoUSD?, cached: NanoUSD?, reasoning: NanoUSD?, cacheWrite: NanoUSD?
            for (k, v) in try entries(value, table: table, key: model) {
                let path = "pricing.\"\(model)\".\(k)"
                switch k {
                case "input_per_million_usd": input = try dollars(v, path, key: k, table: table)
                case "output_per_million_usd": output = try dollars(v, path, key: k, table: table)
                case "cached_input_per_million_usd": cached = try dollars(v, path, key: k, table: table)
                case "reasoning_per_million_usd": reasoning = try dollars(v, path, key: k, table: table)
                case "cache_write_per_million_usd": cacheWrite = try dollars(v, path, key: k, table: table)
                default: throw fail("unknown key '\(path)'", key: k, table: table)
                }
            }
            guard let input, let output else {
                throw ConfigError(
                    file: source.file, line: source.headerLine(table),
                    message: "[\(table)] needs input_per_million_usd and output_per_million_usd")
            }
            out[model] = ModelPrice(
                inputPerMillion: input, outputPerMillion: output, cachedInputPerMillion: cached,
                reasoningPerMillion: reasoning, cacheWritePerMillion: cacheWrite)
        }
        return out
    }

    func readServer(_ node: TOMLNode) throws(ConfigError) -> ServerSettings {
        var s = ServerSettings()
        let t = "server"
        for (k, v) in try entries(node, table: t, key: t) {
            let path = "server.\(k)"
            switch k {
            case "host": s.host = try string(v, path, key: k, table: t)
            case "port": s.port = try int(v, path, key: k, table: t, range: 0...65535)
            case "max_body_bytes": s.maxBodyBytes = try int(v, path, key: k, table: t, range: 1024...(1 << 30))
            case "request_timeout_seconds": s.requestTimeoutSeconds = try int(v, path, key: k, table: t, range: 1...86_400)
            case "drain_timeout_seconds": s.drainTimeoutSeconds = try int(v, path, key: k, table: t, range: 0...3600)
            case "header_timeout_seconds": s.headerTimeoutSeconds = try int(v, path, key: k, table: t, range: 1...3600)
            case "body_timeout_seconds": s.bodyTimeoutSeconds = try int(v, path, key: k, table: t, range: 1...3600)
            case "max_connections": s.maxConnections = try int(v, path, key: k, table: t, range: 1...1_000_000)
            case "health_interval_seconds": s.healthIntervalSeconds = try int(v, path, key: k, table: t, range: 1...86_400)
            case "upstream_connect_timeout_seconds":
                s.upstreamConnectTimeoutSeconds = try int(v, path, key: k, table: t, range: 1...600)
            case "upstream_idle_timeout_seconds":
                s.upstreamIdleTimeoutSeconds = try int(v, path, key: k, table: t, range: 1...3600)
            case "upstream_first_byte_timeout_seconds":
                s.upstreamFirstByteTimeout = try seconds(v, path, key: k, table: t, range: 0.05...3600)
            case "upstream_stream_idle_timeout_seconds":
                s.upstreamStreamIdleTimeout = try seconds(v, path, key: k, table: t, range: 0.05...3600)
            case "direct_routes":
                guard case .bool(let b) = v else { throw fail("'server.direct_routes' must be a boolean", key: k, table: t) }
                s.directRoutes = b
            case "loop_chat":
                guard case .bool(let b) = v else { throw fail("'server.loop_chat' must be a boolean", key: k, table: t) }
                s.loopChat = b
            case "master_key": s.masterKey = SecretSource(try string(v, path, key: k, table: t))
            case "auth":
                let mode = try string(v, path, key: k, table: t)
                guard let m = ServerSettings.AuthMode(rawValue: mode) else {
                    throw fail("'server.auth' must be \"keys\" or \"none\", not '\(mode)'", key: k, table: t)
                }
                s.auth = m
            default: throw fail("unknown key '\(path)'", key: k, table: t)
            }
        }
        return s
    }

    func readCustom(_ node: TOMLNode, occurrence n: Int) throws(ConfigError) -> CustomEndpoint {
        let table = "providers.openai_compat"
        var id: String?
        var base: String?
        var endpoint = CustomEndpoint(id: "", baseURL: "", line: source.headerLine(table, occurrence: n))
        for (k, v) in try entries(node, table: table, key: "openai_compat", occurrence: n) {
            let path = "providers.openai_compat[\(n)].\(k)"
            if try readTimeout(k, v, into: &endpoint.timeouts, path: path, table: table, occurrence: n) { continue }
            switch k {
            case "id": id = try string(v, path, key: k, table: table, occurrence: n)
            case "api_key": endpoint.apiKey = SecretSource(try string(v, path, key: k, table: table, occurrence: n))
            case "base_url": base = try url(v, path, key: k, table: table, occurrence: n)
            case "chat_path": endpoint.chatPath = try urlPath(v, path, key: k, table: table, occurrence: n)
            case "model": endpoint.model = try string(v, path, key: k, table: table, occurrence: n)
            case "embeddings": endpoint.embeddings = try bool(v, path, key: k, table: table, occurrence: n)
            case "embeddings_path":
                endpoint.embeddingsPath = try urlPath(v, path, key: k, table: table, occurrence: n)
                endpoint.embeddings = true
            case "images": endpoint.images = try bool(v, path, key: k, table: table, occurrence: n)
            case "images_path":
                endpoint.imagesPath = try urlPath(v, path, key: k, table: table, occurrence: n)
                endpoint.images = true
            case "responses_path": endpoint.responsesPath = try urlPath(v, path, key: k, table: table, occurrence: n)
            case "any_model": endpoint.anyModel = try bool(v, path, key: k, table: table, occurrence: n)
            default: throw fail("unknown key '\(path)'", key: k, table: table, occurrence: n)
            }
        }
        guard let id, !id.isEmpty, !id.contains("/") else {
            throw ConfigError(
                file: source.file, line: endpoint.line,
                message: "providers.openai_compat[\(n)] needs an 'id' without '/'")
        }
        // A registry service's id without a URL is that service, at its own URL and key variable.
        guard let base = base ?? ProviderRegistry.descriptor(id: id).map({ _ in "" }) else {
            throw ConfigError(
                file: source.file, line: endpoint.line,
                message: "providers.openai_compat[\(n)] ('\(id)') needs a 'base_url' (or the id of a registry service)")
        }
        endpoint.id = id
        endpoint.baseURL = base
        return endpoint
    }
}
