import Foundation
@testable import SwitchboardStorage
import Testing

@Suite struct LedgerTests {
    func record(_ i: Int, key: String? = "key_a", model: String = "m1", cost: Int64? = 100) -> UsageRecord {
        UsageRecord(requestID: UUID().uuidString, timestamp: Date(timeIntervalSince1970: 1_800_000_000 + Double(i)), keyID: key,
                    user: "u", task: "chat.completions", provider: "p", model: model, inputTokens: 10, outputTokens: 5,
                    costNanoUSD: cost, latencyMs: 3, status: 200, attempts: 1)
    }

    @Test func stopDrainsWhatIsQueued() async throws {
        // The second opener of a database has no journal, so its records take the writer's queue.
        let path = temporaryDatabase()
        let owner = try SQLiteStore(path: path)
        let store = try SQLiteStore(path: path)
        let writer = LedgerWriter(store: store)
        let waiting = Task { try await writer.record(record(1)) }
        for _ in 0..<500 where writer.queued == 0 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(writer.queued == 1)
        writer.stop()
        await writer.run()
        try await waiting.value
        #expect(try await store.count(UsageFilter()) == 1)
        await owner.close()
    }

    @Test func aJournalingStoreCommitsOnTheCallersThreadWithoutTheQueue() async throws {
        let store = try SQLiteStore(path: temporaryDatabase())
        let writer = LedgerWriter(store: store)
        try await writer.record(record(1))  // the writer is not even running
        #expect(writer.queued == 0)
        #expect(store.journal?.pending == 1)
        let runner = Task { await writer.run() }
        writer.stop()
        await runner.value
        #expect(store.journal?.pending == 0, "the last housekeeping round moves what is left")
        #expect(writer.statistics.records == 1)
        #expect(try await store.count(UsageFilter()) == 1)
        await #expect(throws: LedgerError.self) { try await writer.record(record(2)) }
        await store.close()
    }
}
