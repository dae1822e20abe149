public import SwitchboardCore

/// A built-in provider with no upstream, for trying Switchboard without keys.
///
/// `echo` streams the last user message back word by word; `slow` does so slowly; `fail-429` and
/// `fail-500` fail as named.
public struct MockProvider: LLMProvider {
    public let id = "mock"
    public let displayName = "Mock (built in, no upstream; for trying Switchboard)"
    public let capabilities: Set<Capability> = [.chat, .streaming]
    public let isConfigured = true
    /// Pause between words of `echo`.
    public var wordDelay: Duration
    /// Pause between words of `slow`.
    public var slowWordDelay: Duration

    /// The model ids it serves.
    public static let modelIDs = ["echo", "slow", "fail-429", "fail-500"]

    /// Creates the mock.
    public init(wordDelay: Duration = .milliseconds(15), slowWordDelay: Duration = .milliseconds(400)) {
        self.wordDelay = wordDelay
        self.slowWordDelay = slowWordDelay
    }

    public func stream(_ request: ChatRequest, context: CallContext) -> AsyncThrowingStream<StreamEvent, any Error> {
        let model = request.model.isEmpty ? "echo" : request.model
        let provider = id
        let delay = model == "slow" ? slowWordDelay : wordDelay
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    switch model {
                    case "fail-429":
                        throw ProviderError(
                            .rateLimited(retryAfter: .seconds(1)), provider: provider, status: 429,
                            message: "mock rate limit (model fail-429)", code: "rate_limit_exceeded")
                    case "fail-500":
                        throw ProviderError(
                            .server(status: 500), provider: provider, status: 500,
                            message: "mock server error (model fail-500)")
                    case "echo", "slow": break
                    default:
                        throw ProviderError(
                            .modelNotFound, provider: provider, status: 404,
                            message: "mock has no model '\(model)'; try \(Self.modelIDs.joined(separator: ", "))")
                    }
                    let prompt = request.messages.last { $0.role == .user }?.text ?? ""
                    let words = prompt.split(whereSeparator: \.isWhitespace).map(String.init)
                    continuation.yield(.started(id: "mock-\(context.requestID)", model: model, provider: provider))
                    for (i, word) in words.enumerated() {
                        try await Task.sleep(for: delay)
                        continuation.yield(.textDelta(i == 0 ? word : " " + word))
                    }
                    let input = request.messages.reduce(0) { $0 + $1.text.split(whereSeparator: \.isWhitespace).count }
                    continuation.yield(.finish(.stop))
                    continuation.yield(.usage(Usage(inputTokens: input, outputTokens: words.count)))
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    public func models(context: CallContext) async throws -> [ModelInfo] { knownModels }

    public func health(context: CallContext) async -> ProviderHealth {
        ProviderHealth(status: .healthy, latency: .zero, message: "mock: no upstream")
    }
}

extension MockProvider: KnownModels {
    /// Every mock model.
    public var knownModels: [ModelInfo] {
        Self.modelIDs.map {
            ModelInfo(
                id: $0, provider: id, displayName: "mock \($0)", contextWindow: 8192,
                inputPricePerMillion: .zero, outputPricePerMillion: .zero, capabilities: capabilities)
        }
    }
}

extension MockProvider: ModelPricing {
    /// The mock is free.
    public var seedPrices: [String: ModelPrice] {
        Dictionary(uniqueKeysWithValues: Self.modelIDs.map { ($0, ModelPrice(inputPerMillion: .zero, outputPerMillion: .zero)) })
    }
}
