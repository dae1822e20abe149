import Foundation
import SwitchboardCore

/// The same scripted reply in Gemini's `generateContent` shapes.
extension FakeReply {
    private func geminiUsage() -> JSONValue {
        let u = usage ?? Usage()
        return [
            "promptTokenCount": .int(Int64(u.inputTokens)), "candidatesTokenCount": .int(Int64(u.outputTokens)),
            "totalTokenCount": .int(Int64(u.totalTokens)),
        ]
    }

    private func calls() -> [JSONValue] {
        toolCalls.map { c in
            ["functionCall": ["id": .string(c.id), "name": .string(c.name), "args": c.argumentsObject]]
        }
    }

    private func chunk(_ parts: [JSONValue], model: String, finish: Bool) -> JSONValue {
        var candidate: [String: JSONValue] = ["content": ["role": "model", "parts": .array(parts)], "index": 0]
        var o: [String: JSONValue] = ["modelVersion": .string(self.model ?? model), "responseId": .string(id)]
        if finish {
            candidate["finishReason"] = .string(self.finish == "length" ? "MAX_TOKENS" : "STOP")
            o["usageMetadata"] = geminiUsage()
        }
        o["candidates"] = [.object(candidate)]
        return .object(o)
    }

    /// The non-streamed response.
    func geminiJSON(model: String) -> JSONValue {
        var parts: [JSONValue] = []
        if let reasoning { parts.append(["text": .string(reasoning), "thought": true]) }
        if !content.isEmpty { parts.append(["text": .string(content)]) }
        return chunk(parts + calls(), model: model, finish: true)
    }

    /// `alt=sse` events: thought and text pieces, whole function calls, the finish chunk with usage.
    func geminiEvents(model: String) -> [String] {
        var out: [JSONValue] = []
        if let reasoning {
            for piece in Self.split(reasoning, words: wordsPerChunk) {
                out.append(chunk([["text": .string(piece), "thought": true]], model: model, finish: false))
            }
        }
        for piece in Self.split(content, words: wordsPerChunk) {
            out.append(chunk([["text": .string(piece)]], model: model, finish: false))
        }
        out.append(chunk(calls(), model: model, finish: true))
        return out.map { "data: \($0.jsonString())\r\n\r\n" }
    }
}
