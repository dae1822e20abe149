public import Foundation
import Synchronization

/// Rate limits and budgets at three levels (API key, user, everyone), kept in a `CounterStore`.
///
/// Windows are fixed and aligned to UTC: minutes, days, calendar months. A request first reserves one
/// request and its estimated tokens at every level at once (all or nothing, so concurrent requests count
/// exactly), and settles to its real tokens and cost when it ends. Against a budget a request reserves its
/// worst-case cost, admitted while the spend and what is reserved leave room for it; a request with no price
/// reserves nothing and is admitted while the spend is below the budget.
public final class QuotaEnforcer: Sendable {
    /// Limits that do not come from a key.
    public struct Configuration: Sendable, Hashable {
        /// Everyone together.
        public var global = UsageLimits()
        /// Each user (all of a user's keys together) unless `users` names them.
        public var perUser = UsageLimits()
        /// Per-user overrides.
        public var users: [String: UsageLimits] = [:]
        /// Output tokens a request reserves when it names no `max_tokens`.
        public var defaultReserveTokens = 1024

        /// No limits.
        public init() {}

        /// The limits of one user.
        public func limits(user: String) -> UsageLimits { users[user] ?? perUser }
    }

    /// Who is asking.
    public struct Caller: Sendable, Hashable {
        public var keyID: String?
        public var keyLimits: UsageLimits
        public var user: String?

        /// Creates a caller; a caller without a key is held to the global limits only.
        public init(keyID: String? = nil, keyLimits: UsageLimits = .unlimited, user: String? = nil) {
            self.keyID = keyID
            self.keyLimits = keyLimits
            self.user = user
        }
    }

    /// The state of the tightest limit that applied, for `X-RateLimit-*` headers.
    public struct Status: Sendable, Hashable {
        public var limit: Int64
        public var remaining: Int64
        /// Unix seconds when the window ends.
        public var reset: Int64

        /// Creates a status.
        public init(limit: Int64, remaining: Int64, reset: Int64) {
            self.limit = limit
            self.remaining = remaining
            self.reset = reset
        }
    }

    /// What a request holds until it settles.
    public struct Admission: Sendable {
        /// Token counters charged with the reservation.
        var tokenCounters: [(counter: String, expiresAt: Int64)]
        var reserved: Int64
        /// Nano-USD reserved against the budgets (the request's worst-case cost).
        var reservedCost: Int64 = 0
        /// Spend counters to add the cost to.
        var spendCounters: [(counter: String, expiresAt: Int64)]
        /// For the response headers; nil when no request or token limit applies.
        public var status: Status?

        /// Nothing reserved: no limit applies.
        static let none = Admission(tokenCounters: [], reserved: 0, spendCounters: [], status: nil)
    }

    /// A refusal, with what to tell the client.
    public struct Exceeded: Error, Sendable, CustomStringConvertible {
        public enum Kind: Sendable, Hashable {
            /// A request or token window is full.
            case rateLimited
            /// The period's spend reached the budget.
            case budget
            /// The request alone reserves more tokens than the window allows: it can never pass.
            case requestTooLarge
        }

        public var kind: Kind
        /// `"API key"`, `"user"` or `"gateway"`.
        public var level: String
        /// `"requests per minute"`, `"tokens per day"`, `"budget per month"`...
        public var limitName: String
        public var limit: Int64
        /// Seconds until the window or period ends.
        public var retryAfter: Int64
        /// Unix seconds when it ends.
        public var reset: Int64

        public var description: String {
            switch kind {
            case .rateLimited:
                return "rate limit exceeded for this \(level): \(limit) \(limitName); retry in \(retryAfter) s"
            case .budget:
                return "budget exceeded for this \(level): \(NanoUSD(limit)) \(limitName) is spent; it renews in \(retryAfter) s"
            case .requestTooLarge where limitName.hasPrefix("budget"):
                return "this request could cost more than this \(level)'s whole budget of \(NanoUSD(limit)) \(limitName); lower max_tokens"
            case .requestTooLarge:
                return "this request reserves more tokens than this \(level)'s limit of \(limit) \(limitName); lower max_tokens"
            }
        }
    }

    /// Where a budget's spend so far comes from when its counter is new (the ledger, after a restart).
    public typealias SpendSource = @Sendable (_ keyID: String?, _ user: String?, _ since: Date) async throws -> NanoUSD

    public let configuration: Configuration
    private let counters: any CounterStore
    /// `counters`, when they answer on the calling thread.
    private let immediate: (any ImmediateCounterStore)?
    private let spendSource: SpendSource?
    private let clock: @Sendable () -> Date
    /// What each caller seen this minute charges.
    let layouts = Mutex(Layouts(minute: .min))

