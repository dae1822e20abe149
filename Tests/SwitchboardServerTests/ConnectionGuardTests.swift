import Foundation
import HTTPTypes
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOHTTPTypes
import NIOPosix
import SwitchboardCore
import SwitchboardTesting
import Testing

@testable import SwitchboardServer

/// The connection guard's decisions without sockets, then on a real gateway's sockets.
@Suite struct ConnectionGuardTests {
    static let limits = ConnectionLimits(headerTimeout: .seconds(5), bodyTimeout: .seconds(10), maxBodyBytes: 1000)

    static func post(_ fields: HTTPFields = [:]) -> HTTPRequest {
        HTTPRequest(method: .post, scheme: "http", authority: "x", path: "/v1/chat/completions", headerFields: fields)
    }

    @Test func aBadRequestAfterAGoodOneIsAnsweredOnlyAfterTheGoodOnesResponse() {
        var state = ConnectionGuardState(limits: Self.limits)
        #expect(state.head(Self.post()) == .forward)
        #expect(state.body(end: true) == .forward)
        #expect(state.malformed() == .drop)
        #expect(state.owed == 1)
        let due = state.responseEnded()
        #expect(due?.status == .badRequest)
        #expect(state.state == .closed)
    }

    @Test func aLengthOverTheLimitAndAnUnknownTransferCodingAreRefusedFromTheHead() {
        var state = ConnectionGuardState(limits: Self.limits)
        guard case .refuse(let tooLarge) = state.head(Self.post([.contentLength: "10737418240"])) else {
            Issue.record("a 10 GB body was not refused")
            return
        }
        #expect(tooLarge.status == .contentTooLarge)
        var other = ConnectionGuardState(limits: Self.limits)
        guard case .refuse(let coding) = other.head(Self.post([.transferEncoding: "gzip, chunked"])) else {
            Issue.record("gzip, chunked was not refused")
            return
        }
        #expect(coding.status == .notImplemented)
        var chunked = ConnectionGuardState(limits: Self.limits)
        #expect(chunked.head(Self.post([.transferEncoding: "chunked"])) == .forward)
    }

    @Test func deadlinesRunOnlyWhileTheClientOwesBytes() {
        var state = ConnectionGuardState(limits: Self.limits)
        #expect(state.timer == .header)
        _ = state.head(Self.post())
        #expect(state.timer == .body)
        _ = state.body(end: true)
        // Answering may take as long as the request's own deadline allows.
        #expect(state.timer == .none)
        #expect(state.timedOut(.header) == .drop)
        #expect(state.responseEnded() == nil)
        #expect(state.timer == .header)
        #expect(state.timedOut(.header) == .close)
    }

    @Test func aHalfCloseWithNothingOwedEndsTheConnection() {
        var idle = ConnectionGuardState(limits: Self.limits)
        #expect(idle.inputClosed() == .close)
        var busy = ConnectionGuardState(limits: Self.limits)
        _ = busy.head(Self.post())
        _ = busy.body(end: true)
        // The routes see it: a client that leaves before its answer cancels the upstream call.
        #expect(!busy.clientClosedInput)
        #expect(busy.inputClosed() == .forward)
        // And a stream that begins after it is told nobody reads it.
        #expect(busy.clientClosedInput)
    }

    @Test func theHandlerClosesIdleAndDribblingConnectionsOnItsClock() throws {
        func channel() throws -> EmbeddedChannel {
            let channel = EmbeddedChannel(handler: ConnectionGuard(limits: Self.limits))
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
            return channel
        }
        let idle = try channel()
        idle.embeddedEventLoop.advanceTime(by: .seconds(4))
        #expect(idle.isActive)
        idle.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(!idle.isActive)

        let dribbling = try channel()
        try dribbling.writeInbound(HTTPRequestPart.head(Self.post()))
        for _ in 0..<9 {
            try dribbling.writeInbound(HTTPRequestPart.body(ByteBuffer(string: "x")))
            dribbling.embeddedEventLoop.advanceTime(by: .seconds(1))
        }
        #expect(dribbling.isActive)
        dribbling.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(!dribbling.isActive)

        let answered = try channel()
        try answered.writeInbound(HTTPRequestPart.head(Self.post()))
        try answered.writeInbound(HTTPRequestPart.end(nil))
        answered.embeddedEventLoop.advanceTime(by: .seconds(600))
        #expect(answered.isActive)
        try answered.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .ok)))
        try answered.writeOutbound(HTTPResponsePart.end(nil))
        answered.embeddedEventLoop.advanceTime(by: .seconds(5))
        #expect(!answered.isActive)
    }

    @Test func aHeadRequestReachesTheRoutesAsItsGet() throws {
        let channel = EmbeddedChannel(handler: ConnectionGuard(limits: Self.limits))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        try channel.writeInbound(HTTPRequestPart.head(HTTPRequest(method: .head, scheme: "http", authority: "x", path: "/health")))
        guard case .head(let forwarded)? = try channel.readInbound(as: HTTPRequestPart.self) else {
            Issue.record("nothing forwarded")
            return
        }
        #expect(forwarded.method == .get)
    }
}

