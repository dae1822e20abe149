import Foundation
import Logging
import Synchronization
import SwitchboardCore
import Testing

@testable import SwitchboardNostr
import SwitchboardTesting

/// The relay pool against a real relay (`nostr-relay` from PyPI, in the suite's venv) on loopback.
@Suite(.serialized, .timeLimit(.minutes(3))) struct RelayPoolTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let relayCommand = root.appendingPathComponent(".venv/bin/nostr-relay").path

    /// A `nostr-relay` on `port`, its events in `directory`; stopped by `stop`.
    final class Relay: @unchecked Sendable {
        let process = Process()
        init(port: Int, directory: URL) throws {
            let config = directory.appendingPathComponent("relay.yaml")
            try """
            relay_name: switchboard tests
            storage:
              sqlalchemy.url: sqlite+aiosqlite:///\(directory.appendingPathComponent("events.sqlite3").path)
              validators:
                - nostr_relay.validators.is_signed
            verification:
              nip05_verification: disabled
            gunicorn:
              bind: 127.0.0.1:\(port)
              workers: 1
              loglevel: warning
            purple:
              host: 127.0.0.1
              port: \(port)
              workers: 1
              disable_compression: true
            authentication:
              enabled: false
            """.write(to: config, atomically: true, encoding: .utf8)
            process.executableURL = URL(fileURLWithPath: RelayPoolTests.relayCommand)
            // One process (uvicorn), so killing it frees the port at once.
            process.arguments = ["-c", config.path, "serve", "--use-uvicorn"]
            process.currentDirectoryURL = directory
            // What it says goes to a file in its folder, for a test that fails to reach it.
            let log = directory.appendingPathComponent("relay.log")
            FileManager.default.createFile(atPath: log.path, contents: nil)
            let output = try FileHandle(forWritingTo: log)
            process.standardOutput = output
            process.standardError = output
            try process.run()
            try output.close()
            self.log = log
        }
        let log: URL

        /// What the relay printed.
        var printed: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

        /// Killed, as a relay that crashes is.
        func stop() {
            guard process.isRunning else { return }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// A port no other socket holds, below Linux's ephemeral range (32768 and up). The relay is started on it twice,
    /// and a port from that range could meanwhile be taken as the local port of any of the suite's many outgoing
    /// connections (the relay then exits at once with "address in use").
    static func freePort() -> Int {
        while true {
            let port = Int.random(in: 20_000..<32_768)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if bound == 0 { return port }
        }
    }

    /// Every event a subscription delivers, read by one task for the whole test.
    final class Collected: Sendable {
        final class Box: Sendable { let events = Mutex<[NostrEvent]>([]) }
        let box = Box()
        let reader: Task<Void, Never>
        init(_ stream: AsyncStream<NostrEvent>) {
            let box = box
            reader = Task { for await event in stream { box.events.withLock { $0.append(event) } } }
        }
        var all: [NostrEvent] { box.events.withLock { $0 } }

        /// Waits until `count` events arrived (false after `eventually`'s bound).
        func wait(for count: Int) async -> Bool {
            await eventually { all.count >= count }
        }
    }

    static func connected(_ pool: RelayPool, _ count: Int) async -> Bool {
        // A relay starting on a machine busy with the rest of the suite can take many seconds.
        await eventually(interval: .milliseconds(50)) { await pool.connected.count == count }
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: relayCommand), "the suite's venv has nostr-relay"))
    func eventsArriveOnceAcrossRelaysAndSubscriptionsSurviveARestart() async throws {
        let directory = ScratchFiles.url("sb-relay")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let port = Self.freePort()
        var relay = try Relay(port: port, directory: directory)
        defer { relay.stop() }
        let logger = Logger(label: "relay-pool-test")
        let author = NostrSecretKey.generate()
        var settings = RelayPool.Settings(relays: ["ws://127.0.0.1:\(port)"])
        settings.backoff = .milliseconds(100)
        settings.maxBackoff = .milliseconds(400)
        let publisher = RelayPool(settings, key: author, logger: logger)
        // The same relay under two names: two relays to the pool, which must deliver each event once.
        settings.relays.append("ws://localhost:\(port)")
        let subscriber = RelayPool(settings, key: NostrSecretKey.generate(), logger: logger)
        await publisher.start()
        await subscriber.start()
        #expect(await Self.connected(publisher, 1), "\(relay.printed)")
        #expect(await Self.connected(subscriber, 2), "\(relay.printed)")

        let events = Collected(await subscriber.subscribe("jobs", filters: [NostrFilter(authors: [author.publicKey.hex], kinds: [5050])]))
        let first = NostrEvent.signed(
            kind: 5050, tags: [["i", "hello", "text"]], content: "", createdAt: Int64(Date().timeIntervalSince1970), by: author)
        #expect(await publisher.publish(first, timeout: .seconds(5)) == 1)
        #expect(await events.wait(for: 1))
        let filter = NostrFilter(authors: [author.publicKey.hex], kinds: [5050])
        let settled = { (n: Int) async -> Bool in
            // Every connection's copy of what came before has been seen once both relays answered a query sent after
            // it; a marker then follows anything the subscription let through.
            _ = await subscriber.query([filter], timeout: .seconds(10))
            let marker = NostrEvent.signed(
                kind: 5050, tags: [["i", "marker \(n)", "text"]], content: "", createdAt: first.createdAt + Int64(n), by: author)
            guard await publisher.publish(marker, timeout: .seconds(5)) == 1, await events.wait(for: n + 1) else { return false }
            return events.all.last == marker
        }
        #expect(await settled(1))
        #expect(events.all.count == 2 && events.all.first == first, "the second relay's copy is not delivered again")
        // Another kind is not asked for.
        _ = await publisher.publish(
            NostrEvent.signed(kind: 1, content: "chatter", createdAt: first.createdAt, by: author), timeout: .seconds(5))

        // The relay goes away and comes back: both pools reconnect and the subscription is sent again.
        relay.stop()
        #expect(await Self.connected(subscriber, 0))
        relay = try Relay(port: port, directory: directory)
        #expect(await Self.connected(publisher, 1), "\(relay.printed)")
        #expect(await Self.connected(subscriber, 2), "\(relay.printed)")
        let second = NostrEvent.signed(kind: 5050, tags: [["i", "again", "text"]], content: "", createdAt: first.createdAt + 2, by: author)
        #expect(await publisher.publish(second, timeout: .seconds(5)) == 1)
        #expect(await events.wait(for: 3))
        #expect(await settled(3))
        #expect(
            events.all.count == 4 && events.all[0] == first && events.all[2] == second,
            "after the restart only what is new arrives: \(events.all.map(\.id))")
        events.reader.cancel()
        await publisher.stop()
        await subscriber.stop()
    }
}
