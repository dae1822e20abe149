import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import SwitchboardCore
import SwitchboardProviders
import SwitchboardTesting
import Synchronization
import Testing

/// The hand-written upstream client against servers that misbehave on purpose.
@Suite struct NIOTransportTests {
    static let tlsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/tls")

    static let loops = Array(MultiThreadedEventLoopGroup.singleton.makeIterator()).count

    static func transport(_ edit: (inout NIOHTTPTransport.Settings) -> Void = { _ in }) -> NIOHTTPTransport {
        var settings = NIOHTTPTransport.Settings()
        edit(&settings)
        return NIOHTTPTransport(group: MultiThreadedEventLoopGroup.singleton, settings: settings)
    }

    static func get(_ transport: NIOHTTPTransport, _ url: String, timeout: Duration = .seconds(10)) async throws -> (Int, String) {
        let response = try await transport.send(TransportRequest(method: "GET", url: url), context: .testing(timeout: timeout))
        let body = try await response.body.collect(upTo: 1 << 26)
        return (response.status, String(buffer: body))
    }

    @Test func sequentialRequestsShareOneKeptAliveConnection() async throws {
        let server = try await MisbehavingServer.start(.ok("hello"))
        let transport = Self.transport()
        for _ in 0..<50 {
            let (status, body) = try await Self.get(transport, server.url)
            #expect(status == 200 && body == "hello")
        }
        // One connection per event loop at most: callers off the loops are spread over them.
        #expect(server.snapshot.accepted <= Self.loops)
        #expect(server.snapshot.requests == 50)
        try await transport.shutdown()
        await server.stop()
    }

