/// A Nostr secret key (32 bytes, secp256k1), from hex or NIP-19 `nsec`.
public struct NostrSecretKey: Sendable, Hashable {
    /// The raw key.
    public let bytes: [UInt8]
    /// Its x-only public key.
    public let publicKey: NostrPublicKey

    /// A key from its bytes; nil unless they are a valid secp256k1 secret key.
    public init?(bytes: [UInt8]) {
        guard Secp256k1.isValidSecret(bytes), let xonly = Secp256k1.xOnlyPublicKey(bytes) else { return nil }
        self.bytes = bytes
        publicKey = NostrPublicKey(unchecked: xonly)
    }

    /// A key written as 64 hex digits or as `nsec1...`; nil for anything else.
    public init?(_ text: String) {
        if text.hasPrefix("nsec1") {
            guard let (hrp, bytes) = Bech32.decode(text), hrp == "nsec" else { return nil }
            self.init(bytes: bytes)
        } else {
            guard let bytes = Hex.decode(text) else { return nil }
            self.init(bytes: bytes)
        }
    }

    /// A fresh random key.
    public static func generate() -> NostrSecretKey {
        while true {
            if let key = NostrSecretKey(bytes: Secp256k1.randomBytes(32)) { return key }
        }
    }

    /// The key as 64 lowercase hex digits.
    public var hex: String { Hex.encode(bytes) }
    /// The key as NIP-19 `nsec1...`.
    public var nsec: String { Bech32.encode(hrp: "nsec", bytes: bytes) }
}

/// A Nostr public key: the 32-byte x coordinate (BIP-340), from hex or NIP-19 `npub`.
public struct NostrPublicKey: Sendable, Hashable, CustomStringConvertible {
    /// The raw x-only key.
    public let bytes: [UInt8]

    init(unchecked bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// A key written as 64 hex digits or as `npub1...`; nil for anything else.
    public init?(_ text: String) {
        let bytes: [UInt8]?
        if text.hasPrefix("npub1") {
            guard let (hrp, decoded) = Bech32.decode(text), hrp == "npub" else { return nil }
            bytes = decoded
        } else {
            bytes = Hex.decode(text)
        }
        guard let bytes, bytes.count == 32 else { return nil }
        self.bytes = bytes
    }

    /// The key as 64 lowercase hex digits (how events carry it).
    public var hex: String { Hex.encode(bytes) }
    /// The key as NIP-19 `npub1...`.
    public var npub: String { Bech32.encode(hrp: "npub", bytes: bytes) }
    public var description: String { hex }
}

/// Lowercase hex, as Nostr writes ids, keys and signatures.
enum Hex {
    static func encode(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes of an even-length hex string (either case); nil for anything else.
    static func decode(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count / 2)
        var i = 0
        while i < utf8.count {
            guard let hi = nibble(utf8[i]), let lo = nibble(utf8[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }
}
