import SwitchboardCore
import Testing

@testable import SwitchboardNostr

/// NIP-01 events, BIP-340 signatures and NIP-19 keys, against the vectors in the reference (BIP-340's vector 0 and
/// two events computed with a reference implementation).
@Suite struct NostrEventTests {
    static let three = NostrSecretKey(String(repeating: "0", count: 63) + "3")!
    static let zeros = [UInt8](repeating: 0, count: 32)

    @Test func bip340VectorZeroSignsAsTheReferenceDoes() throws {
        #expect(Self.three.publicKey.hex == "f9308a019258c31049344f85f89d5229b531c845836f99b08601f113bce036f9")
        let sig = try #require(Secp256k1.sign(Self.zeros, secret: Self.three.bytes, aux: Self.zeros))
        #expect(
            Hex.encode(sig).uppercased()
                == "E907831F80848D1069A5371B402410364BDF1C5F8307B0084C55F1CE2DCA821525F66A4A85EA8B71E482A74F382D2CE5EBEEE8FDB2172F477DF4900D310536C0"
        )
        #expect(Secp256k1.verify(sig, message: Self.zeros, publicKey: Self.three.publicKey.bytes))
    }

    @Test func aJobRequestHasTheReferenceIdAndSignature() throws {
        let tags = [
            ["i", "What is the capital of France?", "text"], ["param", "model", "llama3"], ["param", "max_tokens", "512"],
            ["output", "text/plain"], ["bid", "10000"], ["relays", "wss://relay.example.com"],
        ]
        let event = NostrEvent.signed(kind: 5050, tags: tags, content: "", createdAt: 1_700_000_000, by: Self.three, aux: Self.zeros)
        #expect(event.id == "067e98f4e37b1a51ae9976d5ced3fe21ac26327a0effa45a830c79b3c1296e62")
        #expect(
            event.sig
                == "32d07ce53e436ba45d62e9c436ac13e88a3d9c3f71dc5fbfff5efd0ef2083e699734af61b17962a36e5343ac8d7baf7baa2d1e3ececa628962fe84f971aa7cd0"
        )
        try event.verify()
        #expect(event.values(of: "param") == ["model", "max_tokens"])
    }

    @Test func contentIsEscapedExactlyAsNIP01Says() throws {
        let content = "line1\n\"quoted\"\\ tab\tend"
        let bytes = NostrEvent.serialized(
            pubkey: Self.three.publicKey.hex, createdAt: 1_700_000_000, kind: 1, tags: [], content: content)
        #expect(
            String(decoding: bytes, as: UTF8.self)
                == #"[0,"f9308a019258c31049344f85f89d5229b531c845836f99b08601f113bce036f9",1700000000,1,[],"line1\n\"quoted\"\\ tab\tend"]"#
        )
        let event = NostrEvent.signed(kind: 1, content: content, createdAt: 1_700_000_000, by: Self.three)
        #expect(event.id == "1ed0630a50c82375caace7c948165421358e7448527afc4f9bfa4dcfcf64a683")
        // No escape for '/' or for non-ASCII.
        let verbatim = NostrEvent.serialized(pubkey: "p", createdAt: 0, kind: 1, tags: [["u", "a/b"]], content: "é€")
        #expect(String(decoding: verbatim, as: UTF8.self) == #"[0,"p",0,1,[["u","a/b"]],"é€"]"#)
    }

    @Test func aTamperedEventOrAForeignSignatureIsRefused() throws {
        let key = NostrSecretKey.generate()
        let event = NostrEvent.signed(
            kind: 6050, tags: [["e", String(repeating: "a", count: 64)]], content: "Paris", createdAt: 1, by: key)
        try event.verify()
        let parsed = try NostrEvent(json: try Array(event.json.jsonString().utf8).withUnsafeBytes { try JSONValue.parse(bytes: $0) })
        #expect(parsed == event)
        var edited = event
        edited.content = "Lyon"
        #expect(throws: NostrEventError.self) { try edited.verify() }
        var forged = NostrEvent.signed(kind: 6050, content: "Lyon", createdAt: 1, by: NostrSecretKey.generate())
        forged.pubkey = event.pubkey
        #expect(throws: NostrEventError.self) { try forged.verify() }
        #expect(throws: NostrEventError.self) { try NostrEvent(json: ["id": "x", "kind": "1"]) }
    }

    @Test func keysReadAndWriteHexAndNIP19() throws {
        // NIP-19's own example pair.
        let npub = try #require(NostrPublicKey("npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjptg"))
        #expect(npub.hex == "7e7e9c42a91bfef19fa929e5fda1b72e0ebc1a4c1141673e2794234d86addf4e")
        let nsec = try #require(NostrSecretKey("nsec1vl029mgpspedva04g90vltkh6fvh240zqtv9k0t9af8935ke9laqsnlfe5"))
        #expect(nsec.hex == "67dea2ed018072d675f5415ecfaed7d2597555e202d85b3d65ea4e58d2d92ffa")
        #expect(nsec.nsec == "nsec1vl029mgpspedva04g90vltkh6fvh240zqtv9k0t9af8935ke9laqsnlfe5")
        #expect(npub.npub == "npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjptg")
        #expect(NostrSecretKey(String(repeating: "0", count: 64)) == nil, "zero is not a key")
        #expect(NostrSecretKey("nsec1vl029mgpspedva04g90vltkh6fvh240zqtv9k0t9af8935ke9laqsnlfe6") == nil, "bad checksum")
        #expect(NostrPublicKey("xyz") == nil)
    }
}
