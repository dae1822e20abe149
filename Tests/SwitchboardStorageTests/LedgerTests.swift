import Foundation
@testable import SwitchboardStorage
import SwitchboardTesting
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

    @Test func aLastingHousekeepingFailureIsLoggedOnceNotEveryRoundAndItsEndToo() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sb-dir-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let store = try SQLiteStore(path: directory.appendingPathComponent("ledger.db").path)
        let capture = CapturingLogHandler()
        let writer = LedgerWriter(store: store, logger: capture.logger)
        let runner = Task { await writer.run() }
        // With its folder gone the journal cannot make its next segment: a real failure, every round.
        try FileManager.default.removeItem(at: directory)
        for i in 0..<5 { try await writer.record(record(i)) }
        func failures() -> [String] { capture.lines.filter { $0.contains("ledger housekeeping failed") } }
        // The writer's threads may start late on a loaded machine: wait for the first failure, then watch
        // fifteen more rounds.
        for _ in 0..<500 where failures().isEmpty { try await Task.sleep(for: .milliseconds(20)) }
        try #require(failures().count == 1)
        try await Task.sleep(for: .milliseconds(1500))
        #expect(failures().count == 1, "\(failures().count) lines in 1.5 s: \(failures())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for _ in 0..<100 where !capture.lines.contains(where: { $0.contains("recovered") }) {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(capture.lines.contains { $0.contains("ledger housekeeping recovered") })
        writer.stop()
        await runner.value
        await store.close()
        try? FileManager.default.removeItem(at: directory)
    }
}
