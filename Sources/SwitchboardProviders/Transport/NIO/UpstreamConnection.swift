import NIOCore
import NIOHTTP1
import NIOSSL

/// One keep-alive HTTP/1.1 connection to an upstream, serving one exchange at a time (no pipelining).
///
/// Everything here runs on the channel's event loop. A response whose end arrives in the same read burst as
/// its head is handed over as one in-memory body (the common case for non-streamed chat), as is every response
/// to a caller on the loop (`Outgoing.bodyLimit`); anything longer streams through a back-pressured async
/// sequence that stops reading the socket while the consumer is behind.
final class UpstreamConnection: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    typealias Body = NIOThrowingAsyncSequenceProducer<
        ByteBuffer, any Error, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, BodyDelegate
    >

    /// Why an exchange failed, and whether sending it again on a fresh connection is safe.
    struct Failure: Error {
        var error: TransportError
        /// Nothing of the request reached the server, or it is idempotent and nothing came back, on a
        /// connection that had served requests before: the classic stale keep-alive connection.
        var retryable: Bool
    }

    let key: UpstreamTarget.Key
    let eventLoop: any EventLoop
    /// Set by the pool; the connection tells it when it becomes idle or closes.
    weak var pool: LoopPool?
    /// When it last became idle, for expiry.
    var idleSince = NIODeadline.now()
    private(set) var isOpen = true

    private var context: ChannelHandlerContext?
    private var served = 0
    private var generation: UInt64 = 0

    // The exchange in flight.
    private var active = false
    private var completion: LoopExchange.Completion?
    private var head: HTTPResponseHead?
    private var pending: ByteBuffer?
    private var source: Body.Source?
    private var idempotent = false
    private let flusher = CoalescedFlush()
    private var bodyLimit: Int?
    /// A caller on the loop gets an error response's body cut at `TransportBody.errorBodyLimit`.
    private var truncating = false
    private var reused = false
    private var wrote = false
    private var received = false
    private var deadline = NIODeadline.distantFuture
    private var readTimeout = TimeAmount.seconds(300)
    private var lastRead = NIODeadline.now()
    private var timer: Scheduled<Void>?
    private var timerDue = NIODeadline.distantFuture

    // Back-pressure: a read withheld while the consumer is behind.
    private var paused = false
    private var readWithheld = false

    /// The pipeline's first handler above TLS, whose context the request's bytes are written from.
    let wire = UpstreamWire()
    /// The pipeline's response decoder, told each request's method.
    let decoder: HTTPResponseDecoder

    init(key: UpstreamTarget.Key, eventLoop: any EventLoop, decoderLimits: NIOHTTPDecoderLimitConfiguration) {
        self.key = key
        self.eventLoop = eventLoop
        decoder = HTTPResponseDecoder(
            leftOverBytesStrategy: .dropBytes, informationalResponseStrategy: .drop, limitConfiguration: decoderLimits)
    }

    /// Whether the consumer is behind and a read of the socket is being held back for it.
    var isWithholdingReads: Bool { paused && readWithheld }

    /// Whether the connection can take a request now.
    var isIdle: Bool { isOpen && !active && context != nil }

    // MARK: exchange

    /// One request as the connection sends it.
    struct Outgoing: Sendable {
        var wire: RequestWire
        var key: UpstreamTarget.Key
        /// The whole call's deadline.
        var deadline: NIODeadline
        /// Longest silence from the upstream.
        var readTimeout: TimeAmount
        /// Set: the response is delivered once whole, with at most this many body bytes (a caller on the loop);
        /// nil: at its head, the body streaming after it.
        var bodyLimit: Int? = nil
    }

    /// Writes a request and calls `completion` when the response head (or the whole response) arrived.
    func start(_ outgoing: Outgoing, completion: @escaping LoopExchange.Completion) {
        eventLoop.preconditionInEventLoop()
        guard context != nil, let wireContext = wire.context, isOpen, !active else {
            completion(.failure(Failure(error: .connectionClosed("upstream connection closed before the request"), retryable: true)))
            return
        }
        generation &+= 1
        active = true
        self.completion = completion
        head = nil
        pending = nil
        source = nil
        idempotent = outgoing.wire.idempotent
        reused = served > 0
        served += 1
        wrote = false
        received = false
        deadline = outgoing.deadline
        readTimeout = outgoing.readTimeout
        bodyLimit = outgoing.bodyLimit
        lastRead = .now()
        scheduleTimer()
        // The response decoder learns each request's method as NIO's request encoder would have told it.
        decoder.write(data: .head(outgoing.wire.decoderHead))
        let written = eventLoop.makePromise(of: Void.self)
        let gen = generation
        written.futureResult.whenComplete { [self] result in
            guard gen == generation, active else { return }
            switch result {
            case .success: wrote = true
            case .failure(let error): fail(Self.map(error), closing: true)
            }
        }
        // Written below the decoder and the decompressor, which have nothing to do with bytes.
        if let body = outgoing.wire.body {
            wireContext.write(NIOAny(IOData.byteBuffer(outgoing.wire.head)), promise: nil)
            wireContext.write(NIOAny(IOData.byteBuffer(body)), promise: written)
        } else {
            wireContext.write(NIOAny(IOData.byteBuffer(outgoing.wire.head)), promise: written)
        }
        flushSoon()
    }

    /// Requests begun in one wake-up of the loop reach their upstream together.
    private func flushSoon() {
        flusher.flushSoon(on: eventLoop) { [self] in wire.context?.flush() }
    }

    /// The caller went away before the response head: stop and drop the connection.
    func cancel(generation gen: UInt64) {
        guard gen == generation, active else { return }
        fail(.connectionClosed("cancelled"), closing: true, error: CancellationError())
    }

    /// The current exchange's number, for cancellation.
    var currentGeneration: UInt64 { generation }

    // MARK: channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard active else {
            // A response nobody asked for: the connection's framing can no longer be trusted.
            close()
            return
        }
        received = true
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            if bodyLimit != nil, !(200..<300).contains(h.status.code) { truncating = true }
        case .body(var chunk):
            if let source {
                if source.yield(contentsOf: CollectionOfOne(chunk)) == .stopProducing { paused = true }
            } else if truncating, (pending?.readableBytes ?? 0) + chunk.readableBytes > TransportBody.errorBodyLimit {
                // An error body is read for its message: what fits is delivered, the rest is not read.
                if let slice = chunk.readSlice(length: TransportBody.errorBodyLimit - (pending?.readableBytes ?? 0)) {
                    if pending == nil { pending = slice } else { pending!.writeImmutableBuffer(slice) }
                }
                deliver(body: TransportBody(bytes: pending ?? ByteBuffer()))
                complete(reusable: false)
            } else if let bodyLimit, (pending?.readableBytes ?? 0) + chunk.readableBytes > bodyLimit {
                fail(.bodyTooLarge(limit: bodyLimit), closing: true)
            } else if pending == nil {
                pending = chunk
            } else {
                pending!.writeBuffer(&chunk)
            }
        case .end:
            let keepAlive = head?.isKeepAlive ?? false
            if let source {
                source.finish()
            } else {
                deliver(body: TransportBody(bytes: pending ?? ByteBuffer()))
            }
            complete(reusable: keepAlive)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if active {
            lastRead = .now()
            if source == nil, bodyLimit == nil, completion != nil, head != nil {
                // The head came without the whole body: stream the rest.
                let gen = generation
                let made = Body.makeSequence(
                    backPressureStrategy: .init(lowWatermark: 2, highWatermark: 16), finishOnDeinit: true,
                    delegate: BodyDelegate(connection: self, generation: gen))
                source = made.source
                if let chunk = pending {
                    pending = nil
                    if made.source.yield(contentsOf: CollectionOfOne(chunk)) == .stopProducing { paused = true }
                }
                deliver(body: TransportBody(made.sequence))
            }
        }
        context.fireChannelReadComplete()
    }

    func read(context: ChannelHandlerContext) {
        if paused {
            readWithheld = true
        } else {
            context.read()
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if active {
            fail(Self.map(error), closing: true)
        } else {
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        isOpen = false
        stopTimer()
        if active {
            fail(
                received
                    ? .connectionClosed("upstream closed the connection mid-response")
                    : .connectionClosed("upstream closed the connection before responding"), closing: false)
        }
        pool?.closed(self)
        context.fireChannelInactive()
    }

    // MARK: back-pressure from the consumer

    fileprivate func produceMore(generation gen: UInt64) {
        guard gen == generation, paused else { return }
        paused = false
        // The silence the read timeout measures starts again once the upstream is read again.
        lastRead = .now()
        if active { scheduleTimer() }
        if readWithheld, let context {
            readWithheld = false
            context.read()
        }
    }

    fileprivate func consumerTerminated(generation gen: UInt64) {
        // The consumer stopped before the end: the rest of the body would have to be read and thrown away,
        // so the connection is closed rather than reused.
        guard gen == generation, active else { return }
        source = nil
        fail(.connectionClosed("response body abandoned"), closing: true)
    }

    // MARK: internals

    private func deliver(body: TransportBody) {
        guard let completion, let head else { return }
        self.completion = nil
        let headers = head.headers.map { ($0.name, $0.value) }
        completion(.success(TransportResponse(status: Int(head.status.code), headers: headers, body: body)))
    }

    private func complete(reusable: Bool) {
        finishExchange()
        if reusable, isOpen {
            pool?.release(self)
        } else {
            close()
        }
    }

    private func fail(_ error: TransportError, closing: Bool, error override: (any Error)? = nil) {
        let retryable = reused && !received && (!wrote || idempotent)
        if let completion {
            self.completion = nil
            completion(.failure(override ?? Failure(error: error, retryable: retryable)))
        } else if let source {
            source.finish(override ?? error)
        }
        finishExchange()
        if closing { close() }
    }

    private func finishExchange() {
        active = false
        completion = nil
        source = nil
        head = nil
        pending = nil
        bodyLimit = nil
        truncating = false
        // The timer stays armed for the next exchange (`scheduleTimer`).
        paused = false
        if readWithheld, let context {
            readWithheld = false
            context.read()
        }
    }

    /// Closes the connection whatever it is doing.
    func closeNow() {
        if active { fail(.connectionClosed("the HTTP client is shutting down"), closing: false) }
        close()
    }

    private func close() {
        guard isOpen else { return }
        isOpen = false
        stopTimer()
        context?.close(promise: nil)
    }

    private func stopTimer() {
        timer?.cancel()
        timer = nil
    }

    /// Arms the check of the exchange's deadline and read timeout, unless one is armed to fire before it is due.
    ///
    /// One timer serves a connection's exchanges one after another: a check that fires early (for an earlier
    /// exchange's deadline) arms the next for the current one, and one that finds the connection idle stops. So a
    /// kept-alive connection does not schedule and cancel a timer for every request.
    private func scheduleTimer() {
        // While the consumer is behind, the upstream is not being read: only the whole call's deadline applies.
        let next = paused ? deadline : min(deadline, lastRead + readTimeout)
        if timer != nil, timerDue <= next { return }
        timer?.cancel()
        timerDue = next
        timer = eventLoop.scheduleTask(deadline: next) { [self] in
            timer = nil
            guard active else { return }
            let now = NIODeadline.now()
            if now >= deadline || (!paused && now >= lastRead + readTimeout) {
                fail(.timedOut, closing: true)
            } else {
                scheduleTimer()
            }
        }
    }

    static func map(_ error: any Error) -> TransportError {
        switch error {
        case let e as TransportError: e
        case let e as HTTPParserError: .invalidResponse("\(e)")
        case let e as ChannelError where e == .ioOnClosedChannel || e == .alreadyClosed || e == .eof:
            .connectionClosed("upstream connection closed")
        case let e as IOError: .connectionClosed(e.description)
        case let e as NIOSSLError: .connectFailed("TLS: \(e)")
        case let e as BoringSSLError: .connectFailed("TLS: \(e)")
        case let e as NIOSSLExtraError: .connectFailed("TLS: \(e)")
        default: .invalidResponse(String(describing: error))
        }
    }
}

/// Tells the connection, on its loop, when the consumer wants more or is gone.
struct BodyDelegate: NIOAsyncSequenceProducerDelegate {
    let connection: UpstreamConnection
    let generation: UInt64

    func produceMore() {
        let (c, g) = (connection, generation)
        c.eventLoop.execute { c.produceMore(generation: g) }
    }

    func didTerminate() {
        let (c, g) = (connection, generation)
        c.eventLoop.execute { c.consumerTerminated(generation: g) }
    }
}

/// Where a connection's request bytes enter the pipeline: nothing above TLS but this handler has to see them.
final class UpstreamWire: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private(set) var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }
}
