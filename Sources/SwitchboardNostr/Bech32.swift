/// Bech32 (BIP-173), as NIP-19 uses it for `nsec` and `npub`: a human-readable prefix, `1`, and the data in 5-bit
/// groups with a six-character checksum.
enum Bech32 {
    private static let charset = Array("qpzry9x8gf2tvdw0s3jn54khce6mua7l".utf8)
    private static let generator: [UInt32] = [0x3b6a_57b2, 0x2650_8e6d, 0x1ea1_19fa, 0x3d42_33dd, 0x2a14_62b3]

    private static func polymod(_ values: [UInt8]) -> UInt32 {
        var chk: UInt32 = 1
        for v in values {
            let top = chk >> 25
            chk = (chk & 0x1ff_ffff) << 5 ^ UInt32(v)
            for i in 0..<5 where (top >> UInt32(i)) & 1 == 1 { chk ^= generator[i] }
        }
        return chk
    }

    private static func expand(_ hrp: [UInt8]) -> [UInt8] {
        hrp.map { $0 >> 5 } + [0] + hrp.map { $0 & 31 }
    }

    /// `bytes` regrouped from `from`-bit to `to`-bit groups; nil when decoding leaves stray bits.
    static func regroup(_ bytes: [UInt8], from: Int, to: Int, pad: Bool) -> [UInt8]? {
        var acc = 0
        var bits = 0
        var out: [UInt8] = []
        let maxv = (1 << to) - 1
        for b in bytes {
            acc = (acc << from) | Int(b)
            bits += from
            while bits >= to {
                bits -= to
                out.append(UInt8((acc >> bits) & maxv))
            }
        }
        if pad {
            if bits > 0 { out.append(UInt8((acc << (to - bits)) & maxv)) }
        } else if bits >= from || (acc << (to - bits)) & maxv != 0 {
            return nil
        }
        return out
    }

    static func encode(hrp: String, bytes: [UInt8]) -> String {
        let h = Array(hrp.utf8)
        let data = regroup(bytes, from: 8, to: 5, pad: true) ?? []
        let mod = polymod(expand(h) + data + [0, 0, 0, 0, 0, 0]) ^ 1
        let checksum = (0..<6).map { UInt8((mod >> (5 * (5 - UInt32($0)))) & 31) }
        return hrp + "1" + String(decoding: (data + checksum).map { charset[Int($0)] }, as: UTF8.self)
    }

    /// The prefix and bytes of a bech32 string; nil when it is not one (mixed case, bad characters or checksum).
    static func decode(_ text: String) -> (hrp: String, bytes: [UInt8])? {
        guard let (hrp, words) = decodeWords(text), let bytes = regroup(words, from: 5, to: 8, pad: false) else { return nil }
        return (hrp, bytes)
    }

    /// The prefix and 5-bit groups of a bech32 string, checksum removed (BOLT 11 reads them as a bit stream);
    /// nil when it is not one.
    static func decodeWords(_ text: String, limit: Int = 1000) -> (hrp: String, words: [UInt8])? {
        guard text.utf8.count <= limit, text.lowercased() == text || text.uppercased() == text else { return nil }
        let lower = Array(text.lowercased().utf8)
        guard let separator = lower.lastIndex(of: UInt8(ascii: "1")), separator >= 1, lower.count - separator > 6 else { return nil }
        let hrp = Array(lower[..<separator])
        var data: [UInt8] = []
        for c in lower[(separator + 1)...] {
            guard let index = charset.firstIndex(of: c) else { return nil }
            data.append(UInt8(index))
        }
        guard polymod(expand(hrp) + data) == 1 else { return nil }
        return (String(decoding: hrp, as: UTF8.self), Array(data.dropLast(6)))
    }
}