    /// An enforcer over `counters`.
    public init(
        configuration: Configuration, counters: any CounterStore, spendSource: SpendSource? = nil,
        clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.configuration = configuration
        self.counters = counters
        self.immediate = counters as? any ImmediateCounterStore
        self.spendSource = spendSource
        self.clock = clock
    }

    struct Level {
        var name: String
        var prefix: String
        var limits: UsageLimits
        var keyID: String?
        var user: String?
    }

    func levels(_ caller: Caller) -> [Level] {
        var out: [Level] = []
        if let key = caller.keyID, !caller.keyLimits.isUnlimited {
            out.append(Level(name: "API key", prefix: "k:\(key)", limits: caller.keyLimits, keyID: key))
        }
        if let user = caller.user {
            let limits = configuration.limits(user: user)
            if !limits.isUnlimited { out.append(Level(name: "user", prefix: "u:\(user)", limits: limits, user: user)) }
        }
        if !configuration.global.isUnlimited {
            out.append(Level(name: "gateway", prefix: "g", limits: configuration.global))
        }
        return out
    }

    /// Whether any limit or budget applies to `caller`; when none does, `admit` reserves nothing.
    public func limits(_ caller: Caller) -> Bool {
        if caller.keyID != nil, !caller.keyLimits.isUnlimited { return true }
        if let user = caller.user, !configuration.limits(user: user).isUnlimited { return true }
        return !configuration.global.isUnlimited
    }

    /// Reserves one request, `tokens` and (against budgets) its worst-case `cost` at every level, or throws `Exceeded`
    /// having reserved nothing.
    public func admit(_ caller: Caller, tokens: Int, cost: NanoUSD = .zero) async throws -> Admission {
        guard let plan = try plan(caller, tokens: tokens, cost: cost) else { return .none }
        for seed in plan.seeds { try await seedSpend(seed) }
        return try plan.admission(try await counters.charge(plan.charges))
    }

    /// `admit` answered on the calling thread, when the counters are in memory and every budget counter is
    /// already seeded; nil when `admit` must do it.
    public func admitImmediately(_ caller: Caller, tokens: Int, cost: NanoUSD = .zero) throws -> Admission? {
        guard let immediate else { return nil }
        guard let plan = try plan(caller, tokens: tokens, cost: cost) else { return Admission.none }
        if spendSource != nil, plan.seeds.contains(where: { !immediate.existsImmediately($0.counter) }) { return nil }
        return try plan.admission(immediate.chargeImmediately(plan.charges))
    }

    /// What admitting one request charges: its caller's layout with the request's amounts.
    private struct Plan {
        var now: Int64
        var reserve: Int64
        var reserveCost: Int64
        var layout: Layout
        var charges: [CounterCharge]

        var seeds: [Seed] { layout.seeds }

        func admission(_ outcome: CounterOutcome) throws -> Admission {
            switch outcome {
            case .refused(let index, _):
                let slot = layout.slots[index]
                throw Exceeded(
                    kind: slot.measure == .spend ? .budget : .rateLimited, level: slot.level, limitName: slot.name, limit: slot.limit,
                    retryAfter: max(1, slot.reset - now), reset: slot.reset)
            case .applied(let values):
                // Headers describe the tightest request window, else the tightest token window.
                var best = tightest(.requests, values)
                if best == nil { best = tightest(.tokens, values) }
                return Admission(
                    tokenCounters: layout.tokenCounters, reserved: reserve,
                    reservedCost: layout.spendCounters.isEmpty ? 0 : reserveCost, spendCounters: layout.spendCounters, status: best)
            }
        }

        private func tightest(_ measure: Layout.Measure, _ values: [Int64]) -> Status? {
            var best: Status?
            for (slot, value) in zip(layout.slots, values) where slot.measure == measure {
                let s = Status(limit: slot.limit, remaining: max(0, slot.limit - value), reset: slot.reset)
                if best == nil || s.remaining < best!.remaining { best = s }
            }
            return best
        }
    }

