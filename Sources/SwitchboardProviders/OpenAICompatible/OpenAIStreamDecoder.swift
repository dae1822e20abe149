import Foundation
public import SwitchboardCore

/// Turns the `data:` payloads of an OpenAI-compatible SSE stream into unified events.
///
/// Tool-call fragments are keyed by `index`; where a server omits it the id decides, else the most
/// recent call; an index reused with a new id (seen from Ollama-style servers) opens a new call.
public struct OpenAIStreamDecoder: Sendable {
    private let descriptor: ProviderDescriptor
    private let provider: String
    private var started = false
    private var slots: [(wireIndex: Int?, id: String?)] = []
    /// `data: [DONE]` was seen.
    public private(set) var sawDone = false
    /// A finish reason was seen.
    public private(set) var sawFinish = false

    /// Creates a decoder for one stream.
    public init(descriptor: ProviderDescriptor, provider: String) {
        self.descriptor = descriptor
        self.provider = provider
    }

    /// Whether the stream reached a proper end.
    public var isComplete: Bool { sawDone || sawFinish }

    /// Decodes one `data:` payload.
    public mutating func decode(_ data: String) throws(ProviderError) -> [StreamEvent] {
        let trimmed = data.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("[DONE]") {
            sawDone = true
            return []
        }
        if trimmed.isEmpty { return [] }
        let chunk: WireCompletion
        do {
            chunk = try JSONDecoder().decode(WireCompletion.self, from: Data(trimmed.utf8))
        } catch {
            throw ProviderError(.decoding, provider: provider, message: "malformed stream chunk from upstream")
        }
        if let error = chunk.error {
            throw OpenAIErrorDecoding.error(fromObject: error, status: chunk.status_code ?? 500, provider: provider, headers: [])
        }
        var events: [StreamEvent] = []
        if !started, chunk.id != nil || chunk.choices?.isEmpty == false {
            started = true
            events.append(.started(id: chunk.id ?? "", model: chunk.model ?? "", provider: provider))
        }
        for choice in chunk.choices ?? [] where (choice.index ?? 0) == 0 {
            if let delta = choice.delta ?? choice.message {
                if let reasoning = delta.reasoningText(fields: descriptor.reasoningFields), !reasoning.isEmpty {
                    events.append(.reasoningDelta(reasoning))
                }
                if let text = delta.content.flatMap(WireMessage.text(of:)), !text.isEmpty {
                    events.append(.textDelta(text))
                }
                for call in delta.tool_calls ?? [] {
                    let index = slot(wireIndex: call.index, id: call.id)
                    events.append(
                        .toolCallDelta(
                            ToolCallDelta(
                                index: index, id: call.id, name: call.function?.name,
                                arguments: call.function?.argumentsText ?? "")))
                }
            }
            if let reason = choice.finish_reason {
                sawFinish = true
                events.append(.finish(FinishReason(wire: reason)))
            }
        }
        if let usage = chunk.usage {
            events.append(.usage(usage.usage))
        }
        return events
    }

    private mutating func slot(wireIndex: Int?, id: String?) -> Int {
        let newID = (id?.isEmpty == false) ? id : nil
        if let wireIndex {
            if let position = slots.lastIndex(where: { $0.wireIndex == wireIndex }) {
                if let newID, let known = slots[position].id, known != newID {
                    slots.append((wireIndex, newID))
                    return slots.count - 1
                }
                if slots[position].id == nil { slots[position].id = newID }
                return position
            }
            slots.append((wireIndex, newID))
            return slots.count - 1
        }
        if let newID {
            if let position = slots.firstIndex(where: { $0.id == newID }) { return position }
            slots.append((nil, newID))
            return slots.count - 1
        }
        if slots.isEmpty { slots.append((nil, nil)) }
        return slots.count - 1
    }
}
