import ArgumentParser
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Switchboard
import SwitchboardServer
import SwitchboardStorage

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Run the OpenAI-compatible gateway.")

    @OptionGroup var options: GatewayOptions

    @Option(name: .long, help: "Address to listen on (overrides [server] host).")
    var host: String?

    @Option(name: .long, help: "Port to listen on; 0 picks a free one (overrides [server] port).")
    var port: Int?

    func run() async throws {
        try await reportingErrors {
            let metrics = GatewayMetrics()
            let loaded = try options.load(observer: metrics, logLevel: .info)
            let settings = loaded.config.server
            var serverOptions = GatewayServer.Options()
            serverOptions.host = host ?? settings.host
            serverOptions.port = port ?? settings.port
            serverOptions.maxBodyBytes = settings.maxBodyBytes
            serverOptions.requestTimeout = .seconds(settings.requestTimeoutSeconds)
            serverOptions.drainTimeout = .seconds(settings.drainTimeoutSeconds)
            serverOptions.headerTimeout = .seconds(settings.headerTimeoutSeconds)
            serverOptions.bodyTimeout = .seconds(settings.bodyTimeoutSeconds)
            serverOptions.maxConnections = settings.maxConnections
            serverOptions.healthInterval = .seconds(settings.healthIntervalSeconds)
            serverOptions.requireKeys = settings.auth == .keys
            serverOptions.directRoutes = settings.directRoutes
            serverOptions.loopChat = settings.loopChat
            serverOptions.limits = loaded.config.limits
            serverOptions.responseRetention = loaded.config.responseRetentionDays.map { .seconds($0 * 86_400) }
            serverOptions.masterKey = loaded.environment["SWITCHBOARD_MASTER_KEY"] ?? loaded.environment.resolve(settings.masterKey)
            if case .env(let name)? = settings.masterKey, serverOptions.masterKey == nil {
                Terminal.err("warning: [server] master_key names \(name), which is not set\n")
            }
            if let key = serverOptions.masterKey {
                let length = key.count
                guard length >= 16 else {
                    throw ValidationError(
                        "the master key has \(length) characters; it must have at least 16 (32 or more is recommended, "
                            + "e.g. `openssl rand -hex 24`)")
                }
                if length < 32 { Terminal.err("warning: the master key has \(length) characters; 32 or more is recommended\n") }
            }
            let store = try await openStore(loaded)
            do { serverOptions.cache = try responseCache(loaded.config, store: store) } catch {
                await store.close()
                throw error
            }
            if !serverOptions.requireKeys {
                Terminal.err(
                    """
                    WARNING: [server] auth = "none": anyone who can reach \(serverOptions.host):\(serverOptions.port) can use \
                    every configured provider with your credentials. Use this only on a trusted machine.

                    """)
            } else if serverOptions.masterKey == nil, try await store.listKeys().isEmpty {
                Terminal.err(
                    "warning: no master key and no API keys yet: set SWITCHBOARD_MASTER_KEY or run `switchboard keys create --name NAME`\n")
            }
            if loaded.mockOnly {
                Terminal.err("note: no provider is configured; serving the built-in mock (mock/echo, mock/slow, ...)\n")
            }
            let tracing: (tracing: RequestTracing, exporter: any Service)?
            do {
                tracing = try makeTracing(loaded.config.telemetry, environment: ProcessInfo.processInfo.environment, logger: loaded.logger)
            } catch {
                await store.close()
                throw ValidationError("cannot start tracing: \(error)")
            }
            serverOptions.tracing = tracing?.tracing
            let ledger = loaded.config.store.ledger ? LedgerWriter(store: store, logger: loaded.logger) : nil
            if ledger == nil { Terminal.err("warning: [store] ledger = false: requests are not recorded or billed\n") }
            let server = GatewayServer(
                gateway: loaded.gateway, store: store, ledger: ledger, options: serverOptions,
                metrics: metrics, logger: loaded.logger)
            let host = serverOptions.host
            do {
                try await server.run(
                    services: tracing.map { [$0.exporter] } ?? [],
                    onServerRunning: { channel in
                        let port = channel.localAddress?.port ?? 0
                        Terminal.err(
                            "switchboard listening on http://\(host):\(port) (providers: \(loaded.gateway.providers.map(\.id).joined(separator: ", ")))\n"
                        )
                    })
            } catch let error as IOError where error.errnoCode == EADDRINUSE {
                await store.close()
                throw ValidationError("cannot listen on \(host):\(serverOptions.port): the address is already in use")
            } catch let error as IOError where error.errnoCode == EADDRNOTAVAIL || error.errnoCode == EACCES {
                await store.close()
                throw ValidationError("cannot listen on \(host):\(serverOptions.port): \(error.description)")
            } catch {
                await store.close()
                throw error
            }
            await store.close()
            Terminal.err("switchboard stopped\n")
        }
    }
}

/// The response cache `[cache]` asks for, sharing its entries through `store` when it says so; nil when it is off.
func responseCache(_ config: SwitchboardConfig, store: any Storage) throws -> ResponseCache? {
    let settings = config.cache
    guard settings.mode != .off else { return nil }
    var shared: (any ResponseCacheStore)?
    switch settings.store {
    case .memory: break
    case .shared: shared = store as? any ResponseCacheStore
    case .sqlite:
        guard let sqlite = store as? SQLiteStore else {
            throw ValidationError("[cache] store = \"sqlite\", but the store is PostgreSQL ([store] url); use \"shared\" or \"postgres\"")
        }
        shared = sqlite
    case .postgres:
        guard let postgres = store as? PostgresStore else {
            throw ValidationError("[cache] store = \"postgres\" needs [store] url to name a PostgreSQL database")
        }
        shared = postgres
    }
    var laneTTL: [String: Duration] = [:]
    for lane in config.lanes { if let ttl = lane.cacheTTL { laneTTL[lane.name] = ttl } }
    return ResponseCache(
        .init(mode: settings.mode, ttl: settings.ttl, laneTTL: laneTTL, maxBytes: settings.maxBytes, perKey: settings.perKey),
        shared: shared)
}

/// The configured store: PostgreSQL when `[store] url` is set, else the SQLite file.
func openStore(_ loaded: GatewayOptions.Loaded) async throws -> any Storage {
    let settings = loaded.config.store
    if let source = settings.url {
        guard let url = loaded.environment.resolve(source) else {
            if case .env(let name) = source { throw ValidationError("[store] url names \(name), which is not set") }
            throw ValidationError("[store] url is empty")
        }
        do {
            return try await PostgresStore(url: url, poolTimeout: settings.poolTimeout, logger: loaded.logger)
        } catch {
            throw ValidationError("\(error)")
        }
    }
    do {
        return try SQLiteStore(path: settings.path)
    } catch {
        throw ValidationError("cannot open the store at \(settings.path): \(error)")
    }
}
