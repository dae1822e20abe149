import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// The HTTP server as a service: Hummingbird's server over the gateway's channel, answering from the routes'
/// responder, with the services that start and stop with it.
///
/// In place of Hummingbird's `Application`, whose `run` dates responses from a cache that formats the date through
/// Foundation's `Calendar`; making one loads ICU's data, resident for the process's life though nothing else here needs
/// it. Otherwise this is what `Application.run` does: each request to the responder, an error it does not answer as a
/// 500, the `Date` (by `HTTPDateCache`) and `Server` headers, the services in one group.
struct GatewayApplication<Responder: HTTPResponder>: Service where Responder.Context == GatewayRequestContext {
    let responder: Responder
    let server: HTTPServerBuilder
    let configuration: ServerConfiguration
    let services: [any Service]
    let onServerRunning: @Sendable (any Channel) async -> Void
    let logger: Logger

    /// A response could not be written because the request was malformed: thrown on instead of the parser's error,
    /// which would have Hummingbird write a second response.
    struct ParseErrorWhileWriting: Error {}

    func run() async throws {
        let (responder, logger, serverName) = (self.responder, self.logger, configuration.serverName)
        let server = try self.server.buildServer(
            configuration: configuration, eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: logger,
            responder: { request, writer, channel in
                let context = GatewayRequestContext(source: .init(channel: channel, logger: logger))
                var response: Response
                do {
                    response = try await responder.respond(to: request, context: context)
                } catch let error as HTTPParserError {
                    throw error
                } catch {
                    logger.debug("an error no route answered", metadata: ["error.type": "\(String(reflecting: type(of: error)))"])
                    response = Response(status: .internalServerError)
                }
                response.headers[.date] = HTTPDateCache.shared.withLock { $0.current }
                if let serverName { response.headers[.server] = serverName }
                do {
                    try await writer.write(response: response.head, body: response.body)
                } catch is HTTPParserError {
                    throw ParseErrorWhileWriting()
                }
            }, onServerRunning: onServerRunning)
        try await ServiceGroup(configuration: .init(services: services + [server], logger: logger)).run()
    }
}
