import Foundation
import SwitchboardCore
import SwitchboardStorage
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

@Suite(.timeLimit(.minutes(1)))
struct HealthTests {
    @Test func aProviderThatDoesNotAnswerIsDownAloneAndHoldsUpNoOthersStatus() async throws {
        let hanging = HangingProvider()
        try await LiveGateway.with(try await LiveGateway.start(extraProviders: [hanging])) { (gw) async throws in
            var health = try await gw.send("GET", "/health", key: nil)
            try await eventually {
                health = try await gw.send("GET", "/health", key: nil)
                return health.json?["provider_status"]?["fake"] == "healthy"
            }
            #expect(health.json?["provider_status"]?["fake"] == "healthy")
            #expect(health.json?["provider_status"]?["hanging"] == "unknown")
            #expect(health.json?["status"] == "degraded")
        }
    }
}

/// Streams a drain timeout cuts.
@Suite(.timeLimit(.minutes(1)))
struct DrainTests {
    final class Received: Sendable {
        let text = Mutex("")
    }

    @Test(arguments: [true, false]) func streamsCutByTheDrainTimeoutEndWithAnErrorEventAndAreRecordedBeforeExit(direct: Bool) async throws {
        // Streams are ended two seconds before the drain timeout (the most the gateway leaves): time enough, on a machine
        // busy with the whole suite, for their last events. The streams last far longer than the drain.
        let gw = try await LiveGateway.start(direct: direct) { $0.drainTimeout = .seconds(8) }
        var reply = FakeReply(Array(repeating: "tick", count: 1500).joined(separator: " "))
        reply.chunkDelay = .milliseconds(20)
        gw.fake.setDefault(.reply(reply))
        let received = (0..<3).map { _ in Received() }
        let clients = received.map { text in
            Task {
                let response = try await gw.open("POST", "/v1/chat/completions", json: chatBody(stream: true))
                for try await chunk in response.body { text.text.withLock { $0 += String(buffer: chunk) } }
            }
        }
        await eventually { gw.fake.streamsInFlight == 3 }
        await gw.group.triggerGracefulShutdown()
        _ = await gw.task.result
        for client in clients { _ = await client.result }
        // Every stream has its record, committed before the gateway returned.
        let records = try await gw.store.records(UsageFilter())
        #expect(records.count == 3, "\(records.map(\.status))")
        #expect(records.allSatisfy { $0.status == 503 }, "\(records.map(\.status))")
        // With the tokens delivered before the cut.
        #expect(records.allSatisfy { $0.outputTokens > 0 }, "\(records.map(\.outputTokens))")
        for text in received.map({ $0.text.withLock { $0 } }) {
            // Each stream ends with the error event, never silently.
            let last = text.components(separatedBy: "\n\n").filter { !$0.isEmpty }.last ?? ""
            #expect(last.contains("server_shutting_down"), "\(last)")
            #expect(!text.contains("[DONE]"))
        }
        await gw.stop()
    }
}
