import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOHTTPCompression
import NIOPosix
import NIOSSL

/// The idle keep-alive connections of one event loop, by upstream. Confined to that loop: a request is served
/// on the loop it arrived on, over a connection of that loop, without crossing threads.
final class LoopPool: @unchecked Sendable {
    struct Settings {
        var connectTimeout: TimeAmount
        var idleTimeout: TimeAmount
        var maxIdlePerUpstream: Int
        var decoderLimits: NIOHTTPDecoderLimitConfiguration
        var decompressionLimit: NIOHTTPDecompression.DecompressionLimit
    }

    let eventLoop: any EventLoop
    private let settings: Settings
    private let tls: TLSContextHolder
    /// Which idle connection a request takes and which are kept, expired or closed.
    private var idle: IdleConnections<UpstreamConnection>
    /// Every connection open or opening, idle or busy; for shutdown and for counting leaks.
    private var open: [ObjectIdentifier: UpstreamConnection] = [:]
    private var sweeper: RepeatedTask?
    private var shuttingDown = false
    /// What this loop's pool has done, for diagnosing a stalled request.
    private(set) var counters = NIOHTTPTransport.Counters()

    init(eventLoop: any EventLoop, settings: Settings, tls: TLSContextHolder) {
        self.eventLoop = eventLoop
        self.settings = settings
        self.tls = tls
        idle = IdleConnections(maxPerKey: settings.maxIdlePerUpstream)
    }

    /// Parsed URLs, for callers on the loop: a provider sends every request to the same few.
    private var targets: [String: UpstreamTarget] = [:]

    /// Open connections (on the loop).
    var openCount: Int { open.count }
    /// Connections that stopped reading their upstream because the consumer is behind.
    var withholdingCount: Int { open.values.filter(\.isWithholdingReads).count }

    /// `url` parsed, from the cache when it was parsed before (on the loop).
    func target(_ url: String) throws(TransportError) -> UpstreamTarget {
        eventLoop.preconditionInEventLoop()
        if let known = targets[url] { return known }
        let parsed = try UpstreamTarget(url: url)
        // Callers build URLs from configured base URLs; a bound keeps an odd one from growing this forever.
        if targets.count >= 256 { targets.removeAll() }
        targets[url] = parsed
        return parsed
    }

    /// Runs a request on an idle connection to its upstream, or a new one.
    /// `fresh`: never a kept-alive connection (the retry after a stale one).
    func execute(
        _ outgoing: UpstreamConnection.Outgoing, fresh: Bool, handle: RequestHandle,
        completion: @escaping LoopExchange.Completion
    ) {
        eventLoop.preconditionInEventLoop()
        @Sendable func begin(_ connection: UpstreamConnection) {
            handle.connection = connection
            handle.generation = connection.currentGeneration &+ 1
            connection.start(outgoing, completion: completion)
        }
        if handle.cancelled {
            completion(.failure(CancellationError()))
            return
        }
        if fresh { counters.retries += 1 }
        if !fresh, let connection = idle.take(outgoing.key) {
            counters.reused += 1
            begin(connection)
            return
        }
        guard !shuttingDown else {
            completion(.failure(TransportError.connectFailed("the HTTP client is shut down")))
            return
        }
        counters.connectsStarted += 1
        connect(outgoing.key, timeout: outgoing.connectTimeout ?? settings.connectTimeout).whenComplete { [self] result in
            switch result {
            case .success(let connection):
                counters.connected += 1
                if handle.cancelled {
                    completion(.failure(CancellationError()))
                    release(connection)
                } else {
                    begin(connection)
                }
            case .failure(let error):
                counters.connectsFailed += 1
                completion(.failure(Self.connectError(error, key: outgoing.key)))
            }
        }
    }

    /// A connection finished an exchange and may serve the next.
    func release(_ connection: UpstreamConnection) {
        guard !shuttingDown, idle.keep(connection, now: .now()) else {
            connection.closeNow()
            return
        }
        if sweeper == nil { startSweeper() }
    }