    @Test func theRequestLineAndHostComeFromTheURLAndBadURLsAreRefused() async throws {
        let server = try await MisbehavingServer.start(.ok("x"))
        let transport = Self.transport()
        let root = "http://127.0.0.1:\(server.port)"
        _ = try await Self.get(transport, root + "/v1/chat?api-version=2024-10-21#fragment")
        var head = server.snapshot.lastHead
        #expect(head.hasPrefix("GET /v1/chat?api-version=2024-10-21 HTTP/1.1\r\n"), "\(head)")
        #expect(head.contains("\r\nHost: 127.0.0.1:\(server.port)\r\n"), "\(head)")
        _ = try await Self.get(transport, root + "?q=1")
        head = server.snapshot.lastHead
        #expect(head.hasPrefix("GET /?q=1 HTTP/1.1\r\n"), "\(head)")
        // Framing headers are the client's own; a caller's are dropped rather than sent twice.
        let post = TransportRequest(
            method: "POST", url: root + "/p", headers: [("Content-Length", "999"), ("Connection", "close")],
            body: ByteBuffer(string: "abc"))
        _ = try await transport.send(post, context: .testing()).body.collect(upTo: 1024)
        head = server.snapshot.lastHead
        #expect(
            head.contains("\r\nContent-Length: 3\r\n") && !head.contains("Content-Length: 999")
                && !head.lowercased().contains("connection: close"),
            "\(head)")
        // Every hop-by-hop name, in any case, stays on this hop; end-to-end headers (even of the same length) go on.
        let hopByHop = [
            "TE", "Host", "UPGRADE", "trailer", "Keep-Alive", "connection", "Content-length", "Proxy-Connection",
            "Transfer-ENCODING",
        ]
        let kept = ["Tf", "Hosts", "Upgrades", "X-Trailer", "Keep-Alivf", "Connection2"]
        let mixed = TransportRequest(
            method: "POST", url: root + "/p", headers: (hopByHop + kept).map { ($0, "v-\($0.lowercased())") },
            body: ByteBuffer(string: "abc"))
        _ = try await transport.send(mixed, context: .testing()).body.collect(upTo: 1024)
        head = server.snapshot.lastHead.lowercased()
        for name in hopByHop { #expect(!head.contains(": v-\(name.lowercased())\r\n"), "\(name): \(head)") }
        for name in kept { #expect(head.contains("\r\n\(name.lowercased()): v-\(name.lowercased())\r\n"), "\(name): \(head)") }
        for bad in [
            "ftp://127.0.0.1/x", "http://user:pw@127.0.0.1:\(server.port)/", "http://127.0.0.1:99999/", "http:///nohost",
            "http://[::1/x",
        ] {
            do {
                _ = try await Self.get(transport, bad)
                Issue.record("\(bad) was sent")
            } catch let error as TransportError {
                guard case .invalidURL = error else { Issue.record("\(bad): \(error)"); continue }
            }
        }
        try await transport.shutdown()
        await server.stop()
    }

    @Test func aServerThatClosesBetweenRequestsCostsANewConnectionNotAFailure() async throws {
        let server = try await MisbehavingServer.start(.closeAfterResponse)
        let transport = Self.transport()
        let lag = LoopLagWatch(group: MultiThreadedEventLoopGroup.singleton)
        for i in 0..<200 {
            let started = ContinuousClock.now
            do {
                let (status, body) = try await Self.get(transport, server.url)
                #expect(status == 200 && body == "ok")
            } catch {
                // What both sides saw, and how late the event loops ran, tells a blocked loop from a lost close.
                let seen = server.snapshot
                let open = try await transport.openConnections()
                let client = try await transport.counters()
                Issue.record(
                    """
                    request \(i): \(error) after \(ContinuousClock.now - started); longest event-loop delay so far \(lag.worst); \
                    server accepted \(seen.accepted), closed \(seen.closed), answered \(seen.requests); client holds \(open), \(client)
                    """)
            }
        }
        lag.stop()
        #expect(server.snapshot.requests == 200)
        #expect(server.snapshot.accepted == 200)
        try await transport.shutdown()
        await server.stop()
    }

    @Test func aChildProcessInheritsNoConnectionOfTheTestProcess() async throws {
        // NIO's sockets are not close-on-exec. A child that inherited a server's side of a connection kept it
        // open after the server closed it, so the client's next request on it went unanswered: the stall the
        // test above saw under the full suite, whose CLI tests spawn processes while others hold connections.
        let server = try await MisbehavingServer.start(.ok("x"))
        let transport = Self.transport()
        _ = try await Self.get(transport, server.url)
        #expect(try await transport.openConnections() == 1)
        let child = try ChildProcess(executable: "/bin/sh", arguments: ["-c", "exec ls /proc/self/fd"], environment: [:])
        #expect(await child.wait() == .exited(0))
        // ls's own directory handle is the lowest free descriptor, 3.
        #expect(child.stdout.split(separator: "\n").sorted() == ["0", "1", "2", "3"], "\(child.stdout)")
        try await transport.shutdown()
        await server.stop()
    }

    static let brokenHeads = [
        "malformed status line": "HTTP/1.1 abc OK\r\nContent-Length: 0\r\n\r\n",
        "malformed header": "HTTP/1.1 200 OK\r\nThis is not a header\r\nContent-Length: 0\r\n\r\n",
        "oversize header": "HTTP/1.1 200 OK\r\nX-Big: " + String(repeating: "a", count: 100_000) + "\r\nContent-Length: 0\r\n\r\n",
        "bad content-length": "HTTP/1.1 200 OK\r\nContent-Length: zero\r\n\r\n",
    ]

    @Test(arguments: brokenHeads.keys.sorted())
    func aBrokenResponseHeadIsAnInvalidResponseError(what: String) async throws {
        let raw = try #require(Self.brokenHeads[what])
        let server = try await MisbehavingServer.start(.raw(raw))
        let transport = Self.transport()
        await #expect(throws: TransportError.self, "\(what)") {
            _ = try await Self.get(transport, server.url)
        }
        do {
            _ = try await Self.get(transport, server.url)
        } catch let error as TransportError {
            guard case .invalidResponse = error else { Issue.record("\(what): \(error)"); return }
        }
        try await transport.shutdown()
        await server.stop()
    }

