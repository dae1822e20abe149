import Foundation

extension ToolCall {
    /// The arguments as the JSON object Anthropic, Bedrock, Gemini and Ollama carry inline; text that is not
    /// a JSON object (a model's malformed call) becomes `{}` rather than a body the upstream refuses.
    public var argumentsObject: JSONValue {
        if let v = try? JSONValue.parse(Data(arguments.utf8)), case .object = v { return v }
        return .object([:])
    }
}
