import Foundation
public import SwitchboardCore

/// Turns an agent CLI's standard output into unified events: pure, fed the bytes as they come.
public protocol CLIAgentOutputDecoder: Sendable {
    /// Events in the bytes that arrived; throws the provider error a failure line or a malformed line means.
    mutating func feed(_ bytes: [UInt8]) throws(ProviderError) -> [StreamEvent]
    /// Events for what the output held back when it ended.
    mutating func finish() throws(ProviderError) -> [StreamEvent]
    /// Whether the agent's end-of-answer arrived (a plain-text agent's answer ends with its output).
    var isComplete: Bool { get }
    /// Whether anything of the answer was decoded yet.
    var hasOutput: Bool { get }
}

extension CLIAgentPreset {
    /// The decoder of the preset's output.
    public func decoder(provider: String, model: String) -> any CLIAgentOutputDecoder {
        switch self {
        case .codex: JSONLines(CodexEvents(provider: provider, model: model), provider: provider)
        case .claude: JSONLines(ClaudeMessages(provider: provider, model: model), provider: provider)
        case .gemini: JSONLines(GeminiEvents(provider: provider, model: model), provider: provider)
        case .llm, .custom: PlainText(provider: provider, model: model)
        }
    }
}

/// Splits output into lines as it comes, scanning each byte once however long a line grows.
struct LineSplitter: Sendable {
    private var pending: [UInt8] = []
    private var scanned = 0

    mutating func feed(_ bytes: [UInt8]) -> [String] {
        pending.append(contentsOf: bytes)
        var lines: [String] = []
        var start = 0
        var i = scanned
        while i < pending.count {
            if pending[i] == UInt8(ascii: "\n") {
                lines.append(String(decoding: pending[start..<i], as: UTF8.self))
                start = i + 1
            }
            i += 1
        }
        pending.removeFirst(start)
        scanned = pending.count
        return lines
    }

    mutating func finish() -> String? {
        defer { pending = [] }
        return pending.isEmpty ? nil : String(decoding: pending, as: UTF8.self)
    }
}

/// One JSON object per line, each handed to the preset's event reader.
protocol AgentEventReader: Sendable {
    mutating func read(_ event: JSONValue) throws(ProviderError) -> [StreamEvent]
    var isComplete: Bool { get }
}

struct JSONLines<Reader: AgentEventReader>: CLIAgentOutputDecoder {
    var reader: Reader
    let provider: String
    private var lines = LineSplitter()
    private(set) var hasOutput = false

    init(_ reader: Reader, provider: String) {
        self.reader = reader
        self.provider = provider
    }

    var isComplete: Bool { reader.isComplete }

    mutating func feed(_ bytes: [UInt8]) throws(ProviderError) -> [StreamEvent] {
        var out: [StreamEvent] = []
        for line in lines.feed(bytes) { out += try decode(line) }
        return out
    }

    mutating func finish() throws(ProviderError) -> [StreamEvent] {
        guard let last = lines.finish() else { return [] }
        return try decode(last)
    }

    private mutating func decode(_ line: String) throws(ProviderError) -> [StreamEvent] {
        let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { return [] }
        let json: JSONValue
        do { json = try JSONValue.parse(Data(trimmed.utf8)) } catch {
            throw ProviderError(.decoding, provider: provider, message: "the agent printed a line that is not JSON: \(trimmed.prefix(120))")
        }
        let events = try reader.read(json)
        if events.contains(where: { if case .started = $0 { false } else { true } }) { hasOutput = true }
        return events
    }
}

/// A plain-text answer, relayed as it is printed (whole characters only: a chunk may end inside one).
struct PlainText: CLIAgentOutputDecoder {
    let provider: String
    let model: String
    private var pending: [UInt8] = []
    private var started = false
    private(set) var hasOutput = false
    private(set) var isComplete = false

    init(provider: String, model: String) {
        self.provider = provider
        self.model = model
    }

    mutating func feed(_ bytes: [UInt8]) throws(ProviderError) -> [StreamEvent] {
        pending += bytes
        // Keep back a trailing, incomplete UTF-8 sequence.
        var end = pending.count
        var lead = end - 1
        while lead >= 0, end - lead < 4, pending[lead] & 0xC0 == 0x80 { lead -= 1 }
        if lead >= 0 {
            let byte = pending[lead]
            let length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1
            if end - lead < length { end = lead }
        }
        let text = String(decoding: pending[..<end], as: UTF8.self)
        pending.removeFirst(end)
        return emit(text)
    }

