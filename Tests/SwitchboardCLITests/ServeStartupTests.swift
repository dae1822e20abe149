import Foundation
import NIOCore
import NIOPosix
import SwitchboardCore
import SwitchboardProviders
import SwitchboardStorage
import SwitchboardTesting
import Synchronization
import Testing

/// Text a stream's client received.
private final class Text: Sendable {
    let value = Mutex("")
}

/// `switchboard serve` as an operator starts and stops it.
@Suite struct ServeStartupTests {
    @Test func aPortInUseIsNamedAndServeExitsAtOnce() async throws {
        // Something else holds the port.
        let holder = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(holder.localAddress?.port)
        let cli = try CLIRunner(
            config: "[server]\nport = \(port)\n", environment: ["SWITCHBOARD_MASTER_KEY": "sk-sb-startup-test-0123456789"])
        let process = try ChildProcess(
            executable: CLIRunner.binary.path, arguments: ["serve"], environment: cli.environment, directory: cli.directory.path)
        // A bound on a failing test, not a wait: the process ends on its own at once.
        let watchdog = Task {
            try await Task.sleep(for: .seconds(30))
            process.signal(SIGKILL)
        }
        let termination = await process.wait()
        watchdog.cancel()
        try await holder.close()
        #expect(termination == .exited(1), "\(process.stderr)")
        #expect(process.stderr.contains("cannot listen on 127.0.0.1:\(port): the address is already in use"))
    }

    @Test func sigtermWithStreamsOpenPastTheDrainTimeoutEndsThemWithAnErrorEventAndRecordsThem() async throws {
        let fake = try await FakeUpstream.start()
        defer { Task { await fake.stop() } }
        var reply = FakeReply(Array(repeating: "tick", count: 1500).joined(separator: " "))
        reply.chunkDelay = .milliseconds(20)
        fake.setDefault(.reply(reply))
        let cli = try CLIRunner(
            config: """
                [server]
                port = 0
                drain_timeout_seconds = 4
                [store]
                path = "drain.db"
                [[providers.openai_compat]]
                id = "fake"
                base_url = "\(fake.baseURL)"
                """, environment: ["SWITCHBOARD_MASTER_KEY": "sk-sb-drain-master-0123456789"])
        let (process, port) = try await startServe(cli)
        let received = (0..<2).map { _ in Text() }
        let clients = received.map { text in
            Task {
                let request = TransportRequest(
                    method: "POST", url: "http://127.0.0.1:\(port)/v1/chat/completions",
                    headers: [("Authorization", "Bearer sk-sb-drain-master-0123456789"), ("Content-Type", "application/json")],
                    body: ByteBuffer(string: #"{"model":"fake/fake-model","stream":true,"messages":[{"role":"user","content":"hi"}]}"#))
                let response = try await AsyncHTTPClientTransport.shared.send(request, context: .testing(timeout: .seconds(60)))
                for try await chunk in response.body { text.value.withLock { $0 += String(buffer: chunk) } }
            }
        }
        // Both clients have text before the signal: what was delivered is what the records count.
        await eventually {
            fake.streamsInFlight == 2 && received.allSatisfy { $0.value.withLock { $0.contains("tick") } }
        }
        process.signal(SIGTERM)
        let termination = await process.wait()
        for client in clients { _ = await client.result }
        #expect(termination == .exited(0), "\(process.stderr)")
        for text in received.map({ $0.value.withLock { $0 } }) {
            let last = text.components(separatedBy: "\n\n").filter { !$0.isEmpty }.last ?? ""
            #expect(last.contains("server_shutting_down"), "\(last)")
        }
        let store = try SQLiteStore(path: cli.directory.appendingPathComponent("drain.db").path)
        let records = try await store.records(UsageFilter())
        #expect(records.count == 2)
        #expect(records.allSatisfy { $0.status == 503 && $0.outputTokens > 0 }, "\(records.map { ($0.status, $0.outputTokens) })")
    }
}
