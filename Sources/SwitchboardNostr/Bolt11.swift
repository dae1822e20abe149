import Crypto

/// Why an invoice is not paid.
public struct Bolt11Error: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String
}

/// What a BOLT 11 Lightning invoice says about itself: its network, amount, payment hash, creation time and expiry.
/// The payee's signature is not checked here; the wallet that pays it does.
public struct Bolt11Invoice: Sendable, Hashable {
    /// The currency prefix: `bc` (mainnet), `tb` (testnet), `tbs` (signet), `bcrt` (regtest).
    public var network: String
    /// The amount in msats; nil for an invoice that leaves the amount to the payer.
    public var amountMsats: Int64?
    /// Unix seconds.
    public var timestamp: Int64
    /// Seconds after `timestamp` that the invoice is payable (3600 unless it says).
    public var expiry: Int64 = 3600
    public var paymentHash: [UInt8]?
    public var description: String?

    /// Reads an invoice (with or without a `lightning:` prefix).
    public init(_ text: String) throws(Bolt11Error) {
        var text = text.lowercased()
        if text.hasPrefix("lightning:") { text.removeFirst("lightning:".count) }
        guard let (hrp, words) = Bech32.decodeWords(text, limit: 7089), hrp.hasPrefix("ln") else {
            throw Bolt11Error(description: "not a BOLT 11 invoice")
        }
        let rest = hrp.dropFirst(2)
        network = String(rest.prefix { !$0.isNumber })
        guard ["bc", "tb", "tbs", "bcrt"].contains(network) else { throw Bolt11Error(description: "unknown network prefix ln\(network)") }
        amountMsats = try Self.amount(String(rest.dropFirst(network.count)))
        // A timestamp (7 groups), tagged fields, then the 65-byte signature (104 groups).
        guard words.count >= 7 + 104 else { throw Bolt11Error(description: "the invoice is too short") }
        timestamp = Self.integer(words[0..<7])
        var i = 7
        let end = words.count - 104
        while i + 3 <= end {
            let type = words[i]
            let length = Int(words[i + 1]) * 32 + Int(words[i + 2])
            i += 3
            guard i + length <= end else { throw Bolt11Error(description: "a field runs past the signature") }
            let field = words[i..<(i + length)]
            i += length
            switch type {
            case 1 where length == 52: paymentHash = Bech32.regroup(Array(field), from: 5, to: 8, pad: false)
            case 6 where length <= 12: expiry = Self.integer(field)
            case 13: description = Bech32.regroup(Array(field), from: 5, to: 8, pad: false).map { String(decoding: $0, as: UTF8.self) }
            default: break
            }
        }
        guard i == end else { throw Bolt11Error(description: "the fields do not end where the signature starts") }
    }

    /// When it can no longer be paid (unix seconds).
    public var expiresAt: Int64 { timestamp.addingReportingOverflow(expiry).overflow ? .max : timestamp + expiry }

    /// Checks it before paying `msats` for it: the network is `network`, it has not expired at `now`, and it asks
    /// exactly `msats` (or leaves the amount to the payer).
    public func check(msats: Int64, network expected: String, now: Int64) throws(Bolt11Error) {
        guard network == expected else { throw Bolt11Error(description: "the invoice is for ln\(network), not ln\(expected)") }
        guard now < expiresAt else { throw Bolt11Error(description: "the invoice expired") }
        if let amountMsats, amountMsats != msats {
            throw Bolt11Error(description: "the invoice asks \(amountMsats) msats, the DVM said \(msats)")
        }
    }

    /// Whether `preimage` is the one this invoice's payment hash commits to.
    public func isPaid(by preimage: [UInt8]) -> Bool {
        guard let paymentHash else { return false }
        return Array(SHA256.hash(data: preimage)) == paymentHash
    }

    /// Whether the hex `preimage` is the one this invoice's payment hash commits to.
    public func isPaid(byHex preimage: String) -> Bool {
        Hex.decode(preimage).map(isPaid(by:)) ?? false
    }

    private static func integer(_ words: ArraySlice<UInt8>) -> Int64 {
        words.reduce(0) { $0 << 5 | Int64($1) }
    }

    /// The human-readable part's amount in msats: digits and a multiplier (m, u, n, p of a bitcoin).
    private static func amount(_ text: String) throws(Bolt11Error) -> Int64? {
        guard !text.isEmpty else { return nil }
        var digits = Substring(text)
        var perUnit: (multiply: Int64, divide: Int64) = (100_000_000_000, 1)
        if let last = text.last, !last.isNumber {
            digits = digits.dropLast()
            switch last {
            case "m": perUnit = (100_000_000, 1)
            case "u": perUnit = (100_000, 1)
            case "n": perUnit = (100, 1)
            case "p": perUnit = (1, 10)
            default: throw Bolt11Error(description: "unknown amount multiplier \(last)")
            }
        }
        guard !digits.isEmpty, digits.allSatisfy(\.isNumber), !(digits.count > 1 && digits.first == "0"), let value = Int64(digits) else {
            throw Bolt11Error(description: "unreadable amount \(text)")
        }
        let (product, overflow) = value.multipliedReportingOverflow(by: perUnit.multiply)
        guard !overflow, product % perUnit.divide == 0 else { throw Bolt11Error(description: "the amount \(text) is not whole msats") }
        return product / perUnit.divide
    }
}
