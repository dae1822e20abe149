/// One slot's circuit breaker, a state machine the router drives with the time of each event: it opens after
/// `consecutiveFailures` failures in a row, or when at least `errorRate` of the last `window` calls (once there are
/// `minimumCalls`) failed; while open the slot is skipped; after `openFor` one call is let through as a probe, and
/// its success closes the breaker, its failure opens it again.
///
/// Only failures of the upstream count (server errors, overload, timeouts, lost connections): a rate limit or an
/// exhausted quota cools the slot for as long as the provider says, and a refused request is the caller's.
/// The PostgreSQL store keeps one for the database (`PostgresStore.Client`).
package struct CircuitBreaker: Sendable {
    /// When it opens, and for how long.
    package struct Settings: Sendable {
        var consecutiveFailures: Int
        var errorRate: Double
        var window: Int
        var minimumCalls: Int
        var openFor: Duration

        package init(
            consecutiveFailures: Int = 5, errorRate: Double = 0.5, window: Int = 20, minimumCalls: Int = 10,
            openFor: Duration = .seconds(30)
        ) {
            self.consecutiveFailures = consecutiveFailures
            self.errorRate = errorRate
            self.window = window
            self.minimumCalls = minimumCalls
            self.openFor = openFor
        }
    }

    enum State: Equatable {
        case closed
        case open(until: ContinuousClock.Instant)
        /// One probe call is under way, since then (a probe that never ends, its caller gone, is replaced after `openFor`).
        case halfOpen(since: ContinuousClock.Instant)
    }

    let settings: Settings
    private(set) var state = State.closed
    /// The last `window` outcomes, true for a failure.
    private var recent: [Bool] = []
    private var next = 0
    private var consecutive = 0

    package init(settings: Settings = Settings()) {
        self.settings = settings
    }

    /// Whether a call may go to the slot now; an open breaker whose time is up lets this one through as its probe.
    package mutating func allows(now: ContinuousClock.Instant) -> Bool {
        switch state {
        case .closed: return true
        case .halfOpen(let since):
            guard now >= since + settings.openFor else { return false }
            state = .halfOpen(since: now)
            return true
        case .open(let until):
            guard now >= until else { return false }
            state = .halfOpen(since: now)
            return true
        }
    }

    /// The call succeeded.
    package mutating func succeeded() {
        if case .halfOpen = state {
            state = .closed
            recent = []
            next = 0
        }
        consecutive = 0
        note(failure: false)
    }

    /// The call failed in a way that counts.
    package mutating func failed(now: ContinuousClock.Instant) {
        if case .halfOpen = state {
            state = .open(until: now + settings.openFor)
            return
        }
        consecutive += 1
        note(failure: true)
        let failures = recent.lazy.filter { $0 }.count
        let tooMany = recent.count >= settings.minimumCalls && Double(failures) >= settings.errorRate * Double(recent.count)
        if consecutive >= settings.consecutiveFailures || tooMany {
            state = .open(until: now + settings.openFor)
            consecutive = 0
            recent = []
            next = 0
        }
    }

    /// Whether the failure is the upstream's own, the kind a breaker counts.
    static func counts(_ error: ProviderError) -> Bool {
        switch error.kind {
        case .server, .overloaded, .timeout, .network, .decoding: true
        default: false
        }
    }

    private mutating func note(failure: Bool) {
        if recent.count < settings.window {
            recent.append(failure)
        } else {
            recent[next] = failure
            next = (next + 1) % settings.window
        }
    }
}
