import HTTPTypes
import SwitchboardCore
import Synchronization
public import Tracing

/// Where the gateway's traces go: a tracer (OpenTelemetry's, or any swift-distributed-tracing one) and whether spans
/// carry the prompt and the answer.
public struct RequestTracing: Sendable {
    /// The tracer spans are started with.
    public var tracer: any Tracer
    /// Whether spans carry the conversation and the answer (`gen_ai.input.messages`, `gen_ai.output.messages`).
    public var captureContent: Bool

    /// Traces with `tracer`; prompts and answers only when `captureContent`.
    public init(tracer: any Tracer, captureContent: Bool = false) {
        self.tracer = tracer
        self.captureContent = captureContent
    }

    /// A server span for one request, continuing the client's trace when its headers carry one (W3C `traceparent`).
    func begin(_ headers: HTTPFields, name: String) -> CallSpans {
        var parent = InstrumentationContext.topLevel
        tracer.extract(headers, into: &parent, using: HTTPFieldsExtractor())
        return CallSpans(tracing: self, span: tracer.startSpan(name, context: parent, ofKind: .server))
    }
}

/// The spans of one gateway request: the request's own, and one child for each upstream attempt, which the router
/// begins and ends as it tries its slots (`AttemptObserver`); its context goes upstream in each attempt's headers.
final class CallSpans: AttemptObserver {
    private struct Attempts {
        var open: [any Span] = []
        var count = 0
        /// The one provider the pipeline calls itself (it routes nothing), whose attempt the pipeline begins.
        var single: (provider: String, model: String)?
    }

    let tracing: RequestTracing
    /// The request's span.
    let span: any Span
    private let attempts = Mutex(Attempts())

    init(tracing: RequestTracing, span: any Span) {
        self.tracing = tracing
        self.span = span
    }

    func began(provider: String, model: String) -> [(String, String)] {
        let attempt = tracing.tracer.startSpan("chat \(model)", context: span.context, ofKind: .client)
        let number = attempts.withLock { a in
            a.count += 1
            a.open.append(attempt)
            return a.count
        }
        attempt.updateAttributes { a in
            a["gen_ai.operation.name"] = "chat"
            a["gen_ai.provider.name"] = provider
            a["gen_ai.request.model"] = model
            a["switchboard.attempt"] = number
        }
        var headers: [(String, String)] = []
        tracing.tracer.inject(attempt.context, into: &headers, using: HeaderListInjector())
        return headers
    }

    func ended(_ error: ProviderError?) {
        guard let attempt = attempts.withLock({ $0.open.popLast() }) else { return }
        if let error {
            attempt.updateAttributes { a in
                a["error.type"] = error.kind.name
                if let status = error.status { a["http.response.status_code"] = status }
            }
            attempt.setStatus(SpanStatus(code: .error, message: error.kind.name))
        }
        attempt.end()
    }

    /// The stream's first event reached the gateway: noted on the attempt that sent it (the request's span gets the
    /// call's TTFT when it ends).
    func firstChunk(after ttft: Duration) {
        attempts.withLock { $0.open.last }?.attributes["gen_ai.response.time_to_first_chunk"] = Double(ttft.inMicroseconds) / 1_000_000
    }

    /// Ends attempts left open (a call cancelled or failed outside the router) as failed with `reason`.
    func endOpenAttempts(_ reason: String) {
        let open = attempts.withLock { a in
            defer { a.open.removeAll() }
            return a.open
        }
        for attempt in open.reversed() {
            attempt.attributes["error.type"] = reason
            attempt.setStatus(SpanStatus(code: .error, message: reason))
            attempt.end()
        }
    }

    /// The provider the pipeline calls without a router, whose attempt it begins when the call goes upstream.
    var single: (provider: String, model: String)? {
        get { attempts.withLock { $0.single } }
        set { attempts.withLock { $0.single = newValue } }
    }

    /// The single provider's attempt, once: nil when a router begins the attempts, or it began already.
    func takeSingle() -> (provider: String, model: String)? {
        attempts.withLock { a in
            defer { a.single = nil }
            return a.single
        }
    }
}

private struct HTTPFieldsExtractor: Extractor {
    func extract(key: String, from carrier: HTTPFields) -> String? {
        HTTPField.Name(key).flatMap { carrier[$0] }
    }
}

private struct HeaderListInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [(String, String)]) {
        carrier.append((key, value))
    }
}