    /// The charges for `caller`; nil when no limit applies. Throws for a request that can never fit or a budget of 0.
    private func plan(_ caller: Caller, tokens: Int, cost: NanoUSD) throws -> Plan? {
        let t = Int64(clock().timeIntervalSince1970)
        let layout = layout(caller, at: t)
        guard !layout.slots.isEmpty else { return nil }
        let reserve = Int64(max(0, tokens))
        let reserveCost = max(0, cost.value)
        var charges: [CounterCharge] = []
        charges.reserveCapacity(layout.slots.count)
        for slot in layout.slots {
            switch slot.measure {
            case .requests, .tokens:
                let amount = slot.measure == .requests ? 1 : reserve
                if amount > slot.limit {
                    throw Exceeded(
                        kind: .requestTooLarge, level: slot.level, limitName: slot.name, limit: slot.limit, retryAfter: 0, reset: slot.reset
                    )
                }
                charges.append(CounterCharge(counter: slot.counter, amount: amount, limit: slot.limit, expiresAt: slot.expiresAt))
            case .spend:
                if slot.limit <= 0 {
                    throw Exceeded(
                        kind: .budget, level: slot.level, limitName: slot.name, limit: 0, retryAfter: max(1, slot.reset - t),
                        reset: slot.reset)
                }
                // A request reserves its worst-case cost: it passes while spend plus what is reserved plus it fit the budget.
                // Without a price (cost 0), charging nothing against budget-1 passes exactly while spend < budget.
                if reserveCost > slot.limit {
                    throw Exceeded(
                        kind: .requestTooLarge, level: slot.level, limitName: "budget \(slot.name)", limit: slot.limit, retryAfter: 0,
                        reset: slot.reset)
                }
                let limit = reserveCost > 0 ? slot.limit : slot.limit - 1
                charges.append(CounterCharge(counter: slot.counter, amount: reserveCost, limit: limit, expiresAt: slot.expiresAt))
            }
        }
        return Plan(now: t, reserve: reserve, reserveCost: reserveCost, layout: layout, charges: charges)
    }

    private func seedSpend(_ seed: Seed) async throws {
        guard let spendSource, try await !counters.exists(seed.counter) else { return }
        let spent = try await spendSource(seed.keyID, seed.user, Date(timeIntervalSince1970: TimeInterval(seed.since)))
        _ = try await counters.seed(seed.counter, value: spent.value, expiresAt: seed.expiresAt)
    }

    /// `settle` on the calling thread; false (having done nothing) when the counters are not in memory.
    public func settleImmediately(_ admission: Admission, tokens: Int, cost: NanoUSD?) -> Bool {
        guard let immediate else { return false }
        let delta = Int64(max(0, tokens)).saturatingSubtracting(admission.reserved)
        if delta != 0 {
            for c in admission.tokenCounters { immediate.adjustImmediately(c.counter, by: delta, expiresAt: c.expiresAt) }
        }
        let costDelta = (cost?.value ?? 0).saturatingSubtracting(admission.reservedCost)
        if costDelta != 0 {
            for c in admission.spendCounters { immediate.adjustImmediately(c.counter, by: costDelta, expiresAt: c.expiresAt) }
        }
        return true
    }

    /// Whether `admitImmediately` and `settleImmediately` can answer (the counters are in this process's memory).
    public var answersImmediately: Bool { immediate != nil }

    /// Replaces the reservation with the tokens really used and the reserved cost with the real one.
    public func settle(_ admission: Admission, tokens: Int, cost: NanoUSD?) async throws {
        let delta = Int64(max(0, tokens)).saturatingSubtracting(admission.reserved)
        if delta != 0 {
            for c in admission.tokenCounters { try await counters.adjust(c.counter, by: delta, expiresAt: c.expiresAt) }
        }
        let costDelta = (cost?.value ?? 0).saturatingSubtracting(admission.reservedCost)
        if costDelta != 0 {
            for c in admission.spendCounters { try await counters.adjust(c.counter, by: costDelta, expiresAt: c.expiresAt) }
        }
    }
}

/// The UTC minute and day an instant falls in.
struct Windows {
    let minute: Int64, minuteEnd: Int64
    let day: Int64, dayStart: Int64, dayEnd: Int64

    init(unix t: Int64) {
        minute = t / 60
        minuteEnd = (minute + 1) * 60
        day = t / 86_400
        dayStart = day * 86_400
        dayEnd = dayStart + 86_400
    }
}

extension QuotaEnforcer {
    /// When the budget period `now` falls in began: its UTC day, or its UTC calendar month.
    public static func budgetPeriodStart(daily: Bool, at now: Date) -> Date {
        let t = Int64(now.timeIntervalSince1970.rounded(.down))
        let start = daily ? UTCTime.day(ofUnix: t) * 86_400 : MonthWindow(unix: t).start
        return Date(timeIntervalSince1970: TimeInterval(start))
    }
}

/// The UTC calendar month an instant falls in, by `UTCTime`'s arithmetic: this runs for every admitted request, where
/// building a `Calendar` answer costs far more.
struct MonthWindow {
    /// Months since year 0 (`year * 12 + month - 1`).
    let month: Int64
    let start: Int64, end: Int64

    init(unix t: Int64) {
        let (year, month, _) = UTCTime.civil(days: UTCTime.day(ofUnix: t))
        self.month = year * 12 + month - 1
        start = UTCTime.days(year: year, month: month) * 86_400
        end = (month == 12 ? UTCTime.days(year: year + 1, month: 1) : UTCTime.days(year: year, month: month + 1)) * 86_400
    }
}
