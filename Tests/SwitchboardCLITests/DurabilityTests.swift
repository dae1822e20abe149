import Foundation
import NIOCore
import SwitchboardCore
import SwitchboardProviders
import SwitchboardStorage
import SwitchboardTesting
import Synchronization
import Testing

/// Starts `switchboard serve` as a process and returns it with its port.
func startServe(_ cli: CLIRunner) async throws -> (ChildProcess, Int) {
    let process = try ChildProcess(
        executable: CLIRunner.binary.path, arguments: ["serve"], environment: cli.environment,
        directory: cli.directory.path)
    var port: Int?
    await eventually(interval: .milliseconds(20)) {
        port = process.stderr.firstMatch(of: #/listening on http://127\.0\.0\.1:(\d+)/#).flatMap { Int($0.output.1) }
        return port != nil
    }
    if let port { return (process, port) }
    process.signal(SIGKILL)
    throw CLIRunnerError.noBinary("serve did not start: \(process.stderr)")
}

final class Completed: Sendable {
    let ids = Mutex<[String]>([])
}

@Suite(.serialized) struct DurabilityTests {
    @Test func sigkillUnderLoadLosesNoRecordOfACompletedResponse() async throws {
        let fake = try await FakeUpstream.start()
        defer { Task { await fake.stop() } }
        let cli = try CLIRunner(
            config: """
                [server]
                port = 0
                [store]
                path = "ledger.db"
                [[providers.openai_compat]]
                id = "fake"
                base_url = "\(fake.baseURL)"
                """, environment: ["SWITCHBOARD_MASTER_KEY": "sk-sb-durability-master"])
        let (process, port) = try await startServe(cli)
        let completed = Completed()
        let body = #"{"model":"fake/fake-model","messages":[{"role":"user","content":"hi"}]}"#
        let load = Task {
            await withTaskGroup(of: Void.self) { group in
                for worker in 0..<16 {
                    group.addTask {
                        var n = 0
                        while !Task.isCancelled {
                            n += 1
                            let id = "req-\(worker)-\(n)"
                            let request = TransportRequest(
                                method: "POST", url: "http://127.0.0.1:\(port)/v1/chat/completions",
                                headers: [
                                    ("Authorization", "Bearer sk-sb-durability-master"), ("x-request-id", id),
                                    ("Content-Type", "application/json"),
                                ],
                                body: ByteBuffer(string: body))
                            do {
                                let r = try await AsyncHTTPClientTransport.shared.send(request, context: .testing(timeout: .seconds(5)))
                                _ = try await r.body.collect(upTo: 1 << 20)
                                // The ledger keys records by its own id, which the response names in Inference-Id.
                                let ledgerID = r.headers.first { $0.0.lowercased() == "inference-id" }?.1
                                if r.status == 200 { completed.ids.withLock { $0.append(ledgerID ?? "missing inference-id for \(id)") } }
                            } catch {
                                if completed.ids.withLock({ !$0.isEmpty }) { return }  // the server is gone
                            }
                        }
                    }
                }
            }
        }
        // Kill it mid-load once enough has completed to mean something (however busy the machine is).
        await eventually(interval: .milliseconds(50)) { completed.ids.withLock({ $0.count }) >= 200 }
        process.signal(SIGKILL)
        let termination = await process.wait()
        load.cancel()
        await load.value
        #expect(termination == .signaled(SIGKILL))

        let done = completed.ids.withLock { $0 }
        #expect(done.count > 50, "load too small to mean anything: \(done.count)")
        let store = try SQLiteStore(path: cli.directory.appendingPathComponent("ledger.db").path)
        var filter = UsageFilter()
        filter.limit = 1_000_000
        let recorded = Set(try await store.records(filter).map(\.requestID))
        let lost = done.filter { !recorded.contains($0) }
        #expect(lost.isEmpty, "\(lost.count) of \(done.count) completed responses have no ledger record")
    }

    @Test func usageCommandReportsTotalsPerModel() async throws {
        let fake = try await FakeUpstream.start()
        defer { Task { await fake.stop() } }
        var reply = FakeReply("ok")
        reply.usage = Usage(inputTokens: 1000, outputTokens: 1000)
        fake.setDefault(.reply(reply))
        let cli = try CLIRunner(
            config: """
                [server]
                port = 0
                [store]
                path = "usage.db"
                [providers.cerebras]
                api_key = "csk-x"
                base_url = "\(fake.baseURL)"
                """, environment: ["SWITCHBOARD_MASTER_KEY": "sk-sb-usage-master"])
        let (process, port) = try await startServe(cli)
        for model in ["cerebras/zai-glm-4.7", "cerebras/zai-glm-4.7", "cerebras/unknown-model"] {
            let request = TransportRequest(
                method: "POST", url: "http://127.0.0.1:\(port)/v1/chat/completions",
                headers: [("Authorization", "Bearer sk-sb-usage-master"), ("Content-Type", "application/json")],
                body: ByteBuffer(string: #"{"model":"\#(model)","messages":[{"role":"user","content":"hi"}]}"#))
            let r = try await AsyncHTTPClientTransport.shared.send(request, context: .testing())
            _ = try await r.body.collect(upTo: 1 << 20)
        }
        process.signal(SIGTERM)
        _ = await process.wait()
        let out = try await cli.run(["usage", "--json", "--since", "1h"])
        #expect(out.status == 0, "\(out.stderr)")
        let json = try JSONValue.parse(Data(out.stdout.utf8))
        // Two priced requests: 2 * (1000 * 2.25 + 1000 * 2.75) micro-dollars = 10,000,000 nano-USD.
        #expect(json["total"]?["requests"] == 3)
        #expect(json["total"]?["cost_nano_usd"] == 10_000_000)
        #expect(json["total"]?["unpriced_requests"] == 1)
        #expect(json["total"]?["cost_usd"] == "0.01")
        let table = try await cli.run(["usage", "--model", "zai-glm-4.7"])
        #expect(table.stdout.contains("requests 2"))
        #expect(table.stdout.contains("cerebras/zai-glm-4.7"))
    }
}
