import Foundation
import HTTPTypes

/// What one client connection may send and how long it may take, as the server enforces it on every path.
struct ConnectionLimits: Sendable {
    /// A connection with nothing owed must deliver a whole request head within this (keep-alive idle time and slow
    /// headers alike); else it is closed.
    var headerTimeout: Duration = .seconds(60)
    /// A request's body must have arrived this long after its head; else the connection is closed.
    var bodyTimeout: Duration = .seconds(60)
    /// Larger bodies are refused from their `Content-Length`, before any of them is read.
    var maxBodyBytes = 1 << 20
}

/// The state of one server connection's requests, kept apart from the channel so it is tested without sockets:
/// how many responses are owed, which deadline runs, and what is refused.
///
/// Requests arrive in order and are answered in order. A request the connection refuses (a body it will not read,
/// a framing it does not speak, bytes that are not HTTP) is answered only after every response owed before it, and
/// the connection closes after that answer: nothing the client sent before a bad request loses its response.
struct ConnectionGuardState {
    enum State: Equatable {
        /// Between requests: waiting for a head.
        case open
        /// A head was passed on; its body is arriving.
        case readingBody
        /// Nothing more is read: once the owed responses ended, `Refusal` is sent and the connection closes.
        case refusing(Refusal)
        case closed
    }

    /// A request answered by the connection itself, with the connection's end.
    struct Refusal: Equatable {
        var status: HTTPResponse.Status
        var message: String
        var code: String
    }

    /// Which deadline runs.
    enum Timer: Equatable {
        case none
        case header
        case body
    }

    /// What the handler does with an inbound part or event.
    enum Action: Equatable {
        /// Pass it on.
        case forward
        /// Swallow it.
        case drop
        /// Send the refusal now, then close.
        case refuse(Refusal)
        /// Close the connection.
        case close
    }

    private(set) var state = State.open
    /// Requests passed on whose response has not ended.
    private(set) var owed = 0
    /// The client closed its side of the connection: a stream owed to it has nobody to read it.
    private(set) var clientClosedInput = false
    /// The deadline that should be armed after the last event.
    private(set) var timer = Timer.header
    let limits: ConnectionLimits

    init(limits: ConnectionLimits) {
        self.limits = limits
    }

    /// A request head arrived.
    mutating func head(_ request: HTTPRequest) -> Action {
        guard state == .open else { return .drop }
        if let refusal = Self.refusal(for: request, limits: limits) { return refuse(refusal) }
        owed += 1
        state = .readingBody
        timer = .body
        return .forward
    }

    /// Part of a body, or its end.
    mutating func body(end: Bool) -> Action {
        guard state == .readingBody else { return .drop }
        if end {
            state = .open
            // While a response is owed nothing is read against a clock: the request's own deadline applies.
            timer = .none
        }
        return .forward
    }

    /// A response ended; returns the refusal that is now due, if one is.
    mutating func responseEnded() -> Refusal? {
        owed = max(0, owed - 1)
        guard owed == 0 else { return nil }
        switch state {
        case .refusing(let refusal):
            state = .closed
            timer = .none
            return refusal
        case .open:
            timer = .header
            return nil
        case .readingBody, .closed:
            return nil
        }
    }

    /// The bytes are not HTTP the decoder can read.
    mutating func malformed() -> Action {
        switch state {
        case .open:
            return refuse(Refusal(status: .badRequest, message: "the request is not valid HTTP/1.1", code: "malformed_request"))
        case .readingBody:
            // The request half-passed on can never be completed, so it cannot be answered in order.
            state = .closed
            timer = .none
            return .close
        case .refusing, .closed:
            return .drop
        }
    }

    /// The client closed its side of the connection.
    mutating func inputClosed() -> Action {
        clientClosedInput = true
        guard owed == 0, state == .open else { return .forward }
        state = .closed
        timer = .none
        return .close
    }

    /// The armed deadline passed.
    mutating func timedOut(_ which: Timer) -> Action {
        guard which == timer, which != .none else { return .drop }
        state = .closed
        timer = .none
        return .close
    }

    private mutating func refuse(_ refusal: Refusal) -> Action {
        timer = .none
        guard owed == 0 else {
            state = .refusing(refusal)
            return .drop
        }
        state = .closed
        return .refuse(refusal)
    }

    /// Why a request head is refused before its body is read: a length above the limit, or a transfer coding other
    /// than chunked (which would be ignored and the body misread).
    static func refusal(for request: HTTPRequest, limits: ConnectionLimits) -> Refusal? {
        // One pass over the fields, no arrays: this runs for every request.
        for field in request.headerFields {
            if field.name == .contentLength {
                // NIO's decoder has checked the digits; a number too big for an Int is too big.
                guard let bytes = Int(field.value), bytes <= limits.maxBodyBytes else {
                    return Refusal(
                        status: .contentTooLarge, message: "request body is larger than \(limits.maxBodyBytes) bytes",
                        code: "request_too_large")
                }
            } else if field.name == .transferEncoding {
                let codings = field.value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
                if codings != ["chunked"] {
                    return Refusal(
                        status: .notImplemented, message: "only the chunked transfer coding is supported",
                        code: "unsupported_transfer_coding")
                }
            }
        }
        return nil
    }
}
