import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes
import SwitchboardCore
import SwitchboardProviders
import Synchronization

/// The routes answered straight from the connection's pipeline, and what answering them needs.
struct DirectRoutes: Sendable {
    /// The router's responder: the same middleware and handlers Hummingbird would run.
    var respond: @Sendable (Request, GatewayRequestContext) async throws -> Response
    /// `POST` paths, without query.
    var paths: Set<String>
    var maxBodyBytes: Int
    var serverName: String?
    var logger: Logger
    /// Chat completions answered on the loop without a task when nothing they need must wait; nil: every one as a task.
    var chat: DirectChat?
}

/// Answers the hot routes (`POST /v1/chat/completions`) from the channel pipeline and passes every other
/// request on to Hummingbird's async channel untouched.
///
/// The same router answers both ways; what this skips is the async channel's per-request machinery: its inbound
/// and outbound async sequences (their buffers, state machines and yields), the per-connection reading loop
/// and the response writer. The request is collected here; a chat completion `DirectChat` can answer on this
/// loop is answered in callbacks with no task at all, any other by one task through the router, its response
/// written straight to the pipeline from a task whose executor is this event loop.
///
/// Order is kept for pipelined requests: while a direct request is answered, later parts are held; while
/// Hummingbird owes responses, new requests go to it too. Placed after Hummingbird's connection state
/// handler, which therefore counts these requests for idle timeouts, `Connection: close` and graceful
/// shutdown like its own.
final class DirectRouteHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let routes: DirectRoutes
    /// Every decision about the request parts; this class carries them out.
    private var state: DirectRouteState
    private var closed = false
    private var closeAfterEnd = false
    private let flusher = CoalescedFlush()
    private var task: Task<Void, Never>?
    /// Stops the upstream exchange of a request answered on the loop.
    private var cancelExchange: (@Sendable () -> Void)?
    /// Requests `DirectChat` took on, and the last one answered.
    private var exchanges: UInt64 = 0
    private var answered: UInt64 = 0
    private var executor: EventLoopTaskExecutor?
    private var dates = HTTPDateCache()

    init(routes: DirectRoutes) {
        self.routes = routes
        state = DirectRouteState(paths: routes.paths, maxBodyBytes: routes.maxBodyBytes)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        executor = EventLoopTaskExecutor(context.eventLoop)
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.channel.closeFuture.whenComplete { _ in handler.value.channelClosed() }
    }

    private func channelClosed() {
        closed = true
        // The client is gone: stop the upstream call (and its stream) it was waiting for.
        task?.cancel()
        cancelExchange?()
        state.closed()
    }

    // MARK: inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        perform(state.receive(unwrapInboundIn(data)), context: context)
    }

    private func perform(_ action: DirectRouteState.Action, context: ChannelHandlerContext) {
        switch action {
        case .none: break
        case .forward(let part): context.fireChannelRead(wrapInboundOut(part))
        case .sendContinue: context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
        case .respond(let head, let body): respond(head: head, body: body, context: context)
        }
    }

    func read(context: ChannelHandlerContext) {
        // A client pipelining faster than it is answered is read no further than a little held data; reading
        // goes on otherwise, so a client that leaves mid-request is noticed and its upstream call cancelled.
        if state.read() { context.read() }
    }

    // MARK: outbound (Hummingbird's responses pass through here; the direct ones start below this handler)

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { state.hummingbirdAnswered() }
        context.write(data, promise: promise)
    }

    // MARK: answering

    private func respond(head: HTTPRequest, body: ByteBuffer, context: ChannelHandlerContext) {
        let closing = head.headerFields.value(.connection).map { $0.lowercased().contains("close") } ?? false
        if let chat = routes.chat {
            exchanges &+= 1
            let exchange = exchanges
            let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
            let cancel = chat.start(head, body: body, on: context.eventLoop) { answer in
                let (handler, context) = bound.value
                handler.answered = exchange
                handler.cancelExchange = nil
                handler.write(answer, context: context, closing: closing)
                handler.finished(context: context)
            }
            if let cancel {
                // An answer given before `start` returned (an upstream refused at once) has nothing left to stop, and
                // the pipelined request that answer let in may have set its own.
                if answered < exchange { cancelExchange = cancel }
                return
            }
        }
        let request = Request(head: head, body: .init(buffer: body))
        var requestContext = GatewayRequestContext(source: ApplicationRequestContextSource(channel: context.channel, logger: routes.logger))
        requestContext.direct = true
        requestContext.writeExecutor = executor
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        let respond = routes.respond
        let executor = executor
        // The handlers run on the concurrency executor and only the writes on this connection's loop: keeping the
        // whole task on this loop was faster for one client but slower under concurrency, where the loop is the
        // bottleneck.
        task = Task {
            var response: Response
            do {
                response = try await respond(request, requestContext)
            } catch {
                // What Hummingbird's application does with an error no middleware turned into a response.
                response = Response(status: .internalServerError)
            }
            await withTaskExecutorPreference(executor) {
                let (handler, context) = bound.value
                await handler.write(response, context: context, closing: closing)
                handler.finished(context: context)
            }
        }
    }

    private func write(_ answer: consuming DirectChat.Answer, context: ChannelHandlerContext, closing: Bool) {
        guard !closed else { return }
        closeAfterEnd = closing
        // The fields are moved, not copied, into the head and added to there (each copy is an allocation).
        var fields = answer.headers
        answer.headers = HTTPFields()
        fields.append(HTTPField(name: .contentLength, value: String(answer.body.readableBytes)))
        writeHead(HTTPResponse(status: answer.status, headerFields: fields), context: context)
        if answer.body.readableBytes > 0 { context.write(wrapOutboundOut(.body(answer.body)), promise: nil) }
        writeEnd(nil, context: context)
    }

    private func writeHead(_ head: consuming HTTPResponse, context: ChannelHandlerContext) {
        var head = head
        head.headerFields.set(.date, dates.current)
        if let name = routes.serverName { head.headerFields.set(.server, name) }
        context.write(wrapOutboundOut(.head(head)), promise: nil)
    }

    private func write(_ response: Response, context: ChannelHandlerContext, closing: Bool) async {
        guard !closed else {
            // The body still runs, into a closed connection: a stream learns its client left, and records it.
            try? await response.body.write(ClosedBodyWriter())
            return
        }
        closeAfterEnd = closing
        writeHead(response.head, context: context)
        let writer = DirectBodyWriter(
            handler: NIOLoopBound((self, context), eventLoop: context.eventLoop),
            streaming: response.body.contentLength == nil)
        do {
            try await response.body.write(writer)
        } catch {
            // A body that failed half-way cannot be finished in HTTP/1.1 framing: the connection ends here.
            context.close(promise: nil)
        }
    }

    fileprivate func writeBody(_ buffer: ByteBuffer, flush: Bool, context: ChannelHandlerContext) async throws {
        guard !closed else { throw ChannelError.ioOnClosedChannel }
        if context.channel.isWritable {
            context.write(wrapOutboundOut(.body(buffer)), promise: nil)
            if flush { context.flush() }
        } else {
            // The client reads slower than the upstream sends: wait until this much has gone out.
            try await context.writeAndFlush(wrapOutboundOut(.body(buffer))).get()
        }
    }

    fileprivate func writeEnd(_ trailers: HTTPFields?, context: ChannelHandlerContext) {
        guard !closed else { return }
        guard closeAfterEnd else {
            context.write(wrapOutboundOut(.end(trailers)), promise: nil)
            flushSoon(context: context)
            return
        }
        // `Connection: close`: as Hummingbird does, no more responses; the output side ends once this is sent.
        closed = true
        context.writeAndFlush(wrapOutboundOut(.end(trailers))).whenComplete { _ in
            context.close(mode: .output, promise: nil)
        }
    }

    /// The responses that became ready in one wake-up of the loop reach the client together.
    private func flushSoon(context: ChannelHandlerContext) {
        flusher.flushSoon(on: context.eventLoop) { context.flush() }
    }

    private func finished(context: ChannelHandlerContext) {
        task = nil
        state.answered()
        guard !closed else { return }
        var released = false
        while let action = state.releaseHeld() {
            perform(action, context: context)
            released = true
        }
        // Outside a read burst: the async channel hands what it was given to Hummingbird at a read's end.
        if released { context.fireChannelReadComplete() }
        if state.resumeRead() { context.read() }
    }
}

