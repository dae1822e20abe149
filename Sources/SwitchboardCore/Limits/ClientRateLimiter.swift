import Synchronization

/// Request and token limits a provider's plan allows, enforced before a request leaves.
public struct RateLimitTier: Sendable, Hashable {
    /// Tier name for messages ("free", "developer").
    public var name: String
    public var requestsPerMinute: Int?
    public var tokensPerMinute: Int?
    public var tokensPerDay: Int?

    /// Creates a tier.
    public init(name: String, requestsPerMinute: Int? = nil, tokensPerMinute: Int? = nil, tokensPerDay: Int? = nil) {
        self.name = name
        self.requestsPerMinute = requestsPerMinute
        self.tokensPerMinute = tokensPerMinute
        self.tokensPerDay = tokensPerDay
    }
}

/// Enforces a `RateLimitTier` client-side: a request reserves its estimated tokens up front and
/// settles to the real count when it finishes, so a burst cannot overshoot.
public final class ClientRateLimiter: Sendable {
    /// Tokens held for one request until it settles.
    public struct Reservation: Sendable {
        /// Tokens held.
        public let tokens: Int
    }

    public let tier: RateLimitTier
    private let provider: String
    private let buckets: Mutex<(requests: TokenBucket?, minute: TokenBucket?, day: TokenBucket?)>

    /// A limiter with full buckets.
    public init(tier: RateLimitTier, provider: String, now: ContinuousClock.Instant = .now) {
        self.tier = tier
        self.provider = provider
        buckets = Mutex(
            (
                tier.requestsPerMinute.map { TokenBucket(capacity: $0, period: .seconds(60), now: now) },
                tier.tokensPerMinute.map { TokenBucket(capacity: $0, period: .seconds(60), now: now) },
                tier.tokensPerDay.map { TokenBucket(capacity: $0, period: .seconds(86_400), now: now) }
            ))
    }

    /// Admits one request estimated at `tokens`, or throws `.rateLimited` with the wait.
    public func acquire(tokens: Int, now: ContinuousClock.Instant = .now) throws(ProviderError) -> Reservation {
        let result: Result<Reservation, ProviderError> = buckets.withLock { b in
            var waits: [(Duration, String)] = []
            if var r = b.requests {
                waits.append((r.wait(for: 1, now: now), "\(tier.requestsPerMinute ?? 0) requests/min")); b.requests = r
            }
            if var m = b.minute { waits.append((m.wait(for: tokens, now: now), "\(tier.tokensPerMinute ?? 0) tokens/min")); b.minute = m }
            if var d = b.day { waits.append((d.wait(for: tokens, now: now), "\(tier.tokensPerDay ?? 0) tokens/day")); b.day = d }
            if let worst = waits.max(by: { $0.0 < $1.0 }), worst.0 > .zero {
                return .failure(
                    ProviderError(
                        .rateLimited(retryAfter: worst.0), provider: provider, status: 429,
                        message: "client-side \(tier.name) tier limit of \(worst.1) reached", code: "client_rate_limit"))
            }
            b.requests?.take(1, now: now)
            b.minute?.take(tokens, now: now)
            b.day?.take(tokens, now: now)
            return .success(Reservation(tokens: tokens))
        }
        return try result.get()
    }

    /// Replaces the reservation with the real token count.
    public func settle(_ reservation: Reservation, actualTokens: Int, now: ContinuousClock.Instant = .now) {
        let delta = actualTokens - reservation.tokens
        buckets.withLock { b in
            if delta > 0 {
                b.minute?.take(delta, now: now)
                b.day?.take(delta, now: now)
            } else if delta < 0 {
                b.minute?.give(-delta, now: now)
                b.day?.give(-delta, now: now)
            }
        }
    }
}
