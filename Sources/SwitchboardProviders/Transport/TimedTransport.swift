public import NIOCore
public import SwitchboardCore

/// A transport that gives every request one provider's timeouts (the request's own, where set, win): the first-byte
/// timeout only to streamed calls (`UpstreamTimeouts.streaming`). The gateway wraps each provider's transport in one,
/// so providers need no timeout settings of their own. It also adds the call's `upstreamHeaders` (a trace's context).
public struct TimedTransport: LoopTransport {
    /// The transport requests go through.
    public let base: any HTTPTransport
    /// The provider's timeouts.
    public let timeouts: UpstreamTimeouts
    /// `base` as a loop transport, cast once rather than on every request.
    private let loop: (any LoopTransport)?

    /// Wraps `base`.
    public init(_ base: any HTTPTransport, timeouts: UpstreamTimeouts) {
        self.base = base
        self.timeouts = timeouts
        loop = base as? any LoopTransport
    }

    public func send(_ request: TransportRequest, context: CallContext) async throws -> TransportResponse {
        var request = timed(request, streaming: UpstreamTimeouts.streaming)
        // The call's trace goes upstream with every request of the attempt.
        if !context.upstreamHeaders.isEmpty { request.headers += context.upstreamHeaders }
        return try await base.send(request, context: context)
    }

    public func answers(on loop: any EventLoop) -> Bool {
        self.loop?.answers(on: loop) ?? false
    }

    public func exchange(
        _ request: TransportRequest, on loop: any EventLoop, deadline: NIODeadline, bodyLimit: Int,
        completion: @escaping LoopExchange.Completion
    ) -> LoopExchange {
        guard let base = self.loop else {
            completion(.failure(TransportError.connectFailed("the transport cannot answer on an event loop")))
            return LoopExchange(cancel: {})
        }
        // A loop exchange is a whole, non-streamed answer.
        return base.exchange(timed(request, streaming: false), on: loop, deadline: deadline, bodyLimit: bodyLimit, completion: completion)
    }

    private func timed(_ request: TransportRequest, streaming: Bool) -> TransportRequest {
        var request = request
        var provider = timeouts
        if !streaming { provider.firstByte = nil }
        request.timeouts = request.timeouts.filling(from: provider)
        return request
    }
}
