import PostgresNIO
import SwitchboardCore
import Synchronization
import _ConnectionPoolModule

extension PostgresStore {
    /// postgres-nio's client with a bound on the wait for a connection. With the database down, the pool keeps trying
    /// to connect (backing off, up to a minute between tries) and holds every operation that needs a connection until
    /// its circuit breaker opens, which took over a minute; every request that needs the store waited that long. Here
    /// an operation still waiting for a connection once the database has answered nothing for `poolTimeout` gives up
    /// its place and throws `StorageError.unavailable`. A busy pool is not an outage: while other operations are being
    /// answered (many charges queued on one counter's row lock, say), a waiting one keeps its place.
    ///
    /// A query already sent is waited for one timeout more, so what it did is what the caller learns unless the
    /// database stays silent that long too (a query written to a connection postgres-nio leased out as it closed is
    /// never answered, and must not hold its caller forever).
    ///
    /// Once an operation found the database unreachable, the next ones fail at once rather than each waiting out the
    /// timeout (every request would otherwise wait a timeout per query); one a second is let through to find out
    /// whether it is back.
    final class Client: Sendable {
        let pool: PostgresClient
        let poolTimeout: Duration
        /// Where the database is, for the log (never the password).
        let location: String
        private let health: Mutex<Health>

        /// What the client knows of the database: whether it was found unreachable, and when it last answered.
        struct Health {
            var breaker = CircuitBreaker(settings: .init(consecutiveFailures: 1, openFor: Client.probeInterval))
            var lastAnswer: ContinuousClock.Instant

            mutating func answered(now: ContinuousClock.Instant = .now) {
                breaker.succeeded()
                lastAnswer = now
            }

            /// When a wait for a connection that began at `start` gives up, as known now: `timeout` after the later
            /// of its start and the database's last answer, so every answer pushes it back.
            func givesUp(waitingSince start: ContinuousClock.Instant, timeout: Duration) -> ContinuousClock.Instant {
                max(start, lastAnswer) + timeout
            }
        }

        /// How often an operation is let through to a database found unreachable.
        static let probeInterval: Duration = .seconds(1)

        init(pool: PostgresClient, poolTimeout: Duration, location: String) {
            self.pool = pool
            self.poolTimeout = poolTimeout
            self.location = location
            self.health = Mutex(Health(lastAnswer: .now))
        }

        @discardableResult
        func query(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence {
            try await bounded { [pool] in try await pool.query(query, logger: logger) }
        }

        func withTransaction<T: Sendable>(
            logger: Logger, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
        ) async throws -> T {
            try await bounded { [pool] in try await pool.withTransaction(logger: logger) { try await body($0) } }
        }

        func bounded<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) async throws -> T {
            guard health.withLock({ $0.breaker.allows(now: .now) }) else {
                throw StorageError.unavailable(
                    "PostgreSQL at \(location) was unreachable moments ago (tried again every \(Self.probeInterval))")
            }
            do {
                let value = try await waited(operation)
                health.withLock { $0.answered() }
                return value
            } catch let error as StorageError {
                health.withLock { $0.breaker.failed(now: .now) }
                throw error
            } catch is CancellationError {
                // The caller went away: nothing learnt (a probe it was is replaced after the interval).
                throw CancellationError()
            } catch {
                // The database answered (an SQL error, a transaction's refusal).
                health.withLock { $0.answered() }
                throw error
            }
        }

        /// `operation`, given up with `StorageError.unavailable` when the database has answered nothing for the timeout:
        /// the operation is then cancelled, which takes it out of the queue for a connection, and waited for one timeout
        /// more, in which a query already sent may still be answered (its outcome then stands).
        ///
        /// The operation runs as a task of its own and is not waited for past that. postgres-nio can lease out a
        /// connection that is closing, and a query written to it is never answered nor failed: waiting for it to end
        /// could be waiting forever. Such an operation's task is left behind, holding nothing but itself.
        private func waited<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) async throws -> T {
            let timeout = poolTimeout
            let start = ContinuousClock.now
            let task = Task { try await operation() }
            let waiting = Waiting<T>()
            let outcome = await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    waiting.begin(continuation)
                    let timer = Task { [self] in
                        while true {
                            let deadline = health.withLock { $0.givesUp(waitingSince: start, timeout: timeout) }
                            if ContinuousClock.now >= deadline { break }
                            // Cancelled: the operation ended.
                            do { try await Task.sleep(until: deadline, clock: .continuous) } catch { return }
                        }
                        waiting.giveUp()
                        task.cancel()
                        do { try await Task.sleep(for: timeout) } catch { return }
                        waiting.finish(nil)
                    }
                    Task {
                        let result = await task.result
                        timer.cancel()
                        waiting.finish(result)
                    }
                }
            } onCancel: {
                task.cancel()
            }
            switch outcome {
            case .success(let value)?: return value
            case .failure(let error)? where Task.isCancelled: throw error
            case .failure(let error)? where !waiting.gaveUp: throw Self.classified(error, location: location)
            case .failure, nil:
                throw StorageError.unavailable("PostgreSQL at \(location) gave no connection and answered nothing for \(timeout)")
            }
        }

        /// One operation's wait: its outcome, delivered once, and whether it was given up.
        private final class Waiting<T: Sendable>: Sendable {
            private struct State {
                var continuation: CheckedContinuation<Result<T, any Error>?, Never>?
                var gaveUp = false
            }
            private let state = Mutex(State())

            var gaveUp: Bool { state.withLock { $0.gaveUp } }

            func begin(_ continuation: CheckedContinuation<Result<T, any Error>?, Never>) {
                state.withLock { $0.continuation = continuation }
            }

            func giveUp() { state.withLock { $0.gaveUp = true } }

            /// Resumes the waiter with `outcome` (nil: given up), the first time only.
            func finish(_ outcome: Result<T, any Error>?) {
                state.withLock { $0.continuation.take() }?.resume(returning: outcome)
            }
        }

        /// `StorageError.unavailable` for an error that says the database could not be reached (a connection refused,
        /// reset or closed, the pool's circuit breaker open), else the error as it was (an SQL error, a transaction's
        /// own refusal, a row that does not decode).
        static func classified(_ error: any Error, location: String) -> any Error {
            guard let cause = unreachable(error) else { return error }
            return StorageError.unavailable("PostgreSQL at \(location) is unreachable (\(cause))")
        }

        /// What says the database was not reached, described without the query or its values; nil when it was.
        private static func unreachable(_ error: any Error) -> String? {
            switch error {
            case let e as ConnectionPoolError: return "\(e)"
            case let e as PSQLError where lostConnection.contains(e.code):
                return e.underlying.map { "\(e.code): \($0)" } ?? "\(e.code)"
            case let e as PostgresTransactionError:
                return [e.beginError, e.closureError, e.commitError].lazy.compactMap { $0.flatMap(unreachable) }.first
            default: return nil
            }
        }

        private static let lostConnection: Set<PSQLError.Code> = [
            .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed,
        ]
    }
}
