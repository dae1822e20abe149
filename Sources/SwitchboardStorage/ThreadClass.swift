#if canImport(Glibc)
import Glibc
#endif

/// How the ledger's housekeeping thread is scheduled against the threads that answer requests.
public enum HousekeepingPriority: Sendable {
    /// Linux's idle class: the thread runs only on a core nothing else wants, and a woken event loop takes
    /// the core from it at once. Moving half a second's records into SQLite is a few milliseconds of CPU in
    /// one piece; at the normal class a request arriving then waited behind it (measured at 5,000 req/s: p99
    /// 1.4-1.8 ms with the ledger on, 0.4-0.5 ms with it off). When it cannot keep up, the writer's own
    /// thread, at the normal class, does the move (see `LedgerWriter`).
    case background
    /// The normal class, as every other thread.
    case normal
}

/// The calling thread's name and scheduling class.
enum CurrentThread {
    /// Names the calling thread as `ps -L` and `top -H` show it (Linux keeps 15 bytes). A name set on a
    /// `Thread` before it starts is not passed on to the kernel, and a thread otherwise inherits its
    /// creator's, an event loop's.
    static func name(_ name: String) {
        #if os(Linux)
        // pthread_setname_np needs _GNU_SOURCE, which Glibc's module does not define; this is what it does.
        let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let bytes = Array(name.utf8.prefix(15))
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        #endif
    }

    /// Moves the calling thread to `priority`'s class; 0, or the error number when the system refused. A
    /// thread cannot come back from the idle class without privilege, which is why the writer's thread, not
    /// this one, takes over when housekeeping falls behind.
    static func schedule(_ priority: HousekeepingPriority) -> Int32 {
        #if os(Linux)
        guard case .background = priority else { return 0 }
        var parameters = sched_param()
        parameters.sched_priority = 0
        // SCHED_IDLE (5); Glibc's module leaves it out without _GNU_SOURCE.
        return pthread_setschedparam(pthread_self(), 5, &parameters)
        #else
        return 0
        #endif
    }
}
