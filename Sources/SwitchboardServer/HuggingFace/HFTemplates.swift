import Foundation
import SwitchboardCore

/// How a chat model serves a Hugging Face task: the prompt template, the structured output it must
/// produce, and the check and shaping of what it produced. Pure, so every template is testable offline.
///
/// Templates (documented in the README):
/// - text-generation: a completion instruction, the text as the user turn; output is the continuation.
/// - conversational: the past turns as user/assistant messages, then `text`.
/// - summarization / translation: an instruction naming the task (and languages), reply text only.
/// - question-answering: JSON `{answer, score}`; the answer must be copied from the context, and the
///   server finds it there to report `start`/`end` (Unicode code point offsets, as Python indexes).
/// - text-classification: JSON `{scores: [{label, score}]}` over the candidate labels; normalised to sum 1.
/// - token-classification: JSON `{entities: [{entity_group, word, score}]}` in reading order; the server
///   locates each word in the text for `start`/`end` and drops words the text does not contain.
struct HFChatTask: Sendable {
    var request: ChatRequest
    /// Turns the model's reply into the task's `output`.
    var shape: @Sendable (String) throws -> JSONValue
}

/// The model's answer did not have the shape the task needs.
struct HFInvalidOutput: Error, CustomStringConvertible {
    let description: String
}

enum HFTemplates {
    static let defaultEntityGroups = ["PER", "ORG", "LOC", "MISC"]

