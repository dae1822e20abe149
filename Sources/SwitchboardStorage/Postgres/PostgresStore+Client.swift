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
    /// Only the wait for a connection is cut short: a query already sent is waited for, so what it did is what the
    /// caller learns (a ledger insert that committed is never reported as lost).
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

        private func bounded<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) async throws -> T {
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

        /// `operation`, given up with `StorageError.unavailable` when it has no connection and the database has
        /// answered nothing for the timeout.
        private func waited<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) async throws -> T {
            let timeout = poolTimeout
            let start = ContinuousClock.now
            var timedOut = false
            do {
                return try await withThrowingTaskGroup(of: T?.self) { group in
                    group.addTask { try await operation() }
                    // nil: the time is up (or the caller was cancelled).
                    group.addTask {
                        while true {
                            let deadline = self.health.withLock { $0.givesUp(waitingSince: start, timeout: timeout) }
                            if ContinuousClock.now >= deadline { return nil }
                            do { try await Task.sleep(until: deadline, clock: .continuous) } catch { return nil }
                        }
                    }
                    defer { group.cancelAll() }
                    if let value = try await group.next() ?? nil { return value }
                    // Cancelling the operation takes it out of the queue for a connection; one that has its connection
                    // runs to its end, and its outcome stands.
                    timedOut = true
                    group.cancelAll()
                    if let value = try await group.next() ?? nil { return value }
                    throw CancellationError()
                }
            } catch {
                if Task.isCancelled { throw error }
                if timedOut {
                    throw StorageError.unavailable(
                        "PostgreSQL at \(location) gave no connection and answered nothing for \(timeout)")
                }
                throw Self.classified(error, location: location)
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
