import Foundation
import SwitchboardCore

/// One response of the Responses API as it is answered: its id (whose suffix names its items), when it was made,
/// the client's model name and the request's settings it repeats. Pure: builds the response object and its items.
struct ResponsesEnvelope: Sendable {
    /// The id's suffix after `resp_`, shared by the response's items (`msg_`, `rs_`, `fc_` + suffix).
    let base: String
    let createdAt: Int64
    let model: String
    let echo: [String: JSONValue]
    let previousResponseID: String?
    let store: Bool

    var id: String { "resp_" + base }

    init(base: String, createdAt: Int64, decoded: DecodedResponsesRequest) {
        self.base = base
        self.createdAt = createdAt
        model = decoded.model
        echo = decoded.echo
        previousResponseID = decoded.previousResponseID
        store = decoded.store
    }

    func messageID() -> String { "msg_" + base }
    func reasoningID() -> String { "rs_" + base }
    func callID(_ index: Int) -> String { "fc_\(base)_\(index)" }

    static func messageItem(id: String, text: String, done: Bool) -> JSONValue {
        [
            "type": "message", "id": .string(id), "status": .string(done ? "completed" : "in_progress"), "role": "assistant",
            "content": done ? [textPart(text)] : [],
        ]
    }

    static func textPart(_ text: String) -> JSONValue { ["type": "output_text", "text": .string(text), "annotations": []] }

    static func reasoningItem(id: String, summary: String?) -> JSONValue {
        ["type": "reasoning", "id": .string(id), "summary": .array(summary.map { [summaryPart($0)] } ?? [])]
    }

    static func summaryPart(_ text: String) -> JSONValue { ["type": "summary_text", "text": .string(text)] }

    static func callItem(id: String, call: ToolCall, done: Bool) -> JSONValue {
        [
            "type": "function_call", "id": .string(id), "call_id": .string(call.id), "name": .string(call.name),
            "arguments": .string(done ? call.arguments : ""), "status": .string(done ? "completed" : "in_progress"),
        ]
    }

    /// The output items of a whole answer: its reasoning, its text, then each tool call in order.
    func output(_ r: ChatResponse) -> [JSONValue] {
        var items: [JSONValue] = []
        if let reasoning = r.reasoning, !reasoning.isEmpty { items.append(Self.reasoningItem(id: reasoningID(), summary: reasoning)) }
        if !r.content.isEmpty || r.toolCalls.isEmpty { items.append(Self.messageItem(id: messageID(), text: r.content, done: true)) }
        for (i, call) in r.toolCalls.enumerated() { items.append(Self.callItem(id: callID(i), call: call, done: true)) }
        return items
    }

    /// The status an answer ends with, and why it is incomplete when it is.
    static func status(_ reason: FinishReason?) -> (status: String, incomplete: JSONValue) {
        switch reason {
        case .length?: ("incomplete", ["reason": "max_output_tokens"])
        case .contentFilter?: ("incomplete", ["reason": "content_filter"])
        default: ("completed", .null)
        }
    }

    static func usage(_ u: Usage?, extras: [String: JSONValue]) -> JSONValue {
        guard let u else { return .null }
        var o: [String: JSONValue] = [
            "input_tokens": .int(Int64(u.inputTokens)), "input_tokens_details": ["cached_tokens": .int(Int64(u.cachedTokens))],
            "output_tokens": .int(Int64(u.outputTokens)),
            "output_tokens_details": ["reasoning_tokens": .int(Int64(u.reasoningTokens))], "total_tokens": .int(Int64(u.totalTokens)),
        ]
        o.merge(extras) { $1 }
        return .object(o)
    }

    /// The response object: `status` `in_progress` (no output yet), `completed`, `incomplete` or `failed`.
    func object(
        status: String, output: [JSONValue] = [], usage: Usage? = nil, costs: [String: JSONValue] = [:], incomplete: JSONValue = .null,
        error: JSONValue = .null
    ) -> JSONValue {
        var o: [String: JSONValue] = [
            "id": .string(id), "object": "response", "created_at": .int(createdAt), "status": .string(status), "error": error,
            "incomplete_details": incomplete, "model": .string(model), "output": .array(output),
            "previous_response_id": previousResponseID.map(JSONValue.string) ?? .null, "store": .bool(store),
            "usage": Self.usage(usage, extras: costs),
            // The settings the request left out, as OpenAI answers them.
            "instructions": .null, "tools": [], "tool_choice": "auto", "parallel_tool_calls": true, "temperature": 1.0,
            "top_p": 1.0, "metadata": [:], "text": ["format": ["type": "text"]], "truncation": "disabled",
            "max_output_tokens": .null, "reasoning": ["effort": .null, "summary": .null],
        ]
        for (key, value) in echo where value != .null { o[key] = value }
        if status == "completed" { o["completed_at"] = .int(Int64(Date().timeIntervalSince1970)) }
        return .object(o)
    }

    /// The whole response object of an answer.
    func object(_ r: ChatResponse, costs: [String: JSONValue]) -> JSONValue {
        let (status, incomplete) = Self.status(r.finishReason)
        return object(status: status, output: output(r), usage: r.usage, costs: costs, incomplete: incomplete)
    }

