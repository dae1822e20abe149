import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
public import SwitchboardCore

/// `HTTPTransport` on AsyncHTTPClient, with its own client and a large per-host pool.
public final class AsyncHTTPClientTransport: HTTPTransport {
    private let client: HTTPClient

    /// Settings of the underlying client.
    public struct Settings: Sendable {
        /// Connections kept per host (AsyncHTTPClient's shared client allows only 8).
        public var maxConnectionsPerHost: Int = 512
        public var connectTimeout: Duration = .seconds(10)
        /// Time allowed between reads of a response.
        public var readTimeout: Duration = .seconds(300)

        /// Defaults.
        public init() {}
    }

    /// The process-wide transport; lives as long as the process, so it is never shut down.
    public static let shared = AsyncHTTPClientTransport(settings: Settings())

    /// Creates a transport with its own client; call `shutdown()` when done.
    public init(settings: Settings) {
        var config = HTTPClient.Configuration()
        config.connectionPool = .init(idleTimeout: .seconds(60))
        config.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = settings.maxConnectionsPerHost
        // A refused connection should fail this attempt at once so the router can move on,
        // not be retried by the pool until the request's deadline.
        config.connectionPool.retryConnectionEstablishment = false
        config.timeout = .init(
            connect: .nanoseconds(settings.connectTimeout.components.seconds * 1_000_000_000),
            read: .nanoseconds(settings.readTimeout.components.seconds * 1_000_000_000))
        config.decompression = .enabled(limit: .ratio(50))
        config.redirectConfiguration = .disallow
        // No per-request tracing spans: they cost on every call and nothing here collects them.
        config.tracing.tracer = nil
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
    }

    /// Closes the client's connections.
    public func shutdown() async throws {
        try await client.shutdown()
    }

    public func send(_ request: TransportRequest, context: CallContext) async throws -> TransportResponse {
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = HTTPMethod(rawValue: request.method)
        for (name, value) in request.headers { outgoing.headers.add(name: name, value: value) }
        if let body = request.body { outgoing.body = .bytes(body) }
        let timeout = context.remaining
        guard timeout > .zero else { throw TransportError.timedOut(.deadline) }
        do {
            let response = try await client.execute(
                outgoing, timeout: .nanoseconds(timeout.inNanoseconds))
            return TransportResponse(
                status: Int(response.status.code),
                headers: response.headers.map { ($0.name, $0.value) },
                body: TransportBody(MappedBody(base: response.body)))
        } catch let error as HTTPClientError {
            throw Self.map(error)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            // NIO's connect and I/O errors: refused, reset, unreachable, DNS.
            throw TransportError.connectFailed("\(error)")
        }
    }

    static func map(_ error: HTTPClientError) -> any Error {
        if error == .connectTimeout { return TransportError.connectFailed("connect timed out") }
        if error == .readTimeout { return TransportError.timedOut(.idle) }
        let timeouts: [HTTPClientError] = [.deadlineExceeded, .writeTimeout]
        if timeouts.contains(error) { return TransportError.timedOut(.deadline) }
        if error == .cancelled { return CancellationError() }
        if error == .remoteConnectionClosed { return TransportError.connectionClosed("upstream closed the connection") }
        if error == .invalidURL || error == .emptyHost || error == .emptyScheme {
            return TransportError.invalidURL("\(error)")
        }
        return TransportError.connectFailed("\(error)")
    }
}

/// Maps the body's client errors to `TransportError`.
private struct MappedBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let base: HTTPClientResponse.Body

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: HTTPClientResponse.Body.AsyncIterator
        mutating func next() async throws -> ByteBuffer? {
            do {
                return try await base.next()
            } catch let error as HTTPClientError {
                throw AsyncHTTPClientTransport.map(error)
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                throw TransportError.connectionClosed("\(error)")
            }
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: base.makeAsyncIterator()) }
}
