import Foundation
import SwitchboardCore

/// The Hugging Face tasks served under `/hf/tasks/`.
enum HFTask: String, CaseIterable, Sendable {
    case textGeneration = "text-generation"
    case conversational
    case summarization
    case translation
    case questionAnswering = "question-answering"
    case textClassification = "text-classification"
    case tokenClassification = "token-classification"
    case embedding
    case imageGeneration = "image-generation"

    /// Tasks a chat model serves through a prompt template.
    var isChatTask: Bool { self != .embedding && self != .imageGeneration }
}

/// One task call, whichever route it came through: the task's inputs and parameters, normalised.
struct HFInvocation: Sendable {
    var task: HFTask
    /// The model the client named (gateway id or mapped Hub id); nil for the task's default.
    var model: String?
    var inputs: JSONValue
    var parameters: [String: JSONValue]
    var stream: Bool

    /// Reads a task route's body. Fields may sit at the top level (the seed's shape: `text`, `question`,
    /// `context`, `target_language`) or under `inputs`/`parameters` (Hugging Face's shape).
    init(task: HFTask, body: JSONValue, streamQuery: Bool, modelQuery: String? = nil) throws {
        guard case .object(let o) = body else { throw APIError.invalid("request body must be a JSON object") }
        self.task = task
        var parameters: [String: JSONValue] = [:]
        switch o["parameters"] {
        case nil, .null?: break
        case .object(let p)?: parameters = p
        default: throw APIError.invalid("'parameters' must be an object", param: "parameters")
        }
        for key in ["target_language", "source_language", "candidate_labels", "src_lang", "tgt_lang"] where parameters[key] == nil {
            if let v = o[key] { parameters[key] = v }
        }
        // A model in the query serves clients that post to a fixed URL (huggingface_hub with `model=URL`). An empty
        // one is refused even when the body names a model, as an empty one in the body is.
        if modelQuery?.isEmpty == true { throw APIError.invalid("'model' must be a non-empty string", param: "model") }
        switch o["model"] ?? parameters["model"] ?? modelQuery.map(JSONValue.string) {
        case nil, .null?: model = nil
        case .string(let m)? where !m.isEmpty: model = m
        default: throw APIError.invalid("'model' must be a non-empty string", param: "model")
        }
        parameters["model"] = nil
        let topLevel = Self.topLevelInputs(of: task)
        if let i = o["inputs"] {
            guard i != .null else { throw APIError.invalid("missing required field 'inputs'", param: "inputs") }
            try Self.refuseBothShapes(task, o)
            inputs = i
        } else if !topLevel.isEmpty {
            inputs = .object(o.filter { topLevel.contains($0.key) })
        } else {
            throw APIError.invalid("missing required field 'inputs'", param: "inputs")
        }
        self.parameters = parameters
        switch o["stream"] {
        case nil, .null?: stream = streamQuery
        case .bool(let b)?: stream = b
        default: throw APIError.invalid("'stream' must be a boolean", param: "stream")
        }
        if stream && task != .textGeneration {
            throw APIError.invalid("only text-generation can stream, not \(task.rawValue)", param: "stream")
        }
    }

    /// `POST /hf/tasks/run`: `{task, model, inputs, parameters}`.
    static func run(body: JSONValue, streamQuery: Bool, modelQuery: String? = nil) throws -> HFInvocation {
        guard let name = body["task"]?.stringValue else { throw APIError.invalid("missing required field 'task'", param: "task") }
        guard let task = HFTask(rawValue: name) else {
            throw APIError.invalid(
                "unknown task '\(name)'; expected one of \(HFTask.allCases.map(\.rawValue).joined(separator: ", "))",
                param: "task")
        }
        var body = body.objectValue ?? [:]
        body["task"] = nil
        // `run` always carries its inputs under `inputs`, whatever the task.
        if !topLevelInputs(of: task).isEmpty, case .object(let inner)? = body["inputs"] {
            try refuseBothShapes(task, body)
            for (k, v) in inner where body[k] == nil { body[k] = v }
            body["inputs"] = nil
        }
        return try HFInvocation(task: task, body: .object(body), streamQuery: streamQuery, modelQuery: modelQuery)
    }

    /// The fields a task may take at the top level instead of under `inputs`.
    static func topLevelInputs(of task: HFTask) -> [String] {
        switch task {
        case .conversational: ["text", "past_user_inputs", "generated_responses"]
        case .questionAnswering: ["question", "context"]
        default: []
        }
    }

    /// A body with `inputs` and a top-level input field too is ambiguous: one of the two would be ignored.
    static func refuseBothShapes(_ task: HFTask, _ body: [String: JSONValue]) throws {
        if let field = topLevelInputs(of: task).first(where: { body[$0] != nil }) {
            throw APIError.invalid("give the input under 'inputs' or at the top level, not both ('\(field)')", param: field)
        }
    }

    // MARK: typed access, each failure naming the field

    func string(_ value: JSONValue?, _ field: String) throws -> String {
        guard let s = value?.stringValue, !s.isEmpty else { throw APIError.invalid("'\(field)' must be a non-empty string", param: field) }
        return s
    }

    func strings(_ value: JSONValue?, _ field: String) throws -> [String] {
        switch value {
        case nil, .null?: return []
        case .array(let a)? where a.allSatisfy({ $0.stringValue != nil }): return a.compactMap(\.stringValue)
        default: throw APIError.invalid("'\(field)' must be an array of strings", param: field)
        }
    }

    func int(_ field: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let v = parameters[field], v != .null else { return nil }
        guard let i = v.intValue, range.contains(Int(i)) else {
            throw APIError.invalid(
                "'parameters.\(field)' must be an integer from \(range.lowerBound) to \(range.upperBound)",
                param: "parameters.\(field)")
        }
        return Int(i)
    }

    func bool(_ field: String) throws -> Bool? {
        guard let v = parameters[field], v != .null else { return nil }
        guard let b = v.boolValue else { throw APIError.invalid("'parameters.\(field)' must be a boolean", param: "parameters.\(field)") }
        return b
    }

    func double(_ field: String, in range: ClosedRange<Double>) throws -> Double? {
        guard let v = parameters[field], v != .null else { return nil }
        guard let d = v.doubleValue, range.contains(d) else {
            throw APIError.invalid(
                "'parameters.\(field)' must be a number from \(range.lowerBound) to \(range.upperBound)",
                param: "parameters.\(field)")
        }
        return d
    }

    /// The sampling parameters every chat-served task accepts.
    func sampling(_ request: ChatRequest) throws -> ChatRequest {
        var r = request
        r.maxTokens = try int("max_new_tokens", in: 1...1_000_000) ?? int("max_tokens", in: 1...1_000_000) ?? r.maxTokens
        r.temperature = try double("temperature", in: 0...2) ?? r.temperature
        r.topP = try double("top_p", in: 0...1) ?? r.topP
        if let seed = try int("seed", in: 0...Int(Int32.max)) { r.seed = Int64(seed) }
        if let stop = parameters["stop"] { r.stop = try strings(stop, "parameters.stop") }
        return r
    }
}
