import Foundation
import SwitchboardCore

/// Pure translation of unified responses and stream events into Anthropic's Messages shapes.
enum AnthropicResponseEncoding {
    static func stopReason(_ reason: FinishReason?) -> String {
        switch reason {
        case .stop?, nil: "end_turn"
        case .length?: "max_tokens"
        case .toolCalls?: "tool_use"
        case .contentFilter?: "refusal"
        case .error?: "end_turn"
        case .other(let s)?: s
        }
    }

    /// Anthropic counts cache reads and writes apart from `input_tokens`; the unified count includes them.
    static func usage(_ u: Usage?, extras: [String: JSONValue] = [:]) -> JSONValue {
        let u = u ?? Usage()
        let uncached = u.inputTokens.saturatingSubtracting(u.cachedTokens).saturatingSubtracting(u.cacheWriteTokens)
        var o: [String: JSONValue] = [
            "input_tokens": .int(Int64(max(0, uncached))), "output_tokens": .int(Int64(u.outputTokens)),
            "cache_read_input_tokens": .int(Int64(u.cachedTokens)),
            "cache_creation_input_tokens": .int(Int64(u.cacheWriteTokens)),
        ]
        o.merge(extras) { $1 }
        return .object(o)
    }

    static func message(_ r: ChatResponse, id: String, model: String, costs: [String: JSONValue]) -> JSONValue {
        var content: [JSONValue] = []
        if let reasoning = r.reasoning, !reasoning.isEmpty {
            content.append(["type": "thinking", "thinking": .string(reasoning), "signature": ""])
        }
        if !r.content.isEmpty { content.append(["type": "text", "text": .string(r.content)]) }
        for call in r.toolCalls {
            content.append(["type": "tool_use", "id": .string(call.id), "name": .string(call.name), "input": call.argumentsObject])
        }
        return [
            "id": .string(id), "type": "message", "role": "assistant", "model": .string(model), "content": .array(content),
            "stop_reason": .string(stopReason(r.finishReason)), "stop_sequence": .null, "usage": usage(r.usage, extras: costs),
        ]
    }

    /// The error body: `{"type": "error", "error": {"type", "message"}}`.
    static func error(_ e: APIError) -> JSONValue {
        let type: String =
            switch e.status.code {
            case 400, 422: "invalid_request_error"
            case 401: "authentication_error"
            case 402: "billing_error"
            case 403: "permission_error"
            case 404: "not_found_error"
            case 413: "request_too_large"
            case 429: "rate_limit_error"
            case 503, 529: "overloaded_error"
            case 504: "timeout_error"
            default: "api_error"
            }
        return ["type": "error", "error": ["type": .string(type), "message": .string(e.message)]]
    }
}

/// Streams unified events as Anthropic's event sequence: `message_start`, blocks (`content_block_start`,
/// deltas, `content_block_stop`), `message_delta` with the stop reason and usage, `message_stop`.
///
/// Parallel tool calls keep their order and arguments: each call gets its own `tool_use` block at its
/// first fragment, in the order calls appear, and every later fragment goes to that call's block by
/// index, even if fragments of several calls interleave.
struct AnthropicStreamEncoder: StreamEventEncoder {
    private enum Block: Equatable {
        case text, thinking
        case tool(Int)
    }

    private var id: String
    private var model: String
    private var started = false
    private var open: (block: Block, index: Int)?
    private var blocks = 0
    private var toolBlocks: [Int: Int] = [:]
    private var reason: FinishReason?
    private(set) var usage: Usage?

    init(id: String, model: String) {
        self.id = id
        self.model = model
    }

    private static func frame(_ name: String, _ data: JSONValue) -> SSEFrame {
        var o = data.objectValue ?? [:]
        o["type"] = .string(name)
        return SSEFrame(event: name, JSONValue.object(o).jsonString())
    }

    private mutating func start(_ out: inout [SSEFrame]) {
        guard !started else { return }
        started = true
        out.append(
            Self.frame(
                "message_start",
                [
                    "message": [
                        "id": .string(id), "type": "message", "role": "assistant", "model": .string(model), "content": [],
                        "stop_reason": .null, "stop_sequence": .null, "usage": AnthropicResponseEncoding.usage(nil),
                    ]
                ]))
    }

    private mutating func close(_ out: inout [SSEFrame]) {
        if let o = open { out.append(Self.frame("content_block_stop", ["index": .int(Int64(o.index))])) }
        open = nil
    }

    /// Makes `block` the open block, starting it with `initial` when it is new.
    private mutating func openBlock(_ block: Block, initial: JSONValue, _ out: inout [SSEFrame]) -> Int {
        if let o = open, o.block == block { return o.index }
        close(&out)
        let index = blocks
        blocks += 1
        open = (block, index)
        out.append(Self.frame("content_block_start", ["index": .int(Int64(index)), "content_block": initial]))
        return index
    }

    mutating func encode(_ event: StreamEvent) -> [SSEFrame] {
        var out: [SSEFrame] = []
        switch event {
        case .started(let id, let model, _):
            if !id.isEmpty, !started { self.id = id }
            if !model.isEmpty, !started { self.model = model }
            start(&out)
        case .textDelta(let t):
            start(&out)
            let i = openBlock(.text, initial: ["type": "text", "text": ""], &out)
            out.append(Self.frame("content_block_delta", ["index": .int(Int64(i)), "delta": ["type": "text_delta", "text": .string(t)]]))
        case .reasoningDelta(let t):
            start(&out)
            let i = openBlock(.thinking, initial: ["type": "thinking", "thinking": "", "signature": ""], &out)
            out.append(
                Self.frame("content_block_delta", ["index": .int(Int64(i)), "delta": ["type": "thinking_delta", "thinking": .string(t)]]))
        case .toolCallDelta(let d):
            start(&out)
            let index: Int
            if let known = toolBlocks[d.index] {
                index = known
            } else {
                index = openBlock(
                    .tool(d.index),
                    initial: [
                        "type": "tool_use", "id": .string(d.id ?? "toolu_\(self.id)_\(d.index)"), "name": .string(d.name ?? ""),
                        "input": [:],
                    ], &out)
                toolBlocks[d.index] = index
            }
            if !d.arguments.isEmpty {
                out.append(
                    Self.frame(
                        "content_block_delta",
                        [
                            "index": .int(Int64(index)),
                            "delta": ["type": "input_json_delta", "partial_json": .string(d.arguments)],
                        ]))
            }
        case .usage(let u): usage = u
        case .finish(let r): reason = r
        case .agentAction: break
        }
        return out
    }

    mutating func finish(usage recorded: Usage?, cost: [String: JSONValue]) -> [SSEFrame] {
        var out: [SSEFrame] = []
        start(&out)
        close(&out)
        out.append(
            Self.frame(
                "message_delta",
                [
                    "delta": ["stop_reason": .string(AnthropicResponseEncoding.stopReason(reason)), "stop_sequence": .null],
                    "usage": AnthropicResponseEncoding.usage(recorded ?? usage, extras: cost),
                ]))
        out.append(Self.frame("message_stop", [:]))
        return out
    }

    func failure(_ error: APIError) -> SSEFrame {
        SSEFrame(event: "error", AnthropicResponseEncoding.error(error).jsonString())
    }
}
