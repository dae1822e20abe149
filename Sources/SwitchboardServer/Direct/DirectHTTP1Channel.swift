import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypesHTTP1

/// Hummingbird's HTTP/1.1 child channel with a `DirectRouteHandler` in its pipeline (and `OriginFormServerCodec` for
/// the extras' codec).
struct DirectHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    let http1: HTTP1Channel
    let routes: DirectRoutes

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let routes = routes
        return http1.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let pipeline = channel.pipeline.syncOperations
            let codec = try pipeline.handler(type: HTTP1ToHTTPServerCodec.self)
            try pipeline.addHandler(OriginFormServerCodec(), position: .after(codec))
            pipeline.removeHandler(codec, promise: nil)
            // After the connection state handler, so it sees the direct requests and responses too.
            let state = try pipeline.handler(type: HTTPConnectionStateHandler.self)
            try pipeline.addHandler(DirectRouteHandler(routes: routes), position: .after(state))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await http1.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 with `routes` answered from the channel pipeline on the connection's event loop.
    static func http1(direct routes: DirectRoutes) -> HTTPServerBuilder {
        .init { responder in DirectHTTP1Channel(http1: HTTP1Channel(responder: responder), routes: routes) }
    }
}
