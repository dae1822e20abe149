import Foundation
import SwitchboardCore
import SwitchboardProviders
import SwitchboardStorage
import SwitchboardTesting
import Testing

/// Streams are bounded by their first-byte and idle timeouts, non-streamed calls by the request timeout, and time
/// spent waiting on an upstream is never reported as the gateway's overhead.
@Suite struct UpstreamTimeoutsTests {
    @Test(arguments: [true, false]) func aHealthyStreamLongerThanTheRequestTimeoutIsNotCut(direct: Bool) async throws {
        // First-byte and idle timeouts far past what a machine busy with the whole suite takes: only the request timeout
        // is under test.
        let timeouts = UpstreamTimeouts(firstByte: .seconds(60), streamIdle: .seconds(60))
        try await LiveGateway.with(try await LiveGateway.start(requestTimeout: .seconds(1), direct: direct, timeouts: timeouts)) {
            (gw) async throws in
            // Eight chunks 250 ms apart: two seconds of stream, twice the request timeout.
            var reply = FakeReply("one two three four five six seven eight")
            reply.chunkDelay = .milliseconds(250)
            gw.fake.set(.reply(reply), forModel: "steady")
            let r = try await gw.send("POST", "/v1/chat/completions", json: chatBody("fake/steady", stream: true))
            #expect(r.status == 200)
            #expect(!r.body.contains("\"error\""), "\(r.body)")
            #expect(r.body.hasSuffix("data: [DONE]\n\n"))
        }
    }

    @Test(arguments: [true, false]) func aStreamThatGoesSilentEndsWithAnErrorEventNamingTheIdleTimeout(direct: Bool) async throws {
        let timeouts = UpstreamTimeouts(firstByte: .seconds(10), streamIdle: .milliseconds(400))
        try await LiveGateway.with(try await LiveGateway.start(direct: direct, timeouts: timeouts)) { (gw) async throws in
            // The first chunk at once, the second only after three seconds.
            let first =
                #"{"id":"x","object":"chat.completion.chunk","created":1,"model":"fake-model","choices":[{"index":0,"delta":{"content":"one"}}]}"#
            gw.fake.set(.paced([(.zero, first), (.seconds(3), first)]), forModel: "stalls")
            let start = ContinuousClock.now
            let r = try await gw.send("POST", "/v1/chat/completions", json: chatBody("fake/stalls", stream: true))
            // The error below names the idle timeout; the clock only guards against a hang (a loaded CI machine is slow).
            #expect(ContinuousClock.now - start < .seconds(30))
            #expect(r.status == 200)
            #expect(r.body.contains("\"content\":\"one\""))
            let last = try #require(r.body.components(separatedBy: "\n\n").filter { !$0.isEmpty }.last)
            #expect(last.hasPrefix("data: {") && last.contains("\"finish_reason\":\"error\"") && last.contains("\"error\":{"), "\(last)")
            #expect(last.contains("stream idle timeout"), "\(last)")
            #expect(!r.body.contains("[DONE]"))
            // The record says it ended in a timeout.
            #expect(try await eventually { try await gw.store.records(UsageFilter()).contains { $0.status == 504 } })
        }
    }
}
