import InMemoryTracing
import SwitchboardCore
import SwitchboardServer
import SwitchboardTesting
import Testing
import Tracing

/// Request and attempt spans through a live gateway, with a tracer that keeps them in memory (the OTLP export of the
/// same spans is tested against a loopback collector in `Tests/python/test_tracing.py`).
@Suite(.timeLimit(.minutes(1))) struct TracingRouteTests {
    static func start(_ tracer: InMemoryTracer, captureContent: Bool = false) async throws -> LiveGateway {
        try await LiveGateway.start(lanes: [Lane(name: "pair", models: ["fake/first", "fake/second"])]) {
            $0.tracing = RequestTracing(tracer: tracer, captureContent: captureContent)
            $0.cache = ResponseCache(.init())
        }
    }

    static func attribute(_ span: FinishedInMemorySpan, _ name: String) -> SpanAttribute? {
        span.attributes[name]?.toSpanAttribute()
    }

    @Test func aFailedCallEndsEverySpanInErrorAndTheUpstreamSeesEachAttempt() async throws {
        let tracer = InMemoryTracer()
        try await LiveGateway.with(try await Self.start(tracer)) { (gw) async throws in
            gw.fake.set(.status(500, body: #"{"error":{"message":"boom"}}"#), forModel: "first")
            gw.fake.set(.status(503, body: #"{"error":{"message":"busy"}}"#), forModel: "second")
            let body: JSONValue = [
                "model": "lane:pair", "max_tokens": 10, "messages": [["role": "user", "content": "hi"]],
            ]
            let r = try await gw.send("POST", "/v1/messages", json: body)
            #expect(r.status >= 500)
            #expect(try await eventually { tracer.finishedSpans.count >= 3 })
            let spans = tracer.finishedSpans
            let request = try #require(spans.first { $0.kind == .server })
            let attempts = spans.filter { $0.kind == .client }
            #expect(request.operationName == "POST /v1/messages")
            #expect(request.status?.code == .error)
            #expect(Self.attribute(request, "switchboard.attempts") == .int64(2))
            #expect(attempts.map { Self.attribute($0, "gen_ai.request.model") } == [.string("first"), .string("second")])
            #expect(attempts.allSatisfy { $0.status?.code == .error && $0.parentSpanID == request.spanID })
            #expect(attempts.map { Self.attribute($0, "http.response.status_code") } == [.int64(500), .int64(503)])
            // Each upstream request carried its own attempt's context.
            let carried = gw.fake.received.filter { $0.path.hasSuffix("/chat/completions") }.map { $0.headers[InMemoryTracer.spanIDKey] }
            #expect(carried == attempts.map { $0.spanID })
        }
    }

    @Test func aCacheHitHasNoAttemptAndContentIsCapturedOnlyWhenAsked() async throws {
        let tracer = InMemoryTracer()
        try await LiveGateway.with(try await Self.start(tracer, captureContent: true)) { (gw) async throws in
            gw.fake.setDefault(.reply(FakeReply("kept answer")))
            guard case .object(var fields) = chatBody("fake/fake-model", text: "remember this") else { return }
            fields["temperature"] = 0
            let body = JSONValue.object(fields)
            for _ in 0..<2 { #expect(try await gw.send("POST", "/v1/chat/completions", json: body).status == 200) }
            #expect(try await eventually { tracer.finishedSpans.count >= 3 })
            let spans = tracer.finishedSpans
            let requests = spans.filter { $0.kind == .server }
            #expect(requests.count == 2)
            #expect(spans.filter { $0.kind == .client }.count == 1)
            #expect(requests.map { Self.attribute($0, "switchboard.cache") } == [.string("miss"), .string("hit")])
            guard case .string(let input)? = Self.attribute(requests[0], "gen_ai.input.messages") else {
                Issue.record("no input")
                return
            }
            #expect(input.contains("remember this"))
            guard case .string(let output)? = Self.attribute(requests[0], "gen_ai.output.messages") else {
                Issue.record("no output")
                return
            }
            #expect(output.contains("kept answer"))
        }
    }
}
