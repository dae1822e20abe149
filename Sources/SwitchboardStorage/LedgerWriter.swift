import Foundation
public import Logging
import NIOCore
import NIOPosix
import Synchronization
import SwitchboardCore

/// Group commit for the usage ledger: callers wait until their record is committed, and every record that
/// arrives while one transaction runs goes into the next, so the cost per request stays small under load
/// and an idle gateway commits at once.
///
/// With a store that can commit synchronously, the loop runs on a thread of its own, parked on a condition
/// variable: a record costs one wake-up and one continuation resume, not a trip through the task scheduler
/// and the database's queue per batch. A store that can commit without blocking at all (SQLite's journal)
/// takes each record on the caller's thread, and the queue only carries what it turns away.
public final class LedgerWriter: @unchecked Sendable {
    // @unchecked: `queue`, `stopped` and `wake` are only touched with `condition` locked.
    private struct Pending {
        var record: UsageRecord
        var done: CheckedContinuation<Void, any Error>
        /// The event loop the caller ran on, if any: its waiters are resumed from there, together.
        var loop: (any EventLoop)?
    }

    private let store: any LedgerStore
    private let immediate: (any ImmediateLedgerStore)?
    private let stoppedFlag = Atomic<Bool>(false)
    private let logger: Logger
    private let maxBatch: Int
    private let gather: TimeInterval
    private let housekeepingInterval: Duration
    private let condition = NSCondition()
    private var queue: [Pending] = []
    private var stopped = false
    /// An event loop took the store's readied room for immediate records (see `runBlocking`).
    private var roomWanted = false
    private var wake: CheckedContinuation<Void, Never>?
    private var lastBatch = 0
    private var committedBatches = 0
    private var committedRecords = 0
    /// The checkpoint thread's own stop signal, so it never takes a wake-up meant for the writer.
    private let housekeepingStop = NSCondition()
    private var housekeepingStopped = false
    /// When housekeeping started failing and when that was last logged, for either thread that runs it.
    private let failures = Mutex<(since: ContinuousClock.Instant?, logged: ContinuousClock.Instant)>((nil, .now))
    /// Housekeeping rounds run, by either thread: tests count rounds rather than wait for time to pass.
    private let rounds = Atomic<Int>(0)

    /// How many housekeeping rounds have run.
    var housekeepingRounds: Int { rounds.load(ordering: .relaxed) }

    /// A writer over `store`; call `run()` to start committing.
    /// `gather`: after the first record of a batch arrives, how long to wait for more while the queue is
    /// short. Off by default: the batches that form while the previous commit runs cost less throughput than
    /// waiting for bigger ones.
    /// `housekeepingInterval`: the time between a blocking store's housekeeping rounds (moving SQLite's
    /// journal into the tables).
    public init(
        store: any LedgerStore, maxBatch: Int = 1024, gather: Duration = .zero,
        housekeepingInterval: Duration = .milliseconds(100), logger: Logger = Logger(label: "switchboard.ledger")
    ) {
        self.store = store
        immediate = store as? any ImmediateLedgerStore
        self.logger = logger
        self.maxBatch = maxBatch
        self.gather = gather.inSeconds
        self.housekeepingInterval = housekeepingInterval
    }

    private func locked<T>(_ body: () -> T) -> T {
        condition.lock()
        defer { condition.unlock() }
        return body()
    }

    /// Records waiting for their transaction.
    public var queued: Int { locked { queue.count } }

    /// Transactions committed and records in them, for measuring batching.
    public var statistics: (batches: Int, records: Int) {
        let moved: (batches: Int, records: Int) = immediate?.immediateStatistics ?? (0, 0)
        return locked { (committedBatches + moved.batches, committedRecords + moved.records) }
    }

    /// Records this writer's thread committed. With a store that commits on the callers' threads these are
    /// the records that found no room readied for them and waited for a transaction.
    public var committedByWriter: Int { locked { committedRecords } }

