import Foundation
import SwitchboardCore
import Testing

@testable import SwitchboardNostr

/// Invoices and wallet URIs, read as the payer checks them; invoices made by the `bolt11` package from PyPI.
@Suite struct WalletTests {
    /// 25,000 msats on mainnet, made 1700000000, expiring after 600 s, payment hash sha256(32 zero bytes).
    static let mainnet =
        "lnbc250n1pj48ugqpp5ve584t0cv27hwmy0cx9ca8uwyqyfw9y9dm3r8vus9fv36r2l9yjsdq0wdmkzundyp4x7csxqzjcsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygsnyqxuhue2vrvkhk9p9le09rg7th4ah4qhznm6ah0adc87snr34d5ee7sz97aczjzwpsk48eawtx75gdjpze4r82cyz3a9nl0ez4ua7qqel46nk"
    static let amountless =
        "lnbc1pj48ugqpp5ve584t0cv27hwmy0cx9ca8uwyqyfw9y9dm3r8vus9fv36r2l9yjsdq0wdmkzundyp4x7csxqzjcsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygs2vr7l4z5adn4x05qrwrdcklw0rmg27uwvs09udhju94jxn9tkwjqxpd2crvfjykxwuu3dpf4yxps5st4qys7wta4x2wmq8j28dgmfmgqn7mlja"
    static let testnet =
        "lntb15n1pj48ugqpp5ve584t0cv27hwmy0cx9ca8uwyqyfw9y9dm3r8vus9fv36r2l9yjsdq0wdmkzundyp4x7csxqzjcsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygsmjh4w30lktyk5k25h9v5laau53634mfng8868zl7wmle50lc3egx35rvl6aly3patss3nlrwkjakgynt46xefwhnwx9jdu8lx3d8gxcqt4k926"
    static let regtestPico =
        "lnbcrt100p1pj48ugqpp5ve584t0cv27hwmy0cx9ca8uwyqyfw9y9dm3r8vus9fv36r2l9yjsdq0wdmkzundyp4x7csxqzjcsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygs8p2vhkj52y6aunjyhw642eztfda0hac0yckerl69cjhe0w3d7ml5k74sfluld2epm86ydv8qfpx0j0t75m8yxzp8wsp4cdnaxyq5m2spvrp3fr"

    @Test func anInvoiceSaysItsNetworkAmountHashAndExpiry() throws {
        let invoice = try Bolt11Invoice(Self.mainnet)
        #expect(invoice.network == "bc" && invoice.amountMsats == 25_000)
        #expect(invoice.timestamp == 1_700_000_000 && invoice.expiry == 600 && invoice.expiresAt == 1_700_000_600)
        #expect(invoice.description == "swarm job")
        #expect(invoice.isPaid(by: [UInt8](repeating: 0, count: 32)) && !invoice.isPaid(by: [UInt8](repeating: 1, count: 32)))
        #expect(try Bolt11Invoice("lightning:" + Self.mainnet.uppercased()) == invoice)
        #expect(try Bolt11Invoice(Self.amountless).amountMsats == nil)
        #expect(try Bolt11Invoice(Self.testnet).network == "tb" && Bolt11Invoice(Self.testnet).amountMsats == 1500)
        #expect(try Bolt11Invoice(Self.regtestPico).network == "bcrt" && Bolt11Invoice(Self.regtestPico).amountMsats == 10)
    }

    @Test func anInvoiceIsPaidOnlyForItsAmountOnItsNetworkBeforeItExpires() throws {
        let invoice = try Bolt11Invoice(Self.mainnet)
        try invoice.check(msats: 25_000, network: "bc", now: 1_700_000_599)
        #expect(throws: Bolt11Error(description: "the invoice asks 25000 msats, the DVM said 20000")) {
            try invoice.check(msats: 20_000, network: "bc", now: 1_700_000_000)
        }
        #expect(throws: Bolt11Error(description: "the invoice expired")) {
            try invoice.check(msats: 25_000, network: "bc", now: 1_700_000_600)
        }
        #expect(throws: Bolt11Error(description: "the invoice is for lnbc, not lntb")) {
            try invoice.check(msats: 25_000, network: "tb", now: 1_700_000_000)
        }
        try Bolt11Invoice(Self.amountless).check(msats: 777, network: "bc", now: 1_700_000_000)
        var broken = Self.mainnet
        broken.removeLast()
        broken.append("q")
        for bad in ["", "lnbc", broken, "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "lnxx250n1pj48ugq"] {
            #expect(throws: Bolt11Error.self) { try Bolt11Invoice(bad) }
        }
    }

    @Test func aWalletURINamesItsWalletRelaysAndSecretAndErrorsNeverRepeatTheSecret() throws {
        let wallet = NostrSecretKey.generate().publicKey.hex
        let secret = NostrSecretKey.generate()
        let uri = try WalletConnectURI(
            "nostr+walletconnect://\(wallet)?relay=ws%3A%2F%2F127.0.0.1%3A7000&relay=wss://r.example&secret=\(secret.hex)&lud16=a@b.c")
        #expect(uri.wallet.hex == wallet && uri.relays == ["ws://127.0.0.1:7000", "wss://r.example"] && uri.secret == secret)
        for bad in [
            "https://\(wallet)?relay=ws://x&secret=\(secret.hex)", "nostr+walletconnect://abc?relay=ws://x&secret=\(secret.hex)",
            "nostr+walletconnect://\(wallet)?secret=\(secret.hex)", "nostr+walletconnect://\(wallet)?relay=ws://x",
            "nostr+walletconnect://\(wallet)?relay=ws://x&secret=\(secret.hex.dropLast(2))zz",
        ] {
            do {
                _ = try WalletConnectURI(bad)
                Issue.record("accepted \(bad)")
            } catch {
                #expect(!error.description.contains(secret.hex.prefix(20)))
            }
        }
    }

    @Test func aWalletsAnswerIsAPaymentOnlyWithAPreimage() throws {
        let paid = try WalletConnect.payment(
            from: #"{"result_type":"pay_invoice","error":null,"result":{"preimage":"00ff","fees_paid":12}}"#)
        #expect(paid == WalletPayment(preimage: "00ff", feesPaidMsats: 12))
        #expect(throws: WalletConnectError(code: "PAYMENT_FAILED", message: "no route")) {
            try WalletConnect.payment(
                from: #"{"result_type":"pay_invoice","error":{"code":"PAYMENT_FAILED","message":"no route"},"result":null}"#)
        }
        for bad in [#"{"result_type":"pay_invoice","result":{}}"#, #"{"result_type":"get_balance","result":{"preimage":"00"}}"#, "nope"] {
            #expect(throws: WalletConnectError.self) { try WalletConnect.payment(from: bad) }
        }
    }
}
