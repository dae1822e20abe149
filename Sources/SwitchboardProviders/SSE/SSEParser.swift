public import NIOCore

/// One server-sent event.
public struct SSEEvent: Sendable, Hashable {
    /// The `event:` field, when sent.
    public var event: String?
    /// The `data:` lines joined with newlines.
    public var data: String
    /// The `id:` field, when sent.
    public var id: String?

    /// Creates an event.
    public init(event: String? = nil, data: String, id: String? = nil) {
        self.event = event
        self.data = data
        self.id = id
    }
}

/// Incremental SSE parser over byte chunks: lines may split anywhere (even between CR and LF),
/// accepts LF, CRLF and CR endings, skips comments (keep-alives) and dispatches on blank lines.
public struct SSEParser: Sendable {
    private var line: [UInt8] = []
    private var afterCR = false
    private var data: [String] = []
    private var hasData = false
    private var eventName: String?
    private var lastID: String?
    /// Longest line accepted; a longer one is an upstream fault, not something to buffer forever.
    public let maxLineBytes: Int

    /// Creates a parser.
    public init(maxLineBytes: Int = 8 << 20) {
        self.maxLineBytes = maxLineBytes
    }

    /// Feeds one chunk and returns the events it completed.
    public mutating func feed(_ buffer: ByteBuffer) throws(SSEParseError) -> [SSEEvent] {
        var events: [SSEEvent] = []
        for byte in buffer.readableBytesView {
            switch byte {
            case UInt8(ascii: "\n"):
                if afterCR { afterCR = false; continue }
                endLine(into: &events)
            case UInt8(ascii: "\r"):
                endLine(into: &events)
                afterCR = true
            default:
                afterCR = false
                line.append(byte)
                if line.count > maxLineBytes { throw SSEParseError.lineTooLong(maxLineBytes) }
            }
        }
        return events
    }

    /// Ends the input: a last event not followed by a blank line is still delivered.
    public mutating func finish() -> [SSEEvent] {
        var events: [SSEEvent] = []
        if !line.isEmpty { endLine(into: &events) }
        dispatch(into: &events)
        return events
    }

    private mutating func endLine(into events: inout [SSEEvent]) {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            dispatch(into: &events)
            return
        }
        if line.first == UInt8(ascii: ":") { return }
        let field: String
        var value: String
        if let colon = line.firstIndex(of: UInt8(ascii: ":")) {
            field = String(decoding: line[..<colon], as: UTF8.self)
            var start = line.index(after: colon)
            if start < line.endIndex, line[start] == UInt8(ascii: " ") { start += 1 }
            value = String(decoding: line[start...], as: UTF8.self)
        } else {
            field = String(decoding: line, as: UTF8.self)
            value = ""
        }
        switch field {
        case "data":
            data.append(value)
            hasData = true
        case "event": eventName = value
        case "id": lastID = value
        default: value = ""
        }
    }

    private mutating func dispatch(into events: inout [SSEEvent]) {
        if hasData {
            events.append(SSEEvent(event: eventName, data: data.joined(separator: "\n"), id: lastID))
        }
        data.removeAll(keepingCapacity: true)
        hasData = false
        eventName = nil
    }
}

/// The stream was not valid SSE.
public enum SSEParseError: Error, Sendable, Hashable {
    case lineTooLong(Int)
}
