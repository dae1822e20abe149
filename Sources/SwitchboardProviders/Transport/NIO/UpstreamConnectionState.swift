import NIOCore
import NIOHTTP1

/// What an upstream connection does, decided without a socket: one exchange at a time, from the request's write to
/// the response's end, with its deadlines, back-pressure, and whether the connection can be used again.
/// `UpstreamConnection` feeds it the channel's events and carries out the `Step`s it returns.
struct UpstreamConnectionState {
    /// What the caller of an exchange is owed next.
    enum Outcome: Equatable {
        case none
        /// The whole response, to the exchange's completion.
        case deliver(HTTPResponseHead, ByteBuffer)
        /// The head, to the exchange's completion, with a body that streams from here (its first bytes, if any).
        case startStream(HTTPResponseHead, first: ByteBuffer?)
        /// More of a streaming body.
        case yield(ByteBuffer)
        /// A streaming body's end.
        case endStream
        /// The completion fails; `retryable`: sending the request again on a fresh connection is safe.
        case failCompletion(TransportError, retryable: Bool)
        /// The caller went away: what it is owed (the completion, or a streaming body) ends with `CancellationError`.
        case cancelled
        /// A streaming body ends with an error.
        case failStream(TransportError)
    }

    /// What happens to the connection afterwards.
    enum After: Equatable {
        case none
        /// Idle and reusable: back to the pool.
        case release
        case close
    }

    /// One decision: the outcome for the caller, the connection's fate, and whether to read the socket again.
    struct Step: Equatable {
        var outcome = Outcome.none
        var after = After.none
        var resumeRead = false
    }

    /// One request's part of the decisions.
    struct Exchange {
        var idempotent = false
        /// Set: the response is delivered whole, with at most this many body bytes; nil: its body streams.
        var bodyLimit: Int?
        var deadline = NIODeadline.distantFuture
        /// Longest silence once the body began.
        var readTimeout = TimeAmount.seconds(300)
        /// Longest wait from the start to the first body byte; nil: only the deadline.
        var firstByteTimeout: TimeAmount?
    }

    private enum Phase {
        case idle
        /// Written (or being written); no head yet.
        case awaitingHead
        /// The head arrived; the body so far is held (an error body read for a caller on the loop is `truncating`).
        case collecting(HTTPResponseHead, body: ByteBuffer?, truncating: Bool)
        /// The body is the consumer's; `paused` while the consumer is behind.
        case streaming(HTTPResponseHead, paused: Bool)
        case closed
    }

    private var phase = Phase.idle
    private var exchange = Exchange()
    /// Exchanges begun on this connection; the current one's number tells late events from current ones.
    private(set) var generation: UInt64 = 0
    private var reused = false
    private var wrote = false
    private var received = false
    /// Whether a body byte (or the response's end) arrived: the first-byte wait is over and silence is measured.
    private var bodyBegan = false
    private var startedAt = NIODeadline.uptimeNanoseconds(0)
    private var lastRead = NIODeadline.uptimeNanoseconds(0)
    /// A read the channel asked for and that waits for the consumer.
    private var readWithheld = false

    var isOpen: Bool { if case .closed = phase { false } else { true } }
    var isIdle: Bool { if case .idle = phase { true } else { false } }
    /// Whether an exchange is under way.
    var isActive: Bool {
        switch phase {
        case .idle, .closed: false
        default: true
        }
    }
    /// Whether the consumer is behind and a read of the socket is held back for it.
    var isWithholdingReads: Bool { readWithheld && isPaused }
    private var isPaused: Bool { if case .streaming(_, true) = phase { true } else { false } }

    // MARK: the exchange

    /// Begins an exchange; false when the connection cannot take one (closed or busy).
    mutating func start(_ exchange: Exchange, now: NIODeadline) -> Bool {
        guard case .idle = phase else { return false }
        generation &+= 1
        reused = generation > 1
        wrote = false
        received = false
        bodyBegan = false
        startedAt = now
        lastRead = now
        self.exchange = exchange
        phase = .awaitingHead
        return true
    }

    /// The request's bytes were written (or could not be).
    mutating func written(generation gen: UInt64, failure: TransportError?) -> Step {
        guard gen == generation, isActive else { return Step() }
        guard let failure else {
            wrote = true
            return Step()
        }
        return fail(failure, close: true)
    }

    // MARK: channel events

    mutating func head(_ head: HTTPResponseHead) -> Step {
        guard case .awaitingHead = phase else { return unexpected() }
        received = true
        let truncating = exchange.bodyLimit != nil && !(200..<300).contains(head.status.code)
        phase = .collecting(head, body: nil, truncating: truncating)
        return Step()
    }

    mutating func body(_ chunk: ByteBuffer) -> Step {
        bodyBegan = true
        switch phase {
        case .streaming:
            return Step(outcome: .yield(chunk))
        case .collecting(let head, var body, let truncating):
            phase = .idle  // lets `body` grow without a copy
            let held = body?.readableBytes ?? 0
            if truncating, held + chunk.readableBytes > TransportBody.errorBodyLimit {
                // An error body is read for its message: what fits is delivered, the rest is not read.
                var chunk = chunk
                if let slice = chunk.readSlice(length: TransportBody.errorBodyLimit - held) { append(slice, to: &body) }
                phase = .collecting(head, body: body, truncating: truncating)
                return finish(Step(outcome: .deliver(head, body ?? ByteBuffer()), after: .close))
            }
            if let limit = exchange.bodyLimit, held + chunk.readableBytes > limit {
                phase = .collecting(head, body: body, truncating: truncating)
                return fail(.bodyTooLarge(limit: limit), close: true)
            }
            append(chunk, to: &body)
            phase = .collecting(head, body: body, truncating: truncating)
            return Step()
        default:
            return unexpected()
        }
    }

