public import NIOCore
public import SwitchboardCore

/// An outgoing HTTP request to an upstream.
public struct TransportRequest: Sendable {
    public var method: String
    /// Absolute URL.
    public var url: String
    public var headers: [(String, String)]
    public var body: ByteBuffer?
    /// This request's own timeouts; unset ones are the transport's.
    public var timeouts = UpstreamTimeouts()

    /// Creates a request.
    public init(method: String, url: String, headers: [(String, String)] = [], body: ByteBuffer? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// How long an upstream may take at each step of one request; nil leaves a step to the transport's setting.
///
/// The whole request's deadline is the call's (`CallContext`), which the server gives only non-streamed calls.
public struct UpstreamTimeouts: Sendable, Hashable {
    /// TCP (and TLS) connect.
    public var connect: Duration?
    /// From the request to the response's first body byte, for a streamed call only: a non-streamed answer's first
    /// byte is the whole answer, which only the deadline bounds.
    public var firstByte: Duration?
    /// Longest silence once the body began.
    public var streamIdle: Duration?

    /// Timeouts; nil ones are the transport's.
    public init(connect: Duration? = nil, firstByte: Duration? = nil, streamIdle: Duration? = nil) {
        self.connect = connect
        self.firstByte = firstByte
        self.streamIdle = streamIdle
    }

    /// These, with `other`'s where these are unset.
    public func filling(from other: UpstreamTimeouts) -> UpstreamTimeouts {
        UpstreamTimeouts(
            connect: connect ?? other.connect, firstByte: firstByte ?? other.firstByte, streamIdle: streamIdle ?? other.streamIdle)
    }

    /// Set while a streamed call sends its request (`UpstreamClient.stream`): only then does a first-byte timeout
    /// apply. A task-local, so every provider's stream gets it without each building its requests differently.
    @TaskLocal public static var streaming = false
}

/// A response body as it arrives, chunk by chunk, with back-pressure.
public struct TransportBody: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer

    /// Iterates the body's chunks.
    public struct AsyncIterator: AsyncIteratorProtocol {
        fileprivate var buffered: ByteBuffer?
        fileprivate let nextChunk: (() async throws -> ByteBuffer?)?
        /// The next chunk, or nil at the end.
        public mutating func next() async throws -> ByteBuffer? {
            if let nextChunk { return try await nextChunk() }
            defer { buffered = nil }
            return buffered.flatMap { $0.readableBytes > 0 ? $0 : nil }
        }
    }

    private let makeIterator: (@Sendable () -> AsyncIterator)?
    /// The whole body, when it arrived with the head (most non-streamed answers).
    public let bytes: ByteBuffer?

    /// Wraps any sequence of byte buffers.
    public init<Base: AsyncSequence & Sendable>(_ base: Base) where Base.Element == ByteBuffer {
        bytes = nil
        makeIterator = {
            let box = IteratorBox(base.makeAsyncIterator())
            return AsyncIterator(buffered: nil, nextChunk: { try await box.next() })
        }
    }

    /// A body held in memory.
    public init(bytes: ByteBuffer) {
        self.bytes = bytes
        makeIterator = nil
    }

    /// Starts iterating.
    public func makeAsyncIterator() -> AsyncIterator { makeIterator?() ?? AsyncIterator(buffered: bytes, nextChunk: nil) }

    /// Reads the whole body, failing past `limit` bytes.
    public func collect(upTo limit: Int) async throws -> ByteBuffer {
        if let bytes {
            guard bytes.readableBytes <= limit else { throw TransportError.bodyTooLarge(limit: limit) }
            return bytes
        }
        var all = ByteBuffer()
        for try await var chunk in self {
            guard all.readableBytes + chunk.readableBytes <= limit else {
                throw TransportError.bodyTooLarge(limit: limit)
            }
            all.writeBuffer(&chunk)
        }
        return all
    }
}

extension TransportBody {
    /// The most of an upstream's error body that is read: enough for any error message, and a huge one can neither
    /// fill memory nor keep a thread busy redacting it.
    public static let errorBodyLimit = 64 * 1024

