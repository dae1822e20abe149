/// What one caller (a key, a user, or everyone together) may use: requests and tokens per window, and
/// money per day or month. Nil means unlimited.
public struct UsageLimits: Sendable, Hashable, Codable {
    public var requestsPerMinute: Int?
    public var tokensPerMinute: Int?
    public var tokensPerDay: Int?
    public var budgetPerDay: NanoUSD?
    public var budgetPerMonth: NanoUSD?

    /// Creates limits; everything unlimited by default.
    public init(
        requestsPerMinute: Int? = nil, tokensPerMinute: Int? = nil, tokensPerDay: Int? = nil,
        budgetPerDay: NanoUSD? = nil, budgetPerMonth: NanoUSD? = nil
    ) {
        self.requestsPerMinute = requestsPerMinute
        self.tokensPerMinute = tokensPerMinute
        self.tokensPerDay = tokensPerDay
        self.budgetPerDay = budgetPerDay
        self.budgetPerMonth = budgetPerMonth
    }

    /// No limit at all.
    public static let unlimited = UsageLimits()

    /// Whether nothing is limited.
    public var isUnlimited: Bool { self == .unlimited }

    private enum CodingKeys: String, CodingKey {
        case requestsPerMinute = "rpm", tokensPerMinute = "tpm", tokensPerDay = "tpd"
        case budgetPerDay = "budget_nano_usd_per_day", budgetPerMonth = "budget_nano_usd_per_month"
    }
}

/// One conditional increment of a shared counter: applied only if the counter stays within `limit`.
public struct CounterCharge: Sendable, Hashable {
    /// Counter name, window included (`"k:key_abc:rpm:29548112"`), so a new window is a new counter.
    public var counter: String
    public var amount: Int64
    /// The largest value the counter may reach; nil charges unconditionally.
    public var limit: Int64?
    /// Unix seconds after which the counter is no longer needed.
    public var expiresAt: Int64

    /// Creates a charge.
    public init(counter: String, amount: Int64, limit: Int64?, expiresAt: Int64) {
        self.counter = counter
        self.amount = amount
        self.limit = limit
        self.expiresAt = expiresAt
    }
}

/// The outcome of charging several counters at once.
public enum CounterOutcome: Sendable, Hashable {
    /// Every charge applied; the counters' new values, in the order charged.
    case applied([Int64])
    /// Nothing applied: the charge at `index` would have passed its limit; `current` is that counter's value.
    case refused(index: Int, current: Int64)
}

/// Counters that limits and budgets are kept in: in memory for one instance, in the database when several
/// replicas must share them.
public protocol CounterStore: Sendable {
    /// Applies all charges or none, atomically with respect to other callers.
    func charge(_ charges: [CounterCharge]) async throws -> CounterOutcome
    /// Adds `amount` (may be negative) to a counter unconditionally; used to settle reservations and spend.
    func adjust(_ counter: String, by amount: Int64, expiresAt: Int64) async throws
    /// Sets a counter only if it does not exist yet, returning its value (seeding from another source).
    func seed(_ counter: String, value: Int64, expiresAt: Int64) async throws -> Int64
    /// Whether a counter exists (not expired).
    func exists(_ counter: String) async throws -> Bool
}

/// A counter store that answers on the calling thread (its counters are in this process's memory), so a request
/// can be admitted and settled without suspending.
public protocol ImmediateCounterStore: CounterStore {
    /// `charge`, answered at once.
    func chargeImmediately(_ charges: [CounterCharge]) -> CounterOutcome
    /// `adjust`, at once.
    func adjustImmediately(_ counter: String, by amount: Int64, expiresAt: Int64)
    /// `exists`, at once.
    func existsImmediately(_ counter: String) -> Bool
}

/// Something that spends against a budget of its own (a lane, the swarm provider) and can keep its spend in counters
/// the replicas share, so every replica's calls count against one budget.
public protocol SharedSpending: Sendable {
    /// Keeps the spend in `counters` from now on.
    func keepSpend(in counters: any CounterStore)
}
