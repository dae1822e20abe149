public import Foundation
public import SwitchboardCore

/// One provider model that serves a Hugging Face task under a Hub model id.
public struct HubModelMapping: Sendable, Hashable {
    /// The task (`text-generation`, `summarization`, ...).
    public var task: String
    /// The gateway's model id (`provider/model` or bare).
    public var providerModelID: String
    /// The Hub id clients may name instead (`meta-llama/Llama-3.1-8B-Instruct`).
    public var hubModelID: String
    /// Default parameters for requests through this mapping, as JSON text.
    public var parameters: String?

    /// Creates a mapping.
    public init(task: String, providerModelID: String, hubModelID: String, parameters: String? = nil) {
        self.task = task
        self.providerModelID = providerModelID
        self.hubModelID = hubModelID
        self.parameters = parameters
    }
}

/// Where Hub model mappings live.
public protocol ModelMapStore: Sendable {
    /// Adds the mapping, replacing any earlier one for the same task and Hub id.
    func saveMapping(_ mapping: HubModelMapping) async throws
    /// Mappings for one task, or all; ordered by task, then Hub id.
    func mappings(task: String?) async throws -> [HubModelMapping]
}

/// Everything the gateway keeps: keys, the usage ledger, model mappings, stored responses, and the counters limits use.
/// Two implementations: `SQLiteStore` (embedded, counters in memory) and `PostgresStore` (shared by
/// replicas, counters in the database).
public protocol Storage: KeyStore, LedgerStore, ModelMapStore, ResponseStore {
    /// Where rate-limit and budget counters are kept.
    var counters: any CounterStore { get }
    /// A short description for logs ("sqlite:./switchboard.db").
    var location: String { get }
    /// Releases connections; the store is unusable afterwards.
    func close() async
}

extension LedgerStore {
    /// What a key (or, without a key, a user) has spent since `since`, from the ledger.
    public func spend(keyID: String?, user: String?, since: Date) async throws -> NanoUSD {
        let totals = try await totals(UsageFilter(since: since, keyID: keyID, user: user))
        return NanoUSD(totals.last?.costNanoUSD ?? 0)
    }
}
