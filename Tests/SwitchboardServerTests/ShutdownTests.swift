import Foundation
import SwitchboardCore
import SwitchboardTesting
import Synchronization
import Testing

/// A provider whose model listing and health probe never answer (until cancelled).
final class HangingProvider: LLMProvider {
    let id = "hanging"
    let displayName = "Hanging"
    let capabilities: Set<Capability> = [.chat]
    let isConfigured = true
    let probed = Mutex(false)

    func chat(_ request: ChatRequest, context: CallContext) async throws -> ChatResponse {
        throw ProviderError(.network, provider: id, message: "never used")
    }

    func stream(_ request: ChatRequest, context: CallContext) -> AsyncThrowingStream<StreamEvent, any Error> {
        AsyncThrowingStream { $0.finish(throwing: ProviderError(.network, provider: "hanging", message: "never used")) }
    }

    func models(context: CallContext) async throws -> [ModelInfo] {
        probed.withLock { $0 = true }
        try await Task.sleep(for: .seconds(3600))
        return []
    }

    func health(context: CallContext) async -> ProviderHealth {
        probed.withLock { $0 = true }
        try? await Task.sleep(for: .seconds(3600))
        return ProviderHealth(status: .down, latency: .zero)
    }
}

@Suite(.timeLimit(.minutes(1)))
struct ShutdownTests {
    @Test func shutdownDoesNotWaitForAProbeOfAProviderThatDoesNotAnswer() async throws {
        let hanging = HangingProvider()
        // A drain timeout longer than the suite's time limit: only cancelling the probe lets the gateway stop in time.
        let gw = try await LiveGateway.start(extraProviders: [hanging]) { $0.drainTimeout = .seconds(90) }
        await eventually { hanging.probed.withLock { $0 } }
        await gw.stop()
        #expect(hanging.probed.withLock { $0 })
    }
}
