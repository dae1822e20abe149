/// A fragment of one tool call, as streamed.
public struct ToolCallDelta: Sendable, Hashable {
    /// The call's position in the final tool-call list.
    public var index: Int
    /// The call id (on the first fragment).
    public var id: String?
    /// The function name (on the first fragment).
    public var name: String?
    /// A piece of the JSON arguments text, to append.
    public var arguments: String

    /// Creates a tool-call fragment.
    public init(index: Int, id: String? = nil, name: String? = nil, arguments: String = "") {
        self.index = index
        self.id = id
        self.name = name
        self.arguments = arguments
    }
}

/// One event of a streamed answer.
public enum StreamEvent: Sendable, Hashable {
    /// The response's id, model and serving provider; sent before the first delta.
    case started(id: String, model: String, provider: String)
    case textDelta(String)
    case reasoningDelta(String)
    case toolCallDelta(ToolCallDelta)
    case usage(Usage)
    case finish(FinishReason)
    /// Something an agent did on its way to the answer (a command it ran, a file it changed, a tool it called).
    case agentAction(AgentAction)
}

/// One thing a coding agent did while answering, as its CLI reported it.
public struct AgentAction: Sendable, Hashable {
    /// What kind: `command`, `file_change`, `tool`, `web_search`, ...
    public var kind: String
    /// One line for people: the command, the paths, the tool's name.
    public var summary: String
    /// How it ended, when the agent says (`completed`, `failed`, an exit code).
    public var status: String?
    /// The agent's own record of it.
    public var detail: JSONValue

    /// Creates an action.
    public init(kind: String, summary: String, status: String? = nil, detail: JSONValue = .null) {
        self.kind = kind
        self.summary = summary
        self.status = status
        self.detail = detail
    }

    /// The action as JSON (`kind`, `summary`, `status`, `detail`).
    public var json: JSONValue {
        ["kind": .string(kind), "summary": .string(summary), "status": status.map(JSONValue.string) ?? .null, "detail": detail]
    }
}

extension AsyncThrowingStream where Failure == any Error, Element: Sendable {
    /// The stream of what `produce` emits, run in a task that is cancelled when the consumer stops reading; it ends
    /// when `produce` returns, or with the error it throws.
    public static func producing(
        _ produce: @escaping @Sendable (_ emit: @escaping @Sendable (Element) -> Void) async throws -> Void
    ) -> Self {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    try await produce { continuation.yield($0) }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}
