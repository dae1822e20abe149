import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import SwitchboardCore

/// Guards one client connection below every route: read deadlines for request heads and bodies, bodies refused from
/// their `Content-Length`, transfer codings it does not speak, malformed requests answered in order, `HEAD` served as
/// the `GET` it asks about. Its decisions are `ConnectionGuardState`'s; this executes them on the channel.
///
/// Sits right above the HTTP codec, so it sees every request and every response, whichever handler answers it.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private var machine: ConnectionGuardState
    /// The deadline `machine.timer` asks for, and when it passes.
    private var armed = ConnectionGuardState.Timer.none
    private var deadline: NIODeadline?
    private var scheduled: Scheduled<Void>?
    private var scheduledFor = NIODeadline.distantFuture

    init(limits: ConnectionLimits) {
        machine = ConnectionGuardState(limits: limits)
    }

    /// Whether the client closed its side of the connection (read on the channel's loop).
    var clientClosedInput: Bool { machine.clientClosedInput }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { rearm(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        rearm(context: context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        scheduled?.cancel()
        scheduled = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        scheduled?.cancel()
        scheduled = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(var request):
            guard perform(machine.head(request), context: context) else { return }
            guard request.method == .head else { break }
            // Answered as the GET it asks about; the codec, which saw the HEAD, sends the head without the body.
            request.method = .get
            context.fireChannelRead(wrapInboundOut(.head(request)))
            return
        case .body:
            guard perform(machine.body(end: false), context: context) else { return }
        case .end:
            guard perform(machine.body(end: true), context: context) else { return }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .end = unwrapOutboundIn(data) else {
            context.write(data, promise: promise)
            return
        }
        let due = machine.responseEnded()
        context.write(data, promise: promise)
        if let due {
            refuse(due, context: context)
        } else {
            rearm(context: context)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard error is HTTPParserError || error is HTTP1TypeConversionError else {
            context.fireErrorCaught(error)
            return
        }
        // Handled here rather than passed on: the async channel would end the connection with the responses before
        // this one unsent.
        _ = perform(machine.malformed(), context: context)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .inputClosed = event as? ChannelEvent {
            if perform(machine.inputClosed(), context: context) { context.fireUserInboundEventTriggered(event) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    // MARK: acting

    /// Carries out what the state machine decided; true when the part or event goes on.
    private func perform(_ action: ConnectionGuardState.Action, context: ChannelHandlerContext) -> Bool {
        rearm(context: context)
        switch action {
        case .forward: return true
        case .drop: return false
        case .refuse(let refusal): refuse(refusal, context: context)
        case .close: context.close(promise: nil)
        }
        return false
    }

    private func refuse(_ refusal: ConnectionGuardState.Refusal, context: ChannelHandlerContext) {
        let body = APIError(
            status: refusal.status, message: refusal.message,
            type: refusal.status.code < 500 ? "invalid_request_error" : "server_error", code: refusal.code
        ).body
        let bytes = ByteBuffer(bytes: body.jsonBytes())
        var fields = HTTPFields()
        fields[.contentType] = "application/json"
        fields[.contentLength] = String(bytes.readableBytes)
        fields[.connection] = "close"
        context.write(wrapOutboundOut(.head(HTTPResponse(status: refusal.status, headerFields: fields))), promise: nil)
        context.write(wrapOutboundOut(.body(bytes)), promise: nil)
        // A lingering close, as nginx's: the output ends after the answer, and what the client still sends is read and
        // dropped for a moment, so its kernel does not reset the connection before the answer is read.
        let loop = context.eventLoop
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            context.close(mode: .output, promise: nil)
            loop.scheduleTask(in: Self.linger) { context.close(promise: nil) }
        }
    }

    /// How long a refused connection's input is read and dropped before it is closed.
    static let linger = TimeAmount.seconds(2)

    /// Keeps the deadline the state machine wants. A request moves the deadline without scheduling anything: the
    /// one scheduled check, when it comes, closes the connection if the deadline passed, else waits for the rest.
    private func rearm(context: ChannelHandlerContext) {
        let wanted = machine.timer
        guard wanted != armed else { return }
        armed = wanted
        // The loop's clock, which tests can move.
        let now = context.eventLoop.now
        switch wanted {
        case .none: deadline = nil
        case .header: deadline = now + .nanoseconds(machine.limits.headerTimeout.inNanoseconds)
        case .body: deadline = now + .nanoseconds(machine.limits.bodyTimeout.inNanoseconds)
        }
        guard let deadline else { return }
        if let scheduled {
            guard deadline < scheduledFor else { return }
            scheduled.cancel()
        }
        schedule(at: deadline, context: context)
    }

    private func schedule(at time: NIODeadline, context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        scheduledFor = time
        scheduled = context.eventLoop.scheduleTask(deadline: time) {
            let (handler, context) = loopBound.value
            handler.scheduled = nil
            handler.check(context: context)
        }
    }

    private func check(context: ChannelHandlerContext) {
        guard let deadline else { return }
        guard deadline <= context.eventLoop.now else {
            schedule(at: deadline, context: context)
            return
        }
        let which = armed
        self.deadline = nil
        armed = .none
        _ = perform(machine.timedOut(which), context: context)
    }
}