    static func chatTask(_ inv: HFInvocation, model: String) throws -> HFChatTask {
        switch inv.task {
        case .textGeneration:
            let prompt = try inv.string(inv.inputs, "inputs")
            let full = try inv.bool("return_full_text") ?? false
            let request = ChatRequest(
                model: model,
                messages: [
                    .system(
                        "You are a text completion engine. Continue the user's text naturally. Reply with the continuation only, without repeating the text."
                    ),
                    .user(prompt),
                ])
            return HFChatTask(request: try inv.sampling(request)) { reply in [["generated_text": .string(full ? prompt + reply : reply)]] }

        case .conversational:
            let text = try inv.string(inv.inputs["text"], "text")
            let past = try inv.strings(inv.inputs["past_user_inputs"], "past_user_inputs")
            let generated = try inv.strings(inv.inputs["generated_responses"], "generated_responses")
            guard past.count == generated.count || past.count == generated.count + 1 else {
                throw APIError.invalid(
                    "'past_user_inputs' and 'generated_responses' must alternate (got \(past.count) and \(generated.count))",
                    param: "generated_responses")
            }
            var messages: [Message] = []
            for (i, u) in past.enumerated() {
                messages.append(.user(u))
                if i < generated.count { messages.append(.assistant(generated[i])) }
            }
            messages.append(.user(text))
            return HFChatTask(request: try inv.sampling(ChatRequest(model: model, messages: messages))) { reply in
                [
                    "generated_text": .string(reply),
                    "conversation": [
                        "past_user_inputs": .array((past + [text]).map(JSONValue.string)),
                        "generated_responses": .array((generated + [reply]).map(JSONValue.string)),
                    ],
                ]
            }

        case .summarization:
            let text = try inv.string(inv.inputs, "inputs")
            var request = ChatRequest(
                model: model,
                messages: [
                    .system("Summarize the text the user sends, in the text's language. Reply with the summary only."), .user(text),
                ])
            request.maxTokens = try inv.int("max_length", in: 1...100_000)
            return HFChatTask(request: try inv.sampling(request)) { reply in ["summary_text": .string(trimmed(reply))] }

        case .translation:
            let text = try inv.string(inv.inputs, "inputs")
            let target =
                try inv.parameters["tgt_lang"].map { try inv.string($0, "parameters.tgt_lang") }
                ?? inv.parameters["target_language"].map { try inv.string($0, "target_language") } ?? "English"
            let source =
                try inv.parameters["src_lang"].map { try inv.string($0, "parameters.src_lang") }
                ?? inv.parameters["source_language"].map { try inv.string($0, "source_language") }
            let from = source.map { " from \($0)" } ?? ""
            let request = ChatRequest(
                model: model,
                messages: [
                    .system("Translate the user's text\(from) into \(target). Reply with the translation only."), .user(text),
                ])
            return HFChatTask(request: try inv.sampling(request)) { reply in ["translation_text": .string(trimmed(reply))] }

        case .questionAnswering:
            let question = try inv.string(inv.inputs["question"], "question")
            let context = try inv.string(inv.inputs["context"], "context")
            let schema: JSONValue = [
                "type": "object", "additionalProperties": false, "required": ["answer", "score"],
                "properties": ["answer": ["type": "string"], "score": ["type": "number"]],
            ]
            let request = ChatRequest(
                model: model,
                messages: [
                    .system(
                        "Answer the question from the context only. The answer must be the shortest exact span copied character for character from the context. Give score: your confidence from 0 to 1. Reply as JSON."
                    ),
                    .user("Context:\n\(context)\n\nQuestion: \(question)"),
                ], responseFormat: .jsonSchema(name: "answer", schema: schema, strict: true))
            return HFChatTask(request: try inv.sampling(request)) { reply in try answerSpan(reply, context: context) }

        case .textClassification:
            let text = try inv.string(inv.inputs, "inputs")
            let labels = try inv.strings(inv.parameters["candidate_labels"], "parameters.candidate_labels")
            let candidates = labels.isEmpty ? ["POSITIVE", "NEGATIVE"] : labels
            let schema: JSONValue = [
                "type": "object", "additionalProperties": false, "required": ["scores"],
                "properties": [
                    "scores": [
                        "type": "array",
                        "items": [
                            "type": "object", "additionalProperties": false, "required": ["label", "score"],
                            "properties": [
                                "label": ["type": "string", "enum": .array(candidates.map(JSONValue.string))],
                                "score": ["type": "number"],
                            ],
                        ],
                    ]
                ],
            ]
            let request = ChatRequest(
                model: model,
                messages: [
                    .system(
                        "Classify the user's text. Give every one of these labels a probability from 0 to 1, together summing to 1: \(candidates.joined(separator: ", ")). Reply as JSON."
                    ),
                    .user(text),
                ], responseFormat: .jsonSchema(name: "classification", schema: schema, strict: true))
            return HFChatTask(request: try inv.sampling(request)) { reply in try classification(reply, labels: candidates) }

        case .tokenClassification:
            let text = try inv.string(inv.inputs, "inputs")
            let given = try inv.strings(inv.parameters["labels"], "parameters.labels")
            let groups = given.isEmpty ? defaultEntityGroups : given
            let schema: JSONValue = [
                "type": "object", "additionalProperties": false, "required": ["entities"],
                "properties": [
                    "entities": [
                        "type": "array",
                        "items": [
                            "type": "object", "additionalProperties": false, "required": ["entity_group", "word", "score"],
                            "properties": [
                                "entity_group": ["type": "string", "enum": .array(groups.map(JSONValue.string))],
                                "word": ["type": "string"], "score": ["type": "number"],
                            ],
                        ],
                    ]
                ],
            ]
            let request = ChatRequest(
                model: model,
                messages: [
                    .system(
                        "List the named entities in the user's text in reading order. For each give entity_group (one of \(groups.joined(separator: ", "))), word (copied exactly from the text) and score (confidence from 0 to 1). Reply as JSON."
                    ),
                    .user(text),
                ], responseFormat: .jsonSchema(name: "entities", schema: schema, strict: true))
            return HFChatTask(request: try inv.sampling(request)) { reply in try entities(reply, text: text, groups: groups) }

        case .embedding, .imageGeneration:
            throw APIError.invalid("\(inv.task.rawValue) is not served by a chat model")
        }
    }

    // MARK: checking what came back

    static func trimmed(_ s: String) -> String { s.trimmingCharacters(in: .whitespacesAndNewlines) }

