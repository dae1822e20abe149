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
        var replicas: [(ChildProcess, Int)] = []
        for _ in 0..<3 { replicas.append(try await startServe(cli)) }
        defer { for (p, _) in replicas { p.signal(SIGTERM) } }

        // A burst that straddles a minute boundary counts in two windows; it is run again with a new key (whose
        // counters start empty) rather than waiting for a fresh minute.
        var statuses: [Int] = []
        var bursts = 0
        for attempt in 0..<2 {
            let created = try await cli.run(["keys", "create", "--name", "shared-\(attempt)", "--rpm", "100", "--tpd", "1000000"])
            #expect(created.status == 0, "\(created.stderr)")
            let secret = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let minute = Int(Date().timeIntervalSince1970) / 60
            statuses = try await Self.burst(secret: secret, ports: replicas.map(\.1))
            bursts += 1
            if Int(Date().timeIntervalSince1970) / 60 == minute { break }
        }
        let listed = try await cli.run(["keys", "list", "--json"])
        let keys = try JSONValue.parse(Data(listed.stdout.utf8))
        #expect(keys[0]?["limits"]?["rpm"]?.intValue == 100 && keys[0]?["limits"]?["tpd"]?.intValue == 1_000_000)
        #expect(statuses.filter { $0 == 200 }.count == 100)
        #expect(statuses.filter { $0 == 429 }.count == 200)
        // Every replica served some of them, and every request is in the one shared ledger.
        let usage = try await cli.run(["usage", "--json"])
        let totals = try JSONValue.parse(Data(usage.stdout.utf8))
        #expect(totals["total"]?["requests"]?.intValue == Int64(300 * bursts), "\(usage.stdout)")
    }

    /// 300 requests at once with `secret`, spread over the replicas; their statuses.
    static func burst(secret: String, ports: [Int]) async throws -> [Int] {
        let body = #"{"model":"fake/fake-model","messages":[{"role":"user","content":"hi"}]}"#
        return try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<300 {
                let port = ports[i % ports.count]
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
    }
}
