public import NIOCore
import NIOHTTP1
import NIOHTTPCompression
import NIOPosix
public import NIOSSL
public import SwitchboardCore

/// `HTTPTransport` on SwiftNIO: HTTP/1.1 keep-alive pools per event loop and upstream, requests served on the
/// caller's event loop when it runs on one, streaming bodies with back-pressure, TLS with the system's trust
/// roots and SNI, gzip and deflate responses.
///
/// AsyncHTTPClient spent most of a forwarded request's CPU in per-request state machines and thread hops; this
/// does one exchange per connection at a time with none of that.
public final class NIOHTTPTransport: LoopTransport {
    /// Timeouts, pool limits and TLS.
    public struct Settings: Sendable {
        public var connectTimeout: Duration = .seconds(10)
        /// Longest silence once a response's body began (not while the consumer is behind), unless the request
        /// sets its own.
        public var readTimeout: Duration = .seconds(300)
        /// An idle keep-alive connection is closed after this long; shorter than common servers' own
        /// keep-alive timeouts, so the gateway rarely reuses one the server is closing.
        public var idleTimeout: Duration = .seconds(30)
        /// Idle connections kept per upstream on each event loop.
        public var maxIdlePerUpstream: Int = 256
        /// Response header limits; larger is an `invalidResponse` error.
        public var maxHeaderBytes: Int = 64 * 1024
        /// Certificate trust and verification; the system's roots by default.
        public var tls: TLSConfiguration = .makeClientConfiguration()

        /// Defaults.
        public init() {}
    }

    /// A process-wide transport on NIO's shared event loops (the ones the server runs on).
    public static let shared = NIOHTTPTransport(group: MultiThreadedEventLoopGroup.singleton, settings: Settings())

    private let group: any EventLoopGroup
    private let pools: [ObjectIdentifier: LoopPool]
    private let readTimeout: TimeAmount

    /// A transport over the loops of `group`.
    public init(group: any EventLoopGroup, settings: Settings) {
        self.group = group
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderFieldSize = settings.maxHeaderBytes
        limits.maxHeaderListSize = settings.maxHeaderBytes
        let poolSettings = LoopPool.Settings(
            connectTimeout: .nanoseconds(settings.connectTimeout.inNanoseconds),
            idleTimeout: .nanoseconds(settings.idleTimeout.inNanoseconds),
            maxIdlePerUpstream: settings.maxIdlePerUpstream, decoderLimits: limits, decompressionLimit: .ratio(50))
        let tls = TLSContextHolder(configuration: settings.tls)
        var pools: [ObjectIdentifier: LoopPool] = [:]
        for loop in group.makeIterator() {
            pools[ObjectIdentifier(loop)] = LoopPool(eventLoop: loop, settings: poolSettings, tls: tls)
        }
        self.pools = pools
        readTimeout = .nanoseconds(settings.readTimeout.inNanoseconds)
    }

    public func send(_ request: TransportRequest, context: CallContext) async throws -> TransportResponse {
        let timeout = context.remaining
        guard timeout > .zero else { throw TransportError.timedOut(.deadline) }
        var request = request
        // A caller's limit on a stream's first byte (a lane's TTFT timeout) is over the provider's.
        if let firstByte = context.firstByteTimeout, UpstreamTimeouts.streaming { request.timeouts.firstByte = firstByte }
        let outgoing = try outgoing(
            request, target: UpstreamTarget(url: request.url),
            deadline: NIODeadline.now() + .nanoseconds(timeout.inNanoseconds), bodyLimit: nil)
        let pool = pool()
        let loop = pool.eventLoop
        let promise = loop.makePromise(of: TransportResponse.self)
        let handle = RequestHandle()
        if loop.inEventLoop {
            run(outgoing, pool: pool, handle: handle, completion: promise.completeWith)
        } else {
            loop.execute { self.run(outgoing, pool: pool, handle: handle, completion: promise.completeWith) }
        }
        return try await withTaskCancellationHandler {
            try await promise.futureResult.get()
        } onCancel: {
            loop.execute { handle.cancel() }
        }
    }

    public func answers(on loop: any EventLoop) -> Bool {
        pools[ObjectIdentifier(loop)] != nil
    }

    public func exchange(
        _ request: TransportRequest, on loop: any EventLoop, deadline: NIODeadline, bodyLimit: Int,
        completion: @escaping LoopExchange.Completion
    ) -> LoopExchange {
        loop.preconditionInEventLoop()
        let handle = RequestHandle()
        let exchange = LoopExchange(cancel: { handle.cancel() })
        guard let pool = pools[ObjectIdentifier(loop)] else {
            completion(.failure(TransportError.connectFailed("not one of the transport's event loops")))
            return exchange
        }
        do {
            run(
                try outgoing(request, target: pool.target(request.url), deadline: deadline, bodyLimit: bodyLimit), pool: pool,
                handle: handle,
                completion: completion)
        } catch {
            completion(.failure(error))
        }
        return exchange
    }

