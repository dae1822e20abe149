import Synchronization

/// Group commit for the usage ledger: callers wait until their record is committed, and every record that
/// arrives while one transaction runs goes into the next, so the cost per request stays small under load
/// and an idle gateway commits at once.
public final class LedgerWriter: Sendable {
    private struct Pending {
        var record: UsageRecord
        var done: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var queue: [Pending] = []
        var wake: CheckedContinuation<Void, Never>?
        var stopped = false
    }

    private let store: any LedgerStore
    private let maxBatch: Int
    private let state = Mutex(State())
    private let batches = Mutex<(count: Int, records: Int)>((0, 0))

    /// A writer over `store`; call `run()` to start committing.
    public init(store: any LedgerStore, maxBatch: Int = 1024) {
        self.store = store
        self.maxBatch = maxBatch
    }

    /// Transactions committed and records in them, for measuring batching.
    public var statistics: (batches: Int, records: Int) { batches.withLock { ($0.count, $0.records) } }

    /// Returns once `record` is committed; throws when the store refused the batch it was in.
    /// Cancelling the caller does not withdraw the record.
    public func record(_ record: UsageRecord) async throws {
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, any Error>) in
            let (wake, refused) = state.withLock { s -> (CheckedContinuation<Void, Never>?, Bool) in
                guard !s.stopped else { return (nil, true) }
                s.queue.append(Pending(record: record, done: done))
                let w = s.wake
                s.wake = nil
                return (w, false)
            }
            if refused { done.resume(throwing: LedgerError.stopped) }
            wake?.resume()
        }
    }

    private enum Step {
        case batch([Pending])
        case wait
        case finish
    }

    /// Commits batches until `stop()`, then commits what is left and returns.
    public func run() async {
        while true {
            let step = state.withLock { s -> Step in
                if !s.queue.isEmpty {
                    let n = min(s.queue.count, maxBatch)
                    let batch = Array(s.queue.prefix(n))
                    s.queue.removeFirst(n)
                    return .batch(batch)
                }
                return s.stopped ? .finish : .wait
            }
            switch step {
            case .finish:
                return
            case .wait:
                await withCheckedContinuation { (wake: CheckedContinuation<Void, Never>) in
                    let now = state.withLock { s -> Bool in
                        if !s.queue.isEmpty || s.stopped { return true }
                        s.wake = wake
                        return false
                    }
                    if now { wake.resume() }
                }
            case .batch(let batch):
                do {
                    try await store.append(batch.map(\.record))
                    batches.withLock { $0.count += 1; $0.records += batch.count }
                    for p in batch { p.done.resume() }
                } catch {
                    for p in batch { p.done.resume(throwing: error) }
                }
            }
        }
    }

    /// Stops taking records; `run()` returns after committing those already queued.
    public func stop() {
        let wake = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.stopped = true
            let w = s.wake
            s.wake = nil
            return w
        }
        wake?.resume()
    }
}

/// The ledger refused a record.
public enum LedgerError: Error, Sendable {
    /// The writer was stopped (the server is shutting down).
    case stopped
}