    private mutating func emit(_ text: String) -> [StreamEvent] {
        guard !text.isEmpty else { return [] }
        var out: [StreamEvent] = []
        if !started {
            started = true
            out.append(.started(id: "", model: model, provider: provider))
        }
        hasOutput = true
        out.append(.textDelta(text))
        return out
    }

    mutating func finish() throws(ProviderError) -> [StreamEvent] {
        isComplete = true
        var out = emit(String(decoding: pending, as: UTF8.self))
        pending = []
        out.append(.finish(.stop))
        return out
    }
}

/// An agent's interim messages (before it acts again) are its commentary, shown as reasoning; the last is the answer.
private struct PendingText: Sendable {
    var text: String?

    /// The held text as commentary, when something else follows it.
    mutating func commentary() -> [StreamEvent] {
        defer { text = nil }
        guard let text, !text.isEmpty else { return [] }
        return [.reasoningDelta(text + "\n\n")]
    }

    mutating func hold(_ more: String) -> [StreamEvent] {
        let before = commentary()
        text = more
        return before
    }

    /// The held text as the answer.
    mutating func answer(else fallback: String? = nil) -> [StreamEvent] {
        defer { text = nil }
        guard let answer = text ?? fallback, !answer.isEmpty else { return [] }
        return [.textDelta(answer)]
    }
}

/// `codex exec --json`: `thread.started`, `item.completed` items, `turn.completed` with usage, `turn.failed`/`error`.
struct CodexEvents: AgentEventReader {
    let provider: String
    let model: String
    private var pending = PendingText()
    private(set) var isComplete = false

    init(provider: String, model: String) {
        self.provider = provider
        self.model = model
    }

    mutating func read(_ e: JSONValue) throws(ProviderError) -> [StreamEvent] {
        switch e["type"]?.stringValue {
        case "thread.started":
            return [.started(id: e["thread_id"]?.stringValue ?? "", model: model, provider: provider)]
        case "item.completed":
            guard let item = e["item"] else { return [] }
            return pendingAnd(item)
        case "turn.completed":
            isComplete = true
            let u = e["usage"]
            let usage = Usage(
                inputTokens: Int(clamping: u?["input_tokens"]?.intValue ?? 0),
                outputTokens: Int(clamping: u?["output_tokens"]?.intValue ?? 0),
                cachedTokens: Int(clamping: u?["cached_input_tokens"]?.intValue ?? 0))
            return pending.answer() + [.usage(usage), .finish(.stop)]
        case "turn.failed":
            throw failure(e["error"]?["message"]?.stringValue)
        case "error":
            throw failure(e["message"]?.stringValue)
        default:
            return []
        }
    }

    private mutating func pendingAnd(_ item: JSONValue) -> [StreamEvent] {
        let status = item["status"]?.stringValue
        switch item["type"]?.stringValue {
        case "agent_message": return pending.hold(item["text"]?.stringValue ?? "")
        case "reasoning": return pending.commentary() + [.reasoningDelta((item["text"]?.stringValue ?? "") + "\n\n")]
        case "command_execution":
            let exit = item["exit_code"]?.intValue.map { "exit \($0)" }
            return pending.commentary() + [
                .agentAction(
                    AgentAction(kind: "command", summary: item["command"]?.stringValue ?? "", status: exit ?? status, detail: item))
            ]
        case "file_change":
            let changes = (item["changes"]?.arrayValue ?? []).map {
                "\($0["kind"]?.stringValue ?? "change") \($0["path"]?.stringValue ?? "")"
            }
            return pending.commentary() + [
                .agentAction(AgentAction(kind: "file_change", summary: changes.joined(separator: ", "), status: status, detail: item))
            ]
        case "mcp_tool_call":
            let name = [item["server"]?.stringValue, item["tool"]?.stringValue].compactMap { $0 }.joined(separator: ".")
            return pending.commentary() + [.agentAction(AgentAction(kind: "tool", summary: name, status: status, detail: item))]
        case "web_search":
            return pending.commentary() + [
                .agentAction(AgentAction(kind: "web_search", summary: item["query"]?.stringValue ?? "", status: status, detail: item))
            ]
        default: return []
        }
    }

    private func failure(_ message: String?) -> ProviderError {
        ProviderError(
            .server(status: 502), provider: provider, message: "the agent's turn failed: \(Redaction.redact(message ?? "no reason given"))")
    }
}