    /// A connection's channel went inactive.
    func closed(_ connection: UpstreamConnection) {
        open[ObjectIdentifier(connection)] = nil
        idle.remove(connection)
    }

    /// Closes every connection; new requests fail.
    func shutdown() {
        shuttingDown = true
        sweeper?.cancel()
        sweeper = nil
        idle.removeAll()
        for connection in open.values { connection.closeNow() }
    }

    private func startSweeper() {
        let interval = TimeAmount.nanoseconds(max(settings.idleTimeout.nanoseconds / 2, 10_000_000))
        sweeper = eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { [self] task in
            for connection in idle.expire(before: .now() - settings.idleTimeout) { connection.closeNow() }
            if idle.isEmpty {
                task.cancel()
                sweeper = nil
            }
        }
    }

    private func connect(_ key: UpstreamTarget.Key, timeout: TimeAmount) -> EventLoopFuture<UpstreamConnection> {
        let connection = UpstreamConnection(key: key, eventLoop: eventLoop, decoderLimits: settings.decoderLimits)
        connection.pool = self
        open[ObjectIdentifier(connection)] = connection
        let sslContext: NIOSSLContext?
        if key.tls {
            do { sslContext = try tls.context() } catch {
                open[ObjectIdentifier(connection)] = nil
                return eventLoop.makeFailedFuture(error)
            }
        } else {
            sslContext = nil
        }
        let decompression = settings.decompressionLimit
        // An address literal needs no lookup: NIO's resolver would still run getaddrinfo on a serial queue
        // per event loop, a thread hop per new connection and a wait behind any slow lookup on that loop.
        // A host that is not an address literal is a name, not an error: it goes to the resolver.
        let literal = try? SocketAddress(ipAddress: key.host, port: key.port)
        let sniHost = literal == nil ? key.host : nil
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                do {
                    let sync = channel.pipeline.syncOperations
                    if let sslContext {
                        try sync.addHandler(try NIOSSLClientHandler(context: sslContext, serverHostname: sniHost))
                    }
                    try sync.addHandler(connection.wire)
                    try sync.addHandler(ByteToMessageHandler(connection.decoder))
                    try sync.addHandler(NIOHTTPResponseDecompressor(limit: decompression))
                    try sync.addHandler(connection)
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
        let future = literal.map { bootstrap.connect(to: $0) } ?? bootstrap.connect(host: key.host, port: key.port)
        return future.flatMapError { [self] error in
            open[ObjectIdentifier(connection)] = nil
            return eventLoop.makeFailedFuture(error)
        }.map { _ in connection }
    }

    static func connectError(_ error: any Error, key: UpstreamTarget.Key) -> any Error {
        if error is CancellationError { return error }
        if let e = error as? TransportError { return e }
        let scheme = key.tls ? "https" : "http"
        if case ChannelError.connectTimeout = error {
            return TransportError.connectFailed("\(scheme)://\(key.host):\(key.port): connect timed out")
        }
        return TransportError.connectFailed("\(scheme)://\(key.host):\(key.port): \(error)")
    }
}

/// What `send` needs to cancel a request whose connection it does not know yet. Loop-confined.
final class RequestHandle: @unchecked Sendable {
    var cancelled = false
    var connection: UpstreamConnection?
    var generation: UInt64 = 0

    func cancel() {
        cancelled = true
        connection?.cancel(generation: generation)
    }
}

/// The TLS context, built on first use (loading the system's trust roots costs milliseconds) and shared.
final class TLSContextHolder: @unchecked Sendable {
    private let configuration: TLSConfiguration
    private let lock = NIOLock()
    private var made: Result<NIOSSLContext, any Error>?

    init(configuration: TLSConfiguration) {
        self.configuration = configuration
    }

    func context() throws -> NIOSSLContext {
        try lock.withLock {
            if let made { return try made.get() }
            let result = Result { try NIOSSLContext(configuration: configuration) }
            made = result
            return try result.get()
        }
    }
}
