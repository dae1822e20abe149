import HTTPTypes
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
@testable import SwitchboardServer
import Testing

@Suite struct OriginFormServerCodecTests {
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
        let ours = Result { try OriginFormServerCodec.request(head) }
        let theirs = Result { try HTTPRequest(head, secure: false, splitCookie: false) }
        #expect(try ours.get() == theirs.get(), "\(target)")
        var hostless = head
        hostless.headers.remove(name: "Host")
        #expect(try OriginFormServerCodec.request(hostless) == HTTPRequest(hostless, secure: false, splitCookie: false))
    }

    @Test func partsPassBothWays() throws {
        let channel = EmbeddedChannel(handler: OriginFormServerCodec())
        try channel.writeInbound(HTTPServerRequestPart.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/health")))
        try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: "x")))
        try channel.writeInbound(HTTPServerRequestPart.end(["trailer": "t"]))
        guard case .head(let request)? = try channel.readInbound(as: HTTPRequestPart.self) else { Issue.record("no head"); return }
        #expect(request.path == "/health" && request.method == .get)
        #expect(try channel.readInbound(as: HTTPRequestPart.self) == .body(ByteBuffer(string: "x")))
        #expect(try channel.readInbound(as: HTTPRequestPart.self) == .end([HTTPField.Name("trailer")!: "t"]))
        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .ok, headerFields: [.contentType: "text/plain"])))
        guard case .head(let response)? = try channel.readOutbound(as: HTTPServerResponsePart.self) else { Issue.record("no response"); return }
        #expect(response.status == .ok && response.headers["content-type"] == ["text/plain"])
        // A method HTTP types refuse reaches the pipeline as an error.
        #expect(throws: (any Error).self) {
            try channel.writeInbound(HTTPServerRequestPart.head(HTTPRequestHead(version: .http1_1, method: .RAW(value: "B@D"), uri: "/")))
        }
    }
}