    /// The first `limit` bytes of the body (all of it when shorter); the rest is not read, and a read that fails ends
    /// it with what came before (an error body is read for its message, which a status alone still replaces).
    public func collectPrefix(upTo limit: Int) async -> ByteBuffer {
        if let bytes { return bytes.getSlice(at: bytes.readerIndex, length: Swift.min(limit, bytes.readableBytes)) ?? bytes }
        var all = ByteBuffer()
        do {
            for try await var chunk in self {
                let room = limit - all.readableBytes
                if chunk.readableBytes >= room {
                    if let slice = chunk.readSlice(length: room) { all.writeImmutableBuffer(slice) }
                    break
                }
                all.writeBuffer(&chunk)
            }
        } catch {
            return all
        }
        return all
    }
}

/// Holds a non-Sendable iterator; only one task iterates a body at a time.
private final class IteratorBox<Base: AsyncIteratorProtocol>: @unchecked Sendable where Base.Element == ByteBuffer {
    private var base: Base
    init(_ base: Base) { self.base = base }
    func next() async throws -> ByteBuffer? { try await base.next() }
}

/// An upstream's response: status, headers and the streaming body.
public struct TransportResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: TransportBody

    /// Creates a response.
    public init(status: Int, headers: [(String, String)], body: TransportBody) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first header with this name (case-insensitive).
    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
}

/// Failures below HTTP: connecting, timing out, reading.
public enum TransportError: Error, Sendable, Hashable {
    /// Which limit ran out.
    public enum Timeout: Sendable, Hashable {
        /// The call's deadline (the whole request).
        case deadline
        /// No body byte within the first-byte timeout.
        case firstByte
        /// Silence past the idle timeout once the body began.
        case idle
    }

    case connectFailed(String)
    case timedOut(Timeout)
    case connectionClosed(String)
    case bodyTooLarge(limit: Int)
    case invalidURL(String)
    /// A request the client cannot send as asked (a header field with a line break in it).
    case invalidRequest(String)
    /// The upstream answered with something that is not HTTP/1.1: a bad status line, bad or oversize headers,
    /// a broken chunked body.
    case invalidResponse(String)
}

/// Sends HTTP requests upstream. Providers talk only to this, so the client behind it can change.
public protocol HTTPTransport: Sendable {
    /// Sends `request` and returns once the response head arrived; the body streams after that.
    /// Cancelling the calling task cancels the upstream request.
    func send(_ request: TransportRequest, context: CallContext) async throws -> TransportResponse
}

/// A transport that answers a whole exchange on the calling event loop, for callers that run on that loop and do
/// not suspend (the server's direct chat path): no task, no hop to another thread.
public protocol LoopTransport: HTTPTransport {
    /// Whether `loop` is one this transport has connections on.
    func answers(on loop: any EventLoop) -> Bool
    /// Sends `request` from `loop` and calls `completion` once, on `loop` (possibly before returning), with the
    /// status, headers and whole body (at most `bodyLimit` bytes), or a `TransportError` (a `CancellationError` once
    /// cancelled). A callback rather than a future: the future, its promise and their callback list were three
    /// allocations and two generic-metadata lookups on every request.
    func exchange(
        _ request: TransportRequest, on loop: any EventLoop, deadline: NIODeadline, bodyLimit: Int,
        completion: @escaping LoopExchange.Completion
    ) -> LoopExchange
}

/// One exchange begun on an event loop.
public struct LoopExchange: Sendable {
    /// What an exchange is answered with.
    public typealias Completion = @Sendable (Result<TransportResponse, any Error>) -> Void
    /// Stops the exchange (call on the loop); its completion then gets `CancellationError`.
    public let cancel: @Sendable () -> Void
}