/// `claude -p --output-format stream-json --verbose`: `system`/`init`, `assistant` messages, `result`.
struct ClaudeMessages: AgentEventReader {
    let provider: String
    let model: String
    private var pending = PendingText()
    private(set) var isComplete = false

    init(provider: String, model: String) {
        self.provider = provider
        self.model = model
    }

    mutating func read(_ m: JSONValue) throws(ProviderError) -> [StreamEvent] {
        switch m["type"]?.stringValue {
        case "system" where m["subtype"] == "init":
            return [.started(id: m["session_id"]?.stringValue ?? "", model: m["model"]?.stringValue ?? model, provider: provider)]
        case "assistant":
            var out: [StreamEvent] = []
            for block in m["message"]?["content"]?.arrayValue ?? [] {
                switch block["type"]?.stringValue {
                case "text": out += pending.hold(block["text"]?.stringValue ?? "")
                case "thinking": out += pending.commentary() + [.reasoningDelta(block["thinking"]?.stringValue ?? "")]
                case "tool_use":
                    let input = block["input"]
                    let detail = input?["command"]?.stringValue ?? input?["file_path"]?.stringValue ?? input?["pattern"]?.stringValue
                    let summary = [block["name"]?.stringValue, detail].compactMap { $0 }.joined(separator: " ")
                    out += pending.commentary() + [.agentAction(AgentAction(kind: "tool", summary: summary, detail: block))]
                default: break
                }
            }
            return out
        case "result":
            if m["is_error"]?.boolValue == true || m["subtype"]?.stringValue != "success" {
                let errors = (m["errors"]?.arrayValue ?? []).compactMap(\.stringValue)
                let reason =
                    errors.isEmpty ? (m["result"]?.stringValue ?? m["subtype"]?.stringValue ?? "error") : errors.joined(separator: "; ")
                throw ProviderError(.server(status: 502), provider: provider, message: "the agent failed: \(Redaction.redact(reason))")
            }
            isComplete = true
            let u = m["usage"]
            let read = Int(clamping: u?["cache_read_input_tokens"]?.intValue ?? 0)
            let written = Int(clamping: u?["cache_creation_input_tokens"]?.intValue ?? 0)
            var usage = Usage(
                inputTokens: Int(clamping: u?["input_tokens"]?.intValue ?? 0).saturatingAdding(read).saturatingAdding(written),
                outputTokens: Int(clamping: u?["output_tokens"]?.intValue ?? 0), cachedTokens: read, cacheWriteTokens: written)
            if let cost = m["total_cost_usd"], let nano = NanoUSD(usd: cost.jsonString()), nano.value >= 0 { usage.reportedCost = nano }
            return pending.answer(else: m["result"]?.stringValue) + [.usage(usage), .finish(.stop)]
        default:
            return []
        }
    }
}

/// `gemini --output-format stream-json`: `init`, assistant `message` deltas, `tool_use`, `result` with stats.
struct GeminiEvents: AgentEventReader {
    let provider: String
    let model: String
    private(set) var isComplete = false

    init(provider: String, model: String) {
        self.provider = provider
        self.model = model
    }

    mutating func read(_ e: JSONValue) throws(ProviderError) -> [StreamEvent] {
        switch e["type"]?.stringValue {
        case "init":
            return [.started(id: e["session_id"]?.stringValue ?? "", model: e["model"]?.stringValue ?? model, provider: provider)]
        case "message" where e["role"] == "assistant":
            return [.textDelta(e["content"]?.stringValue ?? "")]
        case "tool_use":
            return [.agentAction(AgentAction(kind: "tool", summary: e["tool_name"]?.stringValue ?? "", detail: e))]
        case "result":
            guard e["status"] == "success" else {
                let message = e["error"]?["message"]?.stringValue ?? "the agent failed"
                throw ProviderError(.server(status: 502), provider: provider, message: Redaction.redact(message))
            }
            isComplete = true
            let stats = e["stats"]
            let usage = Usage(
                inputTokens: Int(clamping: stats?["input_tokens"]?.intValue ?? 0),
                outputTokens: Int(clamping: stats?["output_tokens"]?.intValue ?? 0),
                cachedTokens: Int(clamping: stats?["cached"]?.intValue ?? 0))
            return [.usage(usage), .finish(.stop)]
        default:
            return []
        }
    }
}
