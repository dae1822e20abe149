import Synchronization
import SwitchboardCore

/// What the swarm may still spend, in msats, kept in a counter: this process's own until `keep(in:)` gives it the
/// counters replicas share. A payment reserves its amount first, so concurrent jobs cannot pass the limit together.
final class MsatsBudget: Sendable {
    let limit: Int64?
    let counter: String
    private let counters = Mutex<any CounterStore>(InMemoryCounterStore())

    init(limit: Int64?, counter: String) {
        self.limit = limit
        self.counter = counter
    }

    func keep(in store: any CounterStore) {
        counters.withLock { $0 = store }
    }

    private var store: any CounterStore { counters.withLock { $0 } }

    /// What is left (`Int64.max` without a limit).
    func remaining() async throws -> Int64 {
        guard let limit else { return .max }
        guard case .applied(let values) = try await store.charge([CounterCharge(counter: counter, amount: 0, limit: nil, expiresAt: .max)])
        else { return 0 }
        return max(0, limit - (values.first ?? 0))
    }

    /// Takes `msats` from what is left; false (taking nothing) when that would pass the limit.
    func reserve(_ msats: Int64) async throws -> Bool {
        let outcome = try await store.charge([CounterCharge(counter: counter, amount: msats, limit: limit, expiresAt: .max)])
        if case .applied = outcome { return true }
        return false
    }

    /// Gives back a reservation that was not spent.
    func refund(_ msats: Int64) async throws {
        try await store.adjust(counter, by: -msats, expiresAt: .max)
    }
}
