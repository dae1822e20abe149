import Foundation
public import Logging
import SwitchboardCore

/// A Nostr Wallet Connect (NIP-47) connection string: the wallet service's key, its relays and this client's secret.
public struct WalletConnectURI: Sendable, Hashable {
    public var wallet: NostrPublicKey
    public var relays: [String]
    /// The key this connection signs and encrypts with (never the gateway's own Nostr key).
    public var secret: NostrSecretKey

    /// Reads `nostr+walletconnect://<wallet hex>?relay=...&secret=...`; the error never repeats the secret.
    public init(_ text: String) throws(WalletConnectError) {
        let scheme = "nostr+walletconnect://"
        guard text.lowercased().hasPrefix(scheme) else { throw .invalid("the wallet URI must start with \(scheme)") }
        let rest = text.dropFirst(scheme.count)
        let parts = rest.split(separator: "?", maxSplits: 1)
        guard let host = parts.first, let wallet = NostrPublicKey(String(host).lowercased()), host.count == 64 else {
            throw .invalid("the wallet URI must name the wallet's 64-hex public key")
        }
        var relays: [String] = []
        var secret: NostrSecretKey?
        for pair in (parts.count > 1 ? parts[1] : "").split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? String($0) }
            guard kv.count == 2 else { continue }
            switch kv[0] {
            case "relay": relays.append(kv[1])
            case "secret":
                guard kv[1].count == 64, let key = NostrSecretKey(kv[1]) else {
                    throw .invalid("the wallet URI's secret must be 64 hex digits")
                }
                secret = key
            default: break
            }
        }
        guard !relays.isEmpty else { throw .invalid("the wallet URI names no relay") }
        guard let secret else { throw .invalid("the wallet URI has no secret") }
        self.wallet = wallet
        self.relays = relays
        self.secret = secret
    }
}

/// A wallet that did not pay, and why: its NIP-47 error code (`PAYMENT_FAILED`, `INSUFFICIENT_BALANCE`, ...), or
/// `TIMEOUT`/`NO_RELAY`/`INVALID` for what went wrong before it answered.
public struct WalletConnectError: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: String
    public var message: String

    static func invalid(_ message: String) -> Self { Self(code: "INVALID", message: message) }

    public var description: String { "\(code): \(message)" }
}

/// A payment the wallet made.
public struct WalletPayment: Sendable, Hashable {
    /// Hex, as the wallet sent it.
    public var preimage: String
    public var feesPaidMsats: Int64
}

