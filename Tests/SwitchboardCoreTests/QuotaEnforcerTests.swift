import Foundation
@testable import SwitchboardCore
import SwitchboardTesting
import Synchronization
import Testing

final class TestClock: Sendable {
    let now = Mutex(Date(timeIntervalSince1970: 1_800_000_000))  // 2027-01-15 08:00:00 UTC, start of a minute
    func advance(_ seconds: TimeInterval) { now.withLock { $0 += seconds } }
}

@Suite struct QuotaEnforcerTests {
    func enforcer(_ config: QuotaEnforcer.Configuration = .init(), clock: TestClock, spent: NanoUSD? = nil) -> QuotaEnforcer {
        let counters = InMemoryCounterStore(now: { Int64(clock.now.withLock { $0 }.timeIntervalSince1970) })
        let source: QuotaEnforcer.SpendSource? = spent.map { value in { @Sendable _, _, _ in value } }
        return QuotaEnforcer(configuration: config, counters: counters, spendSource: source, clock: { clock.now.withLock { $0 } })
    }

    @Test func aMinuteWindowRefusesThenReopens() async throws {
        let clock = TestClock()
        let q = enforcer(clock: clock)
        let caller = QuotaEnforcer.Caller(keyID: "k", keyLimits: UsageLimits(requestsPerMinute: 2))
        let a = try await q.admit(caller, tokens: 0)
        #expect(a.status == .init(limit: 2, remaining: 1, reset: 1_800_000_060))
        _ = try await q.admit(caller, tokens: 0)
        await #expect(throws: QuotaEnforcer.Exceeded.self) { try await q.admit(caller, tokens: 0) }
        clock.advance(45)
        do {
            _ = try await q.admit(caller, tokens: 0)
            Issue.record("admitted in a full window")
        } catch let e as QuotaEnforcer.Exceeded {
            #expect(e.kind == .rateLimited && e.retryAfter == 15 && e.level == "API key")
        }
        clock.advance(15)
        #expect(try await q.admit(caller, tokens: 0).status?.remaining == 1)
    }

    @Test func tokensAreReservedThenSettledToTheRealCount() async throws {
        let clock = TestClock()
        let q = enforcer(clock: clock)
        let caller = QuotaEnforcer.Caller(keyID: "k", keyLimits: UsageLimits(tokensPerMinute: 1000, tokensPerDay: 1500))
        let a = try await q.admit(caller, tokens: 600)
        await #expect(throws: QuotaEnforcer.Exceeded.self) { try await q.admit(caller, tokens: 600) }
        try await q.settle(a, tokens: 100, cost: nil)
        let b = try await q.admit(caller, tokens: 600)
        #expect(b.status == .init(limit: 1000, remaining: 300, reset: 1_800_000_060))
        clock.advance(60)
        // A new minute, but the day still holds 700 of 1500.
        _ = try await q.admit(caller, tokens: 800)
        await #expect(throws: QuotaEnforcer.Exceeded.self) { try await q.admit(caller, tokens: 1) }
        do {
            _ = try await q.admit(caller, tokens: 2000)
        } catch let e as QuotaEnforcer.Exceeded {
            #expect(e.kind == .requestTooLarge)
        }
    }

    @Test func aBudgetStartsFromTheLedgersSpendAndStopsOnceReached() async throws {
        let clock = TestClock()
        var config = QuotaEnforcer.Configuration()
        config.users["eve"] = UsageLimits(budgetPerMonth: NanoUSD(5_000_000))
        let q = enforcer(config, clock: clock, spent: NanoUSD(4_900_000))
        let caller = QuotaEnforcer.Caller(keyID: "k", user: "eve")
        let a = try await q.admit(caller, tokens: 10)
        #expect(a.status == nil, "a budget alone sets no rate-limit headers")
        try await q.settle(a, tokens: 10, cost: NanoUSD(100_000))
        do {
            _ = try await q.admit(caller, tokens: 10)
            Issue.record("admitted over budget")
        } catch let e as QuotaEnforcer.Exceeded {
            #expect(e.kind == .budget && e.level == "user" && e.limit == 5_000_000)
            // 2027-02-01 00:00:00 UTC is when January's budget renews.
            #expect(e.reset == 1_801_440_000)
        }
    }

