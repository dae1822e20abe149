import SwitchboardCore

extension Reader {
    /// `[limits]`: `default_reserve_tokens`, and `[limits.global]`, `[limits.user]` (each user),
    /// `[limits.users."name"]` tables of limits.
    func readLimits(_ node: TOMLNode) throws(ConfigError) -> QuotaEnforcer.Configuration {
        var c = QuotaEnforcer.Configuration()
        for (k, v) in try entries(node, table: "limits", key: "limits") {
            switch k {
            case "default_reserve_tokens":
                c.defaultReserveTokens = try int(v, "limits.\(k)", key: k, table: "limits", range: 0...10_000_000)
            case "global":
                c.global = try readUsageLimits(v, table: "limits.global", key: k, budgets: false)
            case "user":
                c.perUser = try readUsageLimits(v, table: "limits.user", key: k, budgets: true)
            case "users":
                for (user, limits) in try entries(v, table: "limits.users", key: k) {
                    c.users[user] = try readUsageLimits(limits, table: "limits.users.\(user)", key: user, budgets: true)
                }
            default:
                throw fail("unknown key 'limits.\(k)' (expected default_reserve_tokens, global, user, users)", key: k, table: "limits")
            }
        }
        return c
    }

    private func readUsageLimits(_ node: TOMLNode, table: String, key: String, budgets: Bool) throws(ConfigError) -> UsageLimits {
        var l = UsageLimits()
        for (k, v) in try entries(node, table: table, key: key) {
            let path = "\(table).\(k)"
            switch k {
            case "rpm": l.requestsPerMinute = try int(v, path, key: k, table: table, range: 1...100_000_000)
            case "tpm": l.tokensPerMinute = try int(v, path, key: k, table: table, range: 1...Int(Int32.max))
            case "tpd": l.tokensPerDay = try int(v, path, key: k, table: table, range: 1...Int(Int64(1) << 40))
            case "budget_usd_per_day" where budgets: l.budgetPerDay = try dollars(v, path, key: k, table: table)
            case "budget_usd_per_month" where budgets: l.budgetPerMonth = try dollars(v, path, key: k, table: table)
            default:
                let allowed = budgets ? "rpm, tpm, tpd, budget_usd_per_day, budget_usd_per_month" : "rpm, tpm, tpd"
                throw fail("unknown key '\(path)' (expected \(allowed))", key: k, table: table)
            }
        }
        return l
    }
}
