import Foundation
public import Logging
public import SwitchboardCore
public import SwitchboardNostr

/// Chat over the Nostr swarm: each request is a NIP-90 text-generation job (kind 5050) published to the relays and
/// answered by the first data-vending machine whose signed result references it and costs no more than the bid and
/// what is left of the budget. Invoices are checked against what the DVM asked, then paid through Nostr Wallet
/// Connect; partial results stream as they come. A job nobody answers in time is a retryable timeout.
public final class SwarmProvider: LLMProvider, SharedSpending, Sendable {
    /// How the swarm is used.
    public struct Options: Sendable {
        public var id = "swarm"
        public var relays: [String]
        /// The key jobs are signed with.
        public var key: NostrSecretKey
        /// The most one job may cost.
        public var bidMsats: Int64 = 5000
        /// The most all jobs together may cost; nil: no limit beyond each bid.
        public var budgetMsats: Int64?
        /// How long a job may take to answer.
        public var timeout: Duration = .seconds(60)
        /// DVMs allowed to answer (hex public keys); empty: any.
        public var dvms: Set<String> = []
        public var wallet: WalletConnectURI?
        /// The Lightning network invoices must be for (`bc`, `tb`, `tbs`, `bcrt`).
        public var network = "bc"
        /// How long the wallet has to pay one invoice.
        public var paymentTimeout: Duration = .seconds(30)

        /// Options for the swarm on `relays`, signing with `key`.
        public init(relays: [String], key: NostrSecretKey) {
            self.relays = relays
            self.key = key
        }
    }

    public let options: Options
    let pool: RelayPool
    let wallet: WalletConnect?
    let budget: MsatsBudget

    /// A provider with these options; it connects to the relays on first use.
    public init(options: Options, logger: Logger = Logger(label: "switchboard.swarm")) {
        self.options = options
        pool = RelayPool(RelayPool.Settings(relays: options.relays), key: options.key, logger: logger)
        wallet = options.wallet.map { WalletConnect($0, logger: logger) }
        budget = MsatsBudget(limit: options.budgetMsats, counter: "swarm-spend:" + options.id)
    }

    public var id: String { options.id }
    public var displayName: String { "Nostr swarm (NIP-90)" }
    public var capabilities: Set<Capability> { [.chat, .streaming] }
    public var isConfigured: Bool { !options.relays.isEmpty }

    public func keepSpend(in counters: any CounterStore) {
        budget.keep(in: counters)
    }

    /// Closes the relay and wallet connections.
    public func stop() async {
        await pool.stop()
        await wallet?.stop()
    }

    public func chat(_ request: ChatRequest, context: CallContext) async throws -> ChatResponse {
        try await StreamAccumulator.collect(stream(request, context: context))
    }

    public func stream(_ request: ChatRequest, context: CallContext) -> AsyncThrowingStream<StreamEvent, any Error> {
        .producing { emit in try await self.run(request, context: context, emit: emit) }
    }

    /// DVMs that announce text generation (NIP-89, kind 31990 with `k` 5050) on the relays, as models: `any`, then
    /// each DVM's announced models (or the DVM itself, to ask it by name with `p`).
    public func models(context: CallContext) async throws -> [ModelInfo] {
        await pool.start()
        let announcements = await pool.query(
            [NostrFilter(kinds: [31_990], tags: ["k": [String(DVMJob.requestKind)]])], timeout: min(context.remaining, .seconds(5)))
        var models = [ModelInfo(id: "any", provider: id, displayName: "Any DVM that answers within the bid", capabilities: capabilities)]
        for dvm in SwarmAnnouncement.read(announcements) where options.dvms.isEmpty || options.dvms.contains(dvm.pubkey) {
            for model in dvm.models {
                models.append(ModelInfo(id: model, provider: id, displayName: "\(dvm.name) (\(dvm.npub))", capabilities: capabilities))
            }
        }
        return models
    }

    public func health(context: CallContext) async -> ProviderHealth {
        await pool.start()
        let start = ContinuousClock.now
        while await pool.connected.isEmpty, ContinuousClock.now - start < min(context.remaining, .seconds(5)) {
            try? await Task.sleep(for: .milliseconds(50))
        }
        let connected = await pool.connected.count
        return ProviderHealth(
            status: connected > 0 ? .healthy : .down, latency: ContinuousClock.now - start,
            message: "\(connected) of \(options.relays.count) relays connected")
    }
}
