import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1

/// The gateway's HTTP/1.1 child channel: Hummingbird's HTTP/1.1 channel with the gateway's connection handling in
/// its pipeline, whichever way routes are answered.
///
/// The pipeline, from the socket: `ConnectionLimiter` (refuses connections past the server's limit), NIO's request
/// decoder, `ServerHTTP1Codec` (HTTP types both ways), `ConnectionGuard` (deadlines, refusals, malformed requests,
/// `HEAD`), Hummingbird's connection state handler, then, with direct routes, `DirectRouteHandler`, and the async
/// channel Hummingbird reads its requests from. Built here rather than by `HTTP1Channel.setup` because NIO pairs its
/// request decoder with the response encoder `ServerHTTP1Codec` replaces: a decoder made by
/// `configureHTTPServerPipeline` keeps telling a removed encoder the method of every request, which then holds them all.
struct GatewayHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    let http1: HTTP1Channel
    let connections: ConnectionCount
    let limits: ConnectionLimits
    /// The routes answered from the pipeline; nil: every request through Hummingbird's async channel.
    let direct: DirectRoutes?

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let configuration = http1.configuration
        return channel.eventLoop.makeCompletedFuture {
            var decoderLimits = NIOHTTPDecoderLimitConfiguration()
            decoderLimits.maxHeaderFieldSize = configuration.httpDecoder.maxHeaderFieldSize
            decoderLimits.maxHeaderListSize = configuration.httpDecoder.maxHeaderListSize
            decoderLimits.maxHeaderFieldCount = configuration.httpDecoder.maxHeaderFieldCount
            let pipeline = channel.pipeline.syncOperations
            try pipeline.addHandler(ConnectionLimiter(count: connections))
            try pipeline.addHandler(
                ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes, limitConfiguration: decoderLimits)))
            try pipeline.addHandler(ServerHTTP1Codec())
            try pipeline.addHandler(ConnectionGuard(limits: limits))
            try pipeline.addHandlers(configuration.additionalChannelHandlers())
            try pipeline.addHandler(HTTPConnectionStateHandler(idleTimeout: configuration.idleTimeout.map { .init($0) }, logger: logger))
            // After the connection state handler, so it sees the direct requests and responses too.
            if let direct { try pipeline.addHandler(DirectRouteHandler(routes: direct)) }
            return try NIOAsyncChannel(wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
        }
    }

    func handle(value: Value, logger: Logger) async {
        await http1.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 through the gateway's pipeline; `direct` routes answered from the pipeline on the connection's loop.
    static func gateway(connections: ConnectionCount, limits: ConnectionLimits, direct: DirectRoutes?) -> HTTPServerBuilder {
        .init { responder in
            GatewayHTTP1Channel(http1: HTTP1Channel(responder: responder), connections: connections, limits: limits, direct: direct)
        }
    }
}
