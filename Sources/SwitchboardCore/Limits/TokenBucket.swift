/// A token bucket: `capacity` units, refilled continuously at `capacity` per `period`.
public struct TokenBucket: Sendable, Hashable {
    public let capacity: Double
    public let period: Duration
    private var level: Double
    private var updated: ContinuousClock.Instant

    /// A full bucket.
    public init(capacity: Int, period: Duration, now: ContinuousClock.Instant = .now) {
        self.capacity = Double(capacity)
        self.period = period
        self.level = Double(capacity)
        self.updated = now
    }

    private var ratePerSecond: Double {
        capacity / period.inSeconds
    }

    private mutating func refill(now: ContinuousClock.Instant) {
        let elapsed = now - updated
        level = min(capacity, level + elapsed.inSeconds * ratePerSecond)
        updated = now
    }

    /// How long until `amount` units are available (zero when they are now).
    public mutating func wait(for amount: Int, now: ContinuousClock.Instant = .now) -> Duration {
        refill(now: now)
        let need = Double(min(amount, Int(capacity))) - level
        guard need > 0 else { return .zero }
        return .milliseconds(Int64((need / ratePerSecond * 1000).rounded(.up)))
    }

    /// Takes `amount` units (the level may go negative when settling a reservation upward).
    public mutating func take(_ amount: Int, now: ContinuousClock.Instant = .now) {
        refill(now: now)
        level -= Double(amount)
    }

    /// Returns `amount` units (a reservation that turned out larger than the real use).
    public mutating func give(_ amount: Int, now: ContinuousClock.Instant = .now) {
        refill(now: now)
        level = min(capacity, level + Double(amount))
    }
}
