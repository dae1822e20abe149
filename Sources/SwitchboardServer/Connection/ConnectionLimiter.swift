import Foundation
import NIOCore
import Synchronization

/// The server's open client connections, counted across event loops.
final class ConnectionCount: Sendable {
    private let open = Atomic<Int>(0)
    /// More connections than this are refused.
    let limit: Int

    init(limit: Int) {
        self.limit = limit
    }

    /// Counts a new connection; false (counting nothing) when the server is full.
    func admit() -> Bool {
        let now = open.add(1, ordering: .relaxed).newValue
        guard now > limit else { return true }
        open.subtract(1, ordering: .relaxed)
        return false
    }

    func release() {
        open.subtract(1, ordering: .relaxed)
    }

    var current: Int { open.load(ordering: .relaxed) }

    /// What the server can hold: half the descriptors it may open (each client may need an upstream connection),
    /// less a reserve for the store, the journal and listening sockets, and no more than `ceiling`.
    static func defaultLimit(ceiling: Int = 10_000) -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return ceiling }
        let descriptors = Int(clamping: limit.rlim_cur)
        return max(16, min(ceiling, (descriptors - 256) / 2))
    }
}

/// First in every client connection's pipeline: counts it, and refuses it with a 503 when the server already holds
/// as many as it can serve (rather than failing on "too many open files" somewhere else). An admitted connection is
/// released when it closes, and the handler leaves the pipeline at once, costing its requests nothing.
final class ConnectionLimiter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let count: ConnectionCount
    private var refused = false

    init(count: ConnectionCount) {
        self.count = count
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if count.admit() {
            let count = count
            context.channel.closeFuture.whenComplete { _ in count.release() }
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        refused = true
        if context.channel.isActive { refuse(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        if refused { refuse(context: context) } else { context.fireChannelActive() }
    }

    private func refuse(context: ChannelHandlerContext) {
        let body =
            #"{"error":{"message":"the gateway is at its connection limit; retry shortly","type":"server_error","param":null,"code":"too_many_connections"}}"#
        var head = "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: \(body.utf8.count)\r\n"
        head += "retry-after: 1\r\nconnection: close\r\n\r\n"
        context.writeAndFlush(NIOAny(ByteBuffer(string: head + body))).whenComplete { _ in context.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // A refused connection's request is never read.
        if !refused { context.fireChannelRead(data) }
    }
}
