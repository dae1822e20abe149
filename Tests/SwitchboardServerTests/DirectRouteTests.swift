import Foundation
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOPosix
import SwitchboardCore
import SwitchboardStorage
import SwitchboardTesting
import Testing

/// The chat route answered from the channel pipeline (`DirectRouteHandler`) beside Hummingbird's own path.
@Suite(.timeLimit(.minutes(1))) struct DirectRouteTests {
    @Test(arguments: [true, false])
    func pipelinedRequestsAreAnsweredInOrderAcrossBothPaths(direct: Bool) async throws {
        try await LiveGateway.with(try await LiveGateway.start(direct: direct)) { (gw) async throws in
            let body = chatBody().jsonString()
            let requests: [(String, String, String?)] = [
                ("POST", "/v1/chat/completions", body), ("GET", "/health", nil), ("POST", "/v1/chat/completions", body),
                ("GET", "/v1/models", nil), ("POST", "/v1/chat/completions?trace=1", body), ("POST", "/v1/chat/completions", body),
            ]
            // All six in one write, the last asking to close: both paths must answer in the order asked.
            let replies = try await RawHTTPClient.exchange(
                port: gw.port,
                requests.enumerated().map { i, r in
                    var headers = [("authorization", "Bearer \(LiveGateway.master)"), ("x-request-id", "req-\(i)")]
                    if i == requests.count - 1 { headers.append(("connection", "close")) }
                    return (r.0, r.1, headers, r.2)
                })
            #expect(replies.map(\.status) == [200, 200, 200, 200, 200, 200])
            #expect(replies.map { $0.header("x-request-id") } == (0..<6).map { "req-\($0)" })
            for i in [0, 2, 4, 5] {
                #expect(replies[i].body.contains(#""object":"chat.completion""#), "\(i): \(replies[i].body)")
                #expect(replies[i].header("inference-id") != nil)
            }
            // Both paths date their answers (an IMF-fixdate of now) and name the server.
            let now = Int64(Date().timeIntervalSince1970)
            for reply in replies {
                let date = reply.header("date").flatMap { UTCTime(httpDate: $0, now: now) }
                #expect(date.map { abs($0.unix - now) < 60 } == true, "\(reply.header("date") ?? "no date")")
                #expect(reply.header("server") == "switchboard")
            }
            #expect(replies[1].body.contains(#""status""#) && replies[3].body.contains(#""object":"list""#))
            #expect(try await gw.store.count(UsageFilter()) == 4)
        }
    }

    @Test(arguments: [true, false])
    func anOversizeBodyIs413FromItsLengthAndItsConnectionEnds(direct: Bool) async throws {
        try await LiveGateway.with(try await LiveGateway.start(maxBodyBytes: 4096, direct: direct)) { (gw) async throws in
            let big = chatBody(text: String(repeating: "x", count: 100_000)).jsonString()
            // The body is not read: the connection ends after the answer, and the request after it is never read.
            let replies = try await RawHTTPClient.exchange(
                port: gw.port,
                [
                    ("POST", "/v1/chat/completions", [("authorization", "Bearer \(LiveGateway.master)")], big),
                    (
                        "POST", "/v1/chat/completions", [("authorization", "Bearer \(LiveGateway.master)"), ("connection", "close")],
                        chatBody().jsonString()
                    ),
                ])
            #expect(replies.map(\.status) == [413])
            #expect(replies[0].body.contains(#""code":"request_too_large""#), "\(replies[0].body)")
            #expect(try await gw.store.count(UsageFilter()) == 0)
            #expect(try await gw.send("POST", "/v1/chat/completions", json: chatBody()).status == 200)
        }
    }

    @Test func aClientThatExpectsContinueIsToldToSendItsBody() async throws {
        try await LiveGateway.with(try await LiveGateway.start()) { (gw) async throws in
            let first = MultiThreadedEventLoopGroup.singleton.next().makePromise(of: ByteBuffer.self)
            let channel = try await RawHTTPClient.connect(port: gw.port, firstRead: first)
            let body = chatBody().jsonString()
            var head = ByteBuffer()
            head.writeString("POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer \(LiveGateway.master)\r\n")
            head.writeString("content-type: application/json\r\ncontent-length: \(body.utf8.count)\r\nexpect: 100-continue\r\n\r\n")
            try await channel.writeAndFlush(head)
            // Nothing of the body is sent until the server says so.
            let answer = String(buffer: try await first.futureResult.get())
            #expect(answer.hasPrefix("HTTP/1.1 100 Continue\r\n"), "\(answer)")
            try await channel.close()
        }
    }

    /// One provider, and a lane whose failover reached its second slot on the loop.
    @Test(arguments: [("fake/fake-model", 1), ("lane:over", 2)])
    func aClientThatLeavesCancelsTheUpstreamCallAndIsRecordedAs499(_ model: String, _ calls: Int) async throws {
        let lanes = [Lane(name: "over", models: ["fake/broken", "fake/fake-model"])]
        try await LiveGateway.with(try await LiveGateway.start(requestTimeout: .seconds(60), lanes: lanes)) { (gw) async throws in
            gw.fake.setDefault(.delay(.seconds(4), then: .reply(FakeReply("late"))))
            gw.fake.set(.serverError(503), forModel: "broken")
            let channel = try await RawHTTPClient.connect(port: gw.port)
            var request = ByteBuffer()
            let body = chatBody(model).jsonString()
            request.writeString("POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer \(LiveGateway.master)\r\n")
            request.writeString("content-type: application/json\r\ncontent-length: \(body.utf8.count)\r\n\r\n\(body)")
            try await channel.writeAndFlush(request)
            func chats() -> Int { gw.fake.received.filter { $0.path.hasSuffix("/chat/completions") }.count }
            await eventually(interval: .milliseconds(20)) { chats() == calls }
            #expect(chats() == calls)
            try await channel.close()
            // Recorded as 499 (an answer the upstream finished would be a 200): the exchange was cancelled.
            var records: [UsageRecord] = []
            try await eventually {
                records = try await gw.store.records(UsageFilter())
                return !records.isEmpty
            }
            #expect(records.map(\.status) == [499])
            #expect(chats() == calls)
            // Answered on the loop, and not again by the router.
            #expect(try await DirectChatTests.loopAnswered(gw) == 1)
        }
    }
}

