import NIOCore
import NIOEmbedded
import NIOHTTP1
import Synchronization
import Testing

@testable import SwitchboardProviders

/// The upstream connection's decisions, without a socket: delivery, streaming, back-pressure, deadlines, reuse.
@Suite struct UpstreamConnectionStateTests {
    typealias State = UpstreamConnectionState
    static let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)

    static func head(_ status: HTTPResponseStatus = .ok, close: Bool = false) -> HTTPResponseHead {
        var head = HTTPResponseHead(version: .http1_1, status: status)
        if close { head.headers.add(name: "connection", value: "close") }
        return head
    }

    static func started(bodyLimit: Int? = nil, idempotent: Bool = false, served: Int = 0) -> State {
        var state = State()
        for _ in 0..<served {
            _ = state.start(.init(), now: t0)
            _ = state.head(head())
            _ = state.end()
        }
        let exchange = State.Exchange(
            idempotent: idempotent, bodyLimit: bodyLimit, deadline: t0 + .seconds(60), readTimeout: .seconds(5))
        let began = state.start(exchange, now: t0)
        #expect(began)
        return state
    }

    @Test func aWholeResponseInOneBurstIsDeliveredWholeAndTheConnectionReused() {
        var state = Self.started()
        #expect(state.written(generation: state.generation, failure: nil) == .init())
        #expect(state.head(Self.head()) == .init())
        #expect(state.body(ByteBuffer(string: "hello")) == .init())
        #expect(state.end() == .init(outcome: .deliver(Self.head(), ByteBuffer(string: "hello")), after: .release))
        #expect(state.isIdle)
        // A busy connection takes no second exchange; an idle one does.
        let first = state.start(.init(), now: Self.t0)
        let second = state.start(.init(), now: Self.t0)
        #expect(first && !second)
    }

    @Test func connectionCloseFromTheUpstreamIsNotReused() {
        var state = Self.started()
        _ = state.head(Self.head(close: true))
        #expect(state.end().after == .close)
        let again = state.start(.init(), now: Self.t0)
        #expect(!state.isOpen && !again)
    }

    @Test func aHeadWithoutItsBodyStreamsTheRestWithBackPressure() {
        var state = Self.started()
        _ = state.head(Self.head())
        _ = state.body(ByteBuffer(string: "first"))
        #expect(state.readComplete(now: Self.t0) == .init(outcome: .startStream(Self.head(), first: ByteBuffer(string: "first"))))
        #expect(state.body(ByteBuffer(string: "more")) == .init(outcome: .yield(ByteBuffer(string: "more"))))
        // The consumer falls behind: the next read waits, and only the call's deadline runs meanwhile.
        state.consumerBehind()
        let reads = state.read()
        #expect(!reads && state.isWithholdingReads)
        #expect(state.nextCheck == Self.t0 + .seconds(60))
        #expect(state.produceMore(generation: state.generation, now: Self.t0 + .seconds(30)) == .init(resumeRead: true))
        #expect(state.nextCheck == Self.t0 + .seconds(35))
        let readsAgain = state.read()
        #expect(readsAgain)
        #expect(state.end() == .init(outcome: .endStream, after: .release))
    }

    @Test func aCallerOnTheLoopGetsAnErrorBodyCutAndASuccessOverItsLimitFails() {
        var error = Self.started(bodyLimit: 1 << 20)
        _ = error.head(Self.head(.badRequest))
        let big = ByteBuffer(repeating: UInt8(ascii: "x"), count: TransportBody.errorBodyLimit + 10)
        let cut = error.body(big)
        #expect(cut.after == .close)
        guard case .deliver(_, let body) = cut.outcome else { Issue.record("expected the cut body, got \(cut)"); return }
        #expect(body.readableBytes == TransportBody.errorBodyLimit)

        var success = Self.started(bodyLimit: 4)
        _ = success.head(Self.head())
        // Whole bodies only: no stream starts at the end of a burst.
        _ = success.body(ByteBuffer(string: "abc"))
        #expect(success.readComplete(now: Self.t0) == .init())
        #expect(
            success.body(ByteBuffer(string: "de"))
                == .init(outcome: .failCompletion(.bodyTooLarge(limit: 4), retryable: false), after: .close))
    }

    @Test func onlyAStaleKeptAliveConnectionThatGotNothingBackIsRetryable() {
        // First request on a connection: never retried.
        var fresh = Self.started()
        #expect(
            fresh.inactive().outcome
                == .failCompletion(.connectionClosed("upstream closed the connection before responding"), retryable: false))
        // Reused, nothing written yet: retried.
        var unsent = Self.started(served: 1)
        #expect(
            unsent.inactive().outcome
                == .failCompletion(.connectionClosed("upstream closed the connection before responding"), retryable: true))
        // Reused and written: retried only when idempotent.
        var posted = Self.started(served: 1)
        _ = posted.written(generation: posted.generation, failure: nil)
        #expect(
            posted.inactive().outcome
                == .failCompletion(.connectionClosed("upstream closed the connection before responding"), retryable: false))
        var got = Self.started(idempotent: true, served: 1)
        _ = got.written(generation: got.generation, failure: nil)
        #expect(
            got.inactive().outcome
                == .failCompletion(.connectionClosed("upstream closed the connection before responding"), retryable: true))
        // Something came back: never.
        var partial = Self.started(idempotent: true, served: 1)
        _ = partial.head(Self.head())
        #expect(
            partial.inactive().outcome
                == .failCompletion(.connectionClosed("upstream closed the connection mid-response"), retryable: false))
    }

    @Test func silenceOnceTheBodyBeganIsTheIdleTimeout() {
        var state = Self.started()
        // No body yet and no first-byte timeout: only the deadline.
        #expect(state.nextCheck == Self.t0 + .seconds(60))
        _ = state.head(Self.head())
        _ = state.readComplete(now: Self.t0 + .seconds(4))
        #expect(state.nextCheck == Self.t0 + .seconds(60))
        _ = state.body(ByteBuffer(string: "x"))
        _ = state.readComplete(now: Self.t0 + .seconds(4))
        #expect(state.check(now: Self.t0 + .seconds(8)) == .init())
        #expect(state.check(now: Self.t0 + .seconds(9)) == .init(outcome: .failStream(.timedOut(.idle)), after: .close))
        #expect(state.nextCheck == nil)
    }

    @Test func theFirstByteTimeoutRunsFromTheStartThoughTheHeadCame() {
        var state = State()
        let exchange = State.Exchange(deadline: Self.t0 + .seconds(60), readTimeout: .seconds(5), firstByteTimeout: .seconds(2))
        _ = state.start(exchange, now: Self.t0)
        #expect(state.nextCheck == Self.t0 + .seconds(2))
        _ = state.head(Self.head())
        _ = state.readComplete(now: Self.t0 + .seconds(1))
        #expect(state.check(now: Self.t0 + .seconds(2)) == .init(outcome: .failStream(.timedOut(.firstByte)), after: .close))
    }

    @Test func aFirstByteTimeoutPastTheDeadlineIsTheDeadline() {
        var state = State()
        let exchange = State.Exchange(deadline: Self.t0 + .seconds(1), readTimeout: .seconds(5), firstByteTimeout: .seconds(2))
        _ = state.start(exchange, now: Self.t0)
        #expect(state.nextCheck == Self.t0 + .seconds(1))
        #expect(
            state.check(now: Self.t0 + .seconds(1))
                == .init(outcome: .failCompletion(.timedOut(.deadline), retryable: false), after: .close))
    }

    @Test func lateEventsOfAnEarlierExchangeChangeNothing() {
        var state = Self.started()
        let old = state.generation
        _ = state.head(Self.head())
        _ = state.end()
        let next = state.start(.init(deadline: Self.t0 + .seconds(1)), now: Self.t0)
        #expect(next)
        #expect(state.written(generation: old, failure: .timedOut(.deadline)) == .init())
        #expect(state.cancel(generation: old) == .init())
        #expect(state.consumerGone(generation: old) == .init())
        #expect(state.isActive)
        #expect(state.cancel(generation: state.generation) == .init(outcome: .cancelled, after: .close))
    }

    @Test func aResponseNobodyAskedForClosesTheConnection() {
        var state = State()
        #expect(state.head(Self.head()) == .init(after: .close))
    }
}

