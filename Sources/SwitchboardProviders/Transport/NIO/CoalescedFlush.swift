package import NIOCore

/// Flushes once the event loop has handled every event of its current wake-up, however often asked before then:
/// the writes that became ready together reach their peer with the kernel waking it once, not once each. Used by
/// both sides of a proxied request (the upstream connection and the server's direct handler). On the loop only.
package final class CoalescedFlush {
    private var scheduled = false

    package init() {}

    /// Runs `flush` at the end of this wake-up of `loop`, unless it is already due to run.
    package func flushSoon(on loop: any EventLoop, _ flush: @escaping () -> Void) {
        guard !scheduled else { return }
        scheduled = true
        loop.assumeIsolated().execute { [self] in
            scheduled = false
            flush()
        }
    }
}
