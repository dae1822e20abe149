/// Who wrote a message.
public enum Role: String, Sendable, Hashable, Codable {
    case system, developer, user, assistant, tool
}

/// One part of a multi-part message.
public enum ContentPart: Sendable, Hashable {
    /// Plain text.
    case text(String)
    /// An image by URL (http(s) or a data: URI), with an optional detail hint.
    case imageURL(String, detail: String? = nil)
    /// An image given as raw base64 bytes with its media type.
    case imageBase64(data: String, mediaType: String)
}

/// A message's content: plain text or a list of parts.
public enum MessageContent: Sendable, Hashable {
    case text(String)
    case parts([ContentPart])

    /// The text of the content, parts' text joined; images are skipped.
    public var text: String {
        switch self {
        case .text(let s): return s
        case .parts(let parts):
            return parts.compactMap { if case .text(let t) = $0 { t } else { nil } }.joined()
        }
    }

    /// True when there is no text and no part.
    public var isEmpty: Bool {
        switch self {
        case .text(let s): return s.isEmpty
        case .parts(let p): return p.isEmpty
        }
    }
}

/// A tool call the model made: id, function name and JSON-encoded arguments.
public struct ToolCall: Sendable, Hashable, Codable {
    /// The call id, echoed back by the tool message that answers it.
    public var id: String
    /// The function's name.
    public var name: String
    /// The arguments as JSON text (may be invalid JSON: validate before use).
    public var arguments: String

    /// Creates a tool call.
    public init(id: String, name: String, arguments: String) {
        self.id = id
        self.name = name
        self.arguments = arguments
    }
}

/// One message of a conversation.
public struct Message: Sendable, Hashable {
    /// The author.
    public var role: Role
    /// The content (empty text for an assistant turn that only calls tools).
    public var content: MessageContent
    /// Optional participant name.
    public var name: String?
    /// Tool calls made by an assistant message.
    public var toolCalls: [ToolCall]
    /// For tool messages: the id of the call this answers.
    public var toolCallID: String?
    /// Reasoning text of an assistant turn, kept so it can be replayed.
    public var reasoning: String?

    /// Creates a message.
    public init(
        role: Role, content: MessageContent, name: String? = nil, toolCalls: [ToolCall] = [],
        toolCallID: String? = nil, reasoning: String? = nil
    ) {
        self.role = role
        self.content = content
        self.name = name
        self.toolCalls = toolCalls
        self.toolCallID = toolCallID
        self.reasoning = reasoning
    }

    /// A system message.
    public static func system(_ text: String) -> Message { Message(role: .system, content: .text(text)) }
    /// A user message with text.
    public static func user(_ text: String) -> Message { Message(role: .user, content: .text(text)) }
    /// A user message with parts (text and images).
    public static func user(parts: [ContentPart]) -> Message { Message(role: .user, content: .parts(parts)) }
    /// An assistant message, optionally with tool calls.
    public static func assistant(_ text: String, toolCalls: [ToolCall] = [], reasoning: String? = nil) -> Message {
        Message(role: .assistant, content: .text(text), toolCalls: toolCalls, reasoning: reasoning)
    }
    /// A tool result answering the call with `callID`.
    public static func tool(callID: String, _ text: String) -> Message {
        Message(role: .tool, content: .text(text), toolCallID: callID)
    }

    /// The text of the message.
    public var text: String { content.text }
}
