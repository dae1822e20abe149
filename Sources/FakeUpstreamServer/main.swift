import Foundation
import SwitchboardTesting

// A standalone fake upstream for demos and manual testing: prints its base URL, then serves until killed.
// Usage: switchboard-fake-upstream [REPLY TEXT] [CHUNK_DELAY_MS]
let arguments = CommandLine.arguments.dropFirst()
let text = arguments.first ?? "Hello from the fake upstream, streamed word by word."
let delay = arguments.dropFirst().first.flatMap(Int.init) ?? 50
let fake = try await FakeUpstream.start()
var reply = FakeReply(text)
reply.chunkDelay = .milliseconds(delay)
fake.setDefault(.reply(reply))
fake.setModels(["fake-model", "zai-glm-4.7"])
FileHandle.standardOutput.write(Data((fake.baseURL + "\n").utf8))
while true { try await Task.sleep(for: .seconds(3600)) }