/// A NIP-47 client that pays invoices: requests signed with the URI's secret, encrypted with NIP-44 v2 when the
/// wallet's info event offers it (NIP-04 otherwise), answered on the wallet's relays.
public actor WalletConnect {
    enum Scheme: Sendable { case nip44, nip04 }

    public let uri: WalletConnectURI
    private let pool: RelayPool
    private let logger: Logger
    private var scheme: Scheme?
    private let now: @Sendable () -> Int64

    /// A client for `uri`; it connects on first use.
    public init(_ uri: WalletConnectURI, logger: Logger, now: (@Sendable () -> Int64)? = nil) {
        self.uri = uri
        self.logger = logger
        let now = now ?? { Int64(Date().timeIntervalSince1970) }
        self.now = now
        pool = RelayPool(RelayPool.Settings(relays: uri.relays), key: uri.secret, logger: logger, now: now)
    }

    /// Closes the wallet's relay connections.
    public func stop() async {
        await pool.stop()
    }

    /// Pays `invoice` (`amountMsats` only for an invoice without an amount). The request expires with `timeout`, so a
    /// late delivery cannot pay twice; no answer by then is a `TIMEOUT` error, never a success.
    public func pay(invoice: String, amountMsats: Int64?, timeout: Duration) async throws(WalletConnectError) -> WalletPayment {
        await pool.start()
        let deadline = ContinuousClock.now + timeout
        let scheme = await negotiate(timeout: timeout)
        var params: [String: JSONValue] = ["invoice": .string(invoice)]
        if let amountMsats { params["amount"] = .int(amountMsats) }
        let plain = JSONValue.object(["method": "pay_invoice", "params": .object(params)]).jsonString()
        var tags = [["p", uri.wallet.hex], ["expiration", String(now() + max(1, Int64(timeout.inSeconds.rounded(.up))))]]
        if scheme == .nip44 { tags.append(["encryption", "nip44_v2"]) }
        let request = NostrEvent.signed(kind: 23_194, tags: tags, content: try encrypt(plain, scheme), createdAt: now(), by: uri.secret)
        // Ephemeral answers are not stored: subscribe before publishing.
        let filter = NostrFilter(authors: [uri.wallet.hex], kinds: [23_195], tags: ["e": [request.id], "p": [uri.secret.publicKey.hex]])
        let answers = await pool.subscribe("nwc-" + request.id.prefix(16), filters: [filter])
        guard await pool.publish(request, timeout: deadline - .now) > 0 else {
            await pool.close("nwc-" + request.id.prefix(16))
            throw WalletConnectError(code: "NO_RELAY", message: "no wallet relay accepted the payment request")
        }
        let answer = await Self.first(answers, within: deadline - .now)
        await pool.close("nwc-" + request.id.prefix(16))
        guard let answer else { throw WalletConnectError(code: "TIMEOUT", message: "the wallet did not answer in time") }
        return try Self.payment(from: try decrypt(answer.content, scheme))
    }

    /// What a `pay_invoice` answer says: the preimage and fees, or the wallet's error.
    static func payment(from text: String) throws(WalletConnectError) -> WalletPayment {
        let value: JSONValue
        do { value = try JSONValue.parse(Data(text.utf8)) } catch { throw .invalid("the wallet's answer is not JSON") }
        guard value["result_type"]?.stringValue == "pay_invoice" else { throw .invalid("the wallet answered another method") }
        if let error = value["error"], error != .null {
            throw WalletConnectError(code: error["code"]?.stringValue ?? "OTHER", message: error["message"]?.stringValue ?? "")
        }
        guard let preimage = value["result"]?["preimage"]?.stringValue, !preimage.isEmpty else {
            throw .invalid("the wallet said it paid but sent no preimage")
        }
        return WalletPayment(preimage: preimage, feesPaidMsats: value["result"]?["fees_paid"]?.intValue ?? 0)
    }

    /// NIP-44 when the wallet's info event lists it; NIP-04 when it lists only that or has no `encryption` tag.
    private func negotiate(timeout: Duration) async -> Scheme {
        if let scheme { return scheme }
        let info = await pool.query(
            [NostrFilter(authors: [uri.wallet.hex], kinds: [13_194], limit: 1)], timeout: min(timeout, .seconds(5)))
        let offered = info.max { $0.createdAt < $1.createdAt }?.values(of: "encryption").first?.split(separator: " ") ?? []
        let chosen: Scheme = offered.contains("nip44_v2") ? .nip44 : .nip04
        if !info.isEmpty { scheme = chosen }
        return chosen
    }

    private func encrypt(_ text: String, _ scheme: Scheme) throws(WalletConnectError) -> String {
        do {
            switch scheme {
            case .nip44: return try NIP44.encrypt(text, conversationKey: NIP44.conversationKey(secret: uri.secret, peer: uri.wallet))
            case .nip04: return try NIP04.encrypt(text, secret: uri.secret, peer: uri.wallet)
            }
        } catch { throw .invalid("cannot encrypt for the wallet: \(error)") }
    }

    private func decrypt(_ text: String, _ scheme: Scheme) throws(WalletConnectError) -> String {
        do {
            switch scheme {
            case .nip44: return try NIP44.decrypt(text, conversationKey: NIP44.conversationKey(secret: uri.secret, peer: uri.wallet))
            case .nip04: return try NIP04.decrypt(text, secret: uri.secret, peer: uri.wallet)
            }
        } catch { throw .invalid("cannot read the wallet's answer: \(error)") }
    }

    /// The first event of `events`, or nil after `timeout`.
    static func first(_ events: AsyncStream<NostrEvent>, within timeout: Duration) async -> NostrEvent? {
        await withTaskGroup(of: NostrEvent?.self) { group in
            group.addTask {
                for await event in events { return event }
                return nil
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }
}
