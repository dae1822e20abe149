import Foundation
@testable import SwitchboardStorage
import SwitchboardTesting
import Testing

@Suite struct LedgerTests {
    func record(_ i: Int, key: String? = "key_a", model: String = "m1", cost: Int64? = 100) -> UsageRecord {
        UsageRecord(
            requestID: UUID().uuidString, timestamp: Date(timeIntervalSince1970: 1_800_000_000 + Double(i)), keyID: key,
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
        await eventually { writer.queued != 0 }
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
        let directory = ScratchFiles.url("sb-dir")
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
        await eventually(interval: .milliseconds(20)) { !failures().isEmpty }
        try #require(failures().count == 1)
        let seen = writer.housekeepingRounds
        await eventually { writer.housekeepingRounds >= seen + 15 }
        #expect(writer.housekeepingRounds >= seen + 15)
        #expect(failures().count == 1, "\(failures().count) lines in \(writer.housekeepingRounds - seen) rounds: \(failures())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        await eventually { capture.lines.contains { $0.contains("recovered") } }
        #expect(capture.lines.contains { $0.contains("ledger housekeeping recovered") })
        writer.stop()
        await runner.value
        await store.close()
        try? FileManager.default.removeItem(at: directory)
    }

    @Test func whenHousekeepingNeverRunsTheWriterMovesTheJournalAndItStaysShort() async throws {
        // 64 KiB segments hold a few hundred records; an hour between rounds stands for a housekeeping thread
        // that falls behind. The writer readies room and, past a few closed segments, does the move.
        let path = temporaryDatabase()
        let store = try SQLiteStore(path: path, journalSegmentBytes: 64 << 10)
        let writer = LedgerWriter(store: store, housekeepingInterval: .seconds(3600))
        let runner = Task { await writer.run() }
        var most = 0
        for i in 0..<6000 {
            try await writer.record(record(i))
            most = max(most, store.journal?.pending ?? 0)
        }
        // About (closedSegmentsBeforeMove + 1) segments, plus what comes in while a move runs: a few thousand
        // records on a loaded machine, where without the writer's moves all 6,000 would wait.
        let perSegment = (64 << 10) / (record(0).journalLine.count + 1)
        #expect(most < 3000, "a few segments wait to be moved: \(most) records, \(perSegment) a segment")

        #expect(store.journal?.statistics.batches ?? 0 > 0, "the writer moved segments while records came")
        writer.stop()
        await runner.value
        #expect(store.journal?.pending == 0)
        var all = UsageFilter()
        all.limit = 7000
        #expect(try await store.count(all) == 6000)
        await store.close()
    }

    @Test func aSegmentAnotherMoveFinishedBetweenListingAndClaimingIsNotMovedTwice() async throws {
        let store = try SQLiteStore(path: temporaryDatabase(), journalSegmentBytes: 64 << 10)
        let journal = try #require(store.journal)
        var i = 0
        while journal.closedSegments == 0 {
            _ = try journal.append(record(i), immediate: false)
            i += 1
        }
        // Move A lists the closed segments; move B lists, claims and finishes them; then A claims from its list.
        let listedByA = journal.closedList
        let b = journal.newClaimToken()
        let claimedByB = journal.claim(b, from: journal.closedList)
        #expect(!claimedByB.isEmpty)
        journal.moved(claimedByB, token: b)
        let a = journal.newClaimToken()
        #expect(journal.claim(a, from: listedByA).isEmpty, "a moved segment was claimed again")
        #expect(journal.statistics.batches == 1)
        await store.close()
    }

    @Test func aLoopTakingTheSpareSegmentWakesTheWriterToReadyTheNextWithoutMakingARecordWait() async throws {
        let store = try SQLiteStore(path: temporaryDatabase(), journalSegmentBytes: 64 << 10)
        let writer = LedgerWriter(store: store, housekeepingInterval: .seconds(3600))
        let runner = Task { await writer.run() }
        let journal = try #require(store.journal)
        // A running writer has asked to be woken and readied a spare.
        await eventually { journal.wakesOnSpareTaken && journal.hasSpare }
        #expect(journal.hasSpare)
        var i = 0
        while journal.closedSegments == 0 {
            try await writer.record(record(i))
            i += 1
        }
        await eventually { journal.hasSpare }
        #expect(journal.hasSpare, "readied without a housekeeping round")
        #expect(writer.committedByWriter == 0, "every record was journaled on the caller's thread")
        writer.stop()
        await runner.value
        #expect(try await store.count(UsageFilter()) == i)
        await store.close()
    }

    #if os(Linux)
    @Test func bothLedgerThreadsRunInTheNormalSchedulingClass() async throws {
        // A housekeeping thread in the idle class was preempted inside its write transaction at saturation,
        // and the writer's thread, waiting for that transaction, readied no room for the event loops.
        let store = try SQLiteStore(path: temporaryDatabase())
        let writer = LedgerWriter(store: store)
        let runner = Task { await writer.run() }
        func policy(_ name: String) throws -> Int32? {
            let tasks = "/proc/self/task"
            for tid in try FileManager.default.contentsOfDirectory(atPath: tasks) {
                let comm = try? String(contentsOfFile: "\(tasks)/\(tid)/comm", encoding: .utf8)
                if comm?.trimmingCharacters(in: .whitespacesAndNewlines) == name, let t = Int32(tid) {
                    return sched_getscheduler(t)
                }
            }
            return nil
        }
        var found: (Int32?, Int32?) = (nil, nil)
        try await eventually {
            found = (try policy("sb-housekeeping"), try policy("sb-ledger"))
            return found.0 != nil && found.1 != nil
        }
        #expect(found.0 == 0, "SCHED_OTHER is 0: \(String(describing: found.0))")
        #expect(found.1 == 0, "SCHED_OTHER is 0: \(String(describing: found.1))")
        writer.stop()
        await runner.value
        await store.close()
    }
    #endif
}
