import Foundation
import Logging
public import ServiceLifecycle
public import SwitchboardCore
import Synchronization

/// Probes every provider on an interval (never per request) and refreshes the model catalog.
public final class HealthProber: Service, Sendable {
    private let gateway: Gateway
    private let metrics: GatewayMetrics
    private let interval: Duration
    private let logger: Logger
    private let statuses = Mutex<[String: ProviderHealth.Status]>([:])

    init(gateway: Gateway, metrics: GatewayMetrics, interval: Duration, logger: Logger) {
        self.gateway = gateway
        self.metrics = metrics
        self.interval = interval
        self.logger = logger
    }

    /// The latest status of each provider (absent until the first probe ends).
    public var current: [String: ProviderHealth.Status] { statuses.withLock { $0 } }

    /// Probes once now.
    public func probeOnce() async {
        let context = CallContext(logger: logger, requestID: "health-probe", timeout: .seconds(15))
        await gateway.catalog.refresh(gateway.providers, context: context)
        await withTaskGroup(of: (String, ProviderHealth).self) { group in
            for provider in gateway.providers {
                group.addTask { (provider.id, await provider.health(context: context)) }
            }
            for await (id, health) in group {
                statuses.withLock { $0[id] = health.status }
                metrics.providerUp(id, health.status != .down)
            }
        }
    }

    public func run() async throws {
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            // Shutdown does not wait for a probe of a provider that does not answer.
            do { try await cancelWhenGracefulShutdown { await self.probeOnce() } } catch { return }
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
            } catch {
                return
            }
        }
    }
}
