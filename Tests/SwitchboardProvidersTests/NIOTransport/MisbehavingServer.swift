import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import SwitchboardCore
import Synchronization

/// A loopback HTTP/1.1 server that answers every request the same scripted way, good or bad, and counts
/// the connections it sees. Raw bytes, so it can break the protocol on purpose.
final class MisbehavingServer: Sendable {
    enum Behaviour: Sendable {
        /// 200 with a content-length body, keep-alive.
        case ok(String)
        /// A valid response without `Connection: close`, then the server closes anyway.
        case closeAfterResponse
        /// Raw bytes as the whole response (then the connection is closed).
        case raw(String)
        /// Status and headers, then one byte every `interval`, never finishing.
        case trickle(Duration)
        /// Reads the request and never answers.
        case silent
        /// A chunked body of `count` chunks of `size` bytes, written as fast as the socket takes them.
        case flood(count: Int, size: Int)
        /// A chunked body: each chunk after `delay`.
        case chunks([String], delay: Duration)
        /// A body sent with `Content-Encoding: gzip`.
        case gzip(base64: String)
    }

    struct Counters {
        var accepted = 0
        var closed = 0
        var requests = 0
        var bytesWritten = 0
        /// The last request's head, as received.
        var lastHead = ""
    }

    let port: Int
    private let channel: any Channel
    private let stats: Stats

    private init(port: Int, channel: any Channel, stats: Stats) {
        self.port = port
        self.channel = channel
        self.stats = stats
    }

    /// Starts a server on 127.0.0.1 with a free port; `tls` serves HTTPS with that certificate and key (PEM files).
    static func start(
        _ behaviour: Behaviour, tls: (certificate: String, key: String)? = nil,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> MisbehavingServer {
        let stats = Stats()
        let sslContext = try tls.map { t in
            try NIOSSLContext(
                configuration: .makeServerConfiguration(
                    certificateChain: try NIOSSLCertificate.fromPEMFile(t.certificate).map { .certificate($0) },
                    privateKey: .privateKey(try NIOSSLPrivateKey(file: t.key, format: .pem))))
        }
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                do {
                    if let sslContext { try child.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext)) }
                    try child.pipeline.syncOperations.addHandler(ScriptedHandler(behaviour: behaviour, counters: stats))
                    return child.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return child.eventLoop.makeFailedFuture(error)
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return MisbehavingServer(port: channel.localAddress!.port!, channel: channel, stats: stats)
    }

    var url: String { "http://127.0.0.1:\(port)/v1/test" }
    var snapshot: Counters { stats.value.withLock { $0 } }

    func stop() async {
        try? await channel.close()
    }
}

/// The counters, shared with the connection handlers on the loops.
final class Stats: Sendable {
    let value = Mutex(MisbehavingServer.Counters())
    func update(_ body: (inout MisbehavingServer.Counters) -> Void) { value.withLock { body(&$0) } }
}
private final class ScriptedHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let behaviour: MisbehavingServer.Behaviour
    let counters: Stats
    var received = ByteBuffer()
    var stopped = false

    init(behaviour: MisbehavingServer.Behaviour, counters: Stats) {
        self.behaviour = behaviour
        self.counters = counters
    }

    func channelActive(context: ChannelHandlerContext) {
        counters.update { $0.accepted += 1 }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        stopped = true
        counters.update { $0.closed += 1 }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var chunk = unwrapInboundIn(data)
        received.writeBuffer(&chunk)
        while let request = nextRequest() {
            counters.update {
                $0.requests += 1
                $0.lastHead = request
            }
            respond(context: context)
        }
    }

    /// Takes one complete request (head and content-length body) off the buffer.
    private func nextRequest() -> String? {
        let view = received.readableBytesView
        guard let end = view.firstRange(of: Array("\r\n\r\n".utf8)) else { return nil }
        let headLength = end.upperBound - view.startIndex
        let head = String(decoding: view.prefix(headLength), as: UTF8.self)
        let length =
            head.split(separator: "\r\n").compactMap { line -> Int? in
                let parts = line.split(separator: ":", maxSplits: 1)
                guard parts.count == 2, parts[0].lowercased() == "content-length" else { return nil }
                return Int(parts[1].trimmingCharacters(in: .whitespaces))
            }.first ?? 0
        guard received.readableBytes >= headLength + length else { return nil }
        received.moveReaderIndex(forwardBy: headLength + length)
        received.discardReadBytes()
        return head
    }

    private func write(_ context: ChannelHandlerContext, _ text: String, flush: Bool = true) -> EventLoopFuture<Void> {
        let bytes = text.utf8.count
        let future = context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: text)))
        future.whenSuccess { [counters] in counters.update { $0.bytesWritten += bytes } }
        return future
    }

    private func respond(context: ChannelHandlerContext) {
        switch behaviour {
        case .ok(let body):
            _ = write(context, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        case .closeAfterResponse:
            write(context, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").whenComplete { _ in context.close(promise: nil) }
        case .raw(let text):
            write(context, text).whenComplete { _ in context.close(promise: nil) }
        case .trickle(let interval):
            _ = write(context, "HTTP/1.1 200 OK\r\n")
            trickle(context, interval: interval)
        case .silent:
            break
        case .flood(let count, let size):
            _ = write(context, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            flood(context, remaining: count, chunk: String(format: "%x\r\n", size) + String(repeating: "x", count: size) + "\r\n")
        case .chunks(let chunks, let delay):
            _ = write(context, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            sendChunks(context, chunks[...], delay: delay)
        case .gzip(let base64):
            var head = ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n")
            let body = Data(base64Encoded: base64)!
            head.writeString("Content-Length: \(body.count)\r\n\r\n")
            head.writeBytes(body)
            context.writeAndFlush(wrapOutboundOut(head), promise: nil)
        }
    }

    private func trickle(_ context: ChannelHandlerContext, interval: Duration) {
        context.eventLoop.scheduleTask(in: .nanoseconds(interval.inNanoseconds)) { [self] in
            guard !stopped else { return }
            _ = write(context, "X")
            trickle(context, interval: interval)
        }
    }

    private func flood(_ context: ChannelHandlerContext, remaining: Int, chunk: String) {
        guard !stopped else { return }
        if remaining == 0 {
            _ = write(context, "0\r\n\r\n")
            return
        }
        // Next chunk only when this one reached the socket: a client that stops reading stops the server.
        write(context, chunk).whenSuccess { [self] in flood(context, remaining: remaining - 1, chunk: chunk) }
    }

    private func sendChunks(_ context: ChannelHandlerContext, _ chunks: ArraySlice<String>, delay: Duration) {
        guard let first = chunks.first else {
            _ = write(context, "0\r\n\r\n")
            return
        }
        context.eventLoop.scheduleTask(in: .nanoseconds(delay.inNanoseconds)) { [self] in
            guard !stopped else { return }
            _ = write(context, String(format: "%x\r\n", first.utf8.count) + first + "\r\n")
            sendChunks(context, chunks.dropFirst(), delay: delay)
        }
    }
}
