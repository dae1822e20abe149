#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import NIOConcurrencyHelpers

/// Standard error written by a thread of its own.
///
/// The gateway's tasks run on its event loops, and a write to a pipe whose reader has stopped (a paused pager, a
/// log collector falling behind) blocks until the reader drains it: a lane failing over on every request logs for every
/// request, and one blocked write would stop every connection on that loop. A caller here only appends its line to a
/// bounded buffer; when the buffer is full, lines are dropped and counted, and the count is written in their place.
final class StderrWriter: @unchecked Sendable {  // `lines`, `started` and `writing` are guarded by `lock`.
    /// The process's standard error.
    static let shared = StderrWriter(descriptor: STDERR_FILENO, capacity: 256 << 10)

    /// The condition the lock's value states; the writer waits for `.pending`, a flush for `.idle`.
    private enum Phase: Equatable { case idle, pending, writing }

    private let descriptor: Int32
    private let lock = ConditionLock(value: Phase.idle)
    private var lines: PendingLines
    private var started = false
    /// The writer holds a batch (the lock's value reads only outside the lock, so it is kept here too).
    private var writing = false

    init(descriptor: Int32, capacity: Int) {
        self.descriptor = descriptor
        lines = PendingLines(capacity: capacity)
    }

    /// Queues `text` (whole lines) to be written; never waits for standard error.
    func write(_ text: String) {
        lock.lock()
        lines.append(text)
        let start = !started
        started = true
        lock.unlock(withValue: writing ? .writing : .pending)
        if start {
            let thread = Thread { [self] in run() }
            thread.name = "sb-stderr"
            thread.start()
        }
    }

    /// Waits until everything queued is written, at most `timeout`; false if it was not.
    @discardableResult
    func flush(timeout: Duration = .seconds(2)) -> Bool {
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        guard lock.lock(whenValue: .idle, timeoutSeconds: seconds) else { return false }
        lock.unlock(withValue: .idle)
        return true
    }

    private func run() {
        while true {
            lock.lock(whenValue: .pending)
            let batch = lines.take()
            writing = true
            lock.unlock(withValue: .writing)
            writeAll(batch)
            lock.lock()
            writing = false
            lock.unlock(withValue: lines.isEmpty ? .idle : .pending)
        }
    }

    private func writeAll(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { systemWrite(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0, errno == EINTR { continue }
            // Standard error closed or failing: there is nowhere left to say so.
            if n <= 0 { return }
            offset += n
        }
    }
}

/// `write(2)`, which a method of the writer's name would otherwise hide.
private func systemWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, bytes, count)
}

/// Lines waiting for standard error, bounded. Once a line does not fit, it and every line after it are dropped until
/// the writer takes what waits, so the dropped lines are one gap, reported where it is.
struct PendingLines {
    let capacity: Int
    private var bytes: [UInt8] = []
    private var dropped = 0

    init(capacity: Int) {
        self.capacity = capacity
    }

    var isEmpty: Bool { bytes.isEmpty && dropped == 0 }

    /// Keeps `line` unless lines are being dropped or it would pass the bound.
    mutating func append(_ line: String) {
        guard dropped == 0, bytes.count + line.utf8.count <= capacity else {
            dropped += 1
            return
        }
        bytes.append(contentsOf: line.utf8)
    }

    /// What there is to write: the waiting lines, then how many were dropped after them.
    mutating func take() -> [UInt8] {
        var taken: [UInt8] = []
        swap(&taken, &bytes)
        if dropped > 0 {
            taken.append(contentsOf: "switchboard: \(dropped) lines of log dropped: standard error was not read in time\n".utf8)
            dropped = 0
        }
        return taken
    }
}
