import HTTPTypes
import NIOCore
import NIOHTTPTypes
import Testing

@testable import SwitchboardServer

/// Which request parts `DirectRouteHandler` answers, passes on or holds, without a socket.
@Suite struct DirectRouteStateTests {
    static func head(_ method: HTTPRequest.Method = .post, _ path: String = "/v1/chat/completions", expect: Bool = false) -> HTTPRequest {
        var head = HTTPRequest(method: method, scheme: nil, authority: "x", path: path)
        if expect { head.headerFields[.expect] = "100-continue" }
        return head
    }

    static func state(limit: Int = 8, heldLimit: Int = 64 * 1024) -> DirectRouteState {
        DirectRouteState(paths: ["/v1/chat/completions"], maxBodyBytes: limit, heldLimit: heldLimit)
    }

    @Test func aDirectRequestIsCollectedAndAnsweredAndOthersGoToHummingbird() {
        var state = Self.state()
        #expect(state.receive(.head(Self.head(.post, "/v1/chat/completions?x=1"))) == .none)
        #expect(state.receive(.body(ByteBuffer(string: "{}"))) == .none)
        #expect(state.receive(.end(nil)) == .respond(Self.head(.post, "/v1/chat/completions?x=1"), ByteBuffer(string: "{}")))
        state.answered()
        let other = Self.head(.get, "/v1/models")
        #expect(state.receive(.head(other)) == .forward(.head(other)))
        #expect(state.receive(.end(nil)) == .forward(.end(nil)))
        #expect(state.owedByHummingbird == 1)
    }

    @Test func aClientThatExpectsContinueIsToldToSend() {
        var state = Self.state()
        #expect(state.receive(.head(Self.head(expect: true))) == .sendContinue)
    }

    @Test func aBodyOverTheLimitIsCutOneBytePastIt() {
        var state = Self.state(limit: 8)
        _ = state.receive(.head(Self.head()))
        _ = state.receive(.body(ByteBuffer(string: "0123456")))
        _ = state.receive(.body(ByteBuffer(string: "789abcdef")))
        _ = state.receive(.body(ByteBuffer(string: "more")))
        #expect(state.receive(.end(nil)) == .respond(Self.head(), ByteBuffer(string: "012345678")))
    }

    @Test func pipelinedRequestsKeepTheirOrderAcrossBothPaths() {
        var state = Self.state()
        // While Hummingbird owes a response, a direct request goes to it too.
        let models = Self.head(.get, "/v1/models")
        _ = state.receive(.head(models))
        _ = state.receive(.end(nil))
        #expect(state.receive(.head(Self.head())) == .forward(.head(Self.head())))
        #expect(state.receive(.end(nil)) == .forward(.end(nil)))
        state.hummingbirdAnswered()
        state.hummingbirdAnswered()
        // While a direct request is answered, what follows is held, then released in order.
        _ = state.receive(.head(Self.head()))
        #expect(state.receive(.end(nil)) == .respond(Self.head(), ByteBuffer()))
        #expect(state.receive(.head(models)) == .none)
        #expect(state.receive(.end(nil)) == .none)
        #expect(state.releaseHeld() == nil, "nothing is released while the answer is owed")
        state.answered()
        #expect(state.releaseHeld() == .forward(.head(models)))
        #expect(state.releaseHeld() == .forward(.end(nil)))
        #expect(state.releaseHeld() == nil)
    }

    @Test func aClientPipeliningFasterThanItIsAnsweredIsReadNoFurther() {
        var state = Self.state(heldLimit: 4)
        _ = state.receive(.head(Self.head()))
        _ = state.receive(.end(nil))
        _ = state.receive(.head(Self.head()))
        _ = state.receive(.body(ByteBuffer(string: "0123456789")))
        let reads = state.read()
        #expect(!reads)
        state.answered()
        while state.releaseHeld() != nil {}
        let resumes = state.resumeRead()
        #expect(resumes && state.heldBytes == 0)
    }
}
