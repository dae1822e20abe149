import Foundation
import SwitchboardCore
import SwitchboardNostr

#if canImport(Glibc)
import Glibc
#endif

extension NativeProvider {
    /// `[providers.swarm]`: NIP-90 jobs on Nostr relays, paid through Nostr Wallet Connect; `mode = "local"` or
    /// `"hybrid"` answers from a local provider first.
    public static let swarm: NativeProvider = {
        var native = NativeProvider(
            listing: .init(
                id: "swarm", name: "Nostr swarm (NIP-90)", keyVariables: "PYLON_RELAY_URL, NOSTR_SECRET_KEY, NWC_URI",
                baseURL: "(relays)", note: "kind 5050 jobs, bids and budgets in msats, NWC payments; local and hybrid modes"),
            takesAPIKey: false,
            keys: [
                Key("relays", .strings), Key("secret_key"), Key("key_file"), Key("bid_msats", .int(0...100_000_000_000)),
                Key("budget_msats", .int(0...Int.max)), Key("timeout_seconds", .int(1...3600)), Key("dvms", .strings), Key("nwc"),
                Key("network"), Key("payment_timeout_seconds", .int(1...600)), Key("mode"), Key("local"),
                Key("local_timeout_seconds", .int(1...600)),
            ]
        ) { setup in SwarmSetup.make(setup) }
        native.compose = { section, built, all in SwarmSetup.compose(section, built, all) }
        return native
    }()
}

/// Reads `[providers.swarm]` into a provider.
enum SwarmSetup {
    static func make(_ setup: NativeProvider.Setup) -> Result<any LLMProvider, NativeProvider.Unavailable> {
        let section = setup.section
        let relays = section.strings("relays") ?? setup.environment["PYLON_RELAY_URL"].map { [$0] } ?? []
        // Without a section it is used only when the environment names a relay.
        guard !relays.isEmpty else { return .failure(.init("no relays: set relays or PYLON_RELAY_URL")) }
        for relay in relays where !(relay.hasPrefix("ws://") || relay.hasPrefix("wss://")) {
            return .failure(.init("relay \(relay) is not a ws:// or wss:// URL"))
        }
        let key: NostrSecretKey
        switch secret(section.string("secret_key"), default: "NOSTR_SECRET_KEY", setup) {
        case .failure(let why): return .failure(why)
        case .success(let text?):
            guard let parsed = NostrSecretKey(text) else { return .failure(.init("secret_key is not an nsec or 64-hex secret key")) }
            key = parsed
        case .success(nil):
            let path = section.string("key_file").map(setup.expand) ?? setup.home + "/.config/switchboard/swarm.key"
            do { key = try keptKey(at: path) } catch { return .failure(.init("cannot keep a Nostr key at \(path): \(error)")) }
        }
        var options = SwarmProvider.Options(relays: relays, key: key)
        if let bid = section.int("bid_msats") { options.bidMsats = Int64(bid) }
        options.budgetMsats = section.int("budget_msats").map(Int64.init)
        if let seconds = section.int("timeout_seconds") { options.timeout = .seconds(seconds) }
        if let seconds = section.int("payment_timeout_seconds") { options.paymentTimeout = .seconds(seconds) }
        if let network = section.string("network") {
            guard ["bc", "tb", "tbs", "bcrt"].contains(network) else { return .failure(.init("network must be bc, tb, tbs or bcrt")) }
            options.network = network
        }
        var dvms: Set<String> = []
        for dvm in section.strings("dvms") ?? [] {
            guard let pubkey = NostrPublicKey(dvm) else { return .failure(.init("dvms: \(dvm) is not an npub or 64-hex public key")) }
            dvms.insert(pubkey.hex)
        }
        options.dvms = dvms
        switch secret(section.string("nwc"), default: "NWC_URI", setup) {
        case .failure(let why): return .failure(why)
        case .success(let uri?):
            do { options.wallet = try WalletConnectURI(uri) } catch { return .failure(.init("nwc: \(error.message)")) }
        case .success(nil): break
        }
        return .success(SwarmProvider(options: options))
    }

    /// `mode = "local"` answers from the `local` provider's model alone; `"hybrid"` tries it first (a failure, or no
    /// first byte within `local_timeout_seconds`, moves on) and then the swarm; `"swarm"` (the default) keeps it.
    static func compose(
        _ section: ProviderSection, _ swarm: any LLMProvider, _ all: [any LLMProvider]
    ) -> Result<any LLMProvider, NativeProvider.Unavailable> {
        let mode = section.string("mode") ?? "swarm"
        guard mode != "swarm" else { return .success(swarm) }
        guard mode == "local" || mode == "hybrid" else { return .failure(.init("mode must be swarm, local or hybrid, not \(mode)")) }
        guard let local = section.string("local"), let slash = local.firstIndex(of: "/") else {
            return .failure(.init("mode = \"\(mode)\" needs local = \"provider/model\""))
        }
        let providerID = String(local[..<slash])
        guard let provider = all.first(where: { $0.id == providerID && $0.id != swarm.id }) else {
            return .failure(.init("local names \(providerID), which is not a configured provider"))
        }
        let slot = RouterSlot(provider: provider, model: String(local[local.index(after: slash)...]))
        let timeout = Duration.seconds(section.int("local_timeout_seconds") ?? 10)
        let slots = mode == "local" ? [slot] : [slot, RouterSlot(provider: swarm)]
        return .success(ProviderRouter(id: swarm.id, slots: slots, plan: ProviderRouter.Plan(ttftTimeout: timeout)))
    }

    /// A secret from the section (`env:NAME` or the value), else from `variable`; nil when neither is set.
    private static func secret(
        _ configured: String?, default variable: String, _ setup: NativeProvider.Setup
    ) -> Result<String?, NativeProvider.Unavailable> {
        switch configured.map(SecretSource.init) {
        case .literal(let value)?: return .success(value)
        case .env(let name)?:
            guard let value = setup.environment[name], !value.isEmpty else { return .failure(.init("\(name) is not set")) }
            return .success(value)
        case nil: return .success(setup.environment[variable].flatMap { $0.isEmpty ? nil : $0 })
        }
    }

    /// The key kept at `path`, made once (mode 0600) when there is none; replicas starting together keep one key.
    static func keptKey(at path: String) throws -> NostrSecretKey {
        func read() throws -> NostrSecretKey? {
            guard FileManager.default.fileExists(atPath: path) else { return nil }
            let text = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            guard let key = NostrSecretKey(text) else { throw CocoaError(.fileReadCorruptFile, userInfo: [NSFilePathErrorKey: path]) }
            return key
        }
        if let key = try read() { return key }
        let key = NostrSecretKey.generate()
        let temporary = path + ".\(UUID().uuidString).tmp"
        try SecretFile.write(Data((key.hex + "\n").utf8), to: temporary)
        defer { unlink(temporary) }
        // link(2) fails when the file exists: whoever linked first made the key everyone keeps.
        if link(temporary, path) != 0, errno != EEXIST { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path]) }
        return try read() ?? key
    }
}
