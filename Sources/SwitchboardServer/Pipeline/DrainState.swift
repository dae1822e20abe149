import Synchronization

/// The billed requests that have yet to commit their record: at shutdown the ledger stops only once they have (or a
/// bound passed), so a request the drain timeout cuts still gets its record.
///
/// A counter every billed request touches twice, so an atomic, not a lock the event loops would share; the one wait
/// for it to reach zero happens once, at shutdown, and polls.
final class DrainState: Sendable {
    private let open = Atomic<Int>(0)

    /// A billed request began.
    func opened() {
        open.wrappingAdd(1, ordering: .relaxed)
    }

    /// A billed request's record was committed (or could not be).
    func closed() {
        open.wrappingSubtract(1, ordering: .releasing)
    }

    /// Returns once no billed request is open, or after `bound`.
    func waitUntilIdle(bound: Duration) async {
        let deadline = ContinuousClock.now + bound
        while open.load(ordering: .acquiring) > 0, ContinuousClock.now < deadline {
            do { try await Task.sleep(for: .milliseconds(10)) } catch { return }
        }
    }
}
