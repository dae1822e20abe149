import ServiceLifecycle
import SwitchboardCore
import Synchronization

/// The billed requests that have yet to commit their record: at shutdown the ledger stops only once they have (or a
/// bound passed), so a request the drain timeout cuts still gets its record.
///
/// A counter every billed request touches twice, so an atomic, not a lock the event loops would share; the one wait
/// for it to reach zero happens once, at shutdown, and polls.
final class DrainState: Sendable {
    private let open = Atomic<Int>(0)
    /// Streams being relayed, which the drain ends itself before its timeout runs out.
    let streams = OpenStreams()

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

/// The streams being relayed to clients. Shortly before the drain timeout runs out (when the server would close their
/// connections mid-stream), each relay is stopped, so its response ends with an error event saying the server is
/// shutting down and its record is committed with the tokens delivered, instead of a connection cut with neither.
final class OpenStreams: Sendable {
    private struct State {
        var next = 0
        var open: [Int: (relay: Task<Void, Never>, cut: Bool)] = [:]
        var cut = false
    }

    /// A relay handed to the task that runs it; it runs only while `relaying` waits for it.
    private struct Relay: @unchecked Sendable {
        let run: () async -> Void
    }

    private let state = Mutex(State())

    /// Runs `relay` (one stream's relay to its client) in a task the drain can cancel, on `executor` when the body's
    /// writer needs one, and waits for it; true when the drain stopped it. Cancelling the caller cancels it too.
    func relaying(on executor: (any TaskExecutor)?, _ relay: () async -> Void) async -> Bool {
        await withoutActuallyEscaping(relay) { relay in
            let box = Relay(run: relay)
            let task = Task(executorPreference: executor) { await box.run() }
            let id: Int = state.withLock { s in
                s.next += 1
                s.open[s.next] = (task, s.cut)
                return s.next
            }
            if state.withLock({ $0.open[id]?.cut == true }) { task.cancel() }
            await withTaskCancellationHandler {
                await task.value
            } onCancel: {
                task.cancel()
            }
            return state.withLock { $0.open.removeValue(forKey: id)?.cut ?? false }
        }
    }

    /// Stops every relay, and every one begun from now on.
    func cutAll() {
        let relays = state.withLock { s in
            s.cut = true
            for id in s.open.keys { s.open[id]?.cut = true }
            return s.open.values.map(\.relay)
        }
        for relay in relays { relay.cancel() }
    }
}

/// Ends the open streams shortly before the drain timeout, so they end with an error event and a record rather than
/// a cut connection. Listed after the application, so a graceful shutdown reaches it first; it returns at once, so the
/// server is told to stop accepting right after, and the cut waits on its own.
struct StreamCutService: Service {
    let streams: OpenStreams
    let drainTimeout: Duration

    /// When the streams are ended: early enough that their last events and records get out before the group is
    /// cancelled.
    var cutAfter: Duration { max(.zero, drainTimeout - min(.seconds(2), drainTimeout / 4)) }

    func run() async throws {
        do { try await gracefulShutdown() } catch { return }
        Task { [streams, cutAfter] in
            try await Task.sleep(for: cutAfter)
            streams.cutAll()
        }
    }
}