/// Sends raw HTTP/1.1 requests down one connection in one write and reads every response until the server
/// closes; NIO's own codec frames both directions (an embedded channel), the socket is real.
enum RawHTTPClient {
    struct Reply {
        var status: Int
        var headers: HTTPHeaders
        var body: String
        func header(_ name: String) -> String? { headers.first(name: name) }
    }

    /// `collecting` gets every byte at the close; `firstRead` the first bytes that arrive.
    static func connect(
        port: Int, collecting promise: EventLoopPromise<ByteBuffer>? = nil,
        firstRead: EventLoopPromise<ByteBuffer>? = nil
    ) async throws -> any Channel {
        try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Collector(promise: promise, firstRead: firstRead))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
    }

    typealias Outgoing = (method: String, path: String, headers: [(String, String)], body: String?)

    static func exchange(port: Int, _ requests: [Outgoing]) async throws -> [Reply] {
        let wire = try frame(requests).wire
        let received = MultiThreadedEventLoopGroup.singleton.next().makePromise(of: ByteBuffer.self)
        let channel = try await connect(port: port, collecting: received)
        try await channel.writeAndFlush(wire)
        return try decode(await received.futureResult.get(), answering: requests)
    }

    /// The requests as bytes, through a codec that then knows what it asked (an embedded channel is used on one
    /// thread only, so framing and decoding each get their own, without an await inside).
    private static func frame(_ requests: [Outgoing]) throws -> (wire: ByteBuffer, codec: EmbeddedChannel) {
        let codec = EmbeddedChannel()
        try codec.pipeline.syncOperations.addHandler(HTTPRequestEncoder())
        try codec.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPResponseDecoder()))
        var wire = ByteBuffer()
        for r in requests {
            var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: r.method), uri: r.path)
            head.headers.add(name: "host", value: "127.0.0.1")
            for (name, value) in r.headers { head.headers.add(name: name, value: value) }
            if let body = r.body {
                head.headers.add(name: "content-type", value: "application/json")
                head.headers.add(name: "content-length", value: String(body.utf8.count))
            }
            try codec.writeOutbound(HTTPClientRequestPart.head(head))
            if let body = r.body { try codec.writeOutbound(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(string: body)))) }
            try codec.writeOutbound(HTTPClientRequestPart.end(nil))
            while var bytes = try codec.readOutbound(as: ByteBuffer.self) { wire.writeBuffer(&bytes) }
        }
        return (wire, codec)
    }

    private static func decode(_ bytes: ByteBuffer, answering requests: [Outgoing]) throws -> [Reply] {
        let codec = try frame(requests).codec
        try codec.writeInbound(bytes)
        var replies: [Reply] = []
        while let part = try codec.readInbound(as: HTTPClientResponsePart.self) {
            switch part {
            case .head(let h): replies.append(Reply(status: Int(h.status.code), headers: h.headers, body: ""))
            case .body(let b): replies[replies.count - 1].body += String(buffer: b)
            case .end: break
            }
        }
        _ = try codec.finish()
        return replies
    }

    /// Keeps every byte the server sends and hands them over when it closes.
    private final class Collector: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        let promise: EventLoopPromise<ByteBuffer>?
        var firstRead: EventLoopPromise<ByteBuffer>?
        var bytes = ByteBuffer()

        init(promise: EventLoopPromise<ByteBuffer>?, firstRead: EventLoopPromise<ByteBuffer>?) {
            self.promise = promise
            self.firstRead = firstRead
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var chunk = unwrapInboundIn(data)
            firstRead?.succeed(chunk)
            firstRead = nil
            bytes.writeBuffer(&chunk)
        }

        func channelInactive(context: ChannelHandlerContext) {
            firstRead?.fail(ChannelError.eof)
            firstRead = nil
            promise?.succeed(bytes)
            context.fireChannelInactive()
        }
    }
}
