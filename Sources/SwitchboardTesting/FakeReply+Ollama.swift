import Foundation
import SwitchboardCore

/// The same scripted reply in Ollama's native `/api/chat` shapes.
extension FakeReply {
    private func ollamaToolCalls() -> JSONValue {
        .array(
            toolCalls.enumerated().map { i, c in
                [
                    "id": .string(c.id),
                    "function": [
                        "index": .int(Int64(i)), "name": .string(c.name),
                        "arguments": c.argumentsObject,
                    ],
                ]
            })
    }

    private func ollamaFinal(model: String, content: String, includeTools: Bool) -> JSONValue {
        var message: [String: JSONValue] = ["role": "assistant", "content": .string(content)]
        if includeTools, !toolCalls.isEmpty { message["tool_calls"] = ollamaToolCalls() }
        if includeTools, let reasoning { message["thinking"] = .string(reasoning) }
        var o: [String: JSONValue] = [
            "model": .string(self.model ?? model), "created_at": "2026-11-22T00:00:00Z",
            "message": .object(message), "done": true,
            "done_reason": .string(finish == "length" ? "length" : "stop"), "total_duration": 1_000_000,
        ]
        if let usage {
            o["prompt_eval_count"] = .int(Int64(usage.inputTokens))
            o["eval_count"] = .int(Int64(usage.outputTokens))
        }
        return .object(o)
    }

    /// The non-streamed answer.
    func ollamaJSON(model: String) -> JSONValue { ollamaFinal(model: model, content: content, includeTools: true) }

    /// NDJSON lines of the streamed answer: thinking, words, whole tool calls, then the done line.
    func ollamaLines(model: String) -> [String] {
        func line(_ message: JSONValue) -> String {
            JSONValue.object([
                "model": .string(self.model ?? model), "created_at": "2026-11-22T00:00:00Z", "message": message,
                "done": false,
            ]).jsonString() + "\n"
        }
        var out: [String] = []
        if let reasoning {
            for piece in Self.split(reasoning, words: wordsPerChunk) {
                out.append(line(["role": "assistant", "content": "", "thinking": .string(piece)]))
            }
        }
        for piece in Self.split(content, words: wordsPerChunk) { out.append(line(["role": "assistant", "content": .string(piece)])) }
        if !toolCalls.isEmpty { out.append(line(["role": "assistant", "content": "", "tool_calls": ollamaToolCalls()])) }
        out.append(ollamaFinal(model: model, content: "", includeTools: false).jsonString() + "\n")
        return out
    }
}
