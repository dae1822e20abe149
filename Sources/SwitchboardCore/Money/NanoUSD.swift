/// An exact amount of money in billionths of a US dollar (1 USD = 1,000,000,000 nano-USD).
public struct NanoUSD: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// The amount in nano-USD.
    public var value: Int64

    /// Wraps a nano-USD amount.
    public init(_ value: Int64) { self.value = value }

    /// Zero dollars.
    public static let zero = NanoUSD(0)

    /// Parses a decimal dollar amount such as "2.25" exactly; nil for malformed text or more than 9 decimals.
    public init?(usd text: String) {
        var s = Substring(text.trimmingCharacters(in: " "))
        var negative = false
        if s.hasPrefix("-") { negative = true; s = s.dropFirst() }
        let pieces = s.split(separator: ".", omittingEmptySubsequences: false)
        guard pieces.count <= 2, let whole = pieces.first, !whole.isEmpty || pieces.count == 2,
            whole.allSatisfy(\.isASCIIDigit)
        else { return nil }
        let fraction = pieces.count == 2 ? pieces[1] : ""
        guard fraction.count <= 9, fraction.allSatisfy(\.isASCIIDigit), !(whole.isEmpty && fraction.isEmpty) else {
            return nil
        }
        let padded = fraction + String(repeating: "0", count: 9 - fraction.count)
        guard let w = Int64(whole.isEmpty ? "0" : whole), let f = Int64(padded) else { return nil }
        let (scaled, o1) = w.multipliedReportingOverflow(by: 1_000_000_000)
        let (sum, o2) = scaled.addingReportingOverflow(f)
        guard !o1, !o2 else { return nil }
        value = negative ? -sum : sum
    }

    /// Decimal dollars for display only ("$0.000123"); never feed this back into arithmetic.
    public var usdString: String {
        // Digits laid out right to left in a fixed buffer: this is on every answer's path (the cost header).
        let magnitude = value.magnitude
        var fraction = magnitude % 1_000_000_000
        var fractionDigits = 9
        while fractionDigits > 2, fraction % 10 == 0 {
            fraction /= 10
            fractionDigits -= 1
        }
        // A sign, at most 10 whole digits, the point and 9 decimals.
        return String(unsafeUninitializedCapacity: 24) { out in
            var end = 24
            func put(_ digit: UInt64) {
                end -= 1
                out[end] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: digit)
            }
            for _ in 0..<fractionDigits {
                put(fraction % 10)
                fraction /= 10
            }
            end -= 1
            out[end] = UInt8(ascii: ".")
            var whole = magnitude / 1_000_000_000
            repeat {
                put(whole % 10)
                whole /= 10
            } while whole > 0
            if value < 0 {
                end -= 1
                out[end] = UInt8(ascii: "-")
            }
            let count = 24 - end
            for i in 0..<count { out[i] = out[end + i] }
            return count
        }
    }

    /// "$" plus the display amount.
    public var description: String { "$" + usdString }

    /// Orders amounts.
    public static func < (a: NanoUSD, b: NanoUSD) -> Bool { a.value < b.value }
    /// Adds amounts, held at the largest or smallest amount rather than trapping on overflow.
    public static func + (a: NanoUSD, b: NanoUSD) -> NanoUSD { NanoUSD(a.value.saturatingAdding(b.value)) }

    /// Encodes as a bare integer.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(value)
    }

    /// Decodes from a bare integer.
    public init(from decoder: any Decoder) throws {
        value = try decoder.singleValueContainer().decode(Int64.self)
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}

extension StringProtocol {
    fileprivate func trimmingCharacters(in set: Character) -> String {
        var s = Substring(self)
        while s.first == set { s.removeFirst() }
        while s.last == set { s.removeLast() }
        return String(s)
    }
}