    @Test func aKeysChangedLimitsApplyWithinTheMinute() async throws {
        let clock = TestClock()
        let q = enforcer(clock: clock)
        _ = try await q.admit(QuotaEnforcer.Caller(keyID: "k", keyLimits: UsageLimits(requestsPerMinute: 1)), tokens: 0)
        await #expect(throws: QuotaEnforcer.Exceeded.self) {
            try await q.admit(QuotaEnforcer.Caller(keyID: "k", keyLimits: UsageLimits(requestsPerMinute: 1)), tokens: 0)
        }
        // The same key raised to 3 a minute: the window's count so far (1) carries over.
        let raised = QuotaEnforcer.Caller(keyID: "k", keyLimits: UsageLimits(requestsPerMinute: 3))
        #expect(try await q.admit(raised, tokens: 0).status == .init(limit: 3, remaining: 1, reset: 1_800_000_060))
        _ = try await q.admit(raised, tokens: 0)
        await #expect(throws: QuotaEnforcer.Exceeded.self) { try await q.admit(raised, tokens: 0) }
    }

    @Test func layoutsAreKeptForTheCurrentMinutesCallersOnly() async throws {
        let clock = TestClock()
        let q = enforcer(clock: clock)
        let limits = UsageLimits(requestsPerMinute: 10)
        for i in 0..<(QuotaEnforcer.Layouts.kept + 10) { _ = try await q.admit(.init(keyID: "k\(i)", keyLimits: limits), tokens: 0) }
        #expect(q.layouts.withLock { $0.byCaller.count } <= QuotaEnforcer.Layouts.kept)
        clock.advance(60)
        _ = try await q.admit(.init(keyID: "k0", keyLimits: limits), tokens: 0)
        #expect(q.layouts.withLock { $0.byCaller.count } == 1)
    }

    @Test func refusalsComeInChargeOrderWhateverIsCached() async throws {
        let clock = TestClock()
        var config = QuotaEnforcer.Configuration()
        config.global = UsageLimits(requestsPerMinute: 100)
        config.users["eve"] = UsageLimits(tokensPerMinute: 50, budgetPerDay: NanoUSD(0))
        let q = enforcer(config, clock: clock)
        let caller = QuotaEnforcer.Caller(keyID: "k", keyLimits: UsageLimits(tokensPerDay: 10), user: "eve")
        for _ in 0..<2 {
            // The key's day of 10 tokens comes before the user's zero budget; within the key's limit, the budget refuses.
            await #expect(throws: QuotaEnforcer.Exceeded.self) { try await q.admit(caller, tokens: 20) }
            do {
                _ = try await q.admit(caller, tokens: 20)
            } catch let e as QuotaEnforcer.Exceeded {
                #expect(e.kind == .requestTooLarge && e.level == "API key" && e.limitName == "tokens per day")
            }
            do {
                _ = try await q.admit(caller, tokens: 5)
                Issue.record("admitted against a budget of 0")
            } catch let e as QuotaEnforcer.Exceeded {
                #expect(e.kind == .budget && e.level == "user" && e.limit == 0 && e.reset == 1_800_057_600)
            }
        }
    }

    @Test func unlimitedCallersTouchNoCounter() async throws {
        let q = enforcer(clock: TestClock())
        let a = try await q.admit(QuotaEnforcer.Caller(keyID: "k"), tokens: 1_000_000)
        #expect(a.status == nil)
    }
}

@Suite struct MonthWindowTests {
    /// The calendar's answer, the slow way.
    static func reference(_ t: Int64) -> (start: Int64, end: Int64, month: Int64) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month], from: Date(timeIntervalSince1970: TimeInterval(t)))
        let start = calendar.date(from: parts)!
        let end = calendar.date(byAdding: .month, value: 1, to: start)!
        return (Int64(start.timeIntervalSince1970), Int64(end.timeIntervalSince1970), Int64(parts.year! * 12 + parts.month! - 1))
    }

    @Test func monthsAreTheGregorianCalendarsAtEveryBoundary() {
        // Month and leap-day boundaries (2000, 2024, 2100), the epoch, and a seeded spread over two centuries.
        var instants: [Int64] = [0, -1, 951_782_400, 951_868_799, 951_868_800, 1_709_251_199, 1_709_251_200, 4_107_542_400, 4_107_542_399]
        var generator = SeededGenerator(seed: 90)
        for _ in 0..<5_000 { instants.append(Int64.random(in: -1_000_000_000...6_000_000_000, using: &generator)) }
        for t in instants {
            let window = MonthWindow(unix: t)
            let expected = Self.reference(t)
            #expect(window.start == expected.start && window.end == expected.end && window.month == expected.month, "at \(t)")
        }
    }
}

@Suite struct InMemoryCounterStoreTests {
    @Test func anExpiredCounterCountsFromZeroAndAChargeNeverShortensItsLife() {
        let now = Mutex<Int64>(100)
        let store = InMemoryCounterStore(now: { now.withLock { $0 } })
        #expect(store.chargeImmediately([CounterCharge(counter: "c", amount: 5, limit: 10, expiresAt: 110)]) == .applied([5]))
        store.adjustImmediately("c", by: 2, expiresAt: 105)
        now.withLock { $0 = 110 }
        #expect(store.value("c") == 7)
        now.withLock { $0 = 111 }
        #expect(store.value("c") == 0)
        store.adjustImmediately("c", by: 3, expiresAt: 200)
        #expect(
            store.chargeImmediately([CounterCharge(counter: "c", amount: 8, limit: 10, expiresAt: 150)]) == .refused(index: 0, current: 3))
        #expect(store.chargeImmediately([CounterCharge(counter: "c", amount: 7, limit: 10, expiresAt: 150)]) == .applied([10]))
        now.withLock { $0 = 190 }
        #expect(store.value("c") == 10)
    }
}
