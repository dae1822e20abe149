import Foundation
import SwitchboardCore
import SwitchboardTesting

// A standalone fake upstream for demos, the Python SDK tests and manual testing: prints its base URL,
// then serves until killed. Usage: switchboard-fake-upstream [REPLY TEXT] [CHUNK_DELAY_MS]
// Models with fixed behaviour: tool-model (two parallel tool calls), json-model (a JSON object),
// missing-model (404 model_not_found), drop-model (connection dropped mid-stream).
let arguments = CommandLine.arguments.dropFirst()
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
fake.set(.status(404, body: #"{"error":{"message":"The model `missing-model` does not exist","type":"invalid_request_error","param":null,"code":"model_not_found"}}"#),
         forModel: "missing-model")
fake.set(.dropAfter(chunks: 3, reply: FakeReply("this stream will break")), forModel: "drop-model")
fake.setModels(["fake-model", "tool-model", "json-model", "zai-glm-4.7"])
FileHandle.standardOutput.write(Data((fake.baseURL + "\n").utf8))
while true { try await Task.sleep(for: .seconds(3600)) }
