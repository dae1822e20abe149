import Foundation
import GRDB
import SwitchboardCore
@testable import SwitchboardStorage
import Synchronization
import Testing

/// The SQLite ledger's journal: what a commit acknowledges is on disk before the tables have it, and every
/// way of opening the database afterwards finds it.
@Suite struct LedgerJournalTests {
    func records(_ n: Int, from start: Int = 0) -> [UsageRecord] {
        (start..<start + n).map { i in
            UsageRecord(
                requestID: UsageRecord.newRequestID(), timestamp: Date(timeIntervalSince1970: 1_800_000_000.125 + Double(i)),
                keyID: i % 2 == 0 ? "key_a" : nil, user: i % 3 == 0 ? "ü \"quoted\"" : nil, task: "chat.completions",
                provider: "p", model: "m/\(i)", inputTokens: i, outputTokens: 2 * i, cachedTokens: i / 2, reasoningTokens: 1,
                costNanoUSD: i % 4 == 0 ? nil : Int64(i) * 1_000_000_007, estimated: i % 5 == 0, latencyMs: 3, ttftMs: i % 2 == 0 ? 1 : nil,
                status: 200, attempts: 1, route: i % 3 == 1 ? "lane:l: p/a=failed(timeout), p/m/\(i)=ok" : nil,
                cache: i % 3 == 2 ? "hit" : nil, cacheWriteTokens: i % 7,
                costs: i % 4 == 0
                    ? nil
                    : CostBreakdown(
                        input: NanoUSD(Int64(i)), cacheRead: NanoUSD(1), cacheWrite: NanoUSD(2), output: NanoUSD(3), reasoning: NanoUSD(4)))
        }
    }

    @Test func aSegmentsRecordsKeepTheirOrderAcrossChunks() {
        let written = records(JournalRecords.chunkCapacity * 2 + 3)
        var kept = JournalRecords()
        kept.append(contentsOf: written.prefix(5))
        for record in written.dropFirst(5) { kept.append(record) }
        #expect(kept.count == written.count)
        #expect(kept.map(\.requestID) == written.map(\.requestID))
        #expect(JournalRecords().isEmpty)
    }

    /// Rows in the table itself, read over a connection of its own (no journal involved).
    func tableCount(_ path: String) throws -> Int {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM usage_ledger") ?? 0 }
    }