    @Test func aTruncatedChunkedBodyFailsInsteadOfEndingCleanly() async throws {
        let server = try await MisbehavingServer.start(
            .raw("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n10\r\nonly part"))
        let transport = Self.transport()
        let response = try await transport.send(TransportRequest(method: "GET", url: server.url), context: .testing())
        #expect(response.status == 200)
        await #expect(throws: TransportError.self) {
            _ = try await response.body.collect(upTo: 1 << 20)
        }
        // And a content-length body cut short.
        let short = try await MisbehavingServer.start(.raw("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part"))
        await #expect(throws: TransportError.self) {
            _ = try await Self.get(transport, short.url)
        }
        try await transport.shutdown()
        await server.stop()
        await short.stop()
    }

    @Test func aSlowLorisHeadTimesOutAtTheRequestDeadline() async throws {
        let server = try await MisbehavingServer.start(.trickle(.milliseconds(50)))
        let transport = Self.transport()
        let start = ContinuousClock.now
        await #expect(throws: TransportError.timedOut(.deadline)) {
            _ = try await Self.get(transport, server.url, timeout: .milliseconds(800))
        }
        // The head never ends: the bound only needs to be far below forever and above a loaded machine's delays.
        #expect(ContinuousClock.now - start < .seconds(30))
        // The connection was dropped, not kept trickling.
        await eventually { server.snapshot.closed >= server.snapshot.accepted }
        #expect(server.snapshot.closed == server.snapshot.accepted)
        try await transport.shutdown()
        await server.stop()
    }

    @Test func aSilentUpstreamHitsTheFirstByteTimeoutOfAStreamedRequest() async throws {
        let server = try await MisbehavingServer.start(.silent)
        let transport = Self.transport()
        var request = TransportRequest(method: "GET", url: server.url)
        request.timeouts.firstByte = .milliseconds(300)
        let start = ContinuousClock.now
        await #expect(throws: TransportError.timedOut(.firstByte)) {
            _ = try await transport.send(request, context: .testing(timeout: .seconds(60)))
        }
        #expect(ContinuousClock.now - start < .seconds(30))
        try await transport.shutdown()
        await server.stop()
    }

    @Test func aStreamThatGoesSilentHitsTheIdleTimeoutAndOneThatKeepsTalkingOutlivesIt() async throws {
        // Chunks every three seconds: a 200 ms idle timeout cuts the stream after its first chunk (with room for a
        // machine busy with the whole suite to fire it late), a 30 s one never does, though the whole stream takes longer
        // than the gap between chunks.
        let server = try await MisbehavingServer.start(.chunks(["a", "b", "c", "d"], delay: .seconds(3)))
        let transport = Self.transport()
        var request = TransportRequest(method: "GET", url: server.url)
        request.timeouts = UpstreamTimeouts(firstByte: .seconds(30), streamIdle: .milliseconds(200))
        let cut = try await transport.send(request, context: .testing(timeout: .seconds(30)))
        var received = ""
        await #expect(throws: TransportError.timedOut(.idle)) {
            for try await chunk in cut.body { received += String(buffer: chunk) }
        }
        #expect(received == "a")
        request.timeouts.streamIdle = .seconds(30)
        let whole = try await transport.send(request, context: .testing(timeout: .seconds(60)))
        #expect(String(buffer: try await whole.body.collect(upTo: 1 << 10)) == "abcd")
        try await transport.shutdown()
        await server.stop()
    }

    @Test func aShortDeadlineOnAKeptAliveConnectionIsKeptThoughALongerOneCameBefore() async throws {
        // One loop, so both requests share its pool's connection and the timer the first one armed.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let fake = try await FakeUpstream.start()
        let transport = NIOHTTPTransport(group: group, settings: .init())
        let post = TransportRequest(
            method: "POST", url: fake.baseURL + "/chat/completions", headers: [("Content-Type", "application/json")],
            body: ByteBuffer(string: #"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#))
        fake.setDefault(.reply(FakeReply("fast")))
        _ = try await transport.send(post, context: .testing(timeout: .seconds(60))).body.collect(upTo: 1 << 20)
        fake.setDefault(.delay(.seconds(120), then: .reply(FakeReply("late"))))
        let start = ContinuousClock.now
        await #expect(throws: TransportError.timedOut(.deadline)) {
            _ = try await transport.send(post, context: .testing(timeout: .milliseconds(300))).body.collect(upTo: 1 << 20)
        }
        #expect(ContinuousClock.now - start < .seconds(60))
        #expect(try await transport.counters().reused == 1)
        try await transport.shutdown()
        await fake.stop()
        try await group.shutdownGracefully()
    }

    @Test func aRefusedConnectionIsAConnectError() async throws {
        // A port bound but not listening refuses connections, and stays ours for the test (a port freed by a
        // stopped server could be taken by another test's server at once).
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        try #require(bound)
        let port = Int(UInt16(bigEndian: address.sin_port))
        let transport = Self.transport()
        do {
            _ = try await Self.get(transport, "http://127.0.0.1:\(port)/v1/test")
            Issue.record("connected to a port nobody listens on")
        } catch let error as TransportError {
            guard case .connectFailed = error else { Issue.record("\(error)"); return }
        }
        try await transport.shutdown()
    }

    @Test func cancellingTheCallerClosesTheUpstreamConnection() async throws {
        let server = try await MisbehavingServer.start(.silent)
        let transport = Self.transport()
        let task = Task { try await Self.get(transport, server.url, timeout: .seconds(30)) }
        await eventually { server.snapshot.requests != 0 }
        task.cancel()
        await #expect(throws: CancellationError.self) { _ = try await task.value }
        await eventually { server.snapshot.closed != 0 }
        #expect(server.snapshot.closed == 1)
        try await eventually { try await transport.openConnections() == 0 }
        #expect(try await transport.openConnections() == 0)
        try await transport.shutdown()
        await server.stop()
    }

    @Test(arguments: [true, false])
    func aBodyAbandonedBeforeItsFirstChunkClosesTheConnection(iterate: Bool) async throws {
        // The head comes at once, the first chunk only after 400 ms: the consumer gives up in between.
        let server = try await MisbehavingServer.start(.chunks(Array(repeating: "chunk", count: 10), delay: .milliseconds(400)))
        let transport = Self.transport()
        let consumer = Task {
            let response = try await transport.send(TransportRequest(method: "GET", url: server.url), context: .testing())
            withUnsafeCurrentTask { $0?.cancel() }
            if iterate { for try await _ in response.body {} }
        }
        _ = await consumer.result
        await eventually { server.snapshot.closed != 0 }
        #expect(server.snapshot.closed == 1, "the upstream connection was closed")
        #expect(server.snapshot.bytesWritten < 200, "the server did not get to send its chunks")
        try await transport.shutdown()
        await server.stop()
    }

    @Test func aStreamedBodyArrivesChunkByChunkBeforeItEnds() async throws {
        let server = try await MisbehavingServer.start(.chunks(["one ", "two ", "three"], delay: .milliseconds(100)))
        let transport = Self.transport()
        let response = try await transport.send(TransportRequest(method: "GET", url: server.url), context: .testing())
        var parts: [String] = []
        for try await chunk in response.body { parts.append(String(buffer: chunk)) }
        #expect(parts == ["one ", "two ", "three"])
        try await transport.shutdown()
        await server.stop()
    }

    @Test func aConsumerThatStopsReadingStopsTheUpstream() async throws {
        // 64 MiB offered; a consumer that reads one chunk and waits holds the server to what socket buffers take.
        // Its own event loop: moving 64 MiB through a debug build keeps a loop busy for seconds, which would
        // hold up other tests' work on the shared loops.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { Task { try await group.shutdownGracefully() } }
        let server = try await MisbehavingServer.start(.flood(count: 4096, size: 16_384), group: group)
        let transport = NIOHTTPTransport(group: group, settings: .init())
        let response = try await transport.send(TransportRequest(method: "GET", url: server.url), context: .testing(timeout: .seconds(60)))
        var iterator = response.body.makeAsyncIterator()
        _ = try await iterator.next()
        // Once the connection holds back its reads, the server can only fill the sockets' buffers.
        #expect(try await eventually { try await transport.connectionsWithholdingReads() == 1 })
        let written = server.snapshot.bytesWritten
        #expect(written < 24 << 20, "the server wrote \(written) bytes to a consumer that stopped")
        var total = 0
        while let chunk = try await iterator.next() { total += chunk.readableBytes }
        #expect(total > 60 << 20)
        try await transport.shutdown()
        await server.stop()
    }

    @Test func anAnswerToHEADHasNoBodyWhateverItsLengthSays() async throws {
        // The server closes after answering: a client that waited for the five bytes would fail mid-response.
        let server = try await MisbehavingServer.start(.raw("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"))
        let transport = Self.transport()
        let response = try await transport.send(TransportRequest(method: "HEAD", url: server.url), context: .testing())
        #expect(response.status == 200)
        #expect(try await response.body.collect(upTo: 1024).readableBytes == 0)
        try await transport.shutdown()
        await server.stop()
    }

    @Test func aHeaderThatWouldSplitTheRequestIsRefusedBeforeAnythingIsSent() async throws {
        let server = try await MisbehavingServer.start(.ok("x"))
        let transport = Self.transport()
        let request = TransportRequest(
            method: "POST", url: server.url, headers: [("Authorization", "Bearer sk-secret\r\nX-Evil: 1")],
            body: ByteBuffer(string: "{}"))
        await #expect(throws: TransportError.self) { try await transport.send(request, context: .testing()) }
        #expect(server.snapshot.requests == 0)
        try await transport.shutdown()
        await server.stop()
    }

    @Test func gzipBodiesAreDecompressed() async throws {
        let server = try await MisbehavingServer.start(
            .gzip(base64: "H4sIAAAAAAACA6tWKkmtKFGyUspIzcnJV0grys9VSFRIr8osUEjKT6lUqgUAZYbMWSEAAAA="))
        let transport = Self.transport()
        let (status, body) = try await Self.get(transport, server.url)
        #expect(status == 200)
        #expect(body == #"{"text":"hello from a gzip body"}"#)
        try await transport.shutdown()
        await server.stop()
    }

    @Test func tlsWithACertificateTrustedOnlyInTheTest() async throws {
        let cert = Self.tlsDirectory.appendingPathComponent("localhost.pem").path
        let key = Self.tlsDirectory.appendingPathComponent("localhost.key").path
        let server = try await MisbehavingServer.start(.ok("secure"), tls: (cert, key))
        let trusting = Self.transport { $0.tls.trustRoots = .file(cert) }
        let (status, body) = try await Self.get(trusting, "https://localhost:\(server.port)/v1/test")
        #expect(status == 200 && body == "secure")
        // By IP address too (no SNI; the certificate names 127.0.0.1).
        #expect(try await Self.get(trusting, "https://127.0.0.1:\(server.port)/v1/test").1 == "secure")
        // The system's roots do not know it.
        let system = Self.transport()
        await #expect(throws: TransportError.self) { _ = try await Self.get(system, "https://localhost:\(server.port)/v1/test") }
        try await trusting.shutdown()
        try await system.shutdown()
        await server.stop()
    }

    @Test func aCertificateForAnotherNameIsRejected() async throws {
        let cert = Self.tlsDirectory.appendingPathComponent("other.pem").path
        let key = Self.tlsDirectory.appendingPathComponent("other.key").path
        let server = try await MisbehavingServer.start(.ok("wrong"), tls: (cert, key))
        let transport = Self.transport { $0.tls.trustRoots = .file(cert) }
        do {
            _ = try await Self.get(transport, "https://localhost:\(server.port)/v1/test")
            Issue.record("accepted a certificate for other.example as localhost")
        } catch let error as TransportError {
            guard case .connectFailed(let message) = error else { Issue.record("\(error)"); return }
            #expect(message.contains("TLS"))
        }
        try await transport.shutdown()
        await server.stop()
    }

    @Test func aHundredThousandRequestsLeakNoConnectionOrDescriptor() async throws {
        // Its own event loop, so a hundred thousand requests do not queue ahead of other tests' work on the
        // shared loops.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let keep = try await MisbehavingServer.start(.ok("k"), group: group)
        let churn = try await MisbehavingServer.start(.closeAfterResponse, group: group)
        let transport = NIOHTTPTransport(group: group, settings: .init())
        _ = try await Self.get(transport, keep.url)
        let ports: Set<Int> = [keep.port, churn.port]
        let total = 100_000, workers = 16
        // The workers run on that loop too (not on the shared concurrency pool, where a hundred thousand
        // requests would queue ahead of every other test's tasks).
        try await withTaskExecutorPreference(LoopTaskExecutor(loop: group.next())) {
            try await withThrowingTaskGroup(of: Int.self) { group in
                for w in 0..<workers {
                    group.addTask {
                        var ok = 0
                        for i in stride(from: w, to: total, by: workers) {
                            // One request in ten goes to a server that closes after every response.
                            let (status, _) = try await Self.get(transport, i % 10 == 0 ? churn.url : keep.url)
                            if status == 200 { ok += 1 }
                        }
                        return ok
                    }
                }
                let ok = try await group.reduce(0, +)
                #expect(ok == total)
            }
        }
        #expect(keep.snapshot.requests + churn.snapshot.requests == total + 1)
        #expect(keep.snapshot.accepted <= workers, "keep-alive connections were reused")
        // While the servers still run: the client holds at most one connection per worker.
        let clientSide = try Self.socketDescriptors(remotePorts: ports)
        #expect(clientSide <= workers, "\(clientSide) client sockets open for \(workers) workers")
        try await transport.shutdown()
        try await eventually { try await transport.openConnections() == 0 }
        #expect(try await transport.openConnections() == 0)
        #expect(try Self.socketDescriptors(remotePorts: ports) == 0, "client sockets left open after shutdown")
        await keep.stop()
        await churn.stop()
        try await group.shutdownGracefully()
    }

    /// This process's file descriptors for TCP sockets whose remote end is one of `ports`. Other tests run in
    /// the same process at the same time, so a plain count of /proc/self/fd would not say whose they are.
    static func socketDescriptors(remotePorts ports: Set<Int>) throws -> Int {
        var inodes = Set<String>()
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            guard let text = try? String(contentsOfFile: table, encoding: .utf8) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ")
                guard fields.count > 9, let port = fields[2].split(separator: ":").last.flatMap({ Int($0, radix: 16) }),
                    ports.contains(port)
                else { continue }
                inodes.insert(String(fields[9]))
            }
        }
        let fds = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")
        return fds.filter { fd in
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)") else { return false }
            return target.hasPrefix("socket:[") && inodes.contains(String(target.dropFirst(8).dropLast()))
        }.count
    }
}

