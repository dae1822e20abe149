import Foundation
import NIOCore
import SwitchboardCore
import SwitchboardProviders
import SwitchboardTesting
import Synchronization
import Testing

/// `switchboard serve`'s standard error as operators connect it: to a pipe whose reader can fall behind or stop.
@Suite(.timeLimit(.minutes(2))) struct StandardErrorTests {
    @Test func aStandardErrorNobodyReadsHoldsUpNoRequestAndTheDroppedLinesAreCounted() async throws {
        let fake = try await FakeUpstream.start()
        defer { Task { await fake.stop() } }
        // The lane's first slot refuses every request with a 429 that names no wait, so every request fails over, and
        // the gateway logs a warning for it, then answers from the second slot.
        fake.set(.status(429, body: #"{"error":{"message":"slow down","type":"rate_limit_error"}}"#), forModel: "busy-model")
        let cli = try CLIRunner(
            config: """
                [server]
                port = 0
                [store]
                path = "stderr.db"
                [[providers.openai_compat]]
                id = "fake"
                base_url = "\(fake.baseURL)"
                [lanes.pair]
                models = ["fake/busy-model", "fake/fake-model"]
                strategy = "priority"
                """, environment: ["SWITCHBOARD_MASTER_KEY": "sk-sb-stderr-master-0123456789"])
        let (process, port) = try await startServe(cli)
        defer { process.signal(SIGKILL) }
        process.holdStderr()
        // A log line of a few hundred bytes a request: 2,000 of them are several times what a pipe holds, so a gateway
        // that wrote its log in the request's path would stop answering long before the end.
        let statuses = Statuses()
        let body = #"{"model":"lane:pair","messages":[{"role":"user","content":"hi"}]}"#
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    for _ in 0..<250 {
                        let request = TransportRequest(
                            method: "POST", url: "http://127.0.0.1:\(port)/v1/chat/completions",
                            headers: [("Authorization", "Bearer sk-sb-stderr-master-0123456789"), ("Content-Type", "application/json")],
                            body: ByteBuffer(string: body))
                        let r = try await AsyncHTTPClientTransport.shared.send(request, context: .testing(timeout: .seconds(10)))
                        _ = try await r.body.collect(upTo: 1 << 20)
                        statuses.values.withLock { $0.append(r.status) }
                    }
                }
            }
            try await group.waitForAll()
        }
        let answered = statuses.values.withLock { $0 }
        #expect(answered.count == 2_000 && answered.allSatisfy { $0 == 200 }, "\(Set(answered))")
        process.resumeStderr()
        process.signal(SIGTERM)
        #expect(await process.wait() == .exited(0))
        let stderr = process.stderr
        #expect(stderr.contains("lines of log dropped: standard error was not read in time"), "\(stderr.suffix(2_000))")
        // What was written after the reader came back is all there, up to the last line.
        #expect(stderr.hasSuffix("switchboard stopped\n"), "\(stderr.suffix(2_000))")
    }
}

private final class Statuses: Sendable {
    let values = Mutex<[Int]>([])
}
