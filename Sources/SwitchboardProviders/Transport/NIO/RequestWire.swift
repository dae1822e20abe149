import NIOCore
import NIOHTTP1

/// A request as its bytes on the wire: the request line, `Host`, the caller's end-to-end fields, the framing, and a
/// small body in the same buffer.
///
/// Written here rather than by NIO's `HTTPRequestEncoder`: the encoder needed the fields as `HTTPHeaders` (a copy of
/// every name and value), three writes through three handlers (head, body, an empty end), and a second handler to
/// add `Accept-Encoding`. The bytes are the ones those handlers wrote (a test compares them); unlike them, a field
/// that would split the request (a CR, LF or NUL in it, or a name that is not a token) is refused before anything is sent.
struct RequestWire: Sendable {
    /// Everything before the body, and the body when it is small.
    var head: ByteBuffer
    /// A body too large to copy into `head`, written after it.
    var body: ByteBuffer?
    var method: HTTPMethod
    /// A method that can be sent twice, or a request that carries an `Idempotency-Key`.
    var idempotent: Bool

    /// Bodies up to this size are copied after the head: one buffer to write.
    static let copiedBody = 16 * 1024

    init(_ request: TransportRequest, target: UpstreamTarget) throws(TransportError) {
        method = HTTPMethod(rawValue: request.method)
        var idempotent = method == .GET || method == .HEAD || method == .OPTIONS
        var acceptsEncoding = false
        var size = request.method.utf8.count + target.requestTarget.utf8.count + target.hostHeader.utf8.count + 96
        for (name, value) in request.headers { size += name.utf8.count + value.utf8.count + 4 }
        let copied = (request.body?.readableBytes ?? 0) <= Self.copiedBody ? request.body : nil
        size += copied?.readableBytes ?? 0

        var head = ByteBufferAllocator().buffer(capacity: size)
        head.writeString(request.method)
        head.writeStaticString(" ")
        head.writeString(target.requestTarget)
        head.writeStaticString(" HTTP/1.1\r\nHost: ")
        head.writeString(target.hostHeader)
        head.writeStaticString("\r\n")
        for (name, value) in request.headers where !NIOHTTPTransport.isHopByHop(name) {
            guard Self.isToken(name), Self.isFieldValue(value) else {
                // The value may be a secret: only the name is told.
                throw .invalidRequest("the request header \(Self.isToken(name) ? name : "name") has a character HTTP/1.1 cannot carry")
            }
            if !acceptsEncoding, Self.named(name, "accept-encoding") { acceptsEncoding = true }
            if !idempotent, Self.named(name, "idempotency-key") { idempotent = true }
            head.writeString(name)
            head.writeStaticString(": ")
            head.writeString(value)
            head.writeStaticString("\r\n")
        }
        if let body = request.body {
            head.writeStaticString("Content-Length: ")
            head.writeString(String(body.readableBytes))
            head.writeStaticString("\r\n")
        } else if method == .POST || method == .PUT || method == .PATCH {
            head.writeStaticString("Content-Length: 0\r\n")
        }
        // What the response decompressor asks for when the caller did not.
        if !acceptsEncoding { head.writeStaticString("Accept-Encoding: deflate, gzip\r\n") }
        head.writeStaticString("\r\n")
        if let copied { head.writeImmutableBuffer(copied) }
        self.head = head
        self.body = copied == nil ? request.body : nil
        self.idempotent = idempotent
    }

    /// A request line's method, for the response decoder (an answer to `HEAD` has no body); shared for the usual ones.
    var decoderHead: HTTPRequestHead {
        switch method {
        case .POST: Self.post
        case .GET: Self.get
        default: HTTPRequestHead(version: .http1_1, method: method, uri: "")
        }
    }

    private static let post = HTTPRequestHead(version: .http1_1, method: .POST, uri: "")
    private static let get = HTTPRequestHead(version: .http1_1, method: .GET, uri: "")

    /// Whether `name` is `lowercased` in any case, compared in place (a letter's case is its 0x20 bit).
    static func named(_ name: String, _ lowercased: StaticString) -> Bool {
        name.utf8.count == lowercased.utf8CodeUnitCount
            && name.utf8.elementsEqual(UnsafeBufferPointer(start: lowercased.utf8Start, count: lowercased.utf8CodeUnitCount)) {
                $0 | 0x20 == $1
            }
    }

    /// RFC 9110 `token`: the characters a field name may have.
    static func isToken(_ name: String) -> Bool {
        !name.isEmpty
            && name.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                    true
                case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
                    UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
                    UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
                    true
                default: false
                }
            }
    }

    /// A field value without the control characters that would end it (CR, LF, NUL and the rest but tab).
    static func isFieldValue(_ value: String) -> Bool {
        value.utf8.allSatisfy { $0 >= 0x20 && $0 != 0x7F || $0 == 0x09 }
    }
}
