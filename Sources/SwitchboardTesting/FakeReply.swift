public import SwitchboardCore
import Foundation

/// What the fake upstream answers to a chat request.
public struct FakeReply: Sendable {
    public var id: String = "chatcmpl-fake"
    /// The model reported; the request's model when nil.
    public var model: String?
    public var content: String
    public var reasoning: String?
    /// The wire field reasoning is sent in (`reasoning` or `reasoning_content`).
    public var reasoningField: String = "reasoning"
    public var toolCalls: [ToolCall] = []
    public var usage: Usage? = Usage(inputTokens: 9, outputTokens: 12)
    /// The wire finish reason; `stop`, or `tool_calls` when there are calls, when nil.
    public var finishReason: String?
    /// Words per streamed content chunk.
    public var wordsPerChunk: Int = 1
    /// Pause before each streamed chunk.
    public var chunkDelay: Duration = .zero

    /// A text reply.
    public init(_ content: String) {
        self.content = content
    }

    var finish: String { finishReason ?? (toolCalls.isEmpty ? "stop" : "tool_calls") }

    func usageJSON() -> JSONValue {
        guard let usage else { return .null }
        return [
            "prompt_tokens": .int(Int64(usage.inputTokens)), "completion_tokens": .int(Int64(usage.outputTokens)),
            "total_tokens": .int(Int64(usage.totalTokens)),
            "prompt_tokens_details": ["cached_tokens": .int(Int64(usage.cachedTokens))],
            "completion_tokens_details": ["reasoning_tokens": .int(Int64(usage.reasoningTokens))],
        ]
    }

    /// The non-streamed chat.completion body.
    func completionJSON(model: String) -> JSONValue {
        var message: [String: JSONValue] = [
            "role": "assistant", "content": toolCalls.isEmpty || !content.isEmpty ? .string(content) : .null,
        ]
        if let reasoning { message[reasoningField] = .string(reasoning) }
        if !toolCalls.isEmpty {
            message["tool_calls"] = .array(
                toolCalls.map {
                    ["id": .string($0.id), "type": "function", "function": ["name": .string($0.name), "arguments": .string($0.arguments)]]
                })
        }
        return [
            "id": .string(id), "object": "chat.completion", "created": 1_700_000_000, "model": .string(self.model ?? model),
            "choices": [["index": 0, "message": .object(message), "finish_reason": .string(finish)]],
            "usage": usageJSON(),
        ]
    }

    /// The `data:` payloads of the streamed answer, `[DONE]` last.
    func streamPayloads(model: String, includeUsage: Bool) -> [String] {
        let model = self.model ?? model
        func chunk(_ delta: JSONValue, finish: String? = nil) -> String {
            JSONValue.object([
                "id": .string(id), "object": "chat.completion.chunk", "created": 1_700_000_000, "model": .string(model),
                "choices": [["index": 0, "delta": delta, "finish_reason": finish.map(JSONValue.string) ?? .null]],
            ]).jsonString()
        }
        var out = [chunk(["role": "assistant", "content": ""])]
        if let reasoning {
            for piece in Self.split(reasoning, words: wordsPerChunk) { out.append(chunk([reasoningField: .string(piece)])) }
        }
        for piece in Self.split(content, words: wordsPerChunk) { out.append(chunk(["content": .string(piece)])) }
        // Parallel calls: every call's head first, then their arguments in halves, interleaved.
        for (i, call) in toolCalls.enumerated() {
            out.append(
                chunk([
                    "tool_calls": [
                        [
                            "index": .int(Int64(i)), "id": .string(call.id), "type": "function",
                            "function": ["name": .string(call.name), "arguments": ""],
                        ]
                    ]
                ]))
        }
        let halves = toolCalls.map { call -> (String, String) in
            let mid = call.arguments.index(call.arguments.startIndex, offsetBy: call.arguments.count / 2)
            return (String(call.arguments[..<mid]), String(call.arguments[mid...]))
        }
        for half in 0..<2 {
            for (i, parts) in halves.enumerated() {
                let piece = half == 0 ? parts.0 : parts.1
                out.append(chunk(["tool_calls": [["index": .int(Int64(i)), "function": ["arguments": .string(piece)]]]]))
            }
        }
        out.append(chunk([:], finish: finish))
        if includeUsage, usage != nil {
            out.append(
                JSONValue.object([
                    "id": .string(id), "object": "chat.completion.chunk", "created": 1_700_000_000, "model": .string(model),
                    "choices": [], "usage": usageJSON(),
                ]).jsonString())
        }
        out.append("[DONE]")
        return out
    }

    /// Splits text into pieces of `words` words, keeping the spaces so the pieces join back exactly.
    static func split(_ text: String, words: Int) -> [String] {
        var pieces: [String] = []
        var current = ""
        var count = 0
        for ch in text {
            if ch == " ", !current.isEmpty, !current.hasSuffix(" ") {
                count += 1
                if count == max(1, words) { pieces.append(current); current = ""; count = 0 }
            }
            current.append(ch)
        }
        if !current.isEmpty { pieces.append(current) }
        return pieces
    }
}

/// How the fake upstream behaves for one request.
public indirect enum FakeBehavior: Sendable {
    /// Answer, as JSON or SSE depending on the request's `stream`.
    case reply(FakeReply)
    /// An HTTP error with this body and headers.
    case status(Int, body: String, headers: [(String, String)] = [])
    /// Wait, then behave as `then`.
    case delay(Duration, then: FakeBehavior)
    /// Wait until `gate` opens (or the fake stops), then behave as `then`.
    case gated(FakeGate, then: FakeBehavior)
    /// Stream `chunks` chunks of the reply, then close the connection without finishing.
    case dropAfter(chunks: Int, reply: FakeReply)
    /// A 200 whose body is not valid JSON (or, streaming, a chunk that is not).
    case malformedJSON
    /// Exactly these body pieces, each written separately, with a pause before each.
    case raw([String], contentType: String = "text/event-stream", pause: Duration = .zero)
    /// Server-sent events, each written after its own pause.
    case paced([(pause: Duration, data: String)])
    /// A recorded exchange replayed verbatim: `body` answers a plain call, `pieces` (written one by one) a streamed one.
    case recorded(body: [UInt8], pieces: [[UInt8]], contentType: String)

    /// A 429 with `Retry-After` and an OpenAI error body.
    public static func rateLimited(retryAfter seconds: Int) -> FakeBehavior {
        .status(
            429, body: #"{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#,
            headers: [("Retry-After", String(seconds))])
    }

    /// A 5xx with an OpenAI error body.
    public static func serverError(_ status: Int = 500) -> FakeBehavior {
        .status(status, body: #"{"error":{"message":"upstream exploded","type":"server_error","param":null,"code":null}}"#)
    }
}

/// Holds the requests of a `.gated` behaviour until opened: a test sees what happens while they are in flight, for as
/// long as a loaded machine takes, instead of racing a delay.
public final class FakeGate: Sendable {
    let signal = StopSignal()

    /// A closed gate.
    public init() {}

    /// Lets every held request, and every later one, through.
    public func open() { signal.fire() }
}
