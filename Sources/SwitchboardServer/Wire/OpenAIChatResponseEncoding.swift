import Foundation
public import SwitchboardCore
import SwitchboardProviders

/// Turns one stream's events into `chat.completion.chunk` payloads.
public struct OpenAIChunkEncoder: Sendable {
    private var id: String
    private var model: String
    private let created: Int64
    private let includeUsage: Bool
    private var sentRole = false
    private var pendingUsage: Usage?
    /// Whether an agent's actions are sent, each as a chunk with an empty delta and `switchboard_agent_action`.
    private let agentActions: Bool

    /// An encoder for one response.
    public init(id: String, model: String, created: Int64, includeUsage: Bool, agentActions: Bool = false) {
        self.id = id
        self.model = model
        self.created = created
        self.includeUsage = includeUsage
        self.agentActions = agentActions
    }

    private func chunk(_ delta: JSONValue, finish: String? = nil) -> JSONValue {
        [
            "id": .string(id), "object": "chat.completion.chunk", "created": .int(created), "model": .string(model),
            "choices": [["index": 0, "delta": delta, "logprobs": .null, "finish_reason": finish.map(JSONValue.string) ?? .null]],
        ]
    }

    /// The chunk that ends a failed stream: an empty delta finished with `error`, and `body`'s `error` object.
    public func failureChunk(_ body: JSONValue) -> JSONValue {
        guard case .object(var o) = chunk(.object([:]), finish: "error") else { return body }
        o["error"] = body["error"] ?? body
        return .object(o)
    }

    /// The payloads (JSON text) for one event; usage is held back to the end.
    public mutating func encodePayloads(_ event: StreamEvent) -> [String] {
        var out: [JSONValue] = []
        func delta(_ fields: [String: JSONValue]) -> JSONValue {
            var d = fields
            if !sentRole { d["role"] = "assistant" }
            return .object(d)
        }
        switch event {
        case .started(let id, let model, _):
            if !id.isEmpty { self.id = id }
            if !model.isEmpty { self.model = model }
            return []
        case .textDelta(let t): out.append(chunk(delta(["content": .string(t)])))
        case .reasoningDelta(let r): out.append(chunk(delta(["reasoning_content": .string(r)])))
        case .toolCallDelta(let d):
            var call: [String: JSONValue] = ["index": .int(Int64(d.index))]
            if let id = d.id { call["id"] = .string(id); call["type"] = "function" }
            var function: [String: JSONValue] = ["arguments": .string(d.arguments)]
            if let name = d.name { function["name"] = .string(name) }
            call["function"] = .object(function)
            out.append(chunk(delta(["tool_calls": [.object(call)]])))
        case .finish(let reason):
            out.append(chunk(sentRole ? [:] : ["role": "assistant"], finish: reason.wireValue))
        case .usage(let u):
            pendingUsage = u
            return []
        case .agentAction(let action):
            guard agentActions, case .object(var o) = chunk(delta([:])) else { return [] }
            o["switchboard_agent_action"] = action.json
            out.append(.object(o))
        }
        sentRole = true
        return out.map { $0.jsonString() }
    }

    /// The closing payloads: the usage chunk when asked for (with `usageExtras`, such as cost, merged into
    /// its usage object), then `[DONE]`.
    /// `usage` replaces what the upstream reported (the gateway's checked or estimated count).
    public func finish(usage recorded: Usage? = nil, usageExtras: [String: JSONValue] = [:]) -> [String] {
        var out: [String] = []
        if includeUsage, let u = recorded ?? pendingUsage {
            var usage = OpenAIChatResponseEncoding.usage(u).objectValue ?? [:]
            usage.merge(usageExtras) { $1 }
            let last: JSONValue = [
                "id": .string(id), "object": "chat.completion.chunk", "created": .int(created), "model": .string(model),
                "choices": [], "usage": .object(usage),
            ]
            out.append(last.jsonString())
        }
        out.append("[DONE]")
        return out
    }

    /// The usage seen so far.
    public var usage: Usage? { pendingUsage }
}
