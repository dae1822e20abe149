import Synchronization

extension QuotaEnforcer {
    /// The counters a caller's requests charge within one UTC minute, in the order they are charged, with what a
    /// refusal of each says. Every request of that caller in that minute charges the same counters (the minute's, the
    /// day's and the month's windows only change on a minute's boundary), so a layout is built once and reused.
    struct Layout: Sendable {
        enum Measure: Sendable { case requests, tokens, spend }

        struct Slot: Sendable {
            var counter: String
            var measure: Measure
            /// `"API key"`, `"user"` or `"gateway"`.
            var level: String
            /// `"requests per minute"`, `"per month"`...
            var name: String
            /// The window's limit, or the budget's amount.
            var limit: Int64
            /// Unix seconds when the window or period ends.
            var reset: Int64
            var expiresAt: Int64
        }

        var slots: [Slot] = []
        var tokenCounters: [(counter: String, expiresAt: Int64)] = []
        var spendCounters: [(counter: String, expiresAt: Int64)] = []
        /// Budget counters that start from the ledger's spend when they are new.
        var seeds: [Seed] = []
    }

    struct Seed: Sendable {
        var counter: String
        var keyID: String?
        var user: String?
        var since: Int64
        var expiresAt: Int64
    }

    /// The layouts built in the current minute, by caller; a new minute starts an empty set, so the set holds only the
    /// callers seen this minute.
    struct Layouts: Sendable {
        var minute: Int64
        var byCaller: [Caller: Layout] = [:]

        /// More callers than this in one minute start the set over rather than grow it.
        static let kept = 4096
    }

    /// `caller`'s layout for the minute of `t`, built on its first request of the minute.
    func layout(_ caller: Caller, at t: Int64) -> Layout {
        let minute = Windows(unix: t).minute
        if let cached = layouts.withLock({ $0.minute == minute ? $0.byCaller[caller] : nil }) { return cached }
        let built = Layout(levels: levels(caller), at: t)
        layouts.withLock { layouts in
            if layouts.minute != minute || layouts.byCaller.count >= Layouts.kept { layouts = Layouts(minute: minute) }
            layouts.byCaller[caller] = built
        }
        return built
    }
}

extension QuotaEnforcer.Layout {
    init(levels: [QuotaEnforcer.Level], at t: Int64) {
        let w = Windows(unix: t)
        for level in levels {
            let l = level.limits
            func add(_ suffix: String, _ measure: Measure, limit: Int?, name: String, reset: Int64) {
                guard let limit else { return }
                let counter = level.prefix + suffix
                slots.append(
                    Slot(
                        counter: counter, measure: measure, level: level.name, name: name, limit: Int64(limit), reset: reset,
                        expiresAt: reset + 60))
                if measure == .tokens { tokenCounters.append((counter, reset + 60)) }
            }
            add(":rpm:\(w.minute)", .requests, limit: l.requestsPerMinute, name: "requests per minute", reset: w.minuteEnd)
            add(":tpm:\(w.minute)", .tokens, limit: l.tokensPerMinute, name: "tokens per minute", reset: w.minuteEnd)
            add(":tpd:\(w.day)", .tokens, limit: l.tokensPerDay, name: "tokens per day", reset: w.dayEnd)
            // Budgets are a key's or a user's: the gateway level has none.
            guard level.keyID != nil || level.user != nil else { continue }
            var budgets: [(NanoUSD, String, String, Int64, Int64)] = []
            if let b = l.budgetPerDay { budgets.append((b, ":spend:d:\(w.day)", "per day", w.dayStart, w.dayEnd)) }
            if let b = l.budgetPerMonth {
                let m = MonthWindow(unix: t)
                budgets.append((b, ":spend:m:\(m.month)", "per month", m.start, m.end))
            }
            for (budget, suffix, name, start, end) in budgets {
                let counter = level.prefix + suffix
                seeds.append(
                    QuotaEnforcer.Seed(
                        counter: counter, keyID: level.keyID, user: level.keyID == nil ? level.user : nil, since: start,
                        expiresAt: end + 86_400))
                slots.append(
                    Slot(
                        counter: counter, measure: .spend, level: level.name, name: name, limit: budget.value, reset: end,
                        expiresAt: end + 86_400))
                spendCounters.append((counter, end + 86_400))
            }
        }
    }
}
