public import SwitchboardCore
import Synchronization

/// A provider that follows a script, one step per call, for router tests.
public final class ScriptedProvider: LLMProvider {
    /// One call's behaviour.
    public indirect enum Step: Sendable {
        /// Stream this text word by word, then finish.
        case reply(String)
        /// Answers `text` and reports the call was paid `msats` (as a swarm job does).
        case paid(String, msats: Int64)
        /// Fail before any event with an upstream-like error of this status.
        case fail(Int, retryAfter: Duration? = nil)
        /// Fail with exactly this error.
        case error(ProviderError)
        /// Wait, then do `then`.
        case delay(Duration, then: Step)
        /// Send `events` text events of `text`, then fail with a network error.
        case drop(afterEvents: Int, text: String)
    }

    public let id: String
    public let displayName: String
    public let capabilities: Set<Capability> = [.chat, .streaming]
    public let isConfigured = true
    private let script: Mutex<[Step]>
    private let log = Mutex<[String]>([])
    private let contexts = Mutex<[CallContext]>([])
    private let listed: [String]

    /// Creates a provider listing `models`; the last step repeats once the script runs out.
    public init(id: String, steps: [Step], models: [String] = ["scripted"]) {
        self.id = id
        self.displayName = "scripted \(id)"
        self.script = Mutex(steps)
        self.listed = models
    }

    /// The models asked for, one entry per call.
    public var calls: [String] { log.withLock { $0 } }

    private func nextStep(model: String) -> Step {
        log.withLock { $0.append(model) }
        return script.withLock { steps in
            steps.count > 1 ? steps.removeFirst() : (steps.first ?? .reply(""))
        }
    }

    /// The context of each call, in order.
    public var callContexts: [CallContext] { contexts.withLock { $0 } }

    public func stream(_ request: ChatRequest, context: CallContext) -> AsyncThrowingStream<StreamEvent, any Error> {
        contexts.withLock { $0.append(context) }
        let step = nextStep(model: request.model)
        let id = self.id
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    try await Self.run(step, id: id, model: request.model, continuation: continuation)
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    private static func run(
        _ step: Step, id: String, model: String,
        continuation: AsyncThrowingStream<StreamEvent, any Error>.Continuation
    ) async throws {
        switch step {
        case .delay(let d, let then):
            try await Task.sleep(for: d)
            try await run(then, id: id, model: model, continuation: continuation)
        case .fail(let status, let retryAfter):
            let kind = ProviderError.classify(status: status, code: nil, message: "scripted \(status)", retryAfter: retryAfter)
            throw ProviderError(kind, provider: id, status: status, message: "scripted failure")
        case .error(let e):
            throw e
        case .reply(let text):
            continuation.yield(.started(id: "\(id)-1", model: model, provider: id))
            for piece in FakeReply.split(text, words: 1) { continuation.yield(.textDelta(piece)) }
            continuation.yield(.finish(.stop))
            continuation.yield(.usage(Usage(inputTokens: 1, outputTokens: text.split(separator: " ").count)))
        case .paid(let text, let msats):
            continuation.yield(.started(id: "\(id)-1", model: model, provider: id))
            continuation.yield(.textDelta(text))
            continuation.yield(.finish(.stop))
            var usage = Usage()
            usage.reportedMsats = msats
            continuation.yield(.usage(usage))
        case .drop(let n, let text):
            continuation.yield(.started(id: "\(id)-1", model: model, provider: id))
            for piece in FakeReply.split(text, words: 1).prefix(n) { continuation.yield(.textDelta(piece)) }
            throw ProviderError(.network, provider: id, message: "scripted drop")
        }
    }

    public func models(context: CallContext) async throws -> [ModelInfo] {
        listed.map { ModelInfo(id: $0, provider: id) }
    }

    public func health(context: CallContext) async -> ProviderHealth {
        ProviderHealth(status: .healthy, latency: .zero)
    }
}