    func segments(_ path: String) throws -> [String] {
        let url = URL(fileURLWithPath: path)
        return try FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path)
            .filter { $0.hasPrefix(url.lastPathComponent + "-ledger-") && $0.hasSuffix(".jsonl") }
    }

    /// The one segment file an owner leaves when it journals `count` records and dies before moving them.
    func segmentOfADeadOwner(_ path: String, journaling count: Int) throws -> URL {
        do {
            let dead = try SQLiteStore(path: path)
            try dead.appendBlocking(records(count))
            dead.journal?.release()
        }
        let name = try #require(try segments(path).first)
        return URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent(name)
    }

    @Test func anAcknowledgedRecordIsInTheJournalBeforeTheTables() throws {
        let path = temporaryDatabase()
        let store = try SQLiteStore(path: path)
        try store.appendBlocking(records(3))
        #expect(store.journal?.pending == 3)
        #expect(try tableCount(path) == 0)
        try store.maintain()
        #expect(store.journal?.pending == 0)
        #expect(try tableCount(path) == 3)
        #expect(try segments(path).count == 1 + LedgerJournal.spareCount, "only the open, empty segment and the spares are left")
    }

    func inode(_ path: String) throws -> UInt64 {
        try #require(try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? UInt64)
    }

    @Test func aMovedSegmentsFileIsZeroedAndMadeASpareAndNoRecordInItIsMovedTwice() throws {
        let path = temporaryDatabase()
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        let free = URL(fileURLWithPath: path).lastPathComponent + "-ledger.free-"
        func names() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: directory) }
        do {
            let store = try SQLiteStore(path: path)
            try store.appendBlocking(records(50))
            let first = try #require(try segments(path).first)
            let written = try inode(directory + "/" + first)
            try store.maintain()
            // Moved: the file left the journal under a free name, zeroed where the records were.
            #expect(!(try segments(path).contains(first)))
            let freed = try #require(try names().first { $0.hasPrefix(free) })
            #expect(try inode(directory + "/" + freed) == written)
            let bytes = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + freed))
            #expect(bytes.count == LedgerJournal.defaultSegmentBytes && bytes.allSatisfy { $0 == 0 })
            // The next round's spare is that file again, under the next segment's name.
            try store.appendBlocking(records(50, from: 50))
            try store.maintain()
            let inodes = try segments(path).map { try inode(directory + "/" + $0) }
            #expect(inodes.contains(written), "a recycled file, not a new one")
            #expect(!(try names().contains(freed)))
            try store.appendBlocking(records(25, from: 100))
            store.journal?.release()  // dies with 25 records journaled and a recycled file in use
        }
        #expect(try tableCount(path) == 100)
        let next = try SQLiteStore(path: path)
        #expect(try tableCount(path) == 125, "each record once: the recycled file held none of the first 100")
        #expect(next.journal?.pending == 0)
    }

    @Test func aStartDeletesTheFreeFilesADeadOwnerLeft() throws {
        let path = temporaryDatabase()
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        let free = URL(fileURLWithPath: path).lastPathComponent + "-ledger.free-"
        do {
            let store = try SQLiteStore(path: path)
            try store.appendBlocking(records(10))
            try store.maintain()
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory).contains { $0.hasPrefix(free) })
            store.journal?.release()
        }
        // A process that dies leaves its free files; its journal's lock goes with it.
        let stray = directory + "/" + free + "999"
        try #require(FileManager.default.createFile(atPath: stray, contents: Data(repeating: 7, count: 64)))
        _ = try SQLiteStore(path: path)
        #expect(!FileManager.default.fileExists(atPath: stray))
        #expect(try tableCount(path) == 10)
    }

    @Test func aDeadOwnersRecordsAreMovedByTheNextOneExactlyAsWritten() async throws {
        let path = temporaryDatabase()
        let written = records(40)
        do {
            let dead = try SQLiteStore(path: path)
            try dead.appendBlocking(Array(written[0..<25]))
            try dead.maintain()  // these 25 reach the tables; the next 15 only the journal
            try dead.appendBlocking(Array(written[25...]))
            dead.journal?.release()  // what dying does: the lock goes, the files stay
        }
        #expect(try tableCount(path) == 25)
        let next = try SQLiteStore(path: path)
        #expect(try tableCount(path) == 40)
        var all = UsageFilter()
        all.limit = 100
        let read = try await next.records(all)
        #expect(Set(read) == Set(written))
        await next.close()
    }

    @Test func aLineCutShortByACrashIsDroppedAndTheWholeLinesKept() async throws {
        let path = temporaryDatabase()
        let file = try segmentOfADeadOwner(path, journaling: 5)
        let end = try #require(try Data(contentsOf: file).lastIndex(of: UInt8(ascii: "\n")))
        let handle = try FileHandle(forWritingTo: file)
        try handle.seek(toOffset: UInt64(end + 1))
        try handle.write(contentsOf: Data(#"{"id":"0190-cut","ts":1800000000.5,"ta"#.utf8))
        try handle.close()
        let next = try SQLiteStore(path: path)
        #expect(try await next.count(UsageFilter()) == 5)
        await next.close()
    }

    @Test func aDamagedLineBeforeTheLastStopsTheOpenInsteadOfLosingARecord() throws {
        let path = temporaryDatabase()
        let file = try segmentOfADeadOwner(path, journaling: 3)
        var lines = try String(contentsOf: file, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        lines[1] = "{\"id\": garbage"
        try lines.joined(separator: "\n").write(to: file, atomically: false, encoding: .utf8)
        #expect { _ = try SQLiteStore(path: path) } throws: { "\($0)".contains("line 2") }
    }

    @Test func aSecondOpenerOfTheSameDatabaseWritesStraightToTheTables() async throws {
        let path = temporaryDatabase()
        let owner = try SQLiteStore(path: path)
        let other = try SQLiteStore(path: path)
        #expect(owner.journal != nil)
        #expect(other.journal == nil)
        try other.appendBlocking(records(2))
        #expect(try tableCount(path) == 2)
        try owner.appendBlocking(records(3, from: 2))
        #expect(try await owner.count(UsageFilter()) == 5, "a read moves the journal first")
        await other.close()
        await owner.close()
    }

    @Test func anOpenRefusedTheJournalClosesOnlyItsOwnDescriptor() throws {
        let path = temporaryDatabase()
        let owner = try #require(try LedgerJournal(databasePath: path))
        // Another thread opens and checks descriptors meanwhile: one a refused open closed a second time (by then
        // this thread's, or a socket's or SQLite's in a server) is found closed under it.
        let stop = Atomic<Bool>(false)
        let closedUnderIt = Atomic<Int>(0)
        let done = DispatchSemaphore(value: 0)
        Thread {
            while !stop.load(ordering: .relaxed) {
                let fd = open("/dev/null", O_RDONLY | O_CLOEXEC)
                if fd >= 0, fcntl(fd, F_GETFD) < 0 || close(fd) != 0 { closedUnderIt.add(1, ordering: .relaxed) }
            }
            done.signal()
        }.start()
        var refused = 0
        for _ in 0..<20_000 where try LedgerJournal(databasePath: path) == nil { refused += 1 }
        stop.store(true, ordering: .relaxed)
        done.wait()
        #expect(refused == 20_000)
        #expect(closedUnderIt.load(ordering: .relaxed) == 0)
        owner.release()
    }

    @Test func aRecordAlreadyInTheTablesOrTheJournalIsRefusedWithItsBatch() throws {
        let path = temporaryDatabase()
        let store = try SQLiteStore(path: path)
        let first = records(2)
        try store.appendBlocking(first)
        #expect(throws: JournalError.self) { try store.appendBlocking(records(1, from: 5) + [first[1]]) }
        try store.maintain()
        #expect(throws: JournalError.self) { try store.appendBlocking([first[0]]) }
        let twin = records(1, from: 7)
        #expect(throws: JournalError.self) { try store.appendBlocking(twin + twin) }
        try store.maintain()
        #expect(try tableCount(path) == 2)
    }

    @Test func aCleanCloseLeavesNoRecordInTheJournal() async throws {
        let path = temporaryDatabase()
        let store = try SQLiteStore(path: path)
        try store.appendBlocking(records(4))
        await store.close()
        #expect(try tableCount(path) == 4)
        #expect(try segments(path).isEmpty)
    }

    @Test func theImmediatePathRefusesAnUnmovedIdAndKeepsTheFirstOfAMovedOne() throws {
        let path = temporaryDatabase()
        let store = try SQLiteStore(path: path)
        let r = records(1)[0]
        #expect(try store.appendImmediately(r))
        #expect(throws: JournalError.self) { _ = try store.appendImmediately(r) }
        try store.maintain()
        var again = r
        again.outputTokens = 999
        #expect(try store.appendImmediately(again), "the tables are not read on an event loop")
        #expect { try store.maintain() } throws: { "\($0)".contains("1 journaled ledger record") }
        #expect(try tableCount(path) == 1)
        try store.maintain()  // reported once, not at every round
    }

    @Test func fullSegmentsRollOverAndAnEventLoopIsSentToTheWriterWhenNoSpareIsReady() async throws {
        let path = temporaryDatabase()
        let written = records(1200)
        do {
            let store = try SQLiteStore(path: path, journalSegmentBytes: 64 << 10)
            var immediate = 0
            while immediate < 600, try store.appendImmediately(written[immediate]) { immediate += 1 }
            #expect(immediate > 100 && immediate < 600, "a 64 KiB segment holds a few hundred records: \(immediate)")
            // What the loop could not take, the writer's thread takes: it makes segments as it needs them.
            for chunk in stride(from: immediate, to: 1200, by: 100) {
                try store.appendBlocking(Array(written[chunk..<min(chunk + 100, 1200)]))
            }
            #expect(try segments(path).count >= 4)
            #expect(store.journal?.pending == 1200)
            store.journal?.release()
        }
        let next = try SQLiteStore(path: path)
        var all = UsageFilter()
        all.limit = 2000
        #expect(Set(try await next.records(all)) == Set(written))
        await next.close()
    }
}
