import ArgumentParser
import Foundation
import Logging
import NIOCore
import NIOPosix

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
}

/// ArgumentParser's async entry point, called from here rather than through `@main` so the executor
/// choice above comes first.
func runSwitchboard() async {
    await SwitchboardCommand.main(nil)
}

await runSwitchboard()
