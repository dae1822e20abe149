import Foundation
import Logging
import SwitchboardCore
import SwitchboardStorage
import SwitchboardTesting
import Testing

/// The gateway on PostgreSQL while the database goes away and comes back (a relay the test cuts): requests are refused
/// with a 503 within the pool timeout, not held for the pool's own retries, and served again once it is back.
@Suite struct StoreOutageTests {
    @Test(.enabled(if: TestPostgres.url != nil || TestPostgres.required))
    func requestsWhileTheDatabaseIsAwayAreQuick503sAndAreServedAgainOnceItIsBack() async throws {
        let url = try await TestPostgres.freshDatabase()
        let target = try #require(URLComponents(string: url))
        let relay = try await TCPRelay.start(to: target.host ?? "127.0.0.1", port: target.port ?? 5432)
        var quiet = Logger(label: "outage-test")
        quiet.logLevel = .critical
        let store = try await PostgresStore(url: TestPostgres.via(url, port: relay.port), poolTimeout: .seconds(3), logger: quiet)
        // Limits kept in the database: admission needs it as much as the ledger does.
        var limits = QuotaEnforcer.Configuration()
        limits.global = UsageLimits(requestsPerMinute: 1_000_000)
        try await LiveGateway.with(try await LiveGateway.start(limits: limits, store: store)) { (gw) async throws in
            let first = try await gw.send("POST", "/v1/chat/completions", json: chatBody())
            #expect(first.status == 200)
            var answered = [first.header("inference-id") ?? ""]

            relay.cut()
            // The first request waits out the pool timeout; the next is refused at once.
            for bound in [Duration.seconds(30), .seconds(3)] {
                let start = ContinuousClock.now
                let refused = try await gw.send("POST", "/v1/chat/completions", json: chatBody())
                #expect(refused.status == 503, "\(refused.body)")
                // Admission fails first (store_unavailable), and the record of that answer cannot be kept either.
                #expect(refused.body.contains("store_unavailable") || refused.body.contains("ledger_unavailable"), "\(refused.body)")
                #expect(ContinuousClock.now - start < bound)
            }

            relay.restore()
            let back = await eventually(timeout: .seconds(60), interval: .milliseconds(200)) {
                guard let reply = try? await gw.send("POST", "/v1/chat/completions", json: chatBody()), reply.status == 200 else {
                    return false
                }
                answered.append(reply.header("inference-id") ?? "")
                return true
            }
            #expect(back)
            let records = try await gw.store.records(UsageFilter())
            // A request refused while the pool reconnects may have its 503 recorded; none is recorded as a success.
            #expect(Set(records.filter { $0.status == 200 }.map(\.requestID)) == Set(answered), "every answered request has its record")
            #expect(records.allSatisfy { $0.status == 200 || $0.status == 503 }, "\(records.map(\.status))")
        }
        await relay.stop()
    }
}
