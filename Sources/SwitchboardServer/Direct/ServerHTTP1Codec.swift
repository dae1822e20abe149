import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// The server's HTTP/1 codec above NIO's request decoder, in place of swift-nio-extras' `HTTP1ToHTTPServerCodec`
/// and NIO's `HTTPResponseEncoder`: requests become HTTP types, responses are written from HTTP types straight
/// into bytes.
///
/// The extras' codec parsed every request target with `URLComponents` to find a scheme that an origin-form target
/// (`/path?query`, every request but a proxy's) cannot have, a visible share of a chat completion's CPU; such a target
/// becomes the request's path as it came, and any other still goes through the extras' conversion. Responses went
/// through an `HTTPHeaders` copy of their fields and a second handler; here the fields are written as they are,
/// framed as `HTTPResponseEncoder` frames them: no body for 1xx, 204, 304 and answers to `HEAD` and `CONNECT`,
/// `Content-Length` when the response has one, else chunked (close-delimited for an HTTP/1.0 client, whose connection
/// ends with its answer).
final class ServerHTTP1Codec: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = IOData

    /// What a request's answer may carry, by its method.
    enum Answering { case any, head, connect }

    /// One for each request not answered yet, with whether it came as HTTP/1.0.
    private var answering = CircularBuffer<(Answering, http10: Bool)>(initialCapacity: 4)
    private var chunked = false
    private var suppressBody = false
    /// The response being written ends the connection: an HTTP/1.0 client's, which cannot parse chunks and needs no
    /// keep-alive it did not ask for.
    private var closeAtEnd = false

    /// What the extras' conversion gives for `head` (plain HTTP, cookies as they came).
    static func request(_ head: HTTPRequestHead) throws -> HTTPRequest {
        guard head.uri.utf8.first == UInt8(ascii: "/") else { return try HTTPRequest(head, secure: false, splitCookie: false) }
        return HTTPRequest(
            method: try HTTPRequest.Method(head.method), scheme: "http", authority: head.headers.first(name: "Host"),
            path: head.uri, headerFields: HTTPFields(head.headers, splitCookie: false))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            do {
                let request = try Self.request(head)
                let answers: Answering = head.method == .HEAD ? .head : head.method == .CONNECT ? .connect : .any
                answering.append((answers, http10: head.version.major == 1 && head.version.minor == 0))
                context.fireChannelRead(wrapInboundOut(.head(request)))
            } catch {
                context.fireErrorCaught(error)
            }
        case .body(let body):
            context.fireChannelRead(wrapInboundOut(.body(body)))
        case .end(let trailers):
            context.fireChannelRead(wrapInboundOut(.end(trailers.map { HTTPFields($0, splitCookie: false) })))
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let response):
            let code = response.status.code
            // A 1xx other than 101 is followed by the final head, which is the answer to the request.
            var answers = Answering.any
            var http10 = false
            if !(100..<200).contains(code) || code == 101, let next = answering.popFirst() { (answers, http10) = next }
            if http10, (100..<200).contains(code) {
                // An HTTP/1.0 client knows no interim answers.
                promise?.succeed()
                return
            }
            suppressBody = answers != .any
            var buffer = context.channel.allocator.buffer(capacity: Self.headCapacity(response))
            let framedChunked: Bool
            if http10 {
                // Close-delimited rather than chunked: the connection's end is the body's.
                closeAtEnd = true
                var closing = response
                closing.headerFields[.connection] = "close"
                framedChunked = Self.writeHead(closing, answering: answers, chunking: false, into: &buffer)
            } else {
                framedChunked = Self.writeHead(response, answering: answers, into: &buffer)
            }
            chunked = framedChunked && !suppressBody
            context.write(wrapOutboundOut(.byteBuffer(buffer)), promise: promise)
        case .body(let body):
            if suppressBody {
                // As NIO's encoder does: the head and end still make a well-formed answer, and the writer learns of it.
                promise?.fail(NIOHTTPResponseEncoderError.responseBodyNotAllowed)
            } else if !chunked {
                context.write(wrapOutboundOut(.byteBuffer(body)), promise: promise)
            } else if body.readableBytes == 0 {
                // An empty chunk would end the body; the write still keeps the promise in order.
                if let promise { context.write(wrapOutboundOut(.byteBuffer(body)), promise: promise) }
            } else {
                writeChunk(body, context: context, promise: promise)
            }
        case .end(let trailers):
            suppressBody = false
            if chunked {
                chunked = false
                var buffer = context.channel.allocator.buffer(capacity: trailers.map { Self.fieldsCapacity($0) + 3 } ?? 5)
                buffer.writeStaticString("0\r\n")
                if let trailers { Self.write(trailers, into: &buffer) }
                buffer.writeStaticString("\r\n")
                context.write(wrapOutboundOut(.byteBuffer(buffer)), promise: promise)
            } else if let promise {
                // Nothing to send, but the promise must not complete before the writes ahead of it.
                context.write(wrapOutboundOut(.byteBuffer(context.channel.allocator.buffer(capacity: 0))), promise: promise)
            }
            if closeAtEnd {
                // The output side ends once everything written has gone out: that end is the body's.
                closeAtEnd = false
                answering.removeAll()
                context.writeAndFlush(wrapOutboundOut(.byteBuffer(context.channel.allocator.buffer(capacity: 0)))).whenComplete { _ in
                    context.close(mode: .output, promise: nil)
                }
            }
        }
    }

    /// A chunk's size line, data and CRLF: copied into one buffer when small (a streamed event), three writes otherwise.
    private func writeChunk(_ body: ByteBuffer, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        let size = String(body.readableBytes, radix: 16)
        if body.readableBytes <= Self.copiedChunk {
            var buffer = context.channel.allocator.buffer(capacity: body.readableBytes + size.utf8.count + 4)
            buffer.writeString(size)
            buffer.writeStaticString("\r\n")
            buffer.writeImmutableBuffer(body)
            buffer.writeStaticString("\r\n")
            context.write(wrapOutboundOut(.byteBuffer(buffer)), promise: promise)
            return
        }
        var line = context.channel.allocator.buffer(capacity: size.utf8.count + 2)
        line.writeString(size)
        line.writeStaticString("\r\n")
        context.write(wrapOutboundOut(.byteBuffer(line)), promise: nil)
        context.write(wrapOutboundOut(.byteBuffer(body)), promise: nil)
        // Writes complete in order, so the last one's promise stands for all three.
        context.write(wrapOutboundOut(.byteBuffer(context.channel.allocator.buffer(staticString: "\r\n"))), promise: promise)
    }

    /// Chunks up to this size are copied rather than written as three buffers.
    static let copiedChunk = 4096

    /// Writes the status line, fields and blank line, framed as NIO's encoder frames them; true when the framing
    /// says chunked (an answer to `HEAD` may say so and still carry nothing).
    static func writeHead(_ response: HTTPResponse, answering: Answering, chunking: Bool = true, into buffer: inout ByteBuffer) -> Bool {
        let code = response.status.code
        buffer.writeStaticString("HTTP/1.1 ")
        buffer.writeString(String(code))
        buffer.writeStaticString(" ")
        buffer.writeString(response.status.reasonPhrase)
        buffer.writeStaticString("\r\n")
        let noBody = answering == .connect || (100..<200).contains(code) || code == 204 || code == 304
        let hasLength = !noBody && response.headerFields.contains(.contentLength)
        for field in response.headerFields {
            // Framing fields are the codec's: a length is kept where a body may follow, a transfer coding never.
            if field.name == .transferEncoding || (noBody && field.name == .contentLength) { continue }
            writeField(field, into: &buffer)
        }
        let chunked = chunking && !noBody && !hasLength
        if chunked { buffer.writeStaticString("transfer-encoding: chunked\r\n") }
        buffer.writeStaticString("\r\n")
        return chunked
    }

    private static func writeField(_ field: HTTPField, into buffer: inout ByteBuffer) {
        buffer.writeString(field.name.rawName)
        buffer.writeStaticString(": ")
        buffer.writeString(field.value)
        buffer.writeStaticString("\r\n")
    }

    private static func write(_ fields: HTTPFields, into buffer: inout ByteBuffer) {
        for field in fields { writeField(field, into: &buffer) }
    }

    private static func fieldsCapacity(_ fields: HTTPFields) -> Int {
        fields.reduce(0) { $0 + $1.name.rawName.utf8.count + $1.value.utf8.count + 4 }
    }

    private static func headCapacity(_ response: HTTPResponse) -> Int {
        fieldsCapacity(response.headerFields) + response.status.reasonPhrase.utf8.count + 48
    }
}
