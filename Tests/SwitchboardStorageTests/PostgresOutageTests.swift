import Foundation
import PostgresNIO
import SwitchboardCore
@testable import SwitchboardStorage
import SwitchboardTesting
import Synchronization
import Testing

/// A database that goes away and comes back (a restart, a failover), seen through a relay the test cuts: the store
/// fails fast while it is gone and serves again, without losing what was committed, once it is back.
@Suite struct PostgresOutageTests {
    static let enabled = TestPostgres.url != nil || TestPostgres.required

    func record(_ id: String) -> UsageRecord {
        UsageRecord(requestID: id, task: "chat.completions", provider: "p", model: "m", inputTokens: 3, outputTokens: 2, status: 200)
    }

    @Test(.enabled(if: enabled))
    func aDatabaseThatGoesAwayFailsOperationsWithinThePoolTimeoutAndIsUsedAgainOnceBack() async throws {
        let url = try await TestPostgres.freshDatabase()
        let target = try #require(URLComponents(string: url))
        let relay = try await TCPRelay.start(to: target.host ?? "127.0.0.1", port: target.port ?? 5432)
        let store = try await PostgresStore(
            url: TestPostgres.via(url, port: relay.port), poolTimeout: .seconds(3), logger: quietLogger)
        try await store.append([record("before")])

        relay.cut()
        let clock = ContinuousClock()
        var start = clock.now
        // Without the bound, postgres-nio's pool holds this until its circuit breaker opens, a minute or more.
        await #expect(throws: StorageError.self) { try await store.append([self.record("during")]) }
        #expect(clock.now - start < .seconds(30), "an operation gives up within the pool timeout, not the pool's own retries")
        // Found unreachable moments ago: the next operation does not wait out the timeout again.
        start = clock.now
        await #expect(throws: StorageError.self) {
            try await store.counters.charge([CounterCharge(counter: "outage:rpm", amount: 1, limit: 10, expiresAt: Int64.max / 2)])
        }
        #expect(clock.now - start < .seconds(3), "refused at once, without a wait for a connection")

        relay.restore()
        // The pool reconnects on its own backoff (a fraction of a second after a short outage).
        var tries = 0
        let back = await eventually(timeout: .seconds(60), interval: .milliseconds(200)) {
            tries += 1
            return (try? await store.append([self.record("after-\(tries)")])) != nil
        }
        #expect(back)
        let ids = Set(try await store.records(UsageFilter()).map(\.requestID))
        #expect(ids == ["before", "after-\(tries)"], "what was committed before stays, the refused record is not there")
        await store.close()
        await relay.stop()
    }

    @Test func anOperationThatNeverEndsIsGivenUpAfterTheTimeoutAndOneMore() async throws {
        // Never run, never asked: the operation below stands for a query written to a connection that closed, which
        // postgres-nio neither answers nor fails.
        let pool = PostgresClient(
            configuration: try PostgresStore.configuration("postgres://postgres@127.0.0.1:1/none?sslmode=disable"),
            backgroundLogger: quietLogger)
        let client = PostgresStore.Client(pool: pool, poolTimeout: .milliseconds(200), location: "test")
        let hung = Hung()
        let start = ContinuousClock.now
        await #expect(throws: StorageError.self) {
            try await client.bounded {
                await hung.wait()
                return 1
            }
        }
        let waited = ContinuousClock.now - start
        #expect(waited >= .milliseconds(400), "the timeout, then one more for a query that may have been sent")
        #expect(waited < .seconds(30))
        hung.release()
    }

    /// Waits, deaf to cancellation, until released.
    final class Hung: Sendable {
        private let state = Mutex<(released: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

        func wait() async {
            await withCheckedContinuation { c in
                let now = state.withLock { s -> Bool in
                    if s.released { return true }
                    s.waiters.append(c)
                    return false
                }
                if now { c.resume() }
            }
        }

        func release() {
            for c in state.withLock({ s -> [CheckedContinuation<Void, Never>] in
                s.released = true
                defer { s.waiters = [] }
                return s.waiters
            }) { c.resume() }
        }
    }

    @Test func aWaitGivesUpOnlyOnceTheDatabaseHasAnsweredNothingForTheTimeout() {
        let start = ContinuousClock.now
        var health = PostgresStore.Client.Health(lastAnswer: start - .seconds(30))
        #expect(
            health.givesUp(waitingSince: start, timeout: .seconds(2)) == start + .seconds(2), "an old answer counts from the wait's start")
        health.answered(now: start + .milliseconds(1500))
        #expect(health.givesUp(waitingSince: start, timeout: .seconds(2)) == start + .milliseconds(3500), "an answer pushes it back")
        health.answered(now: start + .seconds(3))
        #expect(health.givesUp(waitingSince: start, timeout: .seconds(2)) == start + .seconds(5))
    }

    @Test(.enabled(if: enabled))
    func aWaitBehindQueriesThatAreBeingAnsweredIsABusyPoolNotAnOutage() async throws {
        var config = try PostgresStore.configuration(try #require(TestPostgres.url))
        config.options.maximumConnections = 2
        let pool = PostgresClient(configuration: config, backgroundLogger: quietLogger)
        let runner = Task { await pool.run() }
        // Both connections opened first, by a patient client: connecting on a loaded machine is not what is tested.
        let patient = PostgresStore.Client(pool: pool, poolTimeout: .seconds(60), location: "test")
        try await concurrently(2, "SELECT pg_sleep(0.2)", on: patient)
        // Two connections, forty queries of 0.5 s: the last waits 9.5 s for a connection, past the 8 s timeout, while
        // an answer comes every 0.25 s. The margin is wide because a loaded test run can hold a task back for seconds.
        let client = PostgresStore.Client(pool: pool, poolTimeout: .seconds(8), location: "test")
        try await concurrently(40, "SELECT pg_sleep(0.5)", on: client)
        runner.cancel()
        _ = await runner.value
    }

    /// Sends `query` `count` times at once and waits for every answer.
    func concurrently(_ count: Int, _ query: PostgresQuery, on client: PostgresStore.Client) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<count { group.addTask { try await client.query(query, logger: quietLogger) } }
            try await group.waitForAll()
        }
    }
}