/// The reproducers of the security review's connection items, against a real gateway.
@Suite struct ConnectionLimitTests {
    /// Connects and returns the channel and what the server sent once it closed.
    static func open(_ port: Int) async throws -> (any Channel, EventLoopFuture<ByteBuffer>) {
        let closed = MultiThreadedEventLoopGroup.singleton.next().makePromise(of: ByteBuffer.self)
        let channel = try await RawHTTPClient.connect(port: port, collecting: closed)
        return (channel, closed.futureResult)
    }

    /// A chat completion request with the master key, as bytes.
    static func chatRequest(_ body: JSONValue = chatBody(), version: String = "1.1") -> String {
        let text = body.jsonString()
        return "POST /v1/chat/completions HTTP/\(version)\r\nhost: x\r\nauthorization: Bearer \(LiveGateway.master)\r\n"
            + "content-type: application/json\r\ncontent-length: \(text.utf8.count)\r\n\r\n\(text)"
    }

    /// Short deadlines; the head's is long enough for a loaded machine to connect and send a head in.
    static func quick(_ options: inout GatewayServer.Options) {
        options.headerTimeout = .seconds(1)
        options.bodyTimeout = .milliseconds(300)
    }

    @Test func idleAndDribblingConnectionsAreClosedAndTheGatewayStillAnswers() async throws {
        try await LiveGateway.with(try await LiveGateway.start(configure: Self.quick)) { (gw) async throws in
            let (idle, _) = try await Self.open(gw.port)
            let (headers, _) = try await Self.open(gw.port)
            let (body, _) = try await Self.open(gw.port)
            // On a busy machine the head deadline may close it first: closed either way is what is expected.
            _ = try? await body.writeAndFlush(
                ByteBuffer(string: "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{"))
            // A byte every 100 ms until the deadlines close them: each write keeps the connection busy, none completes a
            // head or body. The bound is far longer than the deadlines, so a loaded machine passes; without them the
            // connections stay open.
            await eventually(interval: .milliseconds(100)) {
                _ = try? await headers.writeAndFlush(ByteBuffer(string: "X"))
                _ = try? await body.writeAndFlush(ByteBuffer(string: " "))
                return !idle.isActive && !headers.isActive && !body.isActive
            }
            for (name, channel) in [("idle", idle), ("slow head", headers), ("slow body", body)] {
                #expect(!channel.isActive, "the \(name) connection is still open")
            }
            let r = try await gw.send("POST", "/v1/chat/completions", json: chatBody())
            #expect(r.status == 200)
        }
    }

    @Test func connectionsPastTheLimitAreRefusedWithA503() async throws {
        try await LiveGateway.with(try await LiveGateway.start { $0.maxConnections = 2 }) { (gw) async throws in
            // One at a time: a connection is counted once the server has set it up, not when the client's connect returns.
            func admitted(_ n: Int) async throws {
                await eventually { gw.server.connections.current >= n }
                #expect(gw.server.connections.current == n)
            }
            let (first, _) = try await Self.open(gw.port)
            try await admitted(1)
            let (second, _) = try await Self.open(gw.port)
            try await admitted(2)
            let (_, refused) = try await Self.open(gw.port)
            let answer = String(buffer: try await refused.get())
            #expect(answer.hasPrefix("HTTP/1.1 503"))
            #expect(answer.contains("too_many_connections"))
            try await first.close()
            try await second.close()
            // Each refused attempt is a response, not a wait: a new connection is admitted once the old ones are gone.
            #expect(await eventually { (try? await gw.send("GET", "/health", key: nil).status) == 200 })
        }
    }

