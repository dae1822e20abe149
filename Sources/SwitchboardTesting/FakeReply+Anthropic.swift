import Foundation
import SwitchboardCore

/// The same scripted reply in Anthropic's Messages shapes, for the fake's `/v1/messages`.
extension FakeReply {
    var anthropicStopReason: String {
        switch finish {
        case "tool_calls": "tool_use"
        case "length": "max_tokens"
        default: "end_turn"
        }
    }

    func anthropicUsage() -> JSONValue {
        let u = usage ?? Usage()
        return [
            "input_tokens": .int(Int64(u.inputTokens - u.cachedTokens - u.cacheWriteTokens)), "output_tokens": .int(Int64(u.outputTokens)),
            "cache_read_input_tokens": .int(Int64(u.cachedTokens)), "cache_creation_input_tokens": .int(Int64(u.cacheWriteTokens)),
        ]
    }

    /// The non-streamed Messages body.
    func messageJSON(model: String) -> JSONValue {
        var content: [JSONValue] = []
        if let reasoning { content.append(["type": "thinking", "thinking": .string(reasoning), "signature": "sig"]) }
        if !content.isEmpty || !self.content.isEmpty { content.append(["type": "text", "text": .string(self.content)]) }
        for call in toolCalls {
            content.append(["type": "tool_use", "id": .string(call.id), "name": .string(call.name), "input": call.argumentsObject])
        }
        return [
            "id": .string("msg_" + id), "type": "message", "role": "assistant", "model": .string(self.model ?? model),
            "content": .array(content), "stop_reason": .string(anthropicStopReason), "stop_sequence": .null,
            "usage": anthropicUsage(),
        ]
    }

    /// The SSE frames of the streamed answer, blocks one after another as the API sends them.
    func anthropicEvents(model: String) -> [String] {
        func frame(_ name: String, _ data: JSONValue) -> String {
            var o = data.objectValue ?? [:]
            o["type"] = .string(name)
            return "event: \(name)\ndata: \(JSONValue.object(o).jsonString())\n\n"
        }
        let u = usage ?? Usage()
        var out = [
            frame(
                "message_start",
                [
                    "message": [
                        "id": .string("msg_" + id), "type": "message", "role": "assistant", "model": .string(self.model ?? model),
                        "content": [],
                        "stop_reason": .null, "stop_sequence": .null,
                        "usage": [
                            "input_tokens": .int(Int64(u.inputTokens - u.cachedTokens - u.cacheWriteTokens)), "output_tokens": 1,
                            "cache_read_input_tokens": .int(Int64(u.cachedTokens)),
                            "cache_creation_input_tokens": .int(Int64(u.cacheWriteTokens)),
                        ],
                    ]
                ])
        ]
        var index = 0
        if let reasoning {
            out.append(
                frame(
                    "content_block_start",
                    ["index": .int(Int64(index)), "content_block": ["type": "thinking", "thinking": "", "signature": ""]]))
            for piece in Self.split(reasoning, words: wordsPerChunk) {
                out.append(
                    frame(
                        "content_block_delta",
                        ["index": .int(Int64(index)), "delta": ["type": "thinking_delta", "thinking": .string(piece)]]))
            }
            out.append(frame("content_block_stop", ["index": .int(Int64(index))]))
            index += 1
        }
        if !content.isEmpty {
            out.append(frame("content_block_start", ["index": .int(Int64(index)), "content_block": ["type": "text", "text": ""]]))
            for piece in Self.split(content, words: wordsPerChunk) {
                out.append(
                    frame("content_block_delta", ["index": .int(Int64(index)), "delta": ["type": "text_delta", "text": .string(piece)]]))
            }
            out.append(frame("content_block_stop", ["index": .int(Int64(index))]))
            index += 1
        }
        for call in toolCalls {
            out.append(
                frame(
                    "content_block_start",
                    [
                        "index": .int(Int64(index)),
                        "content_block": [
                            "type": "tool_use", "id": .string(call.id), "name": .string(call.name), "input": [:],
                        ],
                    ]))
            let mid = call.arguments.index(call.arguments.startIndex, offsetBy: call.arguments.count / 2)
            for piece in [String(call.arguments[..<mid]), String(call.arguments[mid...])] {
                out.append(
                    frame(
                        "content_block_delta",
                        [
                            "index": .int(Int64(index)),
                            "delta": ["type": "input_json_delta", "partial_json": .string(piece)],
                        ]))
            }
            out.append(frame("content_block_stop", ["index": .int(Int64(index))]))
            index += 1
        }
        out.append(
            frame(
                "message_delta",
                [
                    "delta": ["stop_reason": .string(anthropicStopReason), "stop_sequence": .null],
                    "usage": ["output_tokens": .int(Int64(u.outputTokens))],
                ]))
        out.append(frame("message_stop", [:]))
        return out
    }
}
