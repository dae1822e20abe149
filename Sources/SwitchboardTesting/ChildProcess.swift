#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A child process whose output is read on plain threads with blocking reads.
///
/// Tests used Foundation's `Process` with `FileHandle.readabilityHandler`; on Linux that crashed in libdispatch
/// now and then (a SIGSEGV on the dispatch manager thread took the whole test binary down in CI). This uses
/// `posix_spawn`, one reader thread per pipe and one `waitpid` thread, none of them touching dispatch.
public final class ChildProcess: Sendable {
    /// How the process ended.
    public enum Termination: Equatable, Sendable {
        /// It called exit with this status.
        case exited(Int32)
        /// An uncaught signal ended it.
        case signaled(Int32)
    }

    private struct State {
        var stdout: [UInt8] = []
        var stderr: [UInt8] = []
        var firstStdout: ContinuousClock.Instant?
        var termination: Termination?
        var pending = 3  // two readers and the waiter
        var stderrHeld = false
        var waiters: [CheckedContinuation<Termination, Never>] = []
    }

    /// The child's process id.
    public let pid: Int32
    private let stdinFD: Mutex<Int32>
    private let state = Mutex(State())

    /// Starts `executable` with `arguments`, exactly `environment`, in `directory`.
    public init(executable: String, arguments: [String], environment: [String: String], directory: String? = nil) throws {
        // Serialised so one child never inherits another's pipe ends in the moment before FD_CLOEXEC is set
        // (a stray write end would keep a reader from ever seeing the end of its pipe).
        let (child, inPipe, outPipe, errPipe) = try spawnLock.withLock { _ in
            try Self.spawn(executable: executable, arguments: arguments, environment: environment, directory: directory)
        }
        pid = child
        stdinFD = Mutex(inPipe)
        startReader(fd: outPipe, isStdout: true)
        startReader(fd: errPipe, isStdout: false)
        startWaiter()
    }