/// Runs tasks on one event loop's thread.
final class LoopTaskExecutor: TaskExecutor {
    let loop: any EventLoop

    init(loop: any EventLoop) {
        self.loop = loop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        loop.execute { job.runSynchronously(on: executor) }
    }
}

/// How late each event loop of a group runs a task scheduled every 10 ms: a loop held up by blocking work
/// delays every connection on it, which a stalled request alone cannot tell apart from a lost event.
final class LoopLagWatch: Sendable {
    private final class Longest: Sendable { let value = Mutex(Duration.zero) }
    private final class Last: Sendable { let value = Mutex(ContinuousClock.now) }
    private let tasks: [RepeatedTask]
    private let longest = Longest()

    init(group: any EventLoopGroup) {
        let state = longest
        tasks = group.makeIterator().map { loop in
            let last = Last()
            return loop.scheduleRepeatedTask(initialDelay: .milliseconds(10), delay: .milliseconds(10)) { _ in
                let now = ContinuousClock.now
                let late = last.value.withLock { previous in
                    defer { previous = now }
                    return now - previous - .milliseconds(10)
                }
                state.value.withLock { $0 = max($0, late) }
            }
        }
    }

    var worst: Duration { longest.value.withLock { $0 } }

    func stop() {
        for task in tasks { task.cancel() }
    }
}
