public import Foundation

extension JSONValue {
    /// Parses JSON text (RFC 8259; any value at the top, as Foundation's `fragmentsAllowed`).
    ///
    /// Our own reader, the counterpart of `write(into:)`: every request body and upstream answer goes through
    /// it, and `JSONSerialization` spent most of its time bridging Foundation's objects into this enum. Numbers
    /// without a fraction or exponent that fit in 64 bits are `.int`, all others `.double`.
    public static func parse(_ data: Data) throws -> JSONValue {
        try data.withUnsafeBytes { try parse(bytes: $0) }
    }

    /// Parses JSON text held in `bytes`.
    public static func parse(bytes: UnsafeRawBufferPointer) throws -> JSONValue {
        var reader = JSONReader(bytes)
        reader.skipWhitespace()
        let value = try reader.value(depth: 0)
        reader.skipWhitespace()
        guard reader.atEnd else { throw reader.error("unexpected text after the JSON value") }
        return value
    }

    /// Parses JSON text and notes what forwarding that text instead of writing the value again needs: where the
    /// top-level object's `member` has its value, and whether any object names a member twice.
    public static func parse(bytes: UnsafeRawBufferPointer, noting member: String) throws -> (JSONValue, JSONParseNotes) {
        var reader = JSONReader(bytes)
        reader.noted = member
        reader.skipWhitespace()
        let value = try reader.value(depth: 0)
        reader.skipWhitespace()
        guard reader.atEnd else { throw reader.error("unexpected text after the JSON value") }
        return (value, reader.notes)
    }

    /// Parses JSON text but builds only the top-level object's members named in `members`: the others are checked
    /// (strings for escapes, not for UTF-8) and kept only as their shape (an empty object, an array of as many
    /// nulls as it had elements up to one, an empty string, null), for a caller that reads a few fields of a large
    /// body (a completion's usage) and passes the body on as it came.
    public static func parse(bytes: UnsafeRawBufferPointer, building members: Set<String>) throws -> JSONValue {
        var reader = JSONReader(bytes)
        reader.skipWhitespace()
        guard !reader.atEnd, bytes[reader.i] == UInt8(ascii: "{") else { return try parse(bytes: bytes) }
        let value = try reader.object(depth: 1, building: members)
        reader.skipWhitespace()
        guard reader.atEnd else { throw reader.error("unexpected text after the JSON value") }
        return value
    }
}

/// What `JSONValue.parse(bytes:noting:)` saw besides the value.
public struct JSONParseNotes: Sendable, Equatable {
    /// The byte range of the noted top-level member's value; nil when the text is not an object with that member.
    public var span: Range<Int>?
    /// Whether some object in the text names a member twice: the parsed value keeps the last, and a reader of the
    /// text itself may keep the first, so the text no longer says what the value says.
    public var repeatedMember = false
}

/// A malformed JSON text, with the byte offset where reading stopped.
public struct JSONParseError: Error, Sendable, CustomStringConvertible {
    /// What was wrong.
    public var reason: String
    /// Byte offset in the text.
    public var offset: Int

    /// "invalid JSON at byte N: reason".
    public var description: String { "invalid JSON at byte \(offset): \(reason)" }
}

private struct JSONReader {
    /// Nesting deeper than this is refused rather than risking the stack.
    static let maxDepth = 512

    let bytes: UnsafeRawBufferPointer
    var i = 0
    /// The top-level member whose value's span `notes` keeps, if any.
    var noted: String?
    var notes = JSONParseNotes()

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var atEnd: Bool { i >= bytes.count }

    func error(_ reason: String) -> JSONParseError { JSONParseError(reason: reason, offset: i) }

    mutating func skipWhitespace() {
        while i < bytes.count {
            switch bytes[i] {
            case 0x20, 0x0A, 0x0D, 0x09: i += 1
            default: return
            }
        }
    }

