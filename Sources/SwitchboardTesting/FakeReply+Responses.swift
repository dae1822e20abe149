import Foundation
import SwitchboardCore

/// The same scripted reply in OpenAI's Responses API shapes, as a service that serves it (OpenAI) answers: a
/// reasoning item with its summary and encrypted content, the message, each function call; and, when `hosted` names a
/// hosted tool the request asked for, a call of that tool first, with its own events.
extension FakeReply {
    private func responsesUsage() -> JSONValue {
        let u = usage ?? Usage()
        return [
            "input_tokens": .int(Int64(u.inputTokens)), "input_tokens_details": ["cached_tokens": .int(Int64(u.cachedTokens))],
            "output_tokens": .int(Int64(u.outputTokens)), "output_tokens_details": ["reasoning_tokens": .int(Int64(u.reasoningTokens))],
            "total_tokens": .int(Int64(u.totalTokens)),
        ]
    }

    private func responseObject(model: String, status: String, output: [JSONValue]) -> JSONValue {
        [
            "id": .string("resp_upstream_\(id)"), "object": "response", "created_at": 1_767_225_600, "status": .string(status),
            "error": .null, "incomplete_details": .null, "model": .string(self.model ?? model), "output": .array(output),
            "usage": status == "completed" ? responsesUsage() : .null, "store": false, "instructions": .null, "tools": [],
            "tool_choice": "auto", "parallel_tool_calls": true, "temperature": 1.0, "top_p": 1.0, "metadata": [:],
        ]
    }

    private func outputItems(hosted: String?) -> [JSONValue] {
        var items: [JSONValue] = []
        if let hosted { items.append(["type": .string(hosted + "_call"), "id": "ws_upstream", "status": "completed"]) }
        if let reasoning {
            items.append([
                "type": "reasoning", "id": "rs_upstream", "summary": [["type": "summary_text", "text": .string(reasoning)]],
                "encrypted_content": "enc-upstream-reasoning",
            ])
        }
        if !content.isEmpty || toolCalls.isEmpty {
            items.append([
                "type": "message", "id": "msg_upstream", "status": "completed", "role": "assistant",
                "content": [["type": "output_text", "text": .string(content), "annotations": []]],
            ])
        }
        for (i, call) in toolCalls.enumerated() {
            items.append([
                "type": "function_call", "id": .string("fc_upstream_\(i)"), "call_id": .string(call.id), "name": .string(call.name),
                "arguments": .string(call.arguments), "status": "completed",
            ])
        }
        return items
    }

    /// The non-streamed response.
    func responsesJSON(model: String, hosted: String?) -> JSONValue {
        responseObject(model: model, status: "completed", output: outputItems(hosted: hosted))
    }

    /// The SSE events: created, each item added with its deltas and done (a hosted call with its own progress event),
    /// completed.
    func responsesEvents(model: String, hosted: String?) -> [String] {
        var events: [JSONValue] = [
            ["type": "response.created", "response": responseObject(model: model, status: "in_progress", output: [])]
        ]
        for (index, item) in outputItems(hosted: hosted).enumerated() {
            let at: [String: JSONValue] = ["output_index": .int(Int64(index))]
            var added = item.objectValue ?? [:]
            added["status"] = "in_progress"
            if item["type"] == "message" { added["content"] = [] }
            if item["type"] == "function_call" { added["arguments"] = "" }
            events.append(.object(at.merging(["type": "response.output_item.added", "item": .object(added)]) { $1 }))
            let itemID = item["id"] ?? .null
            switch item["type"]?.stringValue {
            case "message":
                let part: [String: JSONValue] = ["item_id": itemID, "content_index": 0]
                let empty: JSONValue = ["type": "output_text", "text": "", "annotations": []]
                events.append(.object(at.merging(part) { $1 }.merging(["type": "response.content_part.added", "part": empty]) { $1 }))
                for piece in Self.split(content, words: wordsPerChunk) {
                    events.append(
                        .object(at.merging(part) { $1 }.merging(["type": "response.output_text.delta", "delta": .string(piece)]) { $1 }))
                }
                events.append(
                    .object(at.merging(part) { $1 }.merging(["type": "response.output_text.done", "text": .string(content)]) { $1 }))
                let whole: JSONValue = ["type": "output_text", "text": .string(content), "annotations": []]
                events.append(.object(at.merging(part) { $1 }.merging(["type": "response.content_part.done", "part": whole]) { $1 }))
            case "function_call":
                events.append(
                    .object(
                        at.merging(["type": "response.function_call_arguments.delta", "item_id": itemID, "delta": item["arguments"] ?? ""])
                        { $1 }))
            case let type? where type.hasSuffix("_call"):
                events.append(["type": .string("response.\(type).completed"), "item_id": itemID, "output_index": .int(Int64(index))])
            default: break
            }
            events.append(.object(at.merging(["type": "response.output_item.done", "item": item]) { $1 }))
        }
        events.append(["type": "response.completed", "response": responsesJSON(model: model, hosted: hosted)])
        return events.enumerated().map { n, event in
            var o = event.objectValue ?? [:]
            o["sequence_number"] = .int(Int64(n))
            return "event: \(o["type"]?.stringValue ?? "")\ndata: \(JSONValue.object(o).jsonString())\n\n"
        }
    }
}