    static func object(_ reply: String) throws -> [String: JSONValue] {
        var text = trimmed(reply)
        // Some models wrap JSON in a Markdown fence even when asked not to.
        if text.hasPrefix("```") {
            text = String(text.drop(while: { $0 != "\n" }).dropFirst())
            if let end = text.range(of: "```", options: .backwards) { text = String(text[..<end.lowerBound]) }
        }
        guard let value = try? JSONValue.parse(Data(text.utf8)), case .object(let o) = value else {
            throw HFInvalidOutput(description: "the model did not answer with a JSON object")
        }
        return o
    }

    static func score(_ v: JSONValue?) -> Double {
        min(1, max(0, v?.doubleValue ?? 0))
    }

    /// Code point offsets of `needle` in `haystack` at or after `from`; exact first, then ignoring case.
    static func locate(_ needle: String, in haystack: String, from: String.Index? = nil) -> Range<String.Index>? {
        let start = from ?? haystack.startIndex
        return haystack.range(of: needle, range: start..<haystack.endIndex)
            ?? haystack.range(of: needle, options: .caseInsensitive, range: start..<haystack.endIndex)
    }

    static func offsets(_ r: Range<String.Index>, in s: String) -> (Int, Int) {
        let start = s.unicodeScalars.distance(from: s.unicodeScalars.startIndex, to: r.lowerBound)
        return (start, start + s.unicodeScalars.distance(from: r.lowerBound, to: r.upperBound))
    }

    static func answerSpan(_ reply: String, context: String) throws -> JSONValue {
        let o = try object(reply)
        guard let answer = o["answer"]?.stringValue.map(trimmed), !answer.isEmpty else {
            throw HFInvalidOutput(description: "the model's JSON has no 'answer' string")
        }
        guard let range = locate(answer, in: context) else {
            throw HFInvalidOutput(description: "the model's answer is not a span of the context")
        }
        let (start, end) = offsets(range, in: context)
        return [
            "answer": .string(String(context[range])), "score": .double(score(o["score"])),
            "start": .int(Int64(start)), "end": .int(Int64(end)),
        ]
    }

    static func classification(_ reply: String, labels: [String]) throws -> JSONValue {
        let o = try object(reply)
        guard case .array(let items)? = o["scores"] else { throw HFInvalidOutput(description: "the model's JSON has no 'scores' array") }
        var scores: [String: Double] = [:]
        for item in items {
            guard let label = item["label"]?.stringValue, labels.contains(label) else {
                throw HFInvalidOutput(description: "the model gave a label that is not a candidate")
            }
            scores[label] = score(item["score"])
        }
        let sum = scores.values.reduce(0, +)
        let out = labels.map { ($0, sum > 0 ? (scores[$0] ?? 0) / sum : 1 / Double(labels.count)) }
            .sorted { $0.1 > $1.1 }
        return .array(out.map { ["label": .string($0.0), "score": .double($0.1)] })
    }

    static func entities(_ reply: String, text: String, groups: [String]) throws -> JSONValue {
        let o = try object(reply)
        guard case .array(let items)? = o["entities"] else {
            throw HFInvalidOutput(description: "the model's JSON has no 'entities' array")
        }
        var out: [JSONValue] = []
        var cursor = text.startIndex
        for item in items {
            guard let group = item["entity_group"]?.stringValue, groups.contains(group),
                let word = item["word"]?.stringValue.map(trimmed), !word.isEmpty
            else {
                throw HFInvalidOutput(description: "the model gave an entity without a known entity_group and a word")
            }
            // In reading order from the last match; a repeated word is found again further on.
            guard let range = locate(word, in: text, from: cursor) ?? locate(word, in: text) else { continue }
            if range.lowerBound >= cursor { cursor = range.upperBound }
            let (start, end) = offsets(range, in: text)
            out.append([
                "entity_group": .string(group), "score": .double(score(item["score"])), "word": .string(String(text[range])),
                "start": .int(Int64(start)), "end": .int(Int64(end)),
            ])
        }
        return .array(out)
    }
}
