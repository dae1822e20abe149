import NIOCore
import NIOPosix
import Synchronization

/// A TCP relay on a free loopback port in front of another server, for tests of what a client does when that server
/// goes away and comes back: `cut()` closes every relayed connection and, until `restore()`, closes each new one as
/// soon as it is accepted (what a client sees of a database that restarts).
public final class TCPRelay: Sendable {
    /// The port to connect to instead of the server's.
    public let port: Int
    private let listener: any Channel
    private let shared: Shared

    private final class Shared: Sendable {
        struct State {
            var cut = false
            var open: [ObjectIdentifier: any Channel] = [:]
        }
        let state = Mutex(State())

        /// Keeps `channel` until it closes; false (keeping nothing) while the relay is cut.
        func track(_ channel: any Channel) -> Bool {
            let kept = state.withLock { s in
                guard !s.cut else { return false }
                s.open[ObjectIdentifier(channel)] = channel
                return true
            }
            if kept {
                channel.closeFuture.whenComplete { [self] _ in _ = state.withLock { $0.open.removeValue(forKey: ObjectIdentifier(channel)) }
                }
            }
            return kept
        }
    }

    private struct Cut: Error {}

    private init(port: Int, listener: any Channel, shared: Shared) {
        self.port = port
        self.listener = listener
        self.shared = shared
    }

    /// Relays connections on a new loopback port to `host`:`port`.
    public static func start(to host: String, port: Int) async throws -> TCPRelay {
        let shared = Shared()
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { inbound in
                guard shared.track(inbound) else { return inbound.eventLoop.makeFailedFuture(Cut()) }
                return ClientBootstrap(group: inbound.eventLoop).connect(host: host, port: port).flatMapThrowing { outbound in
                    guard shared.track(outbound) else {
                        outbound.close(promise: nil)
                        throw Cut()
                    }
                    try inbound.pipeline.syncOperations.addHandler(Forward(to: outbound))
                    try outbound.pipeline.syncOperations.addHandler(Forward(to: inbound))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return TCPRelay(port: listener.localAddress?.port ?? 0, listener: listener, shared: shared)
    }

    /// Closes every relayed connection, and each new one once accepted, until `restore()`.
    public func cut() {
        let open = shared.state.withLock { s in
            s.cut = true
            return Array(s.open.values)
        }
        for channel in open { channel.close(promise: nil) }
    }

    /// Relays new connections again.
    public func restore() {
        shared.state.withLock { $0.cut = false }
    }

    /// Stops listening and closes every relayed connection.
    public func stop() async {
        cut()
        try? await listener.close()
    }
}

/// Writes what one side of a relayed connection reads to the other, and closes the other when this side closes.
private final class Forward: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let peer: any Channel

    init(to peer: any Channel) { self.peer = peer }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        peer.writeAndFlush(unwrapInboundIn(data), promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        peer.close(promise: nil)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
