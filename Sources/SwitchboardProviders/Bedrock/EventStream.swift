public import NIOCore

/// One message of `application/vnd.amazon.eventstream`: string headers (other header types are read and
/// kept as text) and a payload.
public struct EventStreamMessage: Sendable, Hashable {
    public var headers: [String: String]
    public var payload: [UInt8]

    /// Creates a message.
    public init(headers: [String: String], payload: [UInt8]) {
        self.headers = headers
        self.payload = payload
    }

    /// The framed bytes: prelude with its CRC, string headers (in name order), payload, message CRC.
    public func encoded() -> [UInt8] {
        var h: [UInt8] = []
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) {
            h.append(UInt8(name.utf8.count))
            h += name.utf8
            h.append(7)
            let v = Array(value.utf8)
            h += [UInt8(v.count >> 8), UInt8(v.count & 0xFF)]
            h += v
        }
        let total = 12 + h.count + payload.count + 4
        var out = EventStreamDecoder.be32(UInt32(total)) + EventStreamDecoder.be32(UInt32(h.count))
        out += EventStreamDecoder.be32(CRC32.checksum(out))
        out += h + payload
        out += EventStreamDecoder.be32(CRC32.checksum(out))
        return out
    }
}

/// A frame that cannot be trusted: bad CRC, impossible lengths, truncated headers.
public struct EventStreamError: Error, Sendable, CustomStringConvertible {
    public let description: String
}

/// Reads event-stream messages from byte chunks as they arrive; both CRCs are checked, so a corrupt frame
/// is an error rather than garbage text.
public struct EventStreamDecoder: Sendable {
    private var buffer: [UInt8] = []
    static let maxMessage = 24 << 20 + 128 << 10 + 16

    /// An empty decoder.
    public init() {}

    /// Whether bytes of an unfinished message are waiting.
    public var hasPartialMessage: Bool { !buffer.isEmpty }

    static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }

    static func read32(_ b: ArraySlice<UInt8>, _ at: Int) -> UInt32 {
        let i = b.startIndex + at
        return UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
    }

    /// Every complete message in what has arrived so far.
    public mutating func feed(_ chunk: ByteBuffer) throws(EventStreamError) -> [EventStreamMessage] {
        buffer += chunk.readableBytesView
        var messages: [EventStreamMessage] = []
        var offset = 0
        while buffer.count - offset >= 12 {
            let frame = buffer[offset...]
            let total = Int(Self.read32(frame, 0)), headersLength = Int(Self.read32(frame, 4))
            guard CRC32.checksum(frame.prefix(8)) == Self.read32(frame, 8) else {
                throw EventStreamError(description: "event stream prelude CRC mismatch")
            }
            guard total >= 16, total <= Self.maxMessage, headersLength <= total - 16 else {
                throw EventStreamError(description: "event stream frame with impossible lengths (\(total), \(headersLength))")
            }
            guard frame.count >= total else { break }
            let message = frame.prefix(total)
            guard CRC32.checksum(message.prefix(total - 4)) == Self.read32(message, total - 4) else {
                throw EventStreamError(description: "event stream message CRC mismatch")
            }
            let headers = try Self.headers(message.dropFirst(12).prefix(headersLength))
            messages.append(EventStreamMessage(headers: headers, payload: Array(message.dropFirst(12 + headersLength).dropLast(4))))
            offset += total
        }
        buffer.removeFirst(offset)
        return messages
    }

    static func headers(_ bytes: ArraySlice<UInt8>) throws(EventStreamError) -> [String: String] {
        var out: [String: String] = [:]
        var i = bytes.startIndex
        func need(_ n: Int) throws(EventStreamError) {
            guard bytes.endIndex - i >= n else { throw EventStreamError(description: "event stream headers are truncated") }
        }
        while i < bytes.endIndex {
            try need(1)
            let nameLength = Int(bytes[i])
            i += 1
            try need(nameLength + 1)
            let name = String(decoding: bytes[i..<i + nameLength], as: UTF8.self)
            i += nameLength
            let type = bytes[i]
            i += 1
            let fixed: [UInt8: Int] = [0: 0, 1: 0, 2: 1, 3: 2, 4: 4, 5: 8, 8: 8, 9: 16]
            switch type {
            case 0: out[name] = "true"
            case 1: out[name] = "false"
            case 6, 7:
                try need(2)
                let length = Int(bytes[i]) << 8 | Int(bytes[i + 1])
                i += 2
                try need(length)
                out[name] = String(decoding: bytes[i..<i + length], as: UTF8.self)
                i += length
            default:
                guard let size = fixed[type] else { throw EventStreamError(description: "event stream header type \(type) is unknown") }
                try need(size)
                out[name] = bytes[i..<i + size].map { String($0, radix: 16).leftPadded(2) }.joined()
                i += size
            }
        }
        return out
    }
}

/// CRC-32 (IEEE 802.3, as zlib computes it).
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes { crc = table[Int((crc ^ UInt32(b)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}