    /// Returns once `record` is committed; throws when the store refused the batch it was in.
    /// Cancelling the caller does not withdraw the record.
    public func record(_ record: UsageRecord) async throws {
        // A store that can commit without blocking does it here, on the caller's thread: no hand-off to the
        // writer's thread and back. `stopped` is read without the lock: a record that races `stop()` is still
        // durable, and the store's last housekeeping round moves it.
        if try recordImmediately(record) { return }
        let loop = MultiThreadedEventLoopGroup.currentEventLoop
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, any Error>) in
            let (refused, waiting) = locked { () -> (Bool, CheckedContinuation<Void, Never>?) in
                guard !stopped else { return (true, nil) }
                queue.append(Pending(record: record, done: done, loop: loop))
                condition.signal()
                let w = wake
                wake = nil
                return (false, w)
            }
            if refused { done.resume(throwing: LedgerError.stopped) }
            waiting?.resume()
        }
    }

    /// Commits `record` without waiting, when the store can (a journaled SQLite store with room in its segment);
    /// false when it must go through `record(_:)`.
    public func recordImmediately(_ record: UsageRecord) throws -> Bool {
        guard let immediate, !stoppedFlag.load(ordering: .relaxed) else { return false }
        return try immediate.appendImmediately(record)
    }

    /// Commits batches until `stop()`, then commits what is left and returns.
    public func run() async {
        if let blocking = store as? any BlockingLedgerStore {
            await withCheckedContinuation { (finished: CheckedContinuation<Void, Never>) in
                let thread = Thread { [self] in
                    CurrentThread.name("sb-ledger")
                    runBlocking(blocking)
                    finished.resume()
                }
                thread.start()
            }
        } else {
            await runAsync()
        }
    }

    private func takeBatch() -> [Pending] {
        let n = min(queue.count, maxBatch)
        let batch = Array(queue.prefix(n))
        queue.removeFirst(n)
        return batch
    }

    private func runBlocking(_ store: any BlockingLedgerStore) {
        // The store's housekeeping every `housekeepingInterval` until stopped; then this thread runs the last
        // round, so a clean stop leaves nothing in a journal. `run()` returns only after both are done, so
        // nobody closes the store under them.
        //
        // Both threads run in the normal scheduling class. In Linux's idle class the housekeeping thread kept
        // requests from waiting behind its move at a fixed rate, but at saturation it was preempted inside its
        // write transaction and not run again for hundreds of milliseconds; this thread, moving too, waited for
        // that transaction, readied no room, and every request in flight waited for it. The move yields its core
        // every few dozen rows instead.
        let housekeepingDone = DispatchSemaphore(value: 0)
        let interval = housekeepingInterval.inSeconds
        let housekeepingThread = Thread { [self] in
            CurrentThread.name("sb-housekeeping")
            housekeepingStop.lock()
            while !housekeepingStopped {
                _ = housekeepingStop.wait(until: Date(timeIntervalSinceNow: interval))
                if housekeepingStopped { break }
                housekeepingStop.unlock()
                maintain(store)
                housekeepingStop.lock()
            }
            housekeepingStop.unlock()
            housekeepingDone.signal()
        }
        housekeepingThread.start()
        // Readying room (a spare journal segment) is quick, and an event loop that finds none sends its record
        // here to wait for a commit, so it is done on this thread as soon as a loop takes a spare; the move into
        // the tables waits for the housekeeping thread unless it falls behind.
        if let immediate {
            immediate.onRoomWanted { [weak self] in self?.wantRoom() }
            housekeep(recovers: false) { _ = try immediate.prepareRoom() }
        }
        defer {
            housekeepingStop.lock()
            housekeepingStopped = true
            housekeepingStop.broadcast()
            housekeepingStop.unlock()
            housekeepingDone.wait()
            maintain(store)
        }
        while true {
            condition.lock()
            while queue.isEmpty, !roomWanted, !stopped { condition.wait() }
            if roomWanted, let immediate {
                roomWanted = false
                condition.unlock()
                housekeep(recovers: false) {
                    if try immediate.prepareRoom() { try immediate.maintain() }
                }
                continue
            }
            if queue.isEmpty, stopped {
                condition.unlock()
                return
            }
            // Gather only under load (the last batch had company): a lone request never waits for others.
            if gather > 0, lastBatch > 1, queue.count < 32, !stopped {
                let deadline = Date(timeIntervalSinceNow: gather)
                while queue.count < 32, !stopped, condition.wait(until: deadline) {}
            }
            let batch = takeBatch()
            lastBatch = batch.count
            condition.unlock()
            do {
                try store.appendBlocking(batch.map(\.record))
                finish(batch, error: nil)
            } catch {
                finish(batch, error: error)
            }
            // A store that takes records on the callers' threads sends them here only when no room was ready
            // for them: housekeeping is behind, so its round runs here too, and the journal stays short.
            if immediate != nil { maintain(store) }
        }
    }

    /// Wakes the writer's thread to ready room; called on an event loop, once a journal segment.
    private func wantRoom() {
        condition.lock()
        roomWanted = true
        condition.signal()
        condition.unlock()
    }

    /// One housekeeping round. A failure that lasts (a full disk) is logged when it starts, every ten seconds
    /// while it lasts, and when it ends: not ten times a second. Nothing is lost by one (journaled records
    /// stay in the journal), and the next round retries.
    private func maintain(_ store: any BlockingLedgerStore) {
        housekeep(recovers: true) { try store.maintain() }
    }

    /// Runs `body`, logging a failure as `maintain` describes; with `recovers`, its success ends a failure
    /// (readying room alone does not: moving may still fail).
    private func housekeep(recovers: Bool, _ body: () throws -> Void) {
        defer { rounds.add(1, ordering: .relaxed) }
        do {
            try body()
            guard recovers else { return }
            let since = failures.withLock { f -> ContinuousClock.Instant? in
                defer { f.since = nil }
                return f.since
            }
            if let since {
                logger.notice("ledger housekeeping recovered", metadata: ["failing_for": "\(ContinuousClock.now - since)"])
            }
        } catch JournalError.repeated(let n) {
            // A report of work done, not a failure.
            logger.error("\(JournalError.repeated(n))")
        } catch {
            let now = ContinuousClock.now
            let log = failures.withLock { f -> Bool in
                let due = f.since == nil || now - f.logged >= .seconds(10)
                if due { f.logged = now }
                if f.since == nil { f.since = now }
                return due
            }
            if log { logger.error("ledger housekeeping failed; retrying", metadata: ["error": "\(error)"]) }
        }
    }

    private func runAsync() async {
        while true {
            let batch = locked { () -> [Pending]? in
                if !queue.isEmpty { return takeBatch() }
                return stopped ? nil : []
            }
            guard let batch else { return }
            if batch.isEmpty {
                await withCheckedContinuation { (w: CheckedContinuation<Void, Never>) in
                    let now = locked { () -> Bool in
                        if !queue.isEmpty || stopped { return true }
                        wake = w
                        return false
                    }
                    if now { w.resume() }
                }
                continue
            }
            do {
                try await store.append(batch.map(\.record))
                finish(batch, error: nil)
            } catch {
                finish(batch, error: error)
            }
        }
    }

    private func finish(_ batch: [Pending], error: (any Error)?) {
        if error == nil {
            locked {
                committedBatches += 1
                committedRecords += batch.count
            }
        }
        // Resuming a continuation from this thread hands its task to some event loop and wakes that loop, once
        // per record. Handing each loop its callers in one piece costs one wake-up per loop per batch, and the
        // tasks then resume where they ran, without crossing threads.
        var byLoop: [ObjectIdentifier: (loop: any EventLoop, waiters: [CheckedContinuation<Void, any Error>])] = [:]
        for p in batch {
            if let loop = p.loop {
                byLoop[ObjectIdentifier(loop), default: (loop, [])].waiters.append(p.done)
            } else if let error {
                p.done.resume(throwing: error)
            } else {
                p.done.resume()
            }
        }
        for (loop, waiters) in byLoop.values {
            loop.execute {
                for w in waiters {
                    if let error { w.resume(throwing: error) } else { w.resume() }
                }
            }
        }
    }

    /// Stops taking records; `run()` returns after committing those already queued.
    public func stop() {
        let waiting = locked { () -> CheckedContinuation<Void, Never>? in
            stopped = true
            stoppedFlag.store(true, ordering: .relaxed)
            condition.broadcast()
            let w = wake
            wake = nil
            return w
        }
        waiting?.resume()
    }
}

/// The ledger refused a record.
public enum LedgerError: Error, Sendable {
    /// The writer was stopped (the server is shutting down).
    case stopped
}
