import Foundation
import Synchronization
import SwitchboardCore
#if canImport(Glibc)
import Glibc
#endif

/// The SQLite ledger's write-ahead journal: each record is one JSON line copied into a memory-mapped file,
/// and the lines are moved into the tables in large transactions about ten times a second.
///
/// A commit straight into the tables wrote three or four whole pages to SQLite's WAL for a batch of two or
/// three records, and every request paid two thread hand-offs to the ledger's thread and back, in CPU and in
/// latency. A line copied into a shared file mapping is in the
/// kernel's page cache the moment the copy ends: it survives the process being killed, as a record in
/// SQLite's WAL does under `synchronous=NORMAL`, and neither survives a power loss. The copy is a memory
/// write, not file I/O: segments are allocated and their pages touched by the housekeeping thread before an
/// event loop writes to them, and a loop that finds no room takes the writer's thread instead.
///
/// Segments are named after the database (`<db>-ledger-<n>.jsonl`, zero-filled past the last line). The
/// process that holds an exclusive lock on `<db>-ledger.lock` owns the journal; another process opening the
/// same database (`switchboard usage` while the server runs) neither replays nor writes it. A process that
/// died leaves its lock released and its segments behind; the next owner moves them into the tables first.
final class LedgerJournal: @unchecked Sendable {
    // @unchecked: every mutable field is touched with `lock` held.
    struct Segment {
        let number: Int
        let path: String
        var records: JournalRecords
        /// The records' ids, for refusing a second record with one. Kept with its segment so that forgetting
        /// a moved segment is one removal under the lock, which event loops wait for, not one per record.
        var ids: Set<String> = []
        /// Bytes written, once the segment is closed: what recycling its file has to zero.
        var bytes = 0
    }

    /// A segment file mapped for writing.
    private struct Mapping {
        var number: Int
        var path: String
        let base: UnsafeMutableRawPointer
        let size: Int
    }

    /// Room for about 1,500 records, a few tens of milliseconds of them at saturation. A loop that fills its
    /// segment switches to a spare and wakes the writer's thread, which readies another; each segment adds its
    /// size to the resident set.
    static let defaultSegmentBytes = 512 << 10

    /// Segments kept ready. With one, a loop at saturation ran out of room (and its requests waited for a
    /// transaction) whenever the writer's thread spent longer than one segment's worth of time moving records
    /// into the tables, during which it readies nothing.
    static let spareCount = 2

    let segmentBytes: Int

    private let base: String
    private var lockFD: Int32
    private let lock = NSLock()
    private var mapping: Mapping?
    private var offset = 0
    private var current = Segment(number: 0, path: "", records: JournalRecords())
    private var spares: [Mapping] = []
    /// Mappings of closed segments, recycled once their records are in the tables.
    private var retired: [Int: Mapping] = [:]
    /// Moved segments' files, renamed out of the journal and zeroed, for the next spares: a segment made
    /// from nothing every round (create, allocate, map, fault in and zero 128 pages, and later unmap, which
    /// interrupts every core running the process to flush its TLB, and unlink) took the housekeeping thread
    /// milliseconds in one piece, which a loop woken on its core waited behind.
    private var free: [Mapping] = []
    private var closed: [Segment] = []
    private var nextNumber = 1
    private var released = false
    private var moves = (batches: 0, records: 0)
    /// Called after an event loop took the spare, so that another thread readies the next one.
    private var spareTaken: (@Sendable () -> Void)?
    /// Segment numbers each move in progress has claimed.
    private var claims: [Int: Set<Int>] = [:]
    private var nextToken = 0

    /// Takes ownership of the journal of the database at `databasePath`, or returns nil when another
    /// process holds it.
    init?(databasePath: String, segmentBytes: Int = LedgerJournal.defaultSegmentBytes) throws {
        base = databasePath + "-ledger"
        self.segmentBytes = segmentBytes
        // Taken before the last field is set: an initializer that fails once every field is set runs `deinit`, whose
        // `release()` would close the lock's descriptor a second time, by then perhaps another file's or socket's.
        guard let lockFD = try Self.takeLock(base + ".lock") else { return nil }
        self.lockFD = lockFD
    }