    mutating func value(depth: Int) throws -> JSONValue {
        guard i < bytes.count else { throw error("unexpected end of text") }
        switch bytes[i] {
        case UInt8(ascii: "{"): return try object(depth: depth + 1)
        case UInt8(ascii: "["): return try array(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw error("unexpected character")
        }
    }

    mutating func literal(_ word: StaticString) throws {
        let n = word.utf8CodeUnitCount
        guard bytes.count - i >= n, memcmp(bytes.baseAddress! + i, word.utf8Start, n) == 0 else {
            throw error("invalid literal")
        }
        i += n
    }

    mutating func object(depth: Int, building members: Set<String>? = nil) throws -> JSONValue {
        guard depth <= Self.maxDepth else { throw error("nested too deeply") }
        i += 1
        var out: [String: JSONValue] = [:]
        // Most objects have a few members: no growth from one to two to four. A completion's top level (the one
        // read with `building`) has six to eight.
        out.reserveCapacity(members == nil ? 4 : 8)
        skipWhitespace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "}") {
            i += 1
            return .object(out)
        }
        while true {
            skipWhitespace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw error("expected a member name") }
            let key = try string()
            skipWhitespace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw error("expected ':'") }
            i += 1
            skipWhitespace()
            if let members, !members.contains(key) {
                out[key] = try shape(depth: depth)
            } else {
                let from = i
                let member = try value(depth: depth)
                if depth == 1, let noted, key == noted { notes.span = from..<i }
                if out.updateValue(member, forKey: key) != nil { notes.repeatedMember = true }
            }
            skipWhitespace()
            guard i < bytes.count else { throw error("unterminated object") }
            switch bytes[i] {
            case UInt8(ascii: ","): i += 1
            case UInt8(ascii: "}"):
                i += 1
                return .object(out)
            default: throw error("expected ',' or '}'")
            }
        }
    }

    /// Checks one value and returns only its shape (see `parse(bytes:building:)`).
    mutating func shape(depth: Int) throws -> JSONValue {
        guard i < bytes.count else { throw error("unexpected end of text") }
        switch bytes[i] {
        case UInt8(ascii: "{"):
            try skipContainer(depth: depth + 1, close: UInt8(ascii: "}"), members: true)
            return .object([:])
        case UInt8(ascii: "["):
            return .array(try skipContainer(depth: depth + 1, close: UInt8(ascii: "]"), members: false) ? [.null] : [])
        case UInt8(ascii: "\""):
            try skipString()
            return .string("")
        default:
            _ = try value(depth: depth)
            return .null
        }
    }

    /// Checks an object's or array's members without keeping them; whether it had any.
    mutating func skipContainer(depth: Int, close: UInt8, members: Bool) throws -> Bool {
        guard depth <= Self.maxDepth else { throw error("nested too deeply") }
        i += 1
        skipWhitespace()
        if i < bytes.count, bytes[i] == close {
            i += 1
            return false
        }
        while true {
            skipWhitespace()
            if members {
                guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw error("expected a member name") }
                try skipString()
                skipWhitespace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw error("expected ':'") }
                i += 1
                skipWhitespace()
            }
            _ = try shape(depth: depth)
            skipWhitespace()
            guard i < bytes.count else { throw error("unterminated container") }
            switch bytes[i] {
            case UInt8(ascii: ","): i += 1
            case close:
                i += 1
                return true
            default: throw error(members ? "expected ',' or '}'" : "expected ',' or ']'")
            }
        }
    }

    mutating func skipString() throws {
        i += 1
        while i < bytes.count {
            switch bytes[i] {
            case UInt8(ascii: "\""):
                i += 1
                return
            case UInt8(ascii: "\\"):
                i += 1
                guard i < bytes.count else { throw error("unterminated escape") }
                let e = bytes[i]
                i += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"), UInt8(ascii: "n"),
                    UInt8(ascii: "r"), UInt8(ascii: "t"):
                    break
                case UInt8(ascii: "u"): _ = try hex4()
                default: throw error("invalid escape")
                }
            case ..<0x20: throw error("control character in a string")
            default: i += 1
            }
        }
        throw error("unterminated string")
    }

    mutating func array(depth: Int) throws -> JSONValue {
        guard depth <= Self.maxDepth else { throw error("nested too deeply") }
        i += 1
        var out: [JSONValue] = []
        skipWhitespace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "]") {
            i += 1
            return .array(out)
        }
        while true {
            skipWhitespace()
            out.append(try value(depth: depth))
            skipWhitespace()
            guard i < bytes.count else { throw error("unterminated array") }
            switch bytes[i] {
            case UInt8(ascii: ","): i += 1
            case UInt8(ascii: "]"):
                i += 1
                return .array(out)
            default: throw error("expected ',' or ']'")
            }
        }
    }

    /// A string starting at the opening quote. Plain runs are copied whole; the text must be valid UTF-8.
    mutating func string() throws -> String {
        i += 1
        let start = i
        var ascii = true
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") {
                // ASCII needs no validation (most keys and values): the generic validating initializer costs more
                // than the rest of the string's parse.
                let s = ascii ? String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self) : try utf8(start, i)
                i += 1
                return s
            }
            if b >= 0x80 { ascii = false }
            if b == UInt8(ascii: "\\") { break }
            if b < 0x20 { throw error("control character in a string") }
            i += 1
        }
        guard i < bytes.count else { throw error("unterminated string") }
        // Escapes: build the bytes, then validate once.
        var out = [UInt8](UnsafeRawBufferPointer(rebasing: bytes[start..<i]))
        while i < bytes.count {
            let b = bytes[i]
            switch b {
            case UInt8(ascii: "\""):
                i += 1
                guard let s = String(validating: out, as: UTF8.self) else { throw error("invalid UTF-8 in a string") }
                return s
            case UInt8(ascii: "\\"):
                i += 1
                guard i < bytes.count else { throw error("unterminated escape") }
                let e = bytes[i]
                i += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"): try unicodeEscape(into: &out)
                default: throw error("invalid escape")
                }
            case ..<0x20: throw error("control character in a string")
            default:
                out.append(b)
                i += 1
            }
        }
        throw error("unterminated string")
    }

    mutating func hex4() throws -> UInt32 {
        guard bytes.count - i >= 4 else { throw error("short \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[i]
            let d: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
            default: throw error("invalid \\u escape")
            }
            v = v << 4 | UInt32(d)
            i += 1
        }
        return v
    }

    /// `\uXXXX`, joining a surrogate pair; a lone surrogate is refused (it has no UTF-8 form).
    mutating func unicodeEscape(into out: inout [UInt8]) throws {
        var scalar = try hex4()
        if (0xD800..<0xDC00).contains(scalar) {
            guard bytes.count - i >= 6, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
                throw error("unpaired surrogate")
            }
            i += 2
            let low = try hex4()
            guard (0xDC00..<0xE000).contains(low) else { throw error("unpaired surrogate") }
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
        } else if (0xDC00..<0xE000).contains(scalar) {
            throw error("unpaired surrogate")
        }
        guard let u = Unicode.Scalar(scalar) else { throw error("invalid \\u escape") }
        out.append(contentsOf: UTF8.encode(u)!)
    }

    func utf8(_ from: Int, _ to: Int) throws -> String {
        let slice = UnsafeRawBufferPointer(rebasing: bytes[from..<to])
        guard let s = String(validating: slice, as: UTF8.self) else { throw error("invalid UTF-8 in a string") }
        return s
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    mutating func number() throws -> JSONValue {
        let start = i
        var integral = true
        let negative = bytes[i] == UInt8(ascii: "-")
        if negative { i += 1 }
        guard i < bytes.count, isDigit(bytes[i]) else { throw error("invalid number") }
        // The integer part accumulated as it is read (as a negative number, which reaches Int64.min), so the
        // common integers (token counts, timestamps) need no text to convert.
        var magnitude: Int64 = 0
        var fits = true
        if bytes[i] == UInt8(ascii: "0") {
            i += 1
        } else {
            while i < bytes.count, isDigit(bytes[i]) {
                if fits {
                    let (m, o1) = magnitude.multipliedReportingOverflow(by: 10)
                    let (d, o2) = m.subtractingReportingOverflow(Int64(bytes[i] - UInt8(ascii: "0")))
                    fits = !(o1 || o2)
                    magnitude = d
                }
                i += 1
            }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            integral = false
            i += 1
            guard i < bytes.count, isDigit(bytes[i]) else { throw error("invalid number") }
            while i < bytes.count, isDigit(bytes[i]) { i += 1 }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            integral = false
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard i < bytes.count, isDigit(bytes[i]) else { throw error("invalid number") }
            while i < bytes.count, isDigit(bytes[i]) { i += 1 }
        }
        if integral, fits {
            if negative { return .int(magnitude) }
            if magnitude != .min { return .int(-magnitude) }
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
        guard let d = Double(text), d.isFinite else { throw error("number out of range") }
        return .double(d)
    }

    func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
}
