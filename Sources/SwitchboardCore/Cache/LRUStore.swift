/// A least-recently-used map bounded by the total cost (bytes) of its values, each value expiring at its own time.
/// Not synchronised: its owner holds it under a lock. Every operation is O(1) but an eviction run.
struct LRUStore<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct Node: Sendable {
        var key: Key
        var value: Value
        var cost: Int
        var expires: ContinuousClock.Instant
        /// Towards the most recently used; -1 at the head.
        var newer = -1
        /// Towards the least recently used; -1 at the tail.
        var older = -1
    }

    private var nodes: [Node?] = []
    private var free: [Int] = []
    private var index: [Key: Int] = [:]
    /// Most recently used.
    private var head = -1
    /// Least recently used: evicted first.
    private var tail = -1
    /// The sum of the values' costs, never above `capacity` once an insertion returns.
    private(set) var totalCost = 0
    let capacity: Int

    init(capacity: Int) {
        self.capacity = max(0, capacity)
    }

    var count: Int { index.count }

    /// The value of `key` unless it expired by `now` (then it is removed), marked as just used.
    mutating func value(_ key: Key, now: ContinuousClock.Instant) -> Value? {
        guard let i = index[key], let node = nodes[i] else { return nil }
        if node.expires <= now {
            remove(i)
            return nil
        }
        moveToHead(i)
        return node.value
    }

    /// Inserts or replaces `key`'s value, then evicts the least recently used until the costs fit. A value costing more
    /// than the whole capacity is not kept. Returns how many other values were evicted.
    @discardableResult
    mutating func insert(_ key: Key, _ value: Value, cost: Int, expires: ContinuousClock.Instant) -> Int {
        if let i = index[key] { remove(i) }
        guard cost <= capacity else { return 0 }
        let node = Node(key: key, value: value, cost: cost, expires: expires)
        let i: Int
        if let reused = free.popLast() {
            i = reused
            nodes[i] = node
        } else {
            i = nodes.count
            nodes.append(node)
        }
        index[key] = i
        link(i)
        totalCost += cost
        var evicted = 0
        while totalCost > capacity, tail != -1, tail != i {
            remove(tail)
            evicted += 1
        }
        return evicted
    }

    private mutating func link(_ i: Int) {
        nodes[i]!.older = head
        nodes[i]!.newer = -1
        if head != -1 { nodes[head]!.newer = i }
        head = i
        if tail == -1 { tail = i }
    }

    private mutating func unlink(_ i: Int) {
        let node = nodes[i]!
        if node.newer != -1 { nodes[node.newer]!.older = node.older } else { head = node.older }
        if node.older != -1 { nodes[node.older]!.newer = node.newer } else { tail = node.newer }
    }

    private mutating func moveToHead(_ i: Int) {
        guard head != i else { return }
        unlink(i)
        link(i)
    }

    private mutating func remove(_ i: Int) {
        guard let node = nodes[i] else { return }
        unlink(i)
        index[node.key] = nil
        totalCost -= node.cost
        nodes[i] = nil
        free.append(i)
    }
}
