import Synchronization

#if os(Linux)
// glibc's getrandom (sys/random.h) is not in the Glibc module map.
@_silgen_name("getrandom")
private func getrandom(_ buffer: UnsafeMutableRawPointer, _ count: Int, _ flags: UInt32) -> Int
#endif

/// Random bytes from the system, drawn 1 KiB at a time: every request's id takes ten, and one system call each was
/// a fifth of the gateway's system calls a request (`strace -c`: two reads, two writevs and a getrandom).
final class RandomBytes: Sendable {
    static let shared = RandomBytes()

    private struct Pool {
        var bytes = [UInt8](repeating: 0, count: 1024)
        var next = 1024
    }

    private let pool = Mutex(Pool())

    /// Fills `out` (at most 1 KiB).
    func fill(_ out: UnsafeMutableRawBufferPointer) {
        precondition(out.count <= 1024)
        pool.withLock { pool in
            if pool.bytes.count - pool.next < out.count {
                pool.bytes.withUnsafeMutableBytes(Self.refill)
                pool.next = 0
            }
            let taken = pool.next..<pool.next + out.count
            pool.bytes.withUnsafeMutableBytes { all in
                let slice = UnsafeMutableRawBufferPointer(rebasing: all[taken])
                out.copyMemory(from: UnsafeRawBufferPointer(slice))
                // Bytes handed out are not kept.
                slice.initializeMemory(as: UInt8.self, repeating: 0)
            }
            pool.next = taken.upperBound
        }
    }

    private static func refill(_ raw: UnsafeMutableRawBufferPointer) {
        var filled = 0
        #if os(Linux)
        // Past 256 bytes a signal can cut a call short: ask again for the rest.
        while filled < raw.count {
            let n = getrandom(raw.baseAddress! + filled, raw.count - filled, 0)
            if n <= 0 { break }
            filled += n
        }
        #endif
        if filled < raw.count {
            var rng = SystemRandomNumberGenerator()
            for i in filled..<raw.count { raw[i] = UInt8.random(in: .min ... .max, using: &rng) }
        }
    }
}
