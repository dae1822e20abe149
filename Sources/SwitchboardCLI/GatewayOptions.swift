import ArgumentParser
import Foundation
import Logging
import NIOPosix
import Switchboard

/// Options every command shares, and the setup they share: config, environment, gateway.
struct GatewayOptions: ParsableArguments {
    @Option(name: .long, help: "Configuration file (else $SWITCHBOARD_CONFIG, else ./switchboard.toml).")
    var config: String?

    @Flag(name: .long, help: "Log debug detail to stderr.")
    var verbose = false

    struct Loaded {
        var config: SwitchboardConfig
        var environment: Environment
        var gateway: Gateway
        var logger: Logger
        var mockOnly: Bool
    }

    func load(quiet: Bool = false, observer: (any RouterObserver)? = nil, logLevel: Logger.Level = .warning) throws -> Loaded {
        var logger = Logger(label: "switchboard")
        logger.logLevel = verbose ? .debug : logLevel
        let environment = try Environment.load()
        var config = SwitchboardConfig()
        if let path = ConfigLoader.resolvePath(explicit: config_, environment: environment) {
            config = try ConfigLoader.load(path: path)
        }
        var upstream = NIOHTTPTransport.Settings()
        upstream.connectTimeout = .seconds(config.server.upstreamConnectTimeoutSeconds)
        upstream.idleTimeout = .seconds(config.server.upstreamIdleTimeoutSeconds)
        let transport = NIOHTTPTransport(group: MultiThreadedEventLoopGroup.singleton, settings: upstream)
        let result = try GatewayBuilder(
            config: config, environment: environment,
            transport: transport, routerObserver: observer
        ).build()
        if !quiet {
            for warning in result.warnings { Terminal.err("warning: \(warning)\n") }
        }
        return Loaded(config: config, environment: environment, gateway: result.gateway, logger: logger, mockOnly: result.mockOnly)
    }

    private var config_: String? { config }

    func context(_ logger: Logger, timeout: Duration = .seconds(600)) -> CallContext {
        CallContext(logger: logger, requestID: UUID().uuidString.lowercased(), timeout: timeout)
    }
}

/// Runs a command body, printing any failure as one clear line and exiting 1.
func reportingErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let exit as ExitCode {
        throw exit
    } catch {
        Terminal.err("error: \(explain(error))\n")
        throw ExitCode(1)
    }
}

/// One line: what failed, where, and what to do.
func explain(_ error: any Error) -> String {
    switch error {
    case let e as ProviderError:
        return e.description + hint(e)
    case let e as AllProvidersFailed:
        let tail = e.attempts.count == 1 ? (e.last.map(hint) ?? "") : ""
        return e.description + tail
    case let e as ConfigError:
        return "configuration: \(e)"
    case is CancellationError:
        return "cancelled"
    default:
        return "\(error)"
    }
}

private func hint(_ e: ProviderError) -> String {
    switch e.kind {
    case .authentication:
        let variable = ProviderRegistry.descriptor(id: e.provider)?.apiKeyEnv
        return " — check the API key" + (variable.map { " ($\($0) or api_key in [providers.\(e.provider)])" } ?? "")
    case .modelNotFound: return " — list models with `switchboard models --provider \(e.provider)`"
    case .network: return " — is the provider's base_url reachable?"
    case .rateLimited(let wait): return wait.map { " — retry in \($0.components.seconds)s" } ?? " — retry later"
    default: return ""
    }
}
