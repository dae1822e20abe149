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
}