/// The body writer of a response whose client is gone: every write fails.
private struct ClosedBodyWriter: ResponseBodyWriter {
    mutating func write(_ buffer: ByteBuffer) async throws {
        throw ChannelError.ioOnClosedChannel
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}

/// Writes a response body from the direct request's task, which runs on the channel's event loop.
private struct DirectBodyWriter: ResponseBodyWriter {
    let handler: NIOLoopBound<(DirectRouteHandler, ChannelHandlerContext)>
    /// A body of unknown length (a stream) goes out part by part; a sized one with its end.
    let streaming: Bool

    mutating func write(_ buffer: ByteBuffer) async throws {
        let (handler, context) = handler.value
        try await handler.writeBody(buffer, flush: streaming, context: context)
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {
        let (handler, context) = handler.value
        handler.writeEnd(trailingHeaders, context: context)
    }
}

/// The `Date` header, formatted once a second.
struct HTTPDateCache {
    private var second: Int64 = .min
    private var text = ""

    /// Every response's date, shared by the requests Hummingbird's async channel answers.
    static let shared = Mutex(HTTPDateCache())

    var current: String {
        mutating get {
            let now = Int64(time(nil))
            if now != second {
                second = now
                text = UTCTime(unix: now).httpDate
            }
            return text
        }
    }
}
