public import SwitchboardCore

/// `[cache]`: the response cache.
public struct CacheSettings: Sendable, Hashable {
    /// Where entries live: this process's memory, or the gateway's store (SQLite or PostgreSQL) behind it.
    public enum Store: String, Sendable, Hashable, CaseIterable {
        case memory
        /// The gateway's own store, whichever it is.
        case shared
        /// The gateway's store, which must be SQLite.
        case sqlite
        /// The gateway's store, which must be PostgreSQL (replicas share the cache).
        case postgres
    }

    public var mode = ResponseCache.Mode.deterministic
    public var store = Store.memory
    public var ttl: Duration = .seconds(3600)
    /// The in-memory LRU's bound in bytes.
    public var maxBytes = 64 << 20
    public var perKey = false

    /// Defaults: in memory, requests that ask and those at temperature 0.
    public init() {}
}

extension Reader {
    /// One of an enumeration's values, by its name; the error lists them all.
    func choice<T: RawRepresentable & CaseIterable>(
        _ node: TOMLNode, _ path: String, key: String, table: String
    ) throws(ConfigError) -> T where T.RawValue == String {
        let text = try string(node, path, key: key, table: table)
        guard let value = T(rawValue: text) else {
            let allowed = T.allCases.map(\.rawValue).joined(separator: ", ")
            throw fail("'\(path)' must be one of \(allowed), not '\(text)'", key: key, table: table)
        }
        return value
    }

    func readCache(_ node: TOMLNode) throws(ConfigError) -> CacheSettings {
        var c = CacheSettings()
        let t = "cache"
        for (k, v) in try entries(node, table: t, key: t) {
            let path = "cache.\(k)"
            switch k {
            case "mode": c.mode = try choice(v, path, key: k, table: t)
            case "store": c.store = try choice(v, path, key: k, table: t)
            case "ttl_seconds": c.ttl = try seconds(v, path, key: k, table: t, range: 1...31_536_000)
            case "max_bytes": c.maxBytes = try int(v, path, key: k, table: t, range: 0...(1 << 40))
            case "per_key":
                guard case .bool(let b) = v else { throw fail("'\(path)' must be a boolean", key: k, table: t) }
                c.perKey = b
            default:
                throw fail("unknown key '\(path)' (expected mode, store, ttl_seconds, max_bytes, per_key)", key: k, table: t)
            }
        }
        return c
    }
}
