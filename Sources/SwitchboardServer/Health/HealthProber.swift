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

    /// Probes once now: the model listings and every provider's health at once, each with its own deadline, so a
    /// provider that does not answer is down alone and holds up no other's status.
    public func probeOnce() async {
        await withTaskGroup(of: Void.self) { probes in
            probes.addTask { await self.gateway.catalog.refresh(self.gateway.providers, context: self.context()) }
            for provider in gateway.providers {
                probes.addTask {
                    let health = await provider.health(context: self.context())
                    self.statuses.withLock { $0[provider.id] = health.status }
                    if health.status != .down { self.gateway.markReachable(provider: provider.id) }
                    self.metrics.providerUp(provider.id, health.status != .down)
                }
            }
        }
    }

    private func context() -> CallContext {
        CallContext(logger: logger, requestID: "health-probe", timeout: .seconds(15))
    }

    public func run() async throws {
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            // Shutdown does not wait for a probe of a provider that does not answer.
            await cancelWhenGracefulShutdown { await self.probeOnce() }
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
            } catch {
                return
            }
        }
    }
}
