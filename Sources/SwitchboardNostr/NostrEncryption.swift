import Crypto
import CryptoExtras
import Foundation

/// Why a message could not be encrypted or decrypted.
public struct NostrEncryptionError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String
}

/// NIP-44 version 2: a conversation key per key pair (HKDF-extract of the shared x), and per message ChaCha20 over
/// padded text with an HMAC-SHA256, as `base64(0x02 ‖ nonce ‖ ciphertext ‖ mac)`.
public enum NIP44 {
    /// The key two parties share, whichever of them computes it (cacheable per pair).
    public struct ConversationKey: Sendable {
        let key: SymmetricKey
        /// The key's 32 bytes.
        public var bytes: [UInt8] { key.withUnsafeBytes { Array($0) } }
    }

    /// The conversation key of `secret` and `peer`.
    public static func conversationKey(secret: NostrSecretKey, peer: NostrPublicKey) throws(NostrEncryptionError) -> ConversationKey {
        guard let shared = Secp256k1.sharedX(secret: secret.bytes, peer: peer.bytes) else {
            throw NostrEncryptionError(description: "the peer's key is not a curve point")
        }
        let prk = HMAC<SHA256>.authenticationCode(for: shared, using: SymmetricKey(data: Array("nip44-v2".utf8)))
        return ConversationKey(key: SymmetricKey(data: prk))
    }

    /// The padded length of a message of `length` bytes.
    static func paddedLength(_ length: Int) -> Int {
        if length <= 32 { return 32 }
        let nextPower = 1 << (Int.bitWidth - (length - 1).leadingZeroBitCount)
        let chunk = nextPower <= 256 ? 32 : nextPower / 8
        return chunk * ((length - 1) / chunk + 1)
    }

    private static func keys(
        _ conversation: ConversationKey, nonce: [UInt8]
    ) -> (chacha: SymmetricKey, chachaNonce: [UInt8], hmac: SymmetricKey) {
        let expanded = HKDF<SHA256>.expand(pseudoRandomKey: conversation.key, info: nonce, outputByteCount: 76)
        let bytes = expanded.withUnsafeBytes { Array($0) }
        return (SymmetricKey(data: bytes[0..<32]), Array(bytes[32..<44]), SymmetricKey(data: bytes[44..<76]))
    }

    /// `text` encrypted for the conversation; `nonce` is fixed only by tests.
    public static func encrypt(
        _ text: String, conversationKey: ConversationKey, nonce: [UInt8]? = nil
    ) throws(NostrEncryptionError) -> String {
        let plain = Array(text.utf8)
        guard !plain.isEmpty, plain.count <= Int(UInt32.max) else {
            throw NostrEncryptionError(description: "the message must have 1 to 2^32-1 bytes")
        }
        let nonce = nonce ?? Secp256k1.randomBytes(32)
        guard nonce.count == 32 else { throw NostrEncryptionError(description: "the nonce must have 32 bytes") }
        let k = keys(conversationKey, nonce: nonce)
        var padded: [UInt8] =
            plain.count < 65_536
            ? [UInt8(plain.count >> 8), UInt8(plain.count & 0xff)]
            : [
                0, 0, UInt8(plain.count >> 24 & 0xff), UInt8(plain.count >> 16 & 0xff), UInt8(plain.count >> 8 & 0xff),
                UInt8(plain.count & 0xff),
            ]
        padded += plain
        padded += [UInt8](repeating: 0, count: paddedLength(plain.count) - plain.count)
        let ciphertext: [UInt8]
        do { ciphertext = try chacha20(padded, key: k.chacha, nonce: k.chachaNonce) } catch {
            throw NostrEncryptionError(description: "ChaCha20 failed: \(error)")
        }
        let mac = Array(HMAC<SHA256>.authenticationCode(for: nonce + ciphertext, using: k.hmac))
        return Data([2] + nonce + ciphertext + mac).base64EncodedString()
    }

