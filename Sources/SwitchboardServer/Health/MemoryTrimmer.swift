import ServiceLifecycle

#if os(Linux)
// glibc's malloc_trim is not in the Glibc module map.
@_silgen_name("malloc_trim")
private func malloc_trim(_ pad: Int) -> Int32
#endif

/// Hands freed heap back to the system every few seconds. glibc keeps what a burst (a thousand streams)
/// allocated long after it is freed; trimming keeps the resident size close to what is in use.
struct MemoryTrimmer: Service {
    var interval: Duration = .seconds(5)

    func run() async throws {
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
            #if os(Linux)
            _ = malloc_trim(0)
            #endif
        }
    }
}
