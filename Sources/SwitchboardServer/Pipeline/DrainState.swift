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
/// connections mid-stream), each is ended by the gateway: an error event saying the server is shutting down, and its
/// record committed with the tokens delivered, instead of a connection cut with neither.
final class OpenStreams: Sendable {
    private struct State {
        var next = 0
        var open: [Int: @Sendable () -> Void] = [:]
        var cut = false
    }

    private let state = Mutex(State())

    /// Relays `upstream` through a stream the drain can end; `end` makes its consumer see `APIError.shuttingDown`
    /// (after the events already received). Costs one hop per event, and only for streams.
    func cuttable(_ upstream: AsyncThrowingStream<StreamEvent, any Error>) -> AsyncThrowingStream<StreamEvent, any Error> {
        let (stream, continuation) = AsyncThrowingStream<StreamEvent, any Error>.makeStream()
        let end: @Sendable () -> Void = { continuation.finish(throwing: APIError.shuttingDown) }
        let id: Int? = state.withLock { s in
            guard !s.cut else { return nil }
            s.next += 1
            s.open[s.next] = end
            return s.next
        }
        guard let id else {
            end()
            return stream
        }
        let pump = Task {
            do {
                for try await event in upstream { continuation.yield(event) }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { [self] _ in
            pump.cancel()
            _ = state.withLock { $0.open.removeValue(forKey: id) }
        }
        return stream
    }

    /// Ends every open stream, and every one opened from now on.
    func cutAll() {
        let ends = state.withLock { s in
            s.cut = true
            defer { s.open = [:] }
            return Array(s.open.values)
        }
        for end in ends { end() }
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
