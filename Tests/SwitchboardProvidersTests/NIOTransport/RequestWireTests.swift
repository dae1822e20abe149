import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOHTTPCompression
@testable import SwitchboardProviders
import Testing

/// A request's bytes, against what NIO's request encoder and the response decompressor wrote for it before.
@Suite struct RequestWireTests {
    /// The head the transport built for NIO's encoder, from the same request.
    static func nioBytes(_ request: TransportRequest, target: UpstreamTarget) throws -> String {
        var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: request.method), uri: target.requestTarget)
        head.headers.add(name: "Host", value: target.hostHeader)
        for (name, value) in request.headers where !NIOHTTPTransport.isHopByHop(name) { head.headers.add(name: name, value: value) }
        if let body = request.body {
            head.headers.add(name: "Content-Length", value: String(body.readableBytes))
        } else if head.method == .POST || head.method == .PUT || head.method == .PATCH {
            head.headers.add(name: "Content-Length", value: "0")
        }
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(HTTPRequestEncoder())
        try channel.pipeline.syncOperations.addHandler(NIOHTTPResponseDecompressor(limit: .ratio(50)))
        try channel.writeOutbound(HTTPClientRequestPart.head(head))
        if let body = request.body { try channel.writeOutbound(HTTPClientRequestPart.body(.byteBuffer(body))) }
        try channel.writeOutbound(HTTPClientRequestPart.end(nil))
        var bytes = ""
        while let part = try channel.readOutbound(as: IOData.self) {
            guard case .byteBuffer(let b) = part else { continue }
            bytes += String(buffer: b)
        }
        return bytes
    }

    static func ourBytes(_ request: TransportRequest, target: UpstreamTarget) throws -> String {
        let wire = try RequestWire(request, target: target)
        return String(buffer: wire.head) + (wire.body.map { String(buffer: $0) } ?? "")
    }

    static let requests: [(String, TransportRequest)] = [
        (
            "a chat completion",
            TransportRequest(
                method: "POST", url: "http://127.0.0.1:8080/v1/chat/completions",
                headers: [("Authorization", "Bearer sk-x"), ("Content-Type", "application/json")],
                body: ByteBuffer(string: #"{"model":"m","messages":[]}"#))
        ),
        ("a GET with a query", TransportRequest(method: "GET", url: "https://api.example.com/v1/models?limit=5")),
        ("a POST without a body", TransportRequest(method: "POST", url: "http://h/x")),
        (
            "hop-by-hop fields dropped",
            TransportRequest(
                method: "PUT", url: "http://h:81/x",
                headers: [("Connection", "close"), ("Content-Length", "99"), ("X-Kept", "1")],
                body: ByteBuffer(string: "abc"))
        ),
        (
            "the caller's own Accept-Encoding",
            TransportRequest(method: "GET", url: "http://h/x", headers: [("accept-encoding", "identity")])
        ),
        (
            "a body too large to copy",
            TransportRequest(
                method: "POST", url: "http://h/x",
                body: ByteBuffer(repeating: UInt8(ascii: "b"), count: RequestWire.copiedBody + 1))
        ),
        ("a DELETE", TransportRequest(method: "DELETE", url: "http://[::1]:9000/v1/files/f", headers: [("Idempotency-Key", "k")])),
    ]

    @Test(arguments: 0..<requests.count)
    func theBytesAreTheOnesNIOsEncoderWrote(_ index: Int) throws {
        let (name, request) = Self.requests[index]
        let target = try UpstreamTarget(url: request.url)
        #expect(try Self.ourBytes(request, target: target) == Self.nioBytes(request, target: target), "\(name)")
    }

    @Test func aLargeBodyIsWrittenAfterTheHeadNotCopied() throws {
        let big = TransportRequest(method: "POST", url: "http://h/x", body: ByteBuffer(repeating: 1, count: RequestWire.copiedBody + 1))
        let wire = try RequestWire(big, target: UpstreamTarget(url: big.url))
        #expect(wire.body?.readableBytes == RequestWire.copiedBody + 1)
        let small = try RequestWire(
            TransportRequest(method: "POST", url: "http://h/x", body: ByteBuffer(string: "abc")),
            target: UpstreamTarget(url: "http://h/x"))
        #expect(small.body == nil && String(buffer: small.head).hasSuffix("\r\n\r\nabc"))
    }

    @Test func whatMaySendARequestTwiceIsKnown() throws {
        func idempotent(_ method: String, _ headers: [(String, String)] = []) throws -> Bool {
            try RequestWire(
                TransportRequest(method: method, url: "http://h/x", headers: headers), target: UpstreamTarget(url: "http://h/x")
            )
            .idempotent
        }
        #expect(try idempotent("GET") && idempotent("HEAD") && idempotent("OPTIONS"))
        #expect(
            try !idempotent("POST") && idempotent("POST", [("IDEMPOTENCY-KEY", "k")]) && !idempotent("POST", [("Idempotency-Keys", "k")]))
    }

    @Test(arguments: [
        ("X-Key", "a\r\nX-Injected: 1"), ("X-Key", "a\nb"), ("X-Key", "nul\u{0}"), ("X Key", "v"), ("X-Key:", "v"), ("", "v"),
    ])
    func aFieldThatWouldSplitTheRequestIsRefusedWithoutItsValue(_ field: (String, String)) throws {
        let request = TransportRequest(method: "POST", url: "http://h/x", headers: [field], body: ByteBuffer(string: "{}"))
        do {
            _ = try RequestWire(request, target: UpstreamTarget(url: request.url))
            Issue.record("\(field) was written")
        } catch {
            guard case .invalidRequest(let message) = error else { Issue.record("\(error)"); return }
            #expect(!message.contains(field.1))
        }
        // A tab and any other byte of a UTF-8 value are fine.
        #expect(throws: Never.self) {
            try RequestWire(
                TransportRequest(method: "GET", url: "http://h/x", headers: [("X-Key", "a\tb é")]),
                target: UpstreamTarget(url: "http://h/x"))
        }
    }
}