    /// The descriptor of `path`, opened and locked exclusively; nil (closed again) when another holds the lock.
    private static func takeLock(_ path: String) throws -> Int32? {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw JournalError.io("cannot open \(path)", errno) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            return nil
        }
        return fd
    }

    deinit {
        release()
    }

    /// Gives up ownership: unmaps every segment and closes the lock, leaving every file where it is for the
    /// next owner (what a process that dies does), or with `removingUnused` (a clean close after the last
    /// move) deleting the segments that hold no record. Appends after this fail.
    func release(removingUnused: Bool = false) {
        lock.lock()
        if removingUnused {
            for spare in spares { unlink(spare.path) }
            if let mapping, current.records.isEmpty, closed.isEmpty { unlink(mapping.path) }
        }
        // Free files hold nothing, and a start deletes any a dead owner left.
        for m in free { unlink(m.path) }
        let maps = [mapping].compactMap { $0 } + spares + Array(retired.values) + free
        mapping = nil
        spares = []
        retired = [:]
        free = []
        released = true
        if lockFD >= 0 { close(lockFD) }
        lockFD = -1
        lock.unlock()
        for m in maps { munmap(m.base, m.size) }
    }

    /// The files in the journal's folder whose names start with `prefix`'s last component: (name, path).
    private func files(startingWith prefix: String) throws -> [(name: String, path: String)] {
        let directory = (base as NSString).deletingLastPathComponent
        let start = (prefix as NSString).lastPathComponent
        return try FileManager.default.contentsOfDirectory(atPath: directory.isEmpty ? "." : directory)
            .filter { $0.hasPrefix(start) }
            .map { ($0, directory.isEmpty ? $0 : directory + "/" + $0) }
    }

    /// Segments a previous owner left, oldest first, with their records.
    func leftovers() throws -> [Segment] {
        let prefix = (base as NSString).lastPathComponent + "-"
        var out: [Segment] = []
        for (name, path) in try files(startingWith: base + "-") where name.hasSuffix(".jsonl") {
            guard let n = Int(name.dropFirst(prefix.count).dropLast(6)) else { continue }
            out.append(Segment(number: n, path: path, records: JournalRecords(try Self.read(path))))
        }
        return out.sorted { $0.number < $1.number }
    }

    /// A segment's records. A line is written before its newline, so everything after the last newline is
    /// a record whose copy the process did not live to finish (never acknowledged); any line before it that
    /// does not read back is damage, and dropping it would lose a billed record.
    static func read(_ path: String) throws -> [UsageRecord] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard let end = data.lastIndex(of: UInt8(ascii: "\n")) else { return [] }
        var records: [UsageRecord] = []
        for (i, line) in data[..<end].split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            let value: JSONValue
            do {
                value = try line.withUnsafeBytes { try JSONValue.parse(bytes: $0) }
            } catch {
                throw JournalError.corrupt(path, line: i + 1, "\(error)")
            }
            guard let record = UsageRecord(journal: value) else {
                throw JournalError.corrupt(path, line: i + 1, "a required field is missing")
            }
            records.append(record)
        }
        return records
    }

    /// Starts writing after `previous` (the highest segment number seen).
    func start(after previous: Int) throws {
        for (_, path) in try files(startingWith: freeBase) { unlink(path) }
        lock.withLock { nextNumber = previous + 1 }
        let first = try makeSegment()
        lock.withLock { install(first) }
    }

    /// Creates, allocates and maps the next segment, and touches every page so that writing to it later
    /// faults nothing in. Blocking: never on an event loop.
    private func makeSegment() throws -> Mapping {
        let (n, path) = nextSegment()
        let size = segmentBytes
        let fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw JournalError.io("cannot create \(path)", errno) }
        defer { close(fd) }
        // Blocks allocated now, so a write into the mapping never waits for the filesystem to find room.
        var code = posix_fallocate(fd, 0, off_t(size))
        if code == EOPNOTSUPP || code == EINVAL { code = ftruncate(fd, off_t(size)) == 0 ? 0 : errno }
        guard code == 0 else {
            unlink(path)
            throw JournalError.io("cannot allocate \(path)", code)
        }
        guard let base = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), base != MAP_FAILED else {
            let e = errno
            unlink(path)
            throw JournalError.io("cannot map \(path)", e)
        }
        memset(base, 0, size)
        return Mapping(number: n, path: path, base: base, size: size)
    }

    /// The next segment's number and file.
    private func nextSegment() -> (Int, String) {
        let n = lock.withLock { () -> Int in
            defer { nextNumber += 1 }
            return nextNumber
        }
        return (n, "\(base)-\(n).jsonl")
    }

    /// Drops a mapping and its file.
    private func discard(_ m: Mapping) {
        munmap(m.base, m.size)
        unlink(m.path)
    }

    /// Where a moved segment's file waits to be recycled: a name `leftovers` does not read.
    private var freeBase: String { base + ".free-" }

    /// Makes `m` the segment being written (lock held).
    private func install(_ m: Mapping) {
        if let old = mapping { retired[old.number] = old }
        mapping = m
        offset = 0
        current = Segment(number: m.number, path: m.path, records: JournalRecords())
    }

    /// Journals records durably (against a crash of this process). With `immediate` (an event loop calling),
    /// it never blocks: it returns false, writing nothing, when the segment is full and no spare is ready.
    /// Throws, writing nothing, when a record's id is already in the journal.
    func append(_ records: [UsageRecord], immediate: Bool) throws -> Bool {
        try append(lines: records.map(\.journalLine), ids: records.lazy.map(\.requestID), immediate: immediate) {
            $0.append(contentsOf: records)
        }
    }

    /// One record, as every request journals it: no arrays to build around it, one copy into the segment.
    func append(_ record: UsageRecord, immediate: Bool) throws -> Bool {
        try append(lines: CollectionOfOne(record.journalLine), ids: CollectionOfOne(record.requestID), immediate: immediate) {
            $0.append(record)
        }
    }

    private func append(
        lines: some Collection<[UInt8]>, ids newIDs: some Collection<String>, immediate: Bool,
        keep: (inout JournalRecords) -> Void
    ) throws -> Bool {
        let total = lines.reduce(0) { $0 + $1.count + 1 }
        guard total <= segmentBytes / 2 else { throw JournalError.tooLarge(total) }
        while true {
            lock.lock()
            guard !released else {
                lock.unlock()
                throw JournalError.io("the ledger journal \(base) is closed", EBADF)
            }
            // One record (every request's case) needs no set of its own to find a twin in its batch.
            var fresh = Set<String>()
            for id in newIDs where holds(id) || (newIDs.count > 1 && !fresh.insert(id).inserted) {
                lock.unlock()
                throw JournalError.duplicate(id)
            }
            var tookSpare = false
            if !spares.isEmpty, mapping.map({ offset + total > $0.size }) ?? true {
                current.bytes = offset
                closed.append(current)
                install(spares.removeFirst())
                tookSpare = immediate
            }
            if let m = mapping, offset + total <= m.size {
                for line in lines {
                    line.withUnsafeBytes { raw in
                        (m.base + offset).copyMemory(from: raw.baseAddress!, byteCount: raw.count)
                    }
                    // The newline goes last: a line that has its newline was copied whole.
                    atomicMemoryFence(ordering: .releasing)
                    m.base.storeBytes(of: UInt8(ascii: "\n"), toByteOffset: offset + line.count, as: UInt8.self)
                    offset += line.count + 1
                }
                keep(&current.records)
                for id in newIDs { current.ids.insert(id) }
                let wake = tookSpare ? spareTaken : nil
                lock.unlock()
                wake?()
                return true
            }
            lock.unlock()
            if immediate { return false }
            try prepare()
        }
    }

    /// Has `taken` called (on the appending thread, after the lock is released) whenever an immediate append
    /// takes the spare segment.
    func onSpareTaken(_ taken: @escaping @Sendable () -> Void) {
        lock.withLock { spareTaken = taken }
    }

    /// Closed segments waiting to be moved. A housekeeping round that runs moves them all; more than a few
    /// mean it has not run for as long as they took to fill.
    var closedSegments: Int { lock.withLock { closed.count } }

    /// Whether every spare segment is ready.
    var hasSpare: Bool { lock.withLock { spares.count == Self.spareCount } }

    /// Whether taking a spare wakes someone.
    var wakesOnSpareTaken: Bool { lock.withLock { spareTaken != nil } }

    /// How many closed segments the writer's thread lets wait for the housekeeping thread before it moves them.
    static let closedSegmentsBeforeMove = 2

    /// Whether an unmoved record has `id` (lock held).
    private func holds(_ id: String) -> Bool {
        current.ids.contains(id) || closed.contains { $0.ids.contains(id) }
    }

    /// Closes the segment being written (when it has records), readies a spare, and claims for `token` every
    /// closed segment that no other move has claimed. Called inside the database's write transaction, so a
    /// second mover (a read flushing the journal) runs after the first has committed and skips its segments.
    func claim(_ token: Int) throws -> [Segment] {
        claim(token, from: try segmentsToMove())
    }

    /// Claims for `token` those of `segments` still waiting to be moved and claimed by no other move. Listing and
    /// claiming are two holds of the lock: a segment another move listed, claimed and finished in between is no longer
    /// closed, and is not claimed (and moved) a second time.
    func claim(_ token: Int, from segments: [Segment]) -> [Segment] {
        lock.withLock {
            let waiting = Set(closed.map(\.number))
            let free = segments.filter { s in waiting.contains(s.number) && !claims.values.contains { $0.contains(s.number) } }
            claims[token] = Set(free.map(\.number))
            return free
        }
    }

    /// The closed segments, for a test that replays a race between two moves.
    var closedList: [Segment] { lock.withLock { closed } }

    /// A token for one move.
    func newClaimToken() -> Int {
        lock.withLock {
            defer { nextToken += 1 }
            return nextToken
        }
    }

    /// Gives back what a move that failed had claimed.
    func unclaim(_ token: Int) {
        _ = lock.withLock { claims.removeValue(forKey: token) }
    }

    private func segmentsToMove() throws -> [Segment] {
        try prepare()
        let segments = lock.withLock { () -> [Segment] in
            if !current.records.isEmpty, !spares.isEmpty {
                current.bytes = offset
                closed.append(current)
                install(spares.removeFirst())
            }
            return closed
        }
        // The spare just became the segment being written; the next one is made now, not when a loop runs
        // out of room.
        do {
            try prepare()
        } catch {
            // Retried, and reported if it fails again, at the start of the next round.
        }
        return segments
    }

    /// Readies spare segments until `spareCount` are, from recycled files when there are any: the
    /// housekeeping round's work when there is nothing to move. Blocking: never on an event loop.
    func prepare() throws {
        while lock.withLock({ spares.count < Self.spareCount && !released }) {
            let made = try recycledSegment() ?? makeSegment()
            let unused = lock.withLock { () -> Mapping? in
                guard spares.count < Self.spareCount, !released else { return made }
                spares.append(made)
                return nil
            }
            if let unused {
                discard(unused)
                return
            }
        }
    }

    /// A free file renamed to the next segment's name, or nil when there is none (or renaming failed: the
    /// file is dropped, and a new one made).
    private func recycledSegment() -> Mapping? {
        guard
            var m = lock.withLock({ () -> Mapping? in
                guard !released, !free.isEmpty else { return nil }
                return free.removeLast()
            })
        else { return nil }
        let (n, path) = nextSegment()
        guard rename(m.path, path) == 0 else {
            discard(m)
            return nil
        }
        m.number = n
        m.path = path
        return m
    }

    /// Takes moved segments out of the journal. A mapped one's file is renamed to a free name first (so a
    /// crash from here on leaves nothing to replay) and then zeroed where it was written; beyond what the
    /// spares need, and for a previous owner's leftovers (never mapped), the file is deleted.
    private func recycle(_ segments: [Segment]) {
        for s in segments {
            let (mapped, keep) = lock.withLock {
                (retired.removeValue(forKey: s.number), !released && free.count < Self.spareCount)
            }
            guard var m = mapped else {
                unlink(s.path)
                continue
            }
            let path = freeBase + "\(s.number)"
            guard keep, rename(m.path, path) == 0 else {
                discard(m)
                continue
            }
            memset(m.base, 0, min(s.bytes, m.size))
            m.path = path
            let unused = lock.withLock { () -> Mapping? in
                guard !released else { return m }
                free.append(m)
                return nil
            }
            if let unused { discard(unused) }
        }
    }

    /// Forgets segments whose records are now in the tables (what `token` claimed, or a previous owner's
    /// leftovers), and recycles or deletes their files.
    func moved(_ segments: [Segment], token: Int? = nil) {
        let numbers = Set(segments.map(\.number))
        // Kept until the lock is released: the last reference to a segment's records and ids frees them.
        let forgotten = lock.withLock { () -> [Segment] in
            if let token { claims[token] = nil }
            let gone = closed.filter { numbers.contains($0.number) }
            closed.removeAll { numbers.contains($0.number) }
            if !gone.isEmpty {
                moves.batches += 1
                moves.records += segments.reduce(0) { $0 + $1.records.count }
            }
            return gone
        }
        withExtendedLifetime(forgotten) {}
        recycle(segments)
    }

    /// Records appended and not yet moved.
    var pending: Int {
        lock.withLock { current.records.count + closed.reduce(0) { $0 + $1.records.count } }
    }

    /// Transactions that moved records into the tables, and the records they moved.
    var statistics: (batches: Int, records: Int) { lock.withLock { moves } }
}

/// A journal failure.
enum JournalError: Error, CustomStringConvertible {
    case io(String, Int32)
    case duplicate(String)
    case corrupt(String, line: Int, String)
    case tooLarge(Int)
    case repeated(Int)

    var description: String {
        switch self {
        case .corrupt(let path, let line, let why): "the ledger journal \(path) is damaged at line \(line) (\(why)); move it aside to start"
        case .io(let what, let code): "\(what): \(String(cString: strerror(code)))"
        case .tooLarge(let bytes): "a ledger batch of \(bytes) bytes is larger than a journal segment takes"
        case .repeated(let n):
            "\(n) journaled ledger record(s) repeated a request id already in the tables; the first record of each was kept"
        case .duplicate(let id): "a ledger record with request id \(id) already exists"
        }
    }
}