    private static func spawn(
        executable: String, arguments: [String], environment: [String: String],
        directory: String?
    ) throws -> (Int32, Int32, Int32, Int32) {
        var inPipe: [Int32] = [-1, -1], outPipe: [Int32] = [-1, -1], errPipe: [Int32] = [-1, -1]
        guard pipe(&inPipe) == 0, pipe(&outPipe) == 0, pipe(&errPipe) == 0 else { throw ChildProcessError.system("pipe", errno) }
        for fd in inPipe + outPipe + errPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        // Nothing else goes to the child. NIO opens its sockets without close-on-exec, so a child would
        // otherwise hold every connection the test process had open at the spawn: a server's close would
        // send no FIN while the child lives, and a kept-alive client would write into a socket nobody reads.
        #if canImport(Glibc)
        guard spawnCloseFrom(&actions, 3) == 0 else { throw ChildProcessError.system("posix_spawn_file_actions_addclosefrom_np", errno) }
        #endif
        // posix_spawn_file_actions_addchdir_np is not visible from Swift's Glibc module; a shell changes directory.
        let command = directory.map { ["/bin/sh", "-c", #"cd "$0" && exec "$@""#, $0, executable] } ?? [executable]
        let argv = (command + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in argv + envp { free(p) } }
        var child: Int32 = 0
        let rc = posix_spawn(&child, command[0], &actions, nil, argv, envp)
        for fd in [inPipe[0], outPipe[1], errPipe[1]] { close(fd) }
        guard rc == 0 else {
            for fd in [inPipe[1], outPipe[0], errPipe[0]] { close(fd) }
            throw ChildProcessError.system("posix_spawn \(executable)", rc)
        }
        return (child, inPipe[1], outPipe[0], errPipe[0])
    }

    /// Writes to the child's standard input.
    public func write(_ text: String) throws {
        try stdinFD.withLock { fd in
            guard fd >= 0 else { throw ChildProcessError.system("write to closed stdin", EBADF) }
            var bytes = Array(text.utf8)[...]
            while !bytes.isEmpty {
                let n = bytes.withUnsafeBytes { writeFD(fd, $0.baseAddress, $0.count) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw ChildProcessError.system("write", errno)
                }
                bytes = bytes.dropFirst(n)
            }
        }
    }

    /// Closes the child's standard input, so a reader of it sees the end.
    public func closeStdin() {
        stdinFD.withLock { fd in
            if fd >= 0 { close(fd) }
            fd = -1
        }
    }

    /// Sends signal `number` (SIGTERM, 15, unless told) to the child.
    public func signal(_ number: Int32 = 15) {
        kill(pid, number)
    }

    /// Waits until the child has exited and both its output pipes reached their end.
    public func wait() async -> Termination {
        await withCheckedContinuation { continuation in
            let done: Termination? = state.withLock { s in
                if s.pending == 0, let t = s.termination { return t }
                s.waiters.append(continuation)
                return nil
            }
            if let done { continuation.resume(returning: done) }
        }
    }

    /// Stops reading the child's standard error until `resumeStderr()`: its pipe fills, and then a write to it blocks
    /// in the child, as under a reader that stopped reading.
    public func holdStderr() {
        state.withLock { $0.stderrHeld = true }
    }

    /// Reads the child's standard error again.
    public func resumeStderr() {
        state.withLock { $0.stderrHeld = false }
    }

    /// Everything read from standard output so far.
    public var stdout: String { state.withLock { String(decoding: $0.stdout, as: UTF8.self) } }
    /// Everything read from standard error so far.
    public var stderr: String { state.withLock { String(decoding: $0.stderr, as: UTF8.self) } }
    /// When the first byte of standard output arrived.
    public var firstStdoutAt: ContinuousClock.Instant? { state.withLock { $0.firstStdout } }

    deinit {
        stdinFD.withLock { if $0 >= 0 { close($0) } }
    }

    private func finishOne(_ update: (inout State) -> Void = { _ in }) {
        let (ready, termination): ([CheckedContinuation<Termination, Never>], Termination?) = state.withLock { s in
            update(&s)
            s.pending -= 1
            guard s.pending == 0, let t = s.termination else { return ([], nil) }
            defer { s.waiters = [] }
            return (s.waiters, t)
        }
        if let termination { for w in ready { w.resume(returning: termination) } }
    }

    private func startReader(fd: Int32, isStdout: Bool) {
        Self.thread { [self] in
            var buffer = [UInt8](repeating: 0, count: 16_384)
            while true {
                while !isStdout, state.withLock({ $0.stderrHeld }) { usleep(5_000) }
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n < 0, errno == EINTR { continue }
                if n <= 0 { break }
                let chunk = buffer[0..<n]
                state.withLock { s in
                    if isStdout {
                        if s.firstStdout == nil { s.firstStdout = .now }
                        s.stdout.append(contentsOf: chunk)
                    } else {
                        s.stderr.append(contentsOf: chunk)
                    }
                }
            }
            close(fd)
            finishOne()
        }
    }

    private func startWaiter() {
        let pid = pid
        Self.thread { [self] in
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0, errno == EINTR {}
            let signalled = status & 0x7f
            let termination: Termination = signalled == 0 ? .exited((status >> 8) & 0xff) : .signaled(signalled)
            finishOne { $0.termination = termination }
        }
    }

    /// A detached POSIX thread: blocking reads and `waitpid` must not occupy the cooperative pool.
    private static func thread(_ body: @escaping @Sendable () -> Void) {
        final class Box { let body: @Sendable () -> Void; init(_ b: @escaping @Sendable () -> Void) { body = b } }
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        var handle = pthread_t()
        let rc = pthread_create(
            &handle, nil,
            { raw in
                let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
                box.body()
                return nil
            }, box)
        precondition(rc == 0, "pthread_create failed: \(rc)")
        pthread_detach(handle)
    }
}

/// A system call that starting or talking to a child process needs failed.
public struct ChildProcessError: Error, CustomStringConvertible {
    /// What was being done.
    public var operation: String
    /// The errno value.
    public var code: Int32

    static func system(_ operation: String, _ code: Int32) -> Self { Self(operation: operation, code: code) }

    /// The operation and the system's message for the error.
    public var description: String { "\(operation): \(String(cString: strerror(code)))" }
}

private let spawnLock = Mutex(())

/// `write(2)`, named apart from `ChildProcess.write(_:)`.
private func writeFD(_ fd: Int32, _ bytes: UnsafeRawPointer?, _ count: Int) -> Int { write(fd, bytes, count) }

#if canImport(Glibc)
/// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34+), which Swift's Glibc module does not show.
@_silgen_name("posix_spawn_file_actions_addclosefrom_np")
private func spawnCloseFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ from: Int32) -> Int32
#endif
