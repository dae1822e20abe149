import Foundation
import NIOCore
import SwitchboardCore
import SwitchboardProviders
import SwitchboardTesting
import Synchronization
import Testing

/// Several `switchboard serve` processes sharing one PostgreSQL database hold one set of limits.
@Suite(.serialized) struct ReplicaTests {
    static var postgresURL: String? { ProcessInfo.processInfo.environment["SWITCHBOARD_TEST_POSTGRES_URL"] }

    @Test(.enabled(if: postgresURL != nil || ProcessInfo.processInfo.environment["SWITCHBOARD_REQUIRE_POSTGRES"] == "1"))
    func threeReplicasGiveAHundredRequestPerMinuteKeyAHundredNotThreeHundred() async throws {
        let url = try #require(Self.postgresURL, "SWITCHBOARD_TEST_POSTGRES_URL is not set")
        let fake = try await FakeUpstream.start()
        defer { Task { await fake.stop() } }
        let cli = try CLIRunner(
            config: """
                [server]
                port = 0
                [store]
                url = "env:SB_TEST_DATABASE_URL"
                [[providers.openai_compat]]
                id = "fake"
                base_url = "\(fake.baseURL)"
                """, environment: ["SB_TEST_DATABASE_URL": url, "SWITCHBOARD_MASTER_KEY": "sk-sb-replica-master"])
        let created = try await cli.run(["keys", "create", "--name", "shared", "--rpm", "100", "--tpd", "1000000"])
        #expect(created.status == 0, "\(created.stderr)")
        let secret = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let listed = try await cli.run(["keys", "list", "--json"])
        let keys = try JSONValue.parse(Data(listed.stdout.utf8))
        #expect(keys[0]?["limits"]?["rpm"]?.intValue == 100 && keys[0]?["limits"]?["tpd"]?.intValue == 1_000_000)

        var replicas: [(ChildProcess, Int)] = []
        for _ in 0..<3 { replicas.append(try await startServe(cli)) }
        defer { for (p, _) in replicas { p.signal(SIGTERM) } }
        try await waitForFreshMinute()

        let body = #"{"model":"fake/fake-model","messages":[{"role":"user","content":"hi"}]}"#
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<300 {
                let port = replicas[i % 3].1
                group.addTask {
                    let request = TransportRequest(
                        method: "POST", url: "http://127.0.0.1:\(port)/v1/chat/completions",
                        headers: [("Authorization", "Bearer \(secret)"), ("Content-Type", "application/json")],
                        body: ByteBuffer(string: body))
                    let r = try await AsyncHTTPClientTransport.shared.send(request, context: .testing(timeout: .seconds(30)))
                    _ = try await r.body.collect(upTo: 1 << 20)
                    return r.status
                }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(statuses.filter { $0 == 200 }.count == 100)
        #expect(statuses.filter { $0 == 429 }.count == 200)
        // Every replica served some of them, and every request is in the one shared ledger.
        let usage = try await cli.run(["usage", "--json"])
        let totals = try JSONValue.parse(Data(usage.stdout.utf8))
        #expect(totals["total"]?["requests"]?.intValue == 300, "\(usage.stdout)")
    }
}

/// Waits until at least 15 s are left in the current UTC minute, so a per-minute test runs in one window.
func waitForFreshMinute() async throws {
    let second = Int(Date().timeIntervalSince1970) % 60
    if second > 45 { try await Task.sleep(for: .seconds(61 - second)) }
}
