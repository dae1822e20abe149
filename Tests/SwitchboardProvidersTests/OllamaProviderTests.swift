import Foundation
import NIOCore
import SwitchboardCore
import SwitchboardProviders
import SwitchboardTesting
import Testing

@Suite struct OllamaProviderTests {
    @Test func ollamaHostIsReadAsOllamaReadsIt() {
        #expect(OllamaTranslation.baseURL(host: nil) == "http://127.0.0.1:11434")
        #expect(OllamaTranslation.baseURL(host: "0.0.0.0") == "http://127.0.0.1:11434")
        #expect(OllamaTranslation.baseURL(host: "myhost:1234") == "http://myhost:1234")
        #expect(OllamaTranslation.baseURL(host: "http://gpu-box") == "http://gpu-box")
        #expect(OllamaTranslation.baseURL(host: "https://h:1/prefix/") == "https://h:1/prefix")
        #expect(OllamaTranslation.baseURL(host: "ollama.com") == "https://ollama.com:443")
    }

    @Test func requestsCarryOptionsImagesToolNamesAndThinking() {
        var r = ChatRequest(
            model: "llama3.2",
            messages: [
                .system("Be brief."),
                .user(parts: [
                    .text("What is this?"), .imageURL("data:image/png;base64,iVBORw0KGgo="),
                    .imageBase64(data: "R0lG", mediaType: "image/gif"),
                ]),
                .assistant("", toolCalls: [ToolCall(id: "c1", name: "get_weather", arguments: #"{"city":"Tokyo"}"#)]),
                .tool(callID: "c1", "11 degrees"),
            ], temperature: 0.2, maxTokens: 64, stop: ["END"], seed: 7)
        r.reasoning = ReasoningOptions(effort: "high")
        r.responseFormat = .jsonObject
        let body = OllamaTranslation.body(r, stream: true, defaults: .init(numCtx: 8192, keepAlive: "10m"))
        #expect(body["options"] == ["temperature": 0.2, "num_predict": 64, "stop": ["END"], "seed": 7, "num_ctx": 8192])
        #expect(body["keep_alive"] == "10m" && body["think"] == "high" && body["format"] == "json" && body["stream"] == true)
        let messages = body["messages"]?.arrayValue ?? []
        #expect(messages[1]["images"] == ["iVBORw0KGgo=", "R0lG"])
        #expect(messages[2]["tool_calls"]?[0]?["function"]?["arguments"] == ["city": "Tokyo"], "arguments go as an object")
        #expect(messages[3]["tool_name"] == "get_weather" && messages[3]["tool_call_id"] == "c1")
    }

    @Test func ndjsonLinesSplitAcrossChunksAndAnErrorLineFailsTheStream() throws {
        var splitter = NDJSONSplitter()
        #expect(splitter.feed(ByteBuffer(string: #"{"model":"m","message":{"content":"He"#)).isEmpty)
        let lines = splitter.feed(ByteBuffer(string: "llo\"},\"done\":false}\n\n{\"done\":true,\"eval_count\":3}"))
        #expect(lines == [#"{"model":"m","message":{"content":"Hello"},"done":false}"#])
        #expect(splitter.finish() == [#"{"done":true,"eval_count":3}"#])
        var decoder = OllamaStreamDecoder(provider: "ollama")
        #expect(try decoder.decode(lines[0]) == [.started(id: "", model: "m", provider: "ollama"), .textDelta("Hello")])
        #expect(throws: ProviderError.self) { try decoder.decode(#"{"error":"model 'x' not found"}"#) }
    }

    @Test func embeddingsUseApiEmbed() async throws {
        let fake = try await FakeUpstream.start()
        var options = OllamaProvider.Options()
        options.baseURL = String(fake.baseURL.dropLast(3))
        let provider = OllamaProvider(options: options, transport: NIOHTTPTransport.shared)
        let result = try await provider.embed(["one", "three"], model: "all-minilm", context: .testing())
        #expect(result.vectors.count == 2 && result.vectors[1][0] == 5 && result.usage.inputTokens == 2)
        #expect(fake.received.last?.path == "/api/embed")
        await fake.stop()
    }
}
