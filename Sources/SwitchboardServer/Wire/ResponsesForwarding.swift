import SwitchboardCore
import SwitchboardProviders

/// A Responses request for a provider that serves the Responses API itself: the client's own body, with the upstream
/// model, the stored turns it continues put before its input, and the gateway keeping the state (the upstream is told
/// not to store, and to return reasoning in a form that can be sent back).
enum ResponsesForwarding {
    static func body(_ client: JSONValue, model: String, history: [JSONValue]) -> JSONValue {
        guard case .object(var o) = client else { return client }
        let storing = o["store"]?.boolValue ?? true
        o["model"] = .string(model)
        o["previous_response_id"] = nil
        o["store"] = false
        if !history.isEmpty {
            let own: [JSONValue] =
                switch o["input"] {
                case .string(let text)?: [["type": "message", "role": "user", "content": .string(text)]]
                case .array(let items)?: items
                default: []
                }
            o["input"] = .array(history.compactMap(replayable) + own)
        }
        // What is stored here is sent back on the next turn; reasoning can only be sent back encrypted.
        if storing {
            var include = o["include"]?.arrayValue ?? []
            if !include.contains("reasoning.encrypted_content") { include.append("reasoning.encrypted_content") }
            o["include"] = .array(include)
        }
        return .object(o)
    }

    /// A stored item as it can be sent to an upstream that stores nothing: without the id of an item it never kept,
    /// and a reasoning item only when it carries its encrypted content (the upstream can read nothing else back).
    static func replayable(_ item: JSONValue) -> JSONValue? {
        guard case .object(var o) = item else { return item }
        if o["type"] == "reasoning" { return o["encrypted_content"] == nil ? nil : item }
        o["id"] = nil
        o["status"] = nil
        return .object(o)
    }
}

extension ResponsesEnvelope {
    /// The upstream's response object as the client gets it: this gateway's id (under which it is stored), the client's
    /// model name, its `previous_response_id` and its `store`.
    func adopt(_ response: JSONValue) -> JSONValue {
        guard case .object(var o) = response else { return response }
        o["id"] = .string(id)
        o["model"] = .string(model)
        o["previous_response_id"] = previousResponseID.map(JSONValue.string) ?? .null
        o["store"] = .bool(store)
        return .object(o)
    }
}

/// Relays a forwarded Responses stream event by event as the upstream sent it, each response object adopted
/// (`ResponsesEnvelope.adopt`); the terminal event waits until the response is stored (`persist`), then `finish`
/// sends it.
struct ForwardedResponsesEncoder: StreamEventEncoder {
    private let envelope: ResponsesEnvelope
    private let keep: ResponsesStreamEncoder.Keep?
    private var terminal: (type: String, json: JSONValue)?
    private var sequence: Int64 = 0
    private(set) var usage: Usage?

    init(envelope: ResponsesEnvelope, keep: ResponsesStreamEncoder.Keep?) {
        self.envelope = envelope
        self.keep = keep
    }

    mutating func encode(_ event: ResponsesStreamEvent) -> [SSEFrame] {
        var json = event.json
        if let n = json["sequence_number"]?.intValue { sequence = n + 1 }
        if case .object(var o) = json, let response = o["response"] {
            o["response"] = envelope.adopt(response)
            json = .object(o)
        }
        guard !event.isTerminal else {
            terminal = (event.type, json)
            usage = Usage(responses: event.json["response"]?["usage"])
            return []
        }
        return [SSEFrame(event: event.type, json.jsonString())]
    }

    mutating func persist(usage: Usage?, cost: [String: JSONValue]) async throws {
        guard let keep, let response = terminal?.json["response"] else { return }
        try await keep(response)
    }

    mutating func finish(usage: Usage?, cost: [String: JSONValue]) -> [SSEFrame] {
        guard let terminal else {
            return [
                failure(
                    APIError(
                        status: .badGateway, message: "the upstream's stream ended before its response was complete", type: "server_error"))
            ]
        }
        return [SSEFrame(event: terminal.type, terminal.json.jsonString())]
    }

    func failure(_ error: APIError) -> SSEFrame {
        let response = envelope.object(status: "failed", error: ResponsesEnvelope.error(error))
        let event: JSONValue = ["type": "response.failed", "sequence_number": .int(sequence), "response": response]
        return SSEFrame(event: "response.failed", event.jsonString())
    }
}