    /// The codes of the Responses API's error enumeration (and those Codex acts on) a gateway error keeps as its own.
    private static let errorCodes: Set<String> = [
        "server_error", "rate_limit_exceeded", "invalid_prompt", "context_length_exceeded", "insufficient_quota",
    ]

    /// The `error` of a failed response, from the gateway's error: its code where the enumeration has it, else the
    /// enumeration's code for its status.
    static func error(_ e: APIError) -> JSONValue {
        let code: String =
            if let own = e.code, errorCodes.contains(own) {
                own
            } else {
                switch e.status.code {
                case 429: "rate_limit_exceeded"
                case 400..<500: "invalid_prompt"
                default: "server_error"
                }
            }
        return ["code": .string(code), "message": .string(e.message)]
    }
}

/// Streams unified events as the Responses event sequence: `response.created` and `response.in_progress`, then each
/// output item (reasoning, message, function calls) added, its deltas, its parts and itself done, then
/// `response.completed` (or `response.incomplete`) with the whole response; `response.failed` when it fails after it
/// began. Every event carries its `sequence_number`; tool-call fragments go to their call's item by index even when the
/// calls' fragments interleave.
struct ResponsesStreamEncoder: StreamEventEncoder {
    typealias Keep = @Sendable (JSONValue) async throws -> Void

    private let envelope: ResponsesEnvelope
    private var sequence = 0
    private var started = false
    /// Output items by index; nil while still open.
    private var items: [JSONValue?] = []
    private var reasoning: (index: Int, id: String, text: String)?
    private var message: (index: Int, id: String, text: String)?
    /// Tool calls by their index in the stream: their output index and the call so far, in the order they came.
    private var calls: [Int: (index: Int, call: ToolCall)] = [:]
    private var callOrder: [Int] = []
    private var reason: FinishReason?
    private(set) var usage: Usage?
    /// Stores the final response object before the client hears it is complete; nil with `store: false`.
    private let keep: Keep?
    /// The closing frames, made when the response was stored so the client gets exactly what was stored.
    private var closing: [SSEFrame]?

    init(envelope: ResponsesEnvelope, keep: Keep?) {
        self.envelope = envelope
        self.keep = keep
    }

    private static func frame(_ type: String, _ fields: [String: JSONValue], sequence: Int) -> SSEFrame {
        var o = fields
        o["type"] = .string(type)
        o["sequence_number"] = .int(Int64(sequence))
        return SSEFrame(event: type, JSONValue.object(o).jsonString())
    }

    private mutating func emit(_ type: String, _ fields: [String: JSONValue], _ out: inout [SSEFrame]) {
        out.append(Self.frame(type, fields, sequence: sequence))
        sequence += 1
    }

    private mutating func start(_ out: inout [SSEFrame]) {
        guard !started else { return }
        started = true
        let response = envelope.object(status: "in_progress")
        emit("response.created", ["response": response], &out)
        emit("response.in_progress", ["response": response], &out)
    }

    private mutating func add(_ item: JSONValue, _ out: inout [SSEFrame]) -> Int {
        let index = items.count
        items.append(nil)
        emit("response.output_item.added", ["output_index": .int(Int64(index)), "item": item], &out)
        return index
    }

    private mutating func done(_ item: JSONValue, at index: Int, _ out: inout [SSEFrame]) {
        items[index] = item
        emit("response.output_item.done", ["output_index": .int(Int64(index)), "item": item], &out)
    }

    /// An item id: the envelope's for the first item of its kind, with the output index after it for any later one.
    private func fresh(_ first: String, taken: Bool) -> String { taken ? "\(first)_\(items.count)" : first }

    private mutating func closeReasoning(_ out: inout [SSEFrame]) {
        guard let r = reasoning else { return }
        reasoning = nil
        let at: [String: JSONValue] = ["item_id": .string(r.id), "output_index": .int(Int64(r.index)), "summary_index": 0]
        emit("response.reasoning_summary_text.done", at.merging(["text": .string(r.text)]) { $1 }, &out)
        emit("response.reasoning_summary_part.done", at.merging(["part": ResponsesEnvelope.summaryPart(r.text)]) { $1 }, &out)
        done(ResponsesEnvelope.reasoningItem(id: r.id, summary: r.text), at: r.index, &out)
    }

    private mutating func closeMessage(_ out: inout [SSEFrame]) {
        guard let m = message else { return }
        message = nil
        let at: [String: JSONValue] = ["item_id": .string(m.id), "output_index": .int(Int64(m.index)), "content_index": 0]
        emit("response.output_text.done", at.merging(["text": .string(m.text), "logprobs": []]) { $1 }, &out)
        emit("response.content_part.done", at.merging(["part": ResponsesEnvelope.textPart(m.text)]) { $1 }, &out)
        done(ResponsesEnvelope.messageItem(id: m.id, text: m.text, done: true), at: m.index, &out)
    }

