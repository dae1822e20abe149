import Testing

@testable import SwitchboardNostr

/// NIP-44 v2 against the NIP's vector, and both schemes round trip between two parties.
@Suite struct NostrEncryptionTests {
    static func key(_ n: UInt8) -> NostrSecretKey { NostrSecretKey(bytes: [UInt8](repeating: 0, count: 31) + [n])! }

    @Test func nip44MatchesTheSpecificationsVector() throws {
        let (one, two) = (Self.key(1), Self.key(2))
        #expect(
            Hex.encode(Secp256k1.sharedX(secret: one.bytes, peer: two.publicKey.bytes) ?? [])
                == "c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5")
        let conversation = try NIP44.conversationKey(secret: one, peer: two.publicKey)
        #expect(Hex.encode(conversation.bytes) == "c41c775356fd92eadc63ff5a0dc1da211b268cbea22316767095b2871ea1412d")
        let payload = try NIP44.encrypt("a", conversationKey: conversation, nonce: [UInt8](repeating: 0, count: 31) + [1])
        #expect(
            payload
                == "AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABee0G5VSK0/9YypIObAtDKfYEAjD35uVkHyB0F4DwrcNaCXlCWZKaArsGrY6M9wnuTMxWfp1RTN9Xga8no+kF5Vsb"
        )
        // The other side derives the same key and reads it.
        #expect(try NIP44.decrypt(payload, conversationKey: try NIP44.conversationKey(secret: two, peer: one.publicKey)) == "a")
    }

    @Test func nip44PadsAsSpecifiedAndRefusesTampering() throws {
        for (n, padded) in [
            (1, 32), (32, 32), (33, 64), (65, 96), (100, 128), (257, 320), (1000, 1024), (65_535, 65_536), (65_537, 81_920),
        ] {
            #expect(NIP44.paddedLength(n) == padded, "\(n)")
        }
        let (alice, bob) = (NostrSecretKey.generate(), NostrSecretKey.generate())
        let key = try NIP44.conversationKey(secret: alice, peer: bob.publicKey)
        let long = String(repeating: "zap ", count: 20_000)
        #expect(try NIP44.decrypt(try NIP44.encrypt(long, conversationKey: key), conversationKey: key) == long)
        var payload = Array(try NIP44.encrypt(#"{"method":"pay_invoice"}"#, conversationKey: key).utf8)
        payload[60] = payload[60] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect(throws: NostrEncryptionError.self) { try NIP44.decrypt(String(decoding: payload, as: UTF8.self), conversationKey: key) }
        #expect(throws: NostrEncryptionError.self) { try NIP44.decrypt("#future", conversationKey: key) }
        #expect(throws: NostrEncryptionError.self) { try NIP44.encrypt("", conversationKey: key) }
    }

    @Test func nip04RoundTripsBetweenTwoParties() throws {
        let (alice, bob) = (NostrSecretKey.generate(), NostrSecretKey.generate())
        let sealed = try NIP04.encrypt(#"[["i","secret prompt","text"]]"#, secret: alice, peer: bob.publicKey)
        #expect(sealed.contains("?iv=") && !sealed.contains("secret prompt"))
        #expect(try NIP04.decrypt(sealed, secret: bob, peer: alice.publicKey) == #"[["i","secret prompt","text"]]"#)
        #expect(throws: NostrEncryptionError.self) { try NIP04.decrypt(sealed, secret: NostrSecretKey.generate(), peer: alice.publicKey) }
        #expect(throws: NostrEncryptionError.self) { try NIP04.decrypt("no iv here", secret: bob, peer: alice.publicKey) }
    }
}
