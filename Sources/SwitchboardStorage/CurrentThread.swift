#if canImport(Glibc)
import Glibc
#endif

/// The calling thread's name.
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
}
