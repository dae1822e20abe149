import NIOCore
import NIOHTTP1
import NIOSSL

/// One keep-alive HTTP/1.1 connection to an upstream, serving one exchange at a time (no pipelining).
///
/// Everything here runs on the channel's event loop. A response whose end arrives in the same read burst as
/// its head is handed over as one in-memory body (the common case for non-streamed chat), as is every response
/// to a caller on the loop (`Outgoing.bodyLimit`); anything longer streams through a back-pressured async
/// sequence that stops reading the socket while the consumer is behind.
final class UpstreamConnection: ChannelDuplexHandler, PooledConnection, @unchecked Sendable {
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

    /// Every decision; this class only carries them out.
    private var state = UpstreamConnectionState()
    private var context: ChannelHandlerContext?
    /// What the exchange in flight owes its caller: the completion until the head, then the streaming body's source.
    private var completion: LoopExchange.Completion?
    private var source: Body.Source?
    private let flusher = CoalescedFlush()
    private var timer: Scheduled<Void>?
    private var timerDue = NIODeadline.distantFuture

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

    var isOpen: Bool { state.isOpen }
    /// Whether the consumer is behind and a read of the socket is being held back for it.
    var isWithholdingReads: Bool { state.isWithholdingReads }
    /// Whether the connection can take a request now.
    var isIdle: Bool { state.isIdle && context != nil }

    // MARK: exchange

    /// One request as the connection sends it.
    struct Outgoing: Sendable {
        var wire: RequestWire
        var key: UpstreamTarget.Key
        /// The whole call's deadline.
        var deadline: NIODeadline
        /// Longest silence once the body began.
        var readTimeout: TimeAmount
        /// Longest wait for the first body byte; nil: only the deadline.
        var firstByteTimeout: TimeAmount? = nil
        /// The connect timeout when this request opens a connection; nil: the pool's.
        var connectTimeout: TimeAmount? = nil
        /// Set: the response is delivered once whole, with at most this many body bytes (a caller on the loop);
        /// nil: at its head, the body streaming after it.
        var bodyLimit: Int? = nil
    }

    /// Writes a request and calls `completion` when the response head (or the whole response) arrived.
    func start(_ outgoing: Outgoing, completion: @escaping LoopExchange.Completion) {
        eventLoop.preconditionInEventLoop()
        let exchange = UpstreamConnectionState.Exchange(
            idempotent: outgoing.wire.idempotent, bodyLimit: outgoing.bodyLimit, deadline: outgoing.deadline,
            readTimeout: outgoing.readTimeout, firstByteTimeout: outgoing.firstByteTimeout)
        guard context != nil, let wireContext = wire.context, state.start(exchange, now: .now()) else {
            completion(.failure(Failure(error: .connectionClosed("upstream connection closed before the request"), retryable: true)))
            return
        }
        self.completion = completion
        source = nil
        scheduleTimer()
        // The response decoder learns each request's method as NIO's request encoder would have told it.
        decoder.write(data: .head(outgoing.wire.decoderHead))
        let written = eventLoop.makePromise(of: Void.self)
        let gen = state.generation
        written.futureResult.whenComplete { [self] result in
            switch result {
            case .success: execute(state.written(generation: gen, failure: nil))
            case .failure(let error): execute(state.written(generation: gen, failure: Self.map(error)))
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
        execute(state.cancel(generation: gen))
    }

    /// The current exchange's number, for cancellation.
    var currentGeneration: UInt64 { state.generation }

    /// Closes the connection whatever it is doing.
    func closeNow() {
        execute(state.shutdown())
    }

    // MARK: channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): execute(state.head(head))
        case .body(let chunk): execute(state.body(chunk))
        case .end: execute(state.end())
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        execute(state.readComplete(now: .now()))
        // Once the body began, the idle timeout may be due before the check armed for the first byte or the deadline.
        scheduleTimer()
        context.fireChannelReadComplete()
    }

    func read(context: ChannelHandlerContext) {
        if state.read() { context.read() }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        execute(state.error(Self.map(error)))
    }

    func channelInactive(context: ChannelHandlerContext) {
        execute(state.inactive())
        stopTimer()
        pool?.closed(self)
        context.fireChannelInactive()
    }

    // MARK: back-pressure from the consumer

    fileprivate func produceMore(generation gen: UInt64) {
        execute(state.produceMore(generation: gen, now: .now()))
        if state.isActive { scheduleTimer() }
    }

    fileprivate func consumerTerminated(generation gen: UInt64) {
        execute(state.consumerGone(generation: gen))
    }

    // MARK: carrying out

    private func execute(_ step: UpstreamConnectionState.Step) {
        switch step.outcome {
        case .none:
            break
        case .deliver(let head, let body):
            deliver(head, TransportBody(bytes: body))
        case .startStream(let head, let first):
            let made = Body.makeSequence(
                backPressureStrategy: .init(lowWatermark: 2, highWatermark: 16), finishOnDeinit: true,
                delegate: BodyDelegate(connection: self, generation: state.generation))
            source = made.source
            if let first { yield(first) }
            deliver(head, TransportBody(made.sequence))
        case .yield(let chunk):
            yield(chunk)
        case .endStream:
            source?.finish()
            source = nil
        case .failCompletion(let error, let retryable):
            let owed = completion
            completion = nil
            owed?(.failure(Failure(error: error, retryable: retryable)))
        case .cancelled:
            let owed = completion
            completion = nil
            owed?(.failure(CancellationError()))
            source?.finish(CancellationError())
            source = nil
        case .failStream(let error):
            source?.finish(error)
            source = nil
        }
        switch step.after {
        case .none: break
        case .release: pool?.release(self)
        case .close: close()
        }
        if step.resumeRead, let context { context.read() }
    }

    private func deliver(_ head: HTTPResponseHead, _ body: TransportBody) {
        guard let owed = completion else { return }
        completion = nil
        let headers = head.headers.map { ($0.name, $0.value) }
        owed(.success(TransportResponse(status: Int(head.status.code), headers: headers, body: body)))
    }

    private func yield(_ chunk: ByteBuffer) {
        if source?.yield(contentsOf: CollectionOfOne(chunk)) == .stopProducing { state.consumerBehind() }
    }

    private func close() {
        state.closing()
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
        guard let next = state.nextCheck else { return }
        if timer != nil, timerDue <= next { return }
        timer?.cancel()
        timerDue = next
        timer = eventLoop.scheduleTask(deadline: next) { [self] in
            timer = nil
            execute(state.check(now: .now()))
            scheduleTimer()
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
