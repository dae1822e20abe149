import SwitchboardCore
import Testing

@Suite struct RateLimiterTests {
    @Test func requestsPerMinuteRefuseTheEleventhAndRefill() throws {
        let start = ContinuousClock.now
        let limiter = ClientRateLimiter(tier: RateLimitTier(name: "free", requestsPerMinute: 10), provider: "cerebras", now: start)
        for _ in 0..<10 { _ = try limiter.acquire(tokens: 1, now: start) }
        let error = #expect(throws: ProviderError.self) { try limiter.acquire(tokens: 1, now: start) }
        #expect(error?.retryAfter == .seconds(6))
        #expect(error?.message.contains("10 requests/min") == true)
        _ = try limiter.acquire(tokens: 1, now: start + .seconds(6))
    }

    @Test func reservationSettlesToTheRealCount() throws {
        let t = ContinuousClock.now
        let limiter = ClientRateLimiter(tier: RateLimitTier(name: "free", tokensPerMinute: 1000), provider: "p", now: t)
        let r = try limiter.acquire(tokens: 900, now: t)
        #expect(throws: ProviderError.self) { try limiter.acquire(tokens: 200, now: t) }
        limiter.settle(r, actualTokens: 100, now: t)
        _ = try limiter.acquire(tokens: 800, now: t)
    }
}