/// The connection handler over an `EmbeddedChannel`: the bytes it writes and what it makes of the bytes it reads.
@Suite struct UpstreamConnectionChannelTests {
    final class Results: Sendable {
        let responses = Mutex<[Result<TransportResponse, any Error>]>([])
    }

    @Test func anExchangeWritesTheRequestAndDeliversTheResponseOverTheChannel() throws {
        let channel = EmbeddedChannel()
        let url = "http://upstream.test/v1/chat/completions"
        let target = try UpstreamTarget(url: url)
        let connection = UpstreamConnection(key: target.key, eventLoop: channel.embeddedEventLoop, decoderLimits: .init())
        let sync = channel.pipeline.syncOperations
        try sync.addHandler(connection.wire)
        try sync.addHandler(ByteToMessageHandler(connection.decoder))
        try sync.addHandler(connection)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 80)).wait()

        let results = Results()
        let request = TransportRequest(method: "POST", url: url, headers: [], body: ByteBuffer(string: "{}"))
        let outgoing = UpstreamConnection.Outgoing(
            wire: try RequestWire(request, target: target), key: target.key, deadline: .now() + .seconds(60),
            readTimeout: .seconds(60), bodyLimit: 1 << 20)
        connection.start(outgoing) { result in results.responses.withLock { $0.append(result) } }
        channel.embeddedEventLoop.run()
        let sent = try #require(try channel.readOutbound(as: IOData.self))
        guard case .byteBuffer(let bytes) = sent else { Issue.record("expected bytes"); return }
        #expect(String(buffer: bytes).hasPrefix("POST /v1/chat/completions HTTP/1.1\r\nHost: upstream.test\r\n"))
        #expect(String(buffer: bytes).hasSuffix("\r\n\r\n{}"))

        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel"))
        let early = results.responses.withLock { $0.count }
        #expect(early == 0, "a caller on the loop gets the whole body")
        try channel.writeInbound(ByteBuffer(string: "lo"))
        let response = try #require(results.responses.withLock { $0.first }).get()
        #expect(response.status == 200 && response.body.bytes.map { String(buffer: $0) } == "hello")
        #expect(connection.isIdle, "kept alive for the next exchange")

        // The upstream hangs up: the connection is closed, not reused.
        channel.pipeline.fireChannelInactive()
        #expect(!connection.isOpen)
    }
}
