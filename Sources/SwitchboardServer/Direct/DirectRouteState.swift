import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// What `DirectRouteHandler` does with each request part, decided without a socket: a request for a direct route is
/// collected and answered here, any other goes on to Hummingbird, and pipelined requests keep their order (parts
/// that arrive while a direct request is answered are held, and while Hummingbird owes responses new requests go to
/// it too).
struct DirectRouteState {
    /// What to do with one part.
    enum Action: Equatable {
        /// Nothing now (a body part collected, or a part held for later).
        case none
        /// Pass the part on to Hummingbird.
        case forward(HTTPRequestPart)
        /// A direct request's head asked to be told to send its body (`Expect: 100-continue`).
        case sendContinue
        /// Answer this direct request; its body was cut at the limit plus one byte when longer (the route refuses it).
        case respond(HTTPRequest, ByteBuffer)
    }

    private enum Phase {
        case idle
        /// A request for Hummingbird: its parts go on.
        case forwarding
        /// A direct request's body; `over` once it passed the limit (the rest is dropped, the route answers 413).
        case collecting(HTTPRequest, ByteBuffer, over: Bool)
        case responding
    }

    private var phase = Phase.idle
    /// Requests given to Hummingbird whose response has not ended yet.
    private(set) var owedByHummingbird = 0
    /// Parts that arrived while a direct request was being answered.
    private var held = CircularBuffer<HTTPRequestPart>()
    private(set) var heldBytes = 0
    private var readWithheld = false
    /// The direct routes: `POST` paths, without query.
    let paths: Set<String>
    let maxBodyBytes: Int
    /// Held body bytes past which the connection is read no further until the direct response is done.
    let heldLimit: Int

    init(paths: Set<String>, maxBodyBytes: Int, heldLimit: Int = 64 * 1024) {
        self.paths = paths
        self.maxBodyBytes = maxBodyBytes
        self.heldLimit = heldLimit
    }

    var isResponding: Bool { if case .responding = phase { true } else { false } }

    /// Whether a request is for a direct route.
    func serves(_ head: HTTPRequest) -> Bool {
        guard head.method == .post, let path = head.path else { return false }
        guard let query = path.utf8.firstIndex(of: UInt8(ascii: "?")) else { return paths.contains(path) }
        return paths.contains(String(path[..<query]))
    }

    /// A part read from the client.
    mutating func receive(_ part: HTTPRequestPart) -> Action {
        if isResponding || !held.isEmpty {
            if case .body(let b) = part { heldBytes += b.readableBytes }
            held.append(part)
            return .none
        }
        return process(part)
    }

    private mutating func process(_ part: HTTPRequestPart) -> Action {
        switch (phase, part) {
        case (.idle, .head(let head)):
            if owedByHummingbird == 0, serves(head) {
                phase = .collecting(head, ByteBuffer(), over: false)
                // curl asks before sending a body over 1 KiB and otherwise waits a second for this.
                return head.headerFields.value(.expect)?.lowercased() == "100-continue" ? .sendContinue : .none
            }
            owedByHummingbird += 1
            phase = .forwarding
            return .forward(part)
        case (.forwarding, .end):
            phase = .idle
            return .forward(part)
        case (.forwarding, _):
            return .forward(part)
        case (.collecting(let head, var body, var over), .body(var chunk)):
            phase = .idle  // lets `body` be appended to without a copy
            if !over {
                let room = maxBodyBytes + 1 - body.readableBytes
                if chunk.readableBytes > room {
                    over = true
                    if let prefix = chunk.readSlice(length: room) { body.writeImmutableBuffer(prefix) }
                } else if body.readableBytes == 0 {
                    // Most bodies come in one piece: keep it rather than copy it.
                    body = chunk
                } else {
                    body.writeBuffer(&chunk)
                }
            }
            phase = .collecting(head, body, over: over)
            return .none
        case (.collecting(let head, let body, _), .end):
            phase = .responding
            return .respond(head, body)
        case (.collecting, .head), (.idle, .body), (.idle, .end), (.responding, _):
            // The HTTP decoder never produces these; pass them on rather than guess.
            return .forward(part)
        }
    }

    /// Hummingbird wrote the end of a response it owed.
    mutating func hummingbirdAnswered() {
        owedByHummingbird -= 1
    }

    /// The direct response is written.
    mutating func answered() {
        if isResponding { phase = .idle }
    }

    /// The next held part and what to do with it, while no direct request is being answered; nil when none is left.
    mutating func releaseHeld() -> Action? {
        guard !isResponding, let part = held.popFirst() else { return nil }
        if case .body(let b) = part { heldBytes -= b.readableBytes }
        return process(part)
    }

    /// The channel asks to read: false while too much is held (a client pipelining faster than it is answered).
    mutating func read() -> Bool {
        guard heldBytes > heldLimit else { return true }
        readWithheld = true
        return false
    }

    /// Whether a withheld read can go ahead now (and is no longer withheld).
    mutating func resumeRead() -> Bool {
        guard readWithheld, heldBytes <= heldLimit else { return false }
        readWithheld = false
        return true
    }

    /// The client is gone: nothing held is answered.
    mutating func closed() {
        held.removeAll()
        heldBytes = 0
    }
}
