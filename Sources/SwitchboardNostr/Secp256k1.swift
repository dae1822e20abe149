import CSecp256k1

/// BIP-340 Schnorr signing and verification over libsecp256k1 (a system library: Debian's `libsecp256k1-dev`).
enum Secp256k1 {
    /// One context for every call: libsecp256k1's contexts are safe to share once created and randomized, and
    /// signing with one only reads it.
    nonisolated(unsafe) private static let context: OpaquePointer? = {
        guard let context = secp256k1_context_create(UInt32(SECP256K1_CONTEXT_NONE)) else { return nil }
        var seed = randomBytes(32)
        // Randomization only hardens against side channels; a context that refuses it still signs correctly.
        _ = secp256k1_context_randomize(context, &seed)
        return context
    }()

    static func randomBytes(_ count: Int) -> [UInt8] {
        var rng = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &rng) }
    }

    /// Whether `secret` is a valid secret key (non-zero, below the group order).
    static func isValidSecret(_ secret: [UInt8]) -> Bool {
        guard secret.count == 32, let context else { return false }
        return secp256k1_ec_seckey_verify(context, secret) == 1
    }

    /// The x-only public key of `secret`; nil for an invalid secret.
    static func xOnlyPublicKey(_ secret: [UInt8]) -> [UInt8]? {
        guard let context, var keypair = keypair(secret) else { return nil }
        var xonly = secp256k1_xonly_pubkey()
        guard secp256k1_keypair_xonly_pub(context, &xonly, nil, &keypair) == 1 else { return nil }
        var out = [UInt8](repeating: 0, count: 32)
        guard secp256k1_xonly_pubkey_serialize(context, &out, &xonly) == 1 else { return nil }
        return out
    }

    /// A BIP-340 signature of the 32-byte `message` with `secret`; `aux` is the auxiliary randomness (fresh by default).
    static func sign(_ message: [UInt8], secret: [UInt8], aux: [UInt8]? = nil) -> [UInt8]? {
        guard message.count == 32, let context, var keypair = keypair(secret) else { return nil }
        let aux = aux ?? randomBytes(32)
        guard aux.count == 32 else { return nil }
        var signature = [UInt8](repeating: 0, count: 64)
        return secp256k1_schnorrsig_sign32(context, &signature, message, &keypair, aux) == 1 ? signature : nil
    }

    /// Whether `signature` is `publicKey`'s BIP-340 signature of `message`.
    static func verify(_ signature: [UInt8], message: [UInt8], publicKey: [UInt8]) -> Bool {
        guard signature.count == 64, publicKey.count == 32, let context else { return false }
        var xonly = secp256k1_xonly_pubkey()
        guard secp256k1_xonly_pubkey_parse(context, &xonly, publicKey) == 1 else { return false }
        return secp256k1_schnorrsig_verify(context, signature, message, message.count, &xonly) == 1
    }

    private static func keypair(_ secret: [UInt8]) -> secp256k1_keypair? {
        guard secret.count == 32, let context else { return nil }
        var keypair = secp256k1_keypair()
        return secp256k1_keypair_create(context, &keypair, secret) == 1 ? keypair : nil
    }
}

extension Secp256k1 {
    /// The unhashed x coordinate of `secret` × the peer's x-only key lifted to even Y: the shared secret NIP-04 and
    /// NIP-44 start from. Nil for an invalid key on either side.
    static func sharedX(secret: [UInt8], peer: [UInt8]) -> [UInt8]? {
        guard peer.count == 32, let context else { return nil }
        var point = secp256k1_pubkey()
        guard secp256k1_ec_pubkey_parse(context, &point, [0x02] + peer, 33) == 1 else { return nil }
        var out = [UInt8](repeating: 0, count: 32)
        // libsecp256k1's default hashes the point; the NIPs want x as it is.
        let copyX: secp256k1_ecdh_hash_function = { output, x, _, _ in
            guard let output, let x else { return 0 }
            output.update(from: x, count: 32)
            return 1
        }
        return secp256k1_ecdh(context, &out, &point, secret, copyX, nil) == 1 ? out : nil
    }
}