    /// The text of a payload; throws for another version, a bad MAC (checked first, in constant time) or bad padding.
    public static func decrypt(_ payload: String, conversationKey: ConversationKey) throws(NostrEncryptionError) -> String {
        guard !payload.isEmpty, !payload.hasPrefix("#") else { throw NostrEncryptionError(description: "unsupported version") }
        guard (132...1_000_000).contains(payload.utf8.count), let decoded = Data(base64Encoded: payload) else {
            throw NostrEncryptionError(description: "invalid payload length or base64")
        }
        let data = Array(decoded)
        guard data.count >= 99, data[0] == 2 else { throw NostrEncryptionError(description: "unsupported version") }
        let nonce = Array(data[1..<33])
        let ciphertext = Array(data[33..<(data.count - 32)])
        let mac = Array(data[(data.count - 32)...])
        let k = keys(conversationKey, nonce: nonce)
        guard HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: nonce + ciphertext, using: k.hmac) else {
            throw NostrEncryptionError(description: "invalid MAC")
        }
        let padded: [UInt8]
        do { padded = try chacha20(ciphertext, key: k.chacha, nonce: k.chachaNonce) } catch {
            throw NostrEncryptionError(description: "ChaCha20 failed: \(error)")
        }
        var length = Int(padded[0]) << 8 | Int(padded[1])
        var prefix = 2
        if length == 0, padded.count >= 6 {
            length = Int(padded[2]) << 24 | Int(padded[3]) << 16 | Int(padded[4]) << 8 | Int(padded[5])
            prefix = 6
            guard length >= 65_536 else { throw NostrEncryptionError(description: "invalid padding") }
        }
        guard length >= 1, prefix + length <= padded.count, padded.count == prefix + paddedLength(length) else {
            throw NostrEncryptionError(description: "invalid padding")
        }
        guard let text = String(validating: padded[prefix..<(prefix + length)], as: UTF8.self) else {
            throw NostrEncryptionError(description: "the message is not UTF-8")
        }
        return text
    }

    private static func chacha20(_ bytes: [UInt8], key: SymmetricKey, nonce: [UInt8]) throws -> [UInt8] {
        Array(try Insecure.ChaCha20CTR.encrypt(bytes, using: key, nonce: try Insecure.ChaCha20CTR.Nonce(data: nonce)))
    }
}

/// NIP-04 (what NIP-90's encrypted jobs and older wallets use): AES-256-CBC keyed by the shared x, as
/// `base64(ciphertext)?iv=base64(iv)`. It has no MAC: only the event's signature vouches for it.
public enum NIP04 {
    public static func encrypt(
        _ text: String, secret: NostrSecretKey, peer: NostrPublicKey, iv: [UInt8]? = nil
    ) throws(NostrEncryptionError) -> String {
        guard let shared = Secp256k1.sharedX(secret: secret.bytes, peer: peer.bytes) else {
            throw NostrEncryptionError(description: "the peer's key is not a curve point")
        }
        let iv = iv ?? Secp256k1.randomBytes(16)
        do {
            let sealed = try AES._CBC.encrypt(Array(text.utf8), using: SymmetricKey(data: shared), iv: try AES._CBC.IV(ivBytes: iv))
            return sealed.base64EncodedString() + "?iv=" + Data(iv).base64EncodedString()
        } catch {
            throw NostrEncryptionError(description: "AES-CBC failed: \(error)")
        }
    }

    public static func decrypt(_ content: String, secret: NostrSecretKey, peer: NostrPublicKey) throws(NostrEncryptionError) -> String {
        let parts = content.components(separatedBy: "?iv=")
        guard parts.count == 2, let sealed = Data(base64Encoded: parts[0]), let iv = Data(base64Encoded: parts[1]), iv.count == 16 else {
            throw NostrEncryptionError(description: "not a NIP-04 message")
        }
        guard let shared = Secp256k1.sharedX(secret: secret.bytes, peer: peer.bytes) else {
            throw NostrEncryptionError(description: "the peer's key is not a curve point")
        }
        let plain: Data
        do { plain = try AES._CBC.decrypt(sealed, using: SymmetricKey(data: shared), iv: try AES._CBC.IV(ivBytes: iv)) } catch {
            throw NostrEncryptionError(description: "bad padding or key")
        }
        guard let text = String(data: plain, encoding: .utf8) else { throw NostrEncryptionError(description: "the message is not UTF-8") }
        return text
    }
}