    mutating func end() -> Step {
        switch phase {
        case .streaming(let head, _):
            return finish(Step(outcome: .endStream, after: head.isKeepAlive ? .release : .close))
        case .collecting(let head, let body, _):
            return finish(Step(outcome: .deliver(head, body ?? ByteBuffer()), after: head.isKeepAlive ? .release : .close))
        default:
            return unexpected()
        }
    }

    /// The end of a read burst: a head that came without its whole body, for a caller that takes a stream, starts
    /// streaming here.
    mutating func readComplete(now: NIODeadline) -> Step {
        guard isActive else { return Step() }
        lastRead = now
        // A head without a body byte yet is no first byte: its silence still counts against the first-byte wait.
        guard exchange.bodyLimit == nil, case .collecting(let head, let body, _) = phase else { return Step() }
        phase = .streaming(head, paused: false)
        return Step(outcome: .startStream(head, first: body))
    }

    /// The channel asks to read: false while the consumer is behind (the read waits for `produceMore`).
    mutating func read() -> Bool {
        guard isPaused else { return true }
        readWithheld = true
        return false
    }

    mutating func error(_ error: TransportError) -> Step {
        guard isActive else { return Step(after: .close) }
        return fail(error, close: true)
    }

    /// The channel closed.
    mutating func inactive() -> Step {
        let step =
            isActive
            ? fail(
                received
                    ? .connectionClosed("upstream closed the connection mid-response")
                    : .connectionClosed("upstream closed the connection before responding"), close: false)
            : Step()
        phase = .closed
        return step
    }

    // MARK: the consumer and the caller

    /// The body's consumer could not take more (its buffer passed the high watermark).
    mutating func consumerBehind() {
        if case .streaming(let head, _) = phase { phase = .streaming(head, paused: true) }
    }

    /// The body's consumer wants more.
    mutating func produceMore(generation gen: UInt64, now: NIODeadline) -> Step {
        guard gen == generation, case .streaming(let head, true) = phase else { return Step() }
        phase = .streaming(head, paused: false)
        // The silence the read timeout measures starts again once the upstream is read again.
        lastRead = now
        let resume = readWithheld
        readWithheld = false
        return Step(resumeRead: resume)
    }

    /// The consumer stopped before the end: the rest would have to be read and thrown away, so the connection closes.
    mutating func consumerGone(generation gen: UInt64) -> Step {
        guard gen == generation, case .streaming = phase else { return Step() }
        return finish(Step(after: .close))
    }

    /// The caller went away before the head.
    mutating func cancel(generation gen: UInt64) -> Step {
        guard gen == generation, isActive else { return Step() }
        return finish(Step(outcome: .cancelled, after: .close))
    }

    /// The client shuts down: whatever is under way fails, and the connection closes.
    mutating func shutdown() -> Step {
        var step = isActive ? fail(.connectionClosed("the HTTP client is shutting down"), close: false) : Step()
        step.after = isOpen ? .close : .none
        if isOpen { phase = .closed }
        return step
    }

    /// The connection is being closed by its owner.
    mutating func closing() {
        phase = .closed
    }

    // MARK: time

    /// When the exchange's deadline, first-byte or idle timeout is next due; nil when nothing is under way.
    var nextCheck: NIODeadline? { due?.at }

    /// The limit that runs out first, and when.
    private var due: (at: NIODeadline, timeout: TransportError.Timeout)? {
        guard isActive else { return nil }
        // While the consumer is behind, the upstream is not being read: only the whole call's deadline applies.
        if isPaused { return (exchange.deadline, .deadline) }
        let other: (NIODeadline, TransportError.Timeout)?
        if bodyBegan {
            other = (lastRead + exchange.readTimeout, .idle)
        } else {
            other = exchange.firstByteTimeout.map { (startedAt + $0, .firstByte) }
        }
        guard let other, other.0 < exchange.deadline else { return (exchange.deadline, .deadline) }
        return other
    }

    /// A scheduled check came due.
    mutating func check(now: NIODeadline) -> Step {
        guard let due, now >= due.at else { return Step() }
        return fail(.timedOut(due.timeout), close: true)
    }

    // MARK: internals

    /// A response part with no exchange to belong to: the connection's framing can no longer be trusted.
    private mutating func unexpected() -> Step {
        if isActive { return fail(.invalidResponse("unexpected response part"), close: true) }
        return Step(after: .close)
    }

    private mutating func fail(_ error: TransportError, close: Bool) -> Step {
        let outcome: Outcome
        switch phase {
        case .awaitingHead, .collecting:
            outcome = .failCompletion(error, retryable: reused && !received && (!wrote || exchange.idempotent))
        case .streaming:
            outcome = .failStream(error)
        case .idle, .closed:
            outcome = .none
        }
        return finish(Step(outcome: outcome, after: close ? .close : .none))
    }

    /// Ends the exchange; a read held back for the consumer goes ahead.
    private mutating func finish(_ step: Step) -> Step {
        var step = step
        if isOpen { phase = step.after == .close ? .closed : .idle }
        if readWithheld {
            readWithheld = false
            step.resumeRead = true
        }
        return step
    }

    private func append(_ chunk: ByteBuffer, to body: inout ByteBuffer?) {
        if body == nil {
            // Most bodies come in one piece: keep it rather than copy it.
            body = chunk
        } else {
            var chunk = chunk
            body!.writeBuffer(&chunk)
        }
    }
}
