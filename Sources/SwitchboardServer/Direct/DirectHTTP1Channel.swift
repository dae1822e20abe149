import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1

/// Hummingbird's HTTP/1.1 child channel with a `DirectRouteHandler` in its pipeline, and `ServerHTTP1Codec` in place of
/// the extras' codec and NIO's response encoder.
///
/// The pipeline is the one `HTTP1Channel.setup` builds (NIO's request decoder with the channel's limits, its extra
/// handlers, the connection state handler, the async channel), built here because NIO pairs its request decoder with
/// the response encoder it replaces: a decoder made by `configureHTTPServerPipeline` keeps telling a removed encoder
/// the method of every request, which then holds them all.
struct DirectHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    let http1: HTTP1Channel
    let routes: DirectRoutes

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let routes = routes
        let configuration = http1.configuration
        return channel.eventLoop.makeCompletedFuture {
            var limits = NIOHTTPDecoderLimitConfiguration()
            limits.maxHeaderFieldSize = configuration.httpDecoder.maxHeaderFieldSize
            limits.maxHeaderListSize = configuration.httpDecoder.maxHeaderListSize
            limits.maxHeaderFieldCount = configuration.httpDecoder.maxHeaderFieldCount
            let pipeline = channel.pipeline.syncOperations
            try pipeline.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes, limitConfiguration: limits)))
            try pipeline.addHandler(ServerHTTP1Codec())
            try pipeline.addHandlers(configuration.additionalChannelHandlers())
            try pipeline.addHandler(HTTPConnectionStateHandler(idleTimeout: configuration.idleTimeout.map { .init($0) }, logger: logger))
            // After the connection state handler, so it sees the direct requests and responses too.
            try pipeline.addHandler(DirectRouteHandler(routes: routes))
            return try NIOAsyncChannel(wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
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
