import Foundation
import SwitchboardCore
import SwitchboardTesting

// A standalone fake upstream for demos, the Python SDK tests and manual testing: prints its base URL,
// then serves until killed. Usage: switchboard-fake-upstream [REPLY TEXT] [CHUNK_DELAY_MS]
// Models with fixed behaviour: tool-model (two parallel tool calls), json-model (a JSON object),
// missing-model (404 model_not_found), drop-model (connection dropped mid-stream); for the Hugging Face
// task tests, structured answers about "My name is Sarah Jessica Parker and I live in London.":
// qa-model, classify-model (POSITIVE/NEGATIVE), ner-model.
let usage = """
    usage: switchboard-fake-upstream [REPLY TEXT] [CHUNK_DELAY_MS]

    Serves a fake OpenAI-compatible upstream on a free 127.0.0.1 port, prints its base URL, then serves until killed.
    REPLY TEXT is every model's answer (streamed word by word, CHUNK_DELAY_MS apart, 50 by default); tool-model,
    json-model, missing-model, drop-model, qa-model, classify-model and ner-model answer as their names say.

    """
let arguments = CommandLine.arguments.dropFirst()
if let first = arguments.first, ["-h", "--help", "help"].contains(first) {
    FileHandle.standardOutput.write(Data(usage.utf8))
    exit(0)
}
if let first = arguments.first, first.hasPrefix("-") {
    FileHandle.standardError.write(Data("switchboard-fake-upstream: unknown option '\(first)'\n\n\(usage)".utf8))
    exit(2)
}
let text = arguments.first ?? "Hello from the fake upstream, streamed word by word."
let delay = arguments.dropFirst().first.flatMap(Int.init) ?? 50
let fake = try await FakeUpstream.start()
var reply = FakeReply(text)
reply.chunkDelay = .milliseconds(delay)
fake.setDefault(.reply(reply))
var tools = FakeReply("")
tools.toolCalls = [
    ToolCall(id: "call_weather", name: "get_weather", arguments: #"{"city":"Paris"}"#),
    ToolCall(id: "call_time", name: "get_time", arguments: #"{"tz":"Europe/Paris"}"#),
]
fake.set(.reply(tools), forModel: "tool-model")
fake.set(.reply(FakeReply(#"{"answer": 42}"#)), forModel: "json-model")
fake.set(
    .status(
        404,
        body:
            #"{"error":{"message":"The model `missing-model` does not exist","type":"invalid_request_error","param":null,"code":"model_not_found"}}"#
    ),
    forModel: "missing-model")
fake.set(.dropAfter(chunks: 3, reply: FakeReply("this stream will break")), forModel: "drop-model")
fake.set(.reply(FakeReply(#"{"answer": "London", "score": 0.93}"#)), forModel: "qa-model")
fake.set(
    .reply(FakeReply(#"{"scores": [{"label": "NEGATIVE", "score": 0.1}, {"label": "POSITIVE", "score": 0.3}]}"#)),
    forModel: "classify-model")
fake.set(
    .reply(
        FakeReply(
            #"{"entities": [{"entity_group": "PER", "word": "Sarah Jessica Parker", "score": 0.99}, {"entity_group": "LOC", "word": "London", "score": 0.98}]}"#
        )),
    forModel: "ner-model")
fake.setModels(["fake-model", "tool-model", "json-model", "zai-glm-4.7", "qa-model", "classify-model", "ner-model"])
FileHandle.standardOutput.write(Data((fake.baseURL + "\n").utf8))
while true { try await Task.sleep(for: .seconds(3600)) }
