import Foundation
public import Logging
public import SwitchboardCore
import Synchronization

extension CallContext {
    /// A context for tests: a quiet logger and a deadline a test that expects an answer never meets (the suite starts
    /// hundreds of tests at once on two cores; tests of timeouts pass their own).
    public static func testing(timeout: Duration = .seconds(30), logger: Logger? = nil) -> CallContext {
        var quiet = Logger(label: "test")
        quiet.logLevel = .critical
        return CallContext(logger: logger ?? quiet, requestID: UUID().uuidString, timeout: timeout)
    }
}

/// A log handler that keeps every line, to search logs for secrets.
public final class CapturingLogHandler: LogHandler, @unchecked Sendable {
    private let store = Mutex<[String]>([])
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .trace

    /// An empty capture.
    public init() {}

    /// Every line logged, with its metadata.
    public var lines: [String] { store.withLock { $0 } }

    /// A logger writing here.
    public var logger: Logger { Logger(label: "capture") { _ in self } }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        store.withLock { $0.append("\(event.level) \(event.message) \(merged)") }
    }
}

/// Waits until `condition` holds, checking every `interval`, for at most `timeout`; returns whether it held. The one
/// way tests wait for something another thread or process does: a deadline is a bound on a failing test, never a
/// pause a passing test sits through, so it is long: a whole suite running at once on two cores holds a task back for
/// seconds.
@discardableResult
public func eventually(
    timeout: Duration = .seconds(30), interval: Duration = .milliseconds(10), _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while true {
        if try await condition() { return true }
        if ContinuousClock.now >= deadline { return false }
        try? await Task.sleep(for: interval)
    }
}
