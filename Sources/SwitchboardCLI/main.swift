import ArgumentParser
import Foundation
import Logging
import NIOCore
import NIOPosix
#if canImport(Glibc)
import CMalloc
#endif

LoggingSystem.bootstrap { label in StderrLogHandler(label: label) }

// The gateway runs Swift concurrency on NIO's event loops: handlers, providers and I/O then share threads
// instead of hopping between the concurrency pool and the loops on every request. This must happen
// before any task runs, so it is decided from the raw arguments.
if CommandLine.arguments.dropFirst().first == "serve" {
    // Event loops (threads) the server runs on: one per core unless `SWITCHBOARD_EVENT_LOOPS` says otherwise.
    if let text = ProcessInfo.processInfo.environment["SWITCHBOARD_EVENT_LOOPS"], let loops = Int(text), loops > 0 {
        NIOSingletons.groupLoopCountSuggestion = loops
    }
    NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
    #if canImport(Glibc)
    // glibc raises its mmap threshold to the size of each large block freed, and lets each thread's arena keep
    // twice that free before giving it back. The ledger's journal frees a few hundred KB at a time (a moved
    // segment's records), so every arena (an event loop's, the writer's, the housekeeper's) kept megabytes it
    // did not use. Fixed thresholds turn the adjustment off: blocks of 256 KB and more get their own mappings,
    // and an arena returns what is free above 512 KB.
    _ = mallopt(M_MMAP_THRESHOLD, 256 << 10)
    _ = mallopt(M_TRIM_THRESHOLD, 512 << 10)
    #endif
}

// Log lines still queued for standard error are written before the process ends (a bounded wait).
atexit { StderrWriter.shared.flush() }

/// ArgumentParser's async entry point, called from here rather than through `@main` so the executor
/// choice above comes first; a failure's message follows the log lines queued before it.
func runSwitchboard() async {
    do {
        var command = try await SwitchboardCommand.asyncParseAsRoot(nil)
        if var command = command as? any AsyncParsableCommand {
            try await command.run()
        } else {
            try command.run()
        }
    } catch {
        StderrWriter.shared.flush()
        SwitchboardCommand.exit(withError: error)
    }
}

await runSwitchboard()
