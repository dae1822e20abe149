import Foundation
import Synchronization
import Testing

@testable import SwitchboardCore

@Suite struct ResponseCacheTests {
    /// A clock the test moves.
    final class ManualClock: Sendable {
        let start = ContinuousClock.now
        let offset = Mutex<Duration>(.zero)
        var now: ContinuousClock.Instant { start + offset.withLock { $0 } }
        func advance(_ d: Duration) { offset.withLock { $0 += d } }
    }

    static func answer(_ text: String, bytes: Int = 10) -> CachedAnswer {
        CachedAnswer(
            body: Array(repeating: UInt8(ascii: "x"), count: bytes), usage: Usage(inputTokens: 3, outputTokens: 5), provider: text,
            model: "m")
    }

    @Test func theLeastRecentlyUsedGoFirstWhenTheBytesRunOut() {
        var lru = LRUStore<String, Int>(capacity: 100)
        let far = ContinuousClock.now + .seconds(3600)
        lru.insert("a", 1, cost: 40, expires: far)
        lru.insert("b", 2, cost: 40, expires: far)
        #expect(lru.value("a", now: .now) == 1)  // a is now the most recent
        #expect(lru.insert("c", 3, cost: 40, expires: far) == 1)
        #expect(lru.value("b", now: .now) == nil)
        #expect(lru.value("a", now: .now) == 1 && lru.value("c", now: .now) == 3)
        #expect(lru.totalCost == 80 && lru.count == 2)
        // Replacing a value counts its new cost only; one larger than everything is not kept.
        lru.insert("a", 4, cost: 10, expires: far)
        #expect(lru.totalCost == 50 && lru.value("a", now: .now) == 4)
        lru.insert("huge", 5, cost: 101, expires: far)
        #expect(lru.value("huge", now: .now) == nil && lru.count == 2)
        // Many inserts reuse freed slots and keep the bound.
        for i in 0..<1000 { lru.insert("k\(i)", i, cost: 7, expires: far) }
        #expect(lru.totalCost <= 100 && lru.count == 14)
        #expect(lru.value("k999", now: .now) == 999 && lru.value("k985", now: .now) == nil)
    }

    @Test func anEntryExpiresAtItsTimeToLive() {
        let clock = ManualClock()
        let cache = ResponseCache(.init(ttl: .seconds(10), laneTTL: ["fast": .seconds(100)]), clock: { clock.now })
        let key = cache.key(target: "p/m", request: ChatRequest(model: "m", messages: [.user("hi")], temperature: 0), keyID: nil)
        let laneKey = cache.key(target: "lane:fast", request: ChatRequest(model: "m", messages: [.user("hi")]), keyID: nil)
        #expect(cache.store(Self.answer("p"), for: key) == nil)
        _ = cache.store(Self.answer("lane"), for: laneKey)
        clock.advance(.seconds(9))
        #expect(cache.lookupNow(key)?.provider == "p")
        clock.advance(.seconds(2))
        #expect(cache.lookupNow(key) == nil)
        #expect(cache.lookupNow(laneKey)?.provider == "lane")
        clock.advance(.seconds(100))
        #expect(cache.lookupNow(laneKey) == nil && cache.count == 0 && cache.bytes == 0)
    }

    @Test func whatIsCachedFollowsTheModeAndTheClientsDirectives() {
        let zero = ChatRequest(model: "m", messages: [.user("hi")], temperature: 0)
        let warm = ChatRequest(model: "m", messages: [.user("hi")], temperature: 0.7)
        let asked = ResponseCache.Directives(requested: true)
        func decide(_ mode: ResponseCache.Mode, _ r: ChatRequest, _ d: ResponseCache.Directives = .init()) -> (Bool, Bool) {
            let decision = ResponseCache(.init(mode: mode)).decision(for: r, d)
            return (decision.lookup, decision.store)
        }
        #expect(decide(.deterministic, zero) == (true, true))
        #expect(decide(.deterministic, warm) == (false, false))
        #expect(decide(.deterministic, warm, asked) == (true, true))
        #expect(decide(.requested, zero) == (false, false))
        #expect(decide(.requested, zero, asked) == (true, true))
        #expect(decide(.all, warm) == (true, true))
        #expect(decide(.off, zero, asked) == (false, false))
        #expect(decide(.all, warm, .init(noCache: true)) == (false, true))
        #expect(decide(.all, warm, .init(noStore: true)) == (true, false))
    }

    @Test func theKeyComparesWhatChangesTheAnswerAndNothingElse() {
        let cache = ResponseCache(.init())
        let base = ChatRequest(model: "m", messages: [.user("hi")], temperature: 0, user: "alice")
        let key = cache.key(target: "p/m", request: base, keyID: "k1")
        var otherUser = base
        otherUser.user = "bob"
        #expect(cache.key(target: "p/m", request: otherUser, keyID: "k2") == key)
        #expect(cache.key(target: "p/m", request: otherUser, keyID: "k2").canonicalText == key.canonicalText)
        #expect(cache.key(target: "q/m", request: base, keyID: "k1") != key)
        for change in [
            base.withTemperature(0.5), base.withMaxTokens(9), base.withSystem("be brief"),
            base.withTools([Tool(name: "f")]), base.withResponseFormat(.jsonObject), base.withPassthrough("n", 2),
        ] {
            let other = cache.key(target: "p/m", request: change, keyID: "k1")
            #expect(other != key && other.canonicalText != key.canonicalText)
        }
        // Kept per key, the caller's key is part of it.
        let perKey = ResponseCache(.init(perKey: true))
        #expect(perKey.key(target: "p/m", request: base, keyID: "k1") != perKey.key(target: "p/m", request: base, keyID: "k2"))
        // The canonical text does not depend on the order fields were written in.
        let a = base.withPassthrough("x", 1).withPassthrough("y", 2)
        let b = base.withPassthrough("y", 2).withPassthrough("x", 1)
        #expect(
            cache.key(target: "p/m", request: a, keyID: nil).canonicalText == cache.key(target: "p/m", request: b, keyID: nil).canonicalText
        )
    }

    @Test func aSharedStoreAnswersAMissAndFillsMemory() async throws {
        actor Store: ResponseCacheStore {
            var entries: [String: (CachedAnswer, Date)] = [:]
            var reads = 0
            func cachedAnswer(_ key: ResponseCacheKey, now: Date) async throws -> CachedAnswer? {
                reads += 1
                guard let (answer, expires) = entries[key.canonicalText], expires > now else { return nil }
                return answer
            }
            func storeAnswer(_ answer: CachedAnswer, for key: ResponseCacheKey, expires: Date) async throws {
                entries[key.canonicalText] = (answer, expires)
            }
        }
        let store = Store()
        let writer = ResponseCache(.init(), shared: store)
        let reader = ResponseCache(.init(), shared: store)
        let key = writer.key(target: "p/m", request: ChatRequest(model: "m", messages: [.user("hi")]), keyID: nil)
        let write = try #require(writer.store(Self.answer("p"), for: key))
        try await write()
        #expect(reader.lookupNow(key) == nil)
        #expect(try await reader.lookup(key)?.provider == "p")
        #expect(reader.lookupNow(key)?.provider == "p")
        #expect(await store.reads == 1)
    }
}
