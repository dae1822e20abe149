import Foundation
import SwitchboardCore
import SwitchboardProviders

/// The same scripted reply in Bedrock's Converse shapes and binary event stream.
extension FakeReply {
    private var bedrockStopReason: String {
        switch finish {
        case "tool_calls": "tool_use"
        case "length": "max_tokens"
        default: "end_turn"
        }
    }

    private func bedrockUsage() -> JSONValue {
        let u = usage ?? Usage()
        return [
            "inputTokens": .int(Int64(u.inputTokens)), "outputTokens": .int(Int64(u.outputTokens)),
            "totalTokens": .int(Int64(u.totalTokens)),
        ]
    }

    /// The Converse response body.
    func converseJSON() -> JSONValue {
        var content: [JSONValue] = []
        if let reasoning { content.append(["reasoningContent": ["reasoningText": ["text": .string(reasoning), "signature": "sig"]]]) }
        if !self.content.isEmpty { content.append(["text": .string(self.content)]) }
        for c in toolCalls {
            content.append(["toolUse": ["toolUseId": .string(c.id), "name": .string(c.name), "input": c.argumentsObject]])
        }
        return [
            "output": ["message": ["role": "assistant", "content": .array(content)]], "stopReason": .string(bedrockStopReason),
            "usage": bedrockUsage(), "metrics": ["latencyMs": 12],
        ]
    }

    /// The ConverseStream body: one binary event-stream frame per event.
    func converseStreamFrames() -> [[UInt8]] {
        func event(_ type: String, _ payload: JSONValue) -> [UInt8] {
            EventStreamMessage(
                headers: [":event-type": type, ":content-type": "application/json", ":message-type": "event"],
                payload: payload.jsonBytes()
            ).encoded()
        }
        var out = [event("messageStart", ["role": "assistant"])]
        var index = 0
        if let reasoning {
            for piece in Self.split(reasoning, words: wordsPerChunk) {
                out.append(
                    event(
                        "contentBlockDelta",
                        ["contentBlockIndex": .int(Int64(index)), "delta": ["reasoningContent": ["text": .string(piece)]]]))
            }
            out.append(event("contentBlockStop", ["contentBlockIndex": .int(Int64(index))]))
            index += 1
        }
        if !content.isEmpty {
            for piece in Self.split(content, words: wordsPerChunk) {
                out.append(event("contentBlockDelta", ["contentBlockIndex": .int(Int64(index)), "delta": ["text": .string(piece)]]))
            }
            out.append(event("contentBlockStop", ["contentBlockIndex": .int(Int64(index))]))
            index += 1
        }
        for c in toolCalls {
            out.append(
                event(
                    "contentBlockStart",
                    [
                        "contentBlockIndex": .int(Int64(index)),
                        "start": ["toolUse": ["toolUseId": .string(c.id), "name": .string(c.name)]],
                    ]))
            let mid = c.arguments.index(c.arguments.startIndex, offsetBy: c.arguments.count / 2)
            for piece in [String(c.arguments[..<mid]), String(c.arguments[mid...])] {
                out.append(
                    event("contentBlockDelta", ["contentBlockIndex": .int(Int64(index)), "delta": ["toolUse": ["input": .string(piece)]]]))
            }
            out.append(event("contentBlockStop", ["contentBlockIndex": .int(Int64(index))]))
            index += 1
        }
        out.append(event("messageStop", ["stopReason": .string(bedrockStopReason)]))
        out.append(event("metadata", ["usage": bedrockUsage(), "metrics": ["latencyMs": 12]]))
        return out
    }
}
