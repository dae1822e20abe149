/// Folds stream events into the `ChatResponse` a non-streamed call would return.
public struct StreamAccumulator: Sendable {
    private var id = ""
    private var model = ""
    private var provider = ""
    private var text = ""
    private var reasoning = ""
    private var calls: [Int: ToolCall] = [:]
    private var usage: Usage?
    private var finish: FinishReason?
    private var actions: [AgentAction] = []

    /// An empty accumulator.
    public init() {}

    /// Takes one event.
    public mutating func add(_ event: StreamEvent) {
        switch event {
        case .started(let id, let model, let provider):
            self.id = id
            self.model = model
            self.provider = provider
        case .textDelta(let t): text += t
        case .reasoningDelta(let r): reasoning += r
        case .toolCallDelta(let d):
            var call = calls[d.index] ?? ToolCall(id: "", name: "", arguments: "")
            if let id = d.id, !id.isEmpty { call.id = id }
            if let name = d.name, !name.isEmpty { call.name = name }
            call.arguments += d.arguments
            calls[d.index] = call
        case .usage(let u): usage = u
        case .finish(let f): finish = f
        case .agentAction(let a): actions.append(a)
        }
    }

    /// Whether a finish event has been seen.
    public var isFinished: Bool { finish != nil }

    /// The response so far (finish reason inferred from tool calls when none was sent).
    public var response: ChatResponse {
        let toolCalls = calls.keys.sorted().compactMap { calls[$0] }
        let message = Message.assistant(text, toolCalls: toolCalls, reasoning: reasoning.isEmpty ? nil : reasoning)
        var response = ChatResponse(
            id: id, model: model, provider: provider, message: message,
            finishReason: finish ?? (toolCalls.isEmpty ? .stop : .toolCalls), usage: usage)
        response.agentActions = actions
        return response
    }

    /// Drains a stream into one response.
    public static func collect(_ stream: AsyncThrowingStream<StreamEvent, any Error>) async throws -> ChatResponse {
        var acc = StreamAccumulator()
        for try await event in stream { acc.add(event) }
        return acc.response
    }
}
