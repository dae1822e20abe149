import NIOCore

/// What an idle list needs of a connection.
protocol PooledConnection: AnyObject {
    associatedtype Key: Hashable
    var key: Key { get }
    /// Whether it can take a request now.
    var isIdle: Bool { get }
}

/// The idle keep-alive connections of one event loop, by upstream: which one a request takes, which one is kept when
/// released, and which ones have been idle too long. A value without a socket; `LoopPool` closes what it says to.
struct IdleConnections<Connection: PooledConnection> {
    /// A class, so a request takes and returns a connection through a plain lookup: the dictionary's in-place accessor
    /// (`idle[key]?.popLast()`) allocated three times a request.
    private final class List {
        var entries: [(connection: Connection, since: NIODeadline)] = []
    }

    private var lists: [Connection.Key: List] = [:]
    let maxPerKey: Int

    init(maxPerKey: Int) {
        self.maxPerKey = maxPerKey
    }

    var isEmpty: Bool { lists.isEmpty }

    /// The most recently kept connection to `key` that is still usable (the warmest), taken out of the list.
    mutating func take(_ key: Connection.Key) -> Connection? {
        guard let list = lists[key] else { return nil }
        while let entry = list.entries.popLast() {
            if entry.connection.isIdle { return entry.connection }
        }
        return nil
    }

    /// Keeps a connection that finished an exchange; false when it is not usable or its upstream has enough idle
    /// already (the caller closes it).
    mutating func keep(_ connection: Connection, now: NIODeadline) -> Bool {
        guard connection.isIdle else { return false }
        let list: List
        if let known = lists[connection.key] {
            list = known
        } else {
            list = List()
            lists[connection.key] = list
        }
        guard list.entries.count < maxPerKey else { return false }
        list.entries.append((connection, now))
        return true
    }

    /// Forgets a connection that closed.
    mutating func remove(_ connection: Connection) {
        guard let list = lists[connection.key], let i = list.entries.firstIndex(where: { $0.connection === connection }) else { return }
        list.entries.remove(at: i)
    }

    /// Takes out every connection idle since before `cutoff` or no longer usable, for the caller to close; an upstream
    /// left with none is forgotten.
    mutating func expire(before cutoff: NIODeadline) -> [Connection] {
        var expired: [Connection] = []
        for (key, list) in lists {
            var kept: [(connection: Connection, since: NIODeadline)] = []
            for entry in list.entries {
                if entry.since > cutoff, entry.connection.isIdle { kept.append(entry) } else { expired.append(entry.connection) }
            }
            list.entries = kept
            if kept.isEmpty { lists[key] = nil }
        }
        return expired
    }

    /// Forgets every connection (shutdown closes them through the open set).
    mutating func removeAll() {
        lists = [:]
    }
}
