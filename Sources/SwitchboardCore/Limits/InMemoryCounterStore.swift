import Foundation
import Synchronization

/// Counters for a single gateway instance, under one lock: exact under any concurrency, gone at restart.
public final class InMemoryCounterStore: ImmediateCounterStore {
    private struct Entry {
        var value: Int64
        var expiresAt: Int64

        /// Sets the value; the entry lives until the later of its expiry and `expiresAt`.
        mutating func set(_ value: Int64, keepingAtLeastUntil expiresAt: Int64) {
            self.value = value
            self.expiresAt = max(self.expiresAt, expiresAt)
        }

        /// The value at `t`: 0 once expired.
        func live(at t: Int64) -> Int64 { expiresAt >= t ? value : 0 }

        /// Adds `amount` to what is live at `t`.
        mutating func add(_ amount: Int64, at t: Int64, keepingAtLeastUntil expiresAt: Int64) {
            set(live(at: t).saturatingAdding(amount), keepingAtLeastUntil: expiresAt)
        }
    }

    private struct State {
        var counters: [String: Entry] = [:]
        var nextPrune: Int64 = 0
    }

    private let state = Mutex(State())
    private let now: @Sendable () -> Int64

    /// A store whose clock is the system's (Unix seconds); tests may pass their own.
    public init(now: (@Sendable () -> Int64)? = nil) {
        self.now = now ?? { Int64(Date().timeIntervalSince1970) }
    }

    public func charge(_ charges: [CounterCharge]) async throws -> CounterOutcome {
        chargeImmediately(charges)
    }

    public func chargeImmediately(_ charges: [CounterCharge]) -> CounterOutcome {
        let t = now()
        return state.withLock { s in
            prune(&s, at: t)
            var values: [Int64] = []
            values.reserveCapacity(charges.count)
            for (i, c) in charges.enumerated() {
                let current = live(s.counters[c.counter], at: t)
                let next = current.saturatingAdding(c.amount)
                if let limit = c.limit, next > limit { return .refused(index: i, current: current) }
                values.append(next)
            }
            for (c, v) in zip(charges, values) {
                s.counters[c.counter, default: Entry(value: 0, expiresAt: 0)].set(v, keepingAtLeastUntil: c.expiresAt)
            }
            return .applied(values)
        }
    }

    public func adjust(_ counter: String, by amount: Int64, expiresAt: Int64) async throws {
        adjustImmediately(counter, by: amount, expiresAt: expiresAt)
    }

    public func adjustImmediately(_ counter: String, by amount: Int64, expiresAt: Int64) {
        let t = now()
        state.withLock { s in
            s.counters[counter, default: Entry(value: 0, expiresAt: 0)].add(amount, at: t, keepingAtLeastUntil: expiresAt)
        }
    }

    public func seed(_ counter: String, value: Int64, expiresAt: Int64) async throws -> Int64 {
        let t = now()
        return state.withLock { s in
            if let e = s.counters[counter], e.expiresAt >= t { return e.value }
            s.counters[counter] = Entry(value: value, expiresAt: expiresAt)
            return value
        }
    }

    public func exists(_ counter: String) async throws -> Bool {
        existsImmediately(counter)
    }

    public func existsImmediately(_ counter: String) -> Bool {
        let t = now()
        return state.withLock { s in s.counters[counter].map { $0.expiresAt >= t } ?? false }
    }

    /// The counter's value, for tests and diagnostics.
    public func value(_ counter: String) -> Int64 {
        let t = now()
        return state.withLock { live($0.counters[counter], at: t) }
    }

    private func live(_ e: Entry?, at t: Int64) -> Int64 {
        e?.live(at: t) ?? 0
    }

    /// Drops expired counters at most once a minute, so memory follows the number of active callers.
    private func prune(_ s: inout State, at t: Int64) {
        guard t >= s.nextPrune else { return }
        s.nextPrune = t + 60
        s.counters = s.counters.filter { $0.value.expiresAt >= t }
    }
}
