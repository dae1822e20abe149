import Foundation
import SwitchboardStorage
import Testing

@Suite struct LedgerTests {
    func record(_ i: Int, key: String? = "key_a", model: String = "m1", cost: Int64? = 100) -> UsageRecord {
        UsageRecord(requestID: UUID().uuidString, timestamp: Date(timeIntervalSince1970: 1_800_000_000 + Double(i)), keyID: key,
                    user: "u", task: "chat.completions", provider: "p", model: model, inputTokens: 10, outputTokens: 5,
                    costNanoUSD: cost, latencyMs: 3, status: 200, attempts: 1)
    }

    @Test func appendQueryAndTotals() async throws {
        let store = try SQLiteStore(path: temporaryDatabase())
        try await store.append([record(1), record(2, model: "m2", cost: nil), record(3, key: "key_b")])
        #expect(try await store.count(UsageFilter()) == 3)
        #expect(try await store.count(UsageFilter(keyID: "key_a")) == 2)
        #expect(try await store.count(UsageFilter(model: "p/m2")) == 1)
        #expect(try await store.count(UsageFilter(since: Date(timeIntervalSince1970: 1_800_000_002))) == 2)
        let newest = try await store.records(UsageFilter())
        #expect(newest.first?.keyID == "key_b")
        #expect(newest.last?.costNanoUSD == 100)
        let totals = try await store.totals(UsageFilter())
        let all = try #require(totals.last)
        #expect(all.requests == 3 && all.costNanoUSD == 200 && all.unpricedRequests == 1 && all.inputTokens == 30)
        #expect(totals.first { $0.model == "m2" }?.unpricedRequests == 1)
    }

    @Test func concurrentRecordsAreGroupCommittedAndAllArrive() async throws {
        let store = try SQLiteStore(path: temporaryDatabase())
        let writer = LedgerWriter(store: store)
        let runner = Task { await writer.run() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<500 { group.addTask { try await writer.record(record(i)) } }
            try await group.waitForAll()
        }
        #expect(try await store.count(UsageFilter()) == 500)
        let stats = writer.statistics
        #expect(stats.records == 500)
        #expect(stats.batches < 500)
        writer.stop()
        await runner.value
        await #expect(throws: LedgerError.self) { try await writer.record(record(0)) }
    }

    @Test func stopDrainsWhatIsQueued() async throws {
        let store = try SQLiteStore(path: temporaryDatabase())
        let writer = LedgerWriter(store: store)
        let waiting = Task { try await writer.record(record(1)) }
        try await Task.sleep(for: .milliseconds(20))
        writer.stop()
        await writer.run()
        try await waiting.value
        #expect(try await store.count(UsageFilter()) == 1)
    }

    @Test func aFailedBatchFailsEveryCallerInIt() async throws {
        let store = try SQLiteStore(path: temporaryDatabase())
        let writer = LedgerWriter(store: store)
        let runner = Task { await writer.run() }
        let r = record(1)
        try await writer.record(r)
        await #expect(throws: (any Error).self) { try await writer.record(r) }  // duplicate request id
        writer.stop()
        await runner.value
    }
}
