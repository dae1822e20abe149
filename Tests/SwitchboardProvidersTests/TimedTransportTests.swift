import NIOCore
import SwitchboardCore
import SwitchboardProviders
import Synchronization
import Testing

/// A provider's timeouts reach every request it sends, the first-byte one only a streamed call's.
@Suite struct TimedTransportTests {
    /// Answers every request with an empty event stream, keeping what each carried.
    final class Recorder: HTTPTransport {
        let seen = Mutex<[UpstreamTimeouts]>([])
        func send(_ request: TransportRequest, context: CallContext) async throws -> TransportResponse {
            seen.withLock { $0.append(request.timeouts) }
            return TransportResponse(
                status: 200, headers: [("content-type", "text/event-stream")],
                body: TransportBody(bytes: ByteBuffer(string: "data: [DONE]\n\n")))
        }
    }

    @Test func aStreamedCallGetsTheFirstByteTimeoutAndAPlainOneDoesNot() async throws {
        let recorder = Recorder()
        let timeouts = UpstreamTimeouts(connect: .seconds(1), firstByte: .seconds(2), streamIdle: .seconds(3))
        let descriptor = ProviderDescriptor(
            id: "p", displayName: "P", baseURL: "http://127.0.0.1:9/v1", apiKeyEnv: nil, defaultModel: "m", freeTier: .local)
        let provider = OpenAICompatibleProvider(
            options: .init(descriptor: descriptor, apiKey: nil), transport: TimedTransport(recorder, timeouts: timeouts))
        for try await _ in provider.stream(ChatRequest(model: "m", messages: [.user("hi")]), context: .testing()) {}
        _ = try? await provider.chat(ChatRequest(model: "m", messages: [.user("hi")]), context: .testing())
        // A request's own setting wins over the provider's.
        var own = TransportRequest(method: "GET", url: "http://127.0.0.1:9/v1/models")
        own.timeouts.streamIdle = .seconds(9)
        _ = try await TimedTransport(recorder, timeouts: timeouts).send(own, context: .testing())
        #expect(
            recorder.seen.withLock { $0 } == [
                timeouts, UpstreamTimeouts(connect: .seconds(1), streamIdle: .seconds(3)),
                UpstreamTimeouts(connect: .seconds(1), streamIdle: .seconds(9)),
            ])
    }
}
