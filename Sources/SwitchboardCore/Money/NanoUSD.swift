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
        let sign = value < 0 ? "-" : ""
        let magnitude = value.magnitude
        let whole = magnitude / 1_000_000_000
        var fraction = String(magnitude % 1_000_000_000)
        fraction = String(repeating: "0", count: 9 - fraction.count) + fraction
        while fraction.count > 2, fraction.hasSuffix("0") { fraction.removeLast() }
        return "\(sign)\(whole).\(fraction)"
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
