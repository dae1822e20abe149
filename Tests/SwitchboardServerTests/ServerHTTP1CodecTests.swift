import HTTPTypes
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
@testable import SwitchboardServer
import Testing

@Suite struct ServerHTTP1CodecTests {
    @Test(arguments: [
        "/v1/chat/completions", "/v1/chat/completions?trace=1&x=%20y", "/", "//double/slash", "/p%C3%A9th#frag", "*",
        "http://example.com/v1/models?x=1", "https://example.com", "example.com:443", "",
    ])
    func aRequestConvertsAsTheExtrasCodecConvertsIt(_ target: String) throws {
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: target)
        head.headers.add(name: "Host", value: "gw.local:8080")
        head.headers.add(name: "Cookie", value: "a=1; b=2")
        head.headers.add(name: "X-Twice", value: "1")
        head.headers.add(name: "x-twice", value: "2")
        let ours = Result { try ServerHTTP1Codec.request(head) }
        let theirs = Result { try HTTPRequest(head, secure: false, splitCookie: false) }
        #expect(try ours.get() == theirs.get(), "\(target)")
        var hostless = head
        hostless.headers.remove(name: "Host")
        #expect(try ServerHTTP1Codec.request(hostless) == HTTPRequest(hostless, secure: false, splitCookie: false))
    }

    @Test func requestPartsBecomeHTTPTypes() throws {
        let channel = EmbeddedChannel(handler: ServerHTTP1Codec())
        try channel.writeInbound(HTTPServerRequestPart.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/health")))
        try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: "x")))
        try channel.writeInbound(HTTPServerRequestPart.end(["trailer": "t"]))
        guard case .head(let request)? = try channel.readInbound(as: HTTPRequestPart.self) else { Issue.record("no head"); return }
        #expect(request.path == "/health" && request.method == .get)
        #expect(try channel.readInbound(as: HTTPRequestPart.self) == .body(ByteBuffer(string: "x")))
        #expect(try channel.readInbound(as: HTTPRequestPart.self) == .end([HTTPField.Name("trailer")!: "t"]))
        // A method HTTP types refuse reaches the pipeline as an error.
        #expect(throws: (any Error).self) {
            try channel.writeInbound(HTTPServerRequestPart.head(HTTPRequestHead(version: .http1_1, method: .RAW(value: "B@D"), uri: "/")))
        }
    }

    /// One exchange: the request's bytes, then the response parts written back.
    struct Exchange: Sendable, CustomStringConvertible {
        var name: String
        var request: String
        var parts: [HTTPResponsePart]
        var description: String { name }
    }

    static func response(_ status: HTTPResponse.Status, _ fields: HTTPFields = [:]) -> HTTPResponsePart {
        .head(HTTPResponse(status: status, headerFields: fields))
    }

    static let get = "GET /x HTTP/1.1\r\nHost: h\r\n\r\n"
    static let bigChunk = ByteBuffer(repeating: UInt8(ascii: "z"), count: ServerHTTP1Codec.copiedChunk + 10)

    static let exchanges: [Exchange] = [
        Exchange(
            name: "sized", request: get,
            parts: [
                response(.ok, [.contentType: "application/json", .contentLength: "5", HTTPField.Name("X-Mixed-Case")!: "v"]),
                .body(ByteBuffer(string: "hello")), .end(nil),
            ]),
        Exchange(
            name: "chunked", request: get,
            parts: [
                response(.ok, [.contentType: "text/event-stream"]), .body(ByteBuffer(string: "abc")), .body(ByteBuffer()),
                .body(ByteBuffer(string: "defg")), .end(nil),
            ]),
        Exchange(
            name: "chunked with trailers", request: get,
            parts: [
                response(.ok), .body(ByteBuffer(string: "abc")), .end([HTTPField.Name("X-Checksum")!: "1", HTTPField.Name("x-b")!: "2"]),
            ]),
        Exchange(name: "a large chunk", request: get, parts: [response(.ok), .body(bigChunk), .end(nil)]),
        Exchange(
            name: "a transfer coding given is replaced", request: get,
            parts: [
                response(.ok, [.transferEncoding: "gzip"]), .body(ByteBuffer(string: "abc")), .end(nil),
            ]),
        Exchange(
            name: "a length wins over a transfer coding", request: get,
            parts: [
                response(.ok, [.transferEncoding: "chunked", .contentLength: "3"]), .body(ByteBuffer(string: "abc")), .end(nil),
            ]),
        Exchange(
            name: "HEAD with a length", request: "HEAD /x HTTP/1.1\r\nHost: h\r\n\r\n",
            parts: [
                response(.ok, [.contentLength: "5"]), .end(nil),
            ]),
        Exchange(name: "HEAD without a length", request: "HEAD /x HTTP/1.1\r\nHost: h\r\n\r\n", parts: [response(.ok), .end(nil)]),
        Exchange(
            name: "204 and 304 carry no framing", request: get + get,
            parts: [
                response(.noContent, [.contentLength: "0"]), .end(nil), response(.notModified, [.transferEncoding: "chunked"]), .end(nil),
            ]),
        Exchange(
            name: "100-continue, then the answer",
            request: "POST /x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx",
            parts: [response(.continue), response(.created, [.contentLength: "2"]), .body(ByteBuffer(string: "ok")), .end(nil)]),
        Exchange(
            name: "CONNECT", request: "CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n",
            parts: [
                response(.ok, [.contentLength: "10"]), .end(nil),
            ]),
        Exchange(
            name: "pipelined HEAD then GET", request: "HEAD /x HTTP/1.1\r\nHost: h\r\n\r\n" + get,
            parts: [
                response(.ok), .end(nil), response(.ok), .body(ByteBuffer(string: "abc")), .end(nil),
            ]),
        Exchange(
            name: "a custom status", request: get,
            parts: [
                .head(HTTPResponse(status: .init(code: 299, reasonPhrase: "Fine Indeed"), headerFields: [.contentLength: "0"])), .end(nil),
            ]),
        Exchange(name: "an answer to no request", request: "", parts: [response(.badRequest, [.contentLength: "0"]), .end(nil)]),
    ]

    /// The bytes a pipeline sends back for `exchange`, each write's promise's outcome in order.
    static func run(_ exchange: Exchange, on channel: EmbeddedChannel) throws -> (bytes: String, promises: [String]) {
        if !exchange.request.isEmpty { try channel.writeInbound(ByteBuffer(string: exchange.request)) }
        while try channel.readInbound(as: HTTPRequestPart.self) != nil {}
        var outcomes: [EventLoopFuture<Void>] = []
        for part in exchange.parts {
            let promise = channel.eventLoop.makePromise(of: Void.self)
            channel.write(part, promise: promise)
            outcomes.append(promise.futureResult)
        }
        channel.flush()
        var bytes = ""
        while let buffer = try channel.readOutbound(as: IOData.self) {
            guard case .byteBuffer(let b) = buffer else { Issue.record("a file region"); continue }
            bytes += String(buffer: b)
        }
        let promises = outcomes.map { future -> String in
            var text = "pending"
            future.whenComplete { text = (try? $0.get()).map { "ok" } ?? "failed" }
            return text
        }
        return (bytes, promises)
    }

    @Test(arguments: exchanges)
    func responsesAreTheBytesNIOsEncoderWrites(_ exchange: Exchange) throws {
        let nio = EmbeddedChannel()
        try nio.pipeline.syncOperations.configureHTTPServerPipeline(
            withPipeliningAssistance: false, withErrorHandling: false,
            withOutboundHeaderValidation: false)
        try nio.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
        let ours = EmbeddedChannel()
        try ours.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)))
        try ours.pipeline.syncOperations.addHandler(ServerHTTP1Codec())
        let theirs = try Self.run(exchange, on: nio)
        let mine = try Self.run(exchange, on: ours)
        #expect(mine.bytes == theirs.bytes)
        #expect(mine.promises == theirs.promises)
        #expect(!mine.bytes.isEmpty)
    }

    @Test func aBodyForAHeadRequestIsRefusedAndNotSent() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)))
        try channel.pipeline.syncOperations.addHandler(ServerHTTP1Codec())
        let (bytes, promises) = try Self.run(
            Exchange(
                name: "HEAD with a body", request: "HEAD /x HTTP/1.1\r\nHost: h\r\n\r\n",
                parts: [
                    Self.response(.ok, [.contentLength: "3"]), .body(ByteBuffer(string: "abc")), .end(nil),
                ]), on: channel)
        #expect(bytes == "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n")
        #expect(promises == ["ok", "failed", "ok"])
    }
}