    /// Runs one request on `pool`'s loop and calls `completion` with its response or its `TransportError`. A
    /// kept-alive connection the server had already closed gets the request once more, on a new connection
    /// (another idle one may be just as stale).
    private func run(
        _ outgoing: UpstreamConnection.Outgoing, pool: LoopPool, handle: RequestHandle,
        completion: @escaping LoopExchange.Completion
    ) {
        pool.execute(outgoing, fresh: false, handle: handle) { result in
            if case .failure(let failure as UpstreamConnection.Failure) = result, failure.retryable, !handle.cancelled {
                pool.execute(outgoing, fresh: true, handle: handle) { completion(Self.unwrapped($0)) }
            } else {
                completion(Self.unwrapped(result))
            }
        }
    }

    /// A connection's failure as the error callers see.
    private static func unwrapped(_ result: Result<TransportResponse, any Error>) -> Result<TransportResponse, any Error> {
        result.mapError { ($0 as? UpstreamConnection.Failure)?.error ?? $0 }
    }

    /// The request as a connection sends it.
    private func outgoing(
        _ request: TransportRequest, target: UpstreamTarget, deadline: NIODeadline, bodyLimit: Int?
    ) throws(TransportError)
        -> UpstreamConnection.Outgoing
    {
        UpstreamConnection.Outgoing(
            wire: try RequestWire(request, target: target), key: target.key, deadline: deadline,
            readTimeout: request.timeouts.streamIdle.map(Self.amount) ?? readTimeout,
            firstByteTimeout: request.timeouts.firstByte.map(Self.amount), connectTimeout: request.timeouts.connect.map(Self.amount),
            bodyLimit: bodyLimit)
    }

    private static func amount(_ duration: Duration) -> TimeAmount {
        .nanoseconds(duration.inNanoseconds)
    }

    /// The calling loop's pool when the caller runs on one of ours, else the next loop's.
    private func pool() -> LoopPool {
        if let current = MultiThreadedEventLoopGroup.currentEventLoop, let pool = pools[ObjectIdentifier(current)] { return pool }
        return pools[ObjectIdentifier(group.next())]!
    }

    /// Connection-level headers belong to each hop; the client sets its own framing.
    static func isHopByHop(_ name: String) -> Bool {
        // Every header of every request passes here: compared in place rather than lowercased into a new string.
        func named(_ candidate: StaticString) -> Bool { RequestWire.named(name, candidate) }
        switch name.utf8.count {
        case 2: return named("te")
        case 4: return named("host")
        case 7: return named("upgrade") || named("trailer")
        case 10: return named("connection") || named("keep-alive")
        case 14: return named("content-length")
        case 16: return named("proxy-connection")
        case 17: return named("transfer-encoding")
        default: return false
        }
    }

    /// What the pools did, summed over the loops: for telling a connect that never completed from a request
    /// lost on a kept-alive connection.
    public struct Counters: Sendable, CustomStringConvertible {
        /// Requests sent on a kept-alive connection.
        public var reused = 0
        /// Requests sent again on a new connection after a kept-alive one turned out closed.
        public var retries = 0
        /// New connections begun, completed and failed.
        public var connectsStarted = 0
        /// New connections that completed.
        public var connected = 0
        /// New connections that failed or timed out.
        public var connectsFailed = 0

        /// One line for a test's failure message.
        public var description: String {
            "reused \(reused), retried \(retries), connects started \(connectsStarted), connected \(connected), failed \(connectsFailed)"
        }
    }

    /// The pools' counters, summed.
    public func counters() async throws -> Counters {
        var total = Counters()
        for pool in pools.values {
            let c = try await pool.eventLoop.submit { pool.counters }.get()
            total.reused += c.reused
            total.retries += c.retries
            total.connectsStarted += c.connectsStarted
            total.connected += c.connected
            total.connectsFailed += c.connectsFailed
        }
        return total
    }

    /// Open upstream connections, idle or busy, across all loops.
    public func openConnections() async throws -> Int {
        var total = 0
        for pool in pools.values { total += try await pool.eventLoop.submit { pool.openCount }.get() }
        return total
    }

    /// Connections that stopped reading their upstream because a response's consumer is behind (back-pressure in
    /// effect), for tests and diagnostics.
    public func connectionsWithholdingReads() async throws -> Int {
        var total = 0
        for pool in pools.values { total += try await pool.eventLoop.submit { pool.withholdingCount }.get() }
        return total
    }

    /// Closes every connection; requests after this fail.
    public func shutdown() async throws {
        for pool in pools.values { try await pool.eventLoop.submit { pool.shutdown() }.get() }
    }
}