    private mutating func text(_ delta: String, _ out: inout [SSEFrame]) {
        closeReasoning(&out)
        if message == nil {
            let id = fresh(envelope.messageID(), taken: items.indices.contains { items[$0]?["type"]?.stringValue == "message" })
            let index = add(ResponsesEnvelope.messageItem(id: id, text: "", done: false), &out)
            emit(
                "response.content_part.added",
                ["item_id": .string(id), "output_index": .int(Int64(index)), "content_index": 0, "part": ResponsesEnvelope.textPart("")],
                &out)
            message = (index, id, "")
        }
        guard var m = message, !delta.isEmpty else { return }
        m.text += delta
        message = m
        emit(
            "response.output_text.delta",
            ["item_id": .string(m.id), "output_index": .int(Int64(m.index)), "content_index": 0, "delta": .string(delta), "logprobs": []],
            &out)
    }

    private mutating func think(_ delta: String, _ out: inout [SSEFrame]) {
        closeMessage(&out)
        if reasoning == nil {
            let id = fresh(envelope.reasoningID(), taken: items.indices.contains { items[$0]?["type"]?.stringValue == "reasoning" })
            let index = add(ResponsesEnvelope.reasoningItem(id: id, summary: nil), &out)
            emit(
                "response.reasoning_summary_part.added",
                [
                    "item_id": .string(id), "output_index": .int(Int64(index)), "summary_index": 0,
                    "part": ResponsesEnvelope.summaryPart(""),
                ], &out)
            reasoning = (index, id, "")
        }
        guard var r = reasoning else { return }
        r.text += delta
        reasoning = r
        emit(
            "response.reasoning_summary_text.delta",
            ["item_id": .string(r.id), "output_index": .int(Int64(r.index)), "summary_index": 0, "delta": .string(delta)], &out)
    }

    private mutating func call(_ d: ToolCallDelta, _ out: inout [SSEFrame]) {
        closeReasoning(&out)
        closeMessage(&out)
        if calls[d.index] == nil {
            let call = ToolCall(id: d.id ?? "call_\(envelope.base)_\(d.index)", name: d.name ?? "", arguments: "")
            let index = add(ResponsesEnvelope.callItem(id: envelope.callID(d.index), call: call, done: false), &out)
            calls[d.index] = (index, call)
            callOrder.append(d.index)
        }
        guard var entry = calls[d.index], !d.arguments.isEmpty else { return }
        entry.call.arguments += d.arguments
        calls[d.index] = entry
        emit(
            "response.function_call_arguments.delta",
            ["item_id": .string(envelope.callID(d.index)), "output_index": .int(Int64(entry.index)), "delta": .string(d.arguments)],
            &out)
    }

    mutating func encode(_ event: StreamEvent) -> [SSEFrame] {
        var out: [SSEFrame] = []
        switch event {
        case .started: start(&out)
        case .textDelta(let t):
            start(&out)
            text(t, &out)
        case .reasoningDelta(let t):
            start(&out)
            think(t, &out)
        case .toolCallDelta(let d):
            start(&out)
            call(d, &out)
        case .usage(let u): usage = u
        case .finish(let r): reason = r
        case .agentAction: break
        }
        return out
    }

    /// Closes every open item and makes the final event, with the response object it carries.
    private mutating func close(usage recorded: Usage?, cost: [String: JSONValue]) -> (frames: [SSEFrame], response: JSONValue) {
        var out: [SSEFrame] = []
        start(&out)
        closeReasoning(&out)
        // An answer with neither text nor a call is still one (empty) message, as the whole-answer form has it.
        if items.isEmpty { text("", &out) }
        closeMessage(&out)
        for key in callOrder {
            guard let (index, call) = calls[key] else { continue }
            emit(
                "response.function_call_arguments.done",
                [
                    "item_id": .string(envelope.callID(key)), "output_index": .int(Int64(index)), "name": .string(call.name),
                    "arguments": .string(call.arguments),
                ], &out)
            done(ResponsesEnvelope.callItem(id: envelope.callID(key), call: call, done: true), at: index, &out)
        }
        let (status, incomplete) = ResponsesEnvelope.status(reason)
        let response = envelope.object(
            status: status, output: items.compactMap { $0 }, usage: recorded ?? usage, costs: cost, incomplete: incomplete)
        emit(status == "completed" ? "response.completed" : "response.incomplete", ["response": response], &out)
        return (out, response)
    }

    mutating func persist(usage recorded: Usage?, cost: [String: JSONValue]) async throws {
        guard let keep else { return }
        let (frames, response) = close(usage: recorded, cost: cost)
        try await keep(response)
        closing = frames
    }

    mutating func finish(usage recorded: Usage?, cost: [String: JSONValue]) -> [SSEFrame] {
        closing ?? close(usage: recorded, cost: cost).frames
    }

    func failure(_ error: APIError) -> SSEFrame {
        let response = envelope.object(
            status: "failed", output: items.compactMap { $0 }, usage: usage, error: ResponsesEnvelope.error(error))
        return Self.frame("response.failed", ["response": response], sequence: sequence)
    }
}
