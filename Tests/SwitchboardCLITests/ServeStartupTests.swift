import Foundation
import NIOCore
import NIOPosix
import SwitchboardTesting
import Testing

/// `switchboard serve` as an operator starts it.
@Suite struct ServeStartupTests {
    @Test func aPortInUseIsNamedAndServeExitsAtOnce() async throws {
        // Something else holds the port.
        let holder = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(holder.localAddress?.port)
        let cli = try CLIRunner(
            config: "[server]\nport = \(port)\n", environment: ["SWITCHBOARD_MASTER_KEY": "sk-sb-startup-test-0123456789"])
        let process = try ChildProcess(
            executable: CLIRunner.binary.path, arguments: ["serve"], environment: cli.environment, directory: cli.directory.path)
        // A bound on a failing test, not a wait: the process ends on its own at once.
        let watchdog = Task {
            try await Task.sleep(for: .seconds(30))
            process.signal(SIGKILL)
        }
        let termination = await process.wait()
        watchdog.cancel()
        try await holder.close()
        #expect(termination == .exited(1), "\(process.stderr)")
        #expect(process.stderr.contains("cannot listen on 127.0.0.1:\(port): the address is already in use"))
    }
}
