import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// Runs a test server's Hummingbird application on a free loopback port and stops it gracefully.
///
/// Cancelling a Hummingbird server while a connection is half accepted is a fatal error in NIO's async
/// channel (a writer deinitialised unfinished); a graceful shutdown closes the listener and still serves
/// every connection already accepted. Used by the fakes, which tests stop while other work may still be
/// connecting to them.
final class LoopbackServer: Sendable {
    let port: Int
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    private init(port: Int, group: ServiceGroup, task: Task<Void, any Error>) {
        self.port = port
        self.group = group
        self.task = task
    }

    static func start(router: Router<BasicRequestContext>, label: String) async throws -> LoopbackServer {
        var logger = Logger(label: label)
        logger.logLevel = .critical
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                continuation.yield(channel.localAddress?.port ?? 0)
                continuation.finish()
            }, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        let task = Task { try await group.run() }
        var port = 0
        for await p in ports { port = p }
        return LoopbackServer(port: port, group: group, task: task)
    }

    /// Stops accepting, lets what was accepted finish for up to two seconds, then cancels the rest.
    func stop() async {
        await group.triggerGracefulShutdown()
        let task = task
        let finished = await withTaskGroup(of: Bool.self) { race in
            race.addTask {
                _ = await task.result; return true
            }
            race.addTask {
                try? await Task.sleep(for: .seconds(2)); return false
            }
            let first = await race.next() ?? false
            race.cancelAll()
            return first
        }
        if !finished { task.cancel() }
        _ = await task.result
    }
}