    @Test func aHugeLengthIsRefusedFromItsHeaderAndAStrangeCodingIs501() async throws {
        try await LiveGateway.with(try await LiveGateway.start()) { (gw) async throws in
            let (huge, hugeClosed) = try await Self.open(gw.port)
            try await huge.writeAndFlush(
                ByteBuffer(string: "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: 10737418240\r\n\r\n"))
            let refused = String(buffer: try await hugeClosed.get())
            #expect(refused.hasPrefix("HTTP/1.1 413"))
            let (gzip, gzipClosed) = try await Self.open(gw.port)
            try await gzip.writeAndFlush(
                ByteBuffer(string: "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ntransfer-encoding: gzip, chunked\r\n\r\n0\r\n\r\n"))
            #expect(String(buffer: try await gzipClosed.get()).hasPrefix("HTTP/1.1 501"))
            #expect(try await gw.store.records(.init()).isEmpty)
        }
    }

    @Test(arguments: [true, false])
    func anHTTP10ClientGetsAStreamItCanRead(direct: Bool) async throws {
        try await LiveGateway.with(try await LiveGateway.start(direct: direct)) { (gw) async throws in
            let (channel, closed) = try await Self.open(gw.port)
            try await channel.writeAndFlush(ByteBuffer(string: Self.chatRequest(chatBody(stream: true), version: "1.0")))
            let answer = String(buffer: try await closed.get())
            #expect(answer.hasPrefix("HTTP/1.1 200"))
            #expect(!answer.lowercased().contains("transfer-encoding"))
            #expect(answer.hasSuffix("data: [DONE]\n\n"))
        }
    }

    @Test(arguments: [true, false])
    func headIsAnsweredAsItsGetAndOtherMethodsAre405(direct: Bool) async throws {
        try await LiveGateway.with(try await LiveGateway.start(direct: direct)) { (gw) async throws in
            let replies = try await RawHTTPClient.exchange(
                port: gw.port,
                [
                    ("HEAD", "/health", [], nil),
                    ("HEAD", "/v1/chat/completions", [("authorization", "Bearer \(LiveGateway.master)")], nil),
                    ("GET", "/v1/messages", [], nil),
                    ("DELETE", "/v1/models", [], nil),
                    ("HEAD", "/no/such/route", [("connection", "close")], nil),
                ])
            #expect(replies.map(\.status) == [200, 405, 405, 405, 404])
            #expect(replies[0].body.isEmpty)
            #expect(replies[1].header("allow") == "POST")
            #expect(replies[3].header("allow") == "GET, HEAD")
            #expect(try await gw.store.records(.init()).isEmpty)
        }
    }

    @Test(arguments: [true, false])
    func aMalformedRequestAfterAValidOneLeavesTheValidOnesAnswer(direct: Bool) async throws {
        try await LiveGateway.with(try await LiveGateway.start(direct: direct)) { (gw) async throws in
            let (channel, closed) = try await Self.open(gw.port)
            try await channel.writeAndFlush(ByteBuffer(string: Self.chatRequest() + "GARBAGE\0 / HTTP/9\r\n\r\n"))
            let answer = String(buffer: try await closed.get())
            #expect(answer.hasPrefix("HTTP/1.1 200"))
            #expect(answer.contains("HTTP/1.1 400"))
            #expect(answer.contains("malformed_request"))
            #expect(try await gw.store.records(.init()).map(\.status) == [200])
        }
    }

    @Test func aClientThatHalfClosesBeforeItsAnswerIsGoneAndRecordedAs499() async throws {
        try await LiveGateway.with(try await LiveGateway.start()) { (gw) async throws in
            gw.fake.setDefault(.delay(.seconds(4), then: .reply(FakeReply("late"))))
            let (channel, closed) = try await Self.open(gw.port)
            try await channel.writeAndFlush(ByteBuffer(string: Self.chatRequest()))
            try await channel.close(mode: .output)
            _ = try await closed.get()
            var records: [Int] = []
            try await eventually {
                records = try await gw.store.records(.init()).map(\.status)
                return !records.isEmpty
            }
            // As nginx and Go's server do: the end of the client's input is the client leaving; the upstream call stops.
            #expect(records == [499])
        }
    }
}
