import Synchronization

/// The billed requests that have yet to commit their record: at shutdown the ledger stops only once they have (or a
/// bound passed), so a request the drain timeout cuts still gets its record.
final class DrainState: Sendable {
    private struct State {
        var open = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var next: UInt64 = 0
    }

    private let state = Mutex(State())

    /// A billed request began.
    func opened() {
        state.withLock { $0.open += 1 }
    }

    /// A billed request's record was committed (or could not be).
    func closed() {
        let ready = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.open -= 1
            guard s.open <= 0 else { return [] }
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        for waiter in ready { waiter.resume() }
    }

    /// Returns once no billed request is open, or after `bound`.
    func waitUntilIdle(bound: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.idle() }
            group.addTask { try? await Task.sleep(for: bound) }
            await group.next()
            group.cancelAll()
        }
    }

    private func idle() async {
        let id = state.withLock { s -> UInt64 in
            s.next += 1
            return s.next
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let now = state.withLock { s -> Bool in
                    if s.open <= 0 || Task.isCancelled { return true }
                    s.waiters[id] = c
                    return false
                }
                if now { c.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }
}
