import Crypto
public import SwitchboardCore

/// Why an event was refused.
public struct NostrEventError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String
}

/// A NIP-01 event: its id is the SHA-256 of its canonical serialization, its signature the author's BIP-340 Schnorr
/// signature of that id.
public struct NostrEvent: Sendable, Hashable {
    /// 32-byte lowercase hex.
    public var id: String
    /// The author's x-only public key, 32-byte lowercase hex.
    public var pubkey: String
    /// Unix seconds.
    public var createdAt: Int64
    public var kind: Int
    public var tags: [[String]]
    public var content: String
    /// 64-byte lowercase hex.
    public var sig: String

    /// An event signed by `key`; `aux` fixes BIP-340's auxiliary randomness (tests), fresh by default.
    public static func signed(
        kind: Int, tags: [[String]] = [], content: String, createdAt: Int64, by key: NostrSecretKey, aux: [UInt8]? = nil
    ) -> NostrEvent {
        let pubkey = key.publicKey.hex
        let digest = Array(SHA256.hash(data: serialized(pubkey: pubkey, createdAt: createdAt, kind: kind, tags: tags, content: content)))
        // A valid key signs any 32-byte message; nil here is a broken library, not bad input.
        let signature = Secp256k1.sign(digest, secret: key.bytes, aux: aux) ?? []
        return NostrEvent(
            id: Hex.encode(digest), pubkey: pubkey, createdAt: createdAt, kind: kind, tags: tags, content: content,
            sig: Hex.encode(signature))
    }

    /// The exact bytes hashed for the id: `[0,pubkey,created_at,kind,tags,content]`, no whitespace, NIP-01's escapes.
    public static func serialized(pubkey: String, createdAt: Int64, kind: Int, tags: [[String]], content: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(128 + content.utf8.count)
        out += Array("[0,".utf8)
        appendString(pubkey, to: &out)
        out += Array(",\(createdAt),\(kind),[".utf8)
        for (i, tag) in tags.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "["))
            for (j, value) in tag.enumerated() {
                if j > 0 { out.append(UInt8(ascii: ",")) }
                appendString(value, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        }
        out += Array("],".utf8)
        appendString(content, to: &out)
        out.append(UInt8(ascii: "]"))
        return out
    }

    /// A JSON string as NIP-01 writes it: LF, `"`, `\`, CR, TAB, BS and FF escaped, other control characters as
    /// `\u00XX`, everything else verbatim (no `\/`, no escapes for non-ASCII).
    static func appendString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case 0x0A: out += [0x5C, UInt8(ascii: "n")]
            case 0x22: out += [0x5C, 0x22]
            case 0x5C: out += [0x5C, 0x5C]
            case 0x0D: out += [0x5C, UInt8(ascii: "r")]
            case 0x09: out += [0x5C, UInt8(ascii: "t")]
            case 0x08: out += [0x5C, UInt8(ascii: "b")]
            case 0x0C: out += [0x5C, UInt8(ascii: "f")]
            case 0..<0x20: out += Array("\\u00".utf8) + Array(Hex.encode([b]).utf8)
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Checks the event as a received one must be: the id is the hash of the fields and the signature is the
    /// author's.
    public func verify() throws(NostrEventError) {
        guard let pubkeyBytes = Hex.decode(pubkey), pubkeyBytes.count == 32 else { throw NostrEventError(description: "bad pubkey") }
        let digest = Array(
            SHA256.hash(data: Self.serialized(pubkey: pubkey, createdAt: createdAt, kind: kind, tags: tags, content: content)))
        guard Hex.decode(id) == digest else { throw NostrEventError(description: "the id is not the hash of the event") }
        guard let signature = Hex.decode(sig), Secp256k1.verify(signature, message: digest, publicKey: pubkeyBytes) else {
            throw NostrEventError(description: "the signature is not the author's")
        }
    }

    /// An event as a relay sends it; throws for a missing or mistyped field (it is not verified here: `verify`).
    public init(json: JSONValue) throws(NostrEventError) {
        func string(_ name: String) throws(NostrEventError) -> String {
            guard let value = json[name]?.stringValue else { throw NostrEventError(description: "'\(name)' must be a string") }
            return value
        }
        guard let createdAt = json["created_at"]?.intValue, let kind = json["kind"]?.intValue, (0...65_535).contains(kind) else {
            throw NostrEventError(description: "'created_at' and 'kind' must be integers")
        }
        guard let rawTags = json["tags"]?.arrayValue else { throw NostrEventError(description: "'tags' must be an array") }
        var tags: [[String]] = []
        for tag in rawTags {
            guard let values = tag.arrayValue?.compactMap(\.stringValue), values.count == tag.arrayValue?.count else {
                throw NostrEventError(description: "every tag must be an array of strings")
            }
            tags.append(values)
        }
        self.init(
            id: try string("id"), pubkey: try string("pubkey"), createdAt: createdAt, kind: Int(kind), tags: tags,
            content: try string("content"), sig: try string("sig"))
    }

    /// Creates an event from its fields as they are.
    public init(id: String, pubkey: String, createdAt: Int64, kind: Int, tags: [[String]], content: String, sig: String) {
        self.id = id
        self.pubkey = pubkey
        self.createdAt = createdAt
        self.kind = kind
        self.tags = tags
        self.content = content
        self.sig = sig
    }

    /// The event as JSON, for an `EVENT` message.
    public var json: JSONValue {
        [
            "id": .string(id), "pubkey": .string(pubkey), "created_at": .int(createdAt), "kind": .int(Int64(kind)),
            "tags": .array(tags.map { .array($0.map(JSONValue.string)) }), "content": .string(content), "sig": .string(sig),
        ]
    }

    /// The values of the tags named `name` (each tag's second element).
    public func values(of name: String) -> [String] {
        tags.filter { $0.first == name && $0.count > 1 }.map { $0[1] }
    }
}
